//! Finding the commune a citizen names: by postal code, by the map's code, or by its Arabic or
//! French name written the way people write it (without accents, with or without the article,
//! with a typo or two). Every commune of the national list (`data/communes.csv`) can be named,
//! not only those of the current electoral map: a report for a commune the map does not hold
//! yet waits for that commune's office. Names shared by several communes, postal codes shared
//! by several communes and names given in part get a short choice, each with its wilaya.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::domain::{Bilingual, Commune, CommuneCode, fold, normalize_digits};

/// At most this many communes are offered to choose from; more means "be more precise".
pub const MAX_CHOICES: usize = 4;

/// The national commune list, shipped with the binary.
pub const COMMUNES_CSV: &str = include_str!("../../data/communes.csv");

/// A commune a citizen can name.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The map's code for a commune of the map; otherwise the postal code when it names this
    /// commune alone, or a code made of the postal (or wilaya) code and the French name.
    pub code: CommuneCode,
    pub name: Bilingual,
    /// Where the national list places it (unknown for a map commune it does not name).
    pub wilaya: Option<Bilingual>,
    pub postal_code: Option<String>,
    /// Whether the electoral map holds the commune.
    pub in_map: bool,
    keys: [String; 2],
}

/// What a commune name matched.
#[derive(Debug, Clone, PartialEq)]
pub enum CommuneMatch {
    One(Candidate),
    /// Several communes fit, or a name given in part fits one: the citizen chooses (at most
    /// [`MAX_CHOICES`]).
    Several(Vec<Candidate>),
    /// Too many communes fit (a very short or generic name).
    TooMany,
    NotFound,
}

/// One row of the national list.
#[derive(Debug, Clone)]
struct NationalCommune {
    wilaya_code: String,
    wilaya: Bilingual,
    name: Bilingual,
    postal_code: Option<String>,
    keys: [String; 2],
}

/// The national list, read once. The file is part of the binary and checked by a test, so a
/// row it cannot read is skipped rather than failing a citizen's report.
static NATIONAL: LazyLock<Vec<NationalCommune>> = LazyLock::new(|| {
    csv::Reader::from_reader(COMMUNES_CSV.as_bytes())
        .records()
        .flatten()
        .filter_map(|row| {
            let field = |i: usize| row.get(i).map(str::trim).map(str::to_owned);
            let name = Bilingual {
                ar: field(5)?,
                fr: field(6)?,
            };
            Some(NationalCommune {
                wilaya_code: field(0)?,
                wilaya: Bilingual {
                    ar: field(1)?,
                    fr: field(2)?,
                },
                keys: [key(&name.ar), key(&name.fr)],
                name,
                postal_code: field(7).filter(|code| !code.is_empty()),
            })
        })
        .collect()
});

/// The number of communes in the national list.
pub fn national_count() -> usize {
    NATIONAL.len()
}

/// Whether `text` is the name of a commune of the national list (in either language).
pub fn is_commune_name(text: &str) -> bool {
    let wanted = key(text);
    !wanted.is_empty() && NATIONAL.iter().any(|c| c.keys.contains(&wanted))
}

/// The comparable form of a name: folded, without the Arabic article at the start of a word,
/// and without spaces, hyphens or apostrophes ("Aïn-Bénian" and "ain benian" are one key).
pub fn key(name: &str) -> String {
    fold(name)
        .split(|c: char| c.is_whitespace() || c == '-' || c == '\'' || c == '’')
        .map(|word| {
            word.strip_prefix("ال")
                .filter(|rest| rest.chars().count() >= 2)
                .unwrap_or(word)
        })
        .flat_map(str::chars)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Every commune a citizen can name: the map's communes under the map's codes (with their
/// wilaya when the national list names them), then the communes of the national list the map
/// does not hold.
pub fn directory(map: &[Commune]) -> Vec<Candidate> {
    let national = &*NATIONAL;
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut postal: HashMap<&str, usize> = HashMap::new();
    for commune in national {
        for name in commune.keys.iter().collect::<HashSet<_>>() {
            *names.entry(name.as_str()).or_default() += 1;
        }
        if let Some(code) = &commune.postal_code {
            *postal.entry(code.as_str()).or_default() += 1;
        }
    }
    let mut map_names: HashMap<String, usize> = HashMap::new();
    for commune in map {
        for name in HashSet::from([key(&commune.name.ar), key(&commune.name.fr)]) {
            *map_names.entry(name).or_default() += 1;
        }
    }
    let mut taken = vec![false; national.len()];
    let mut candidates: Vec<Candidate> = Vec::with_capacity(map.len() + national.len());
    for commune in map {
        let keys = [key(&commune.name.ar), key(&commune.name.fr)];
        // The same commune in the national list: by postal code used as the map's code, or by
        // name within the wilaya that the map's code starts with (the national commune codes
        // are the wilaya's two digits then the commune's), or by a name that only one commune
        // of the country bears.
        let wilaya = commune.code.as_str().get(..2);
        let same = national
            .iter()
            .position(|n| n.postal_code.as_deref() == Some(commune.code.as_str()))
            .or_else(|| {
                national.iter().position(|n| {
                    Some(n.wilaya_code.as_str()) == wilaya
                        && n.keys.iter().any(|k| keys.contains(k))
                })
            })
            .or_else(|| {
                national.iter().position(|n| {
                    n.keys.iter().any(|k| {
                        keys.contains(k)
                            && names.get(k.as_str()).is_some_and(|count| *count == 1)
                            && map_names.get(k.as_str()).is_some_and(|count| *count == 1)
                    })
                })
            })
            .filter(|i| !taken[*i]);
        if let Some(i) = same {
            taken[i] = true;
        }
        candidates.push(Candidate {
            code: commune.code.clone(),
            name: commune.name.clone(),
            wilaya: same.map(|i| national[i].wilaya.clone()),
            postal_code: same.and_then(|i| national[i].postal_code.clone()),
            in_map: true,
            keys,
        });
    }
    let mut codes: HashSet<String> = candidates
        .iter()
        .map(|c| c.code.as_str().to_owned())
        .collect();
    for (i, commune) in national.iter().enumerate() {
        if taken[i] {
            continue;
        }
        let unique_postal = commune
            .postal_code
            .as_deref()
            .filter(|code| postal.get(code).is_some_and(|count| *count == 1))
            .filter(|code| !codes.contains(*code));
        let code = match unique_postal {
            Some(code) => code.to_owned(),
            None => {
                let base = commune
                    .postal_code
                    .as_deref()
                    .unwrap_or(&commune.wilaya_code);
                let slug: String = fold(&commune.name.fr)
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                let mut code: String = format!("{base}-{slug}").chars().take(20).collect();
                if codes.contains(&code) {
                    code = format!("{base}-N{i}");
                }
                code
            }
        };
        let Ok(code) = CommuneCode::parse(&code) else {
            continue;
        };
        codes.insert(code.as_str().to_owned());
        candidates.push(Candidate {
            code,
            name: commune.name.clone(),
            wilaya: Some(commune.wilaya.clone()),
            postal_code: commune.postal_code.clone(),
            in_map: false,
            keys: commune.keys.clone(),
        });
    }
    candidates
}

/// Edit distance in characters (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Typos tolerated for a key of this many characters.
fn tolerance(length: usize) -> usize {
    match length {
        0..=3 => 0,
        4..=6 => 1,
        7..=11 => 2,
        _ => 3,
    }
}

/// One commune is the answer, several a choice. A commune of the map comes before the same
/// name elsewhere in the country, which the map does not serve yet.
fn decide(mut found: Vec<Candidate>, always_ask: bool) -> CommuneMatch {
    let mut seen = HashSet::new();
    found.retain(|c| seen.insert(c.code.clone()));
    found.sort_by_key(|c| !c.in_map);
    match found.len() {
        0 => CommuneMatch::NotFound,
        1 if !always_ask => found
            .pop()
            .map_or(CommuneMatch::NotFound, CommuneMatch::One),
        n if n <= MAX_CHOICES => CommuneMatch::Several(found),
        _ => CommuneMatch::TooMany,
    }
}

/// Finds what `text` names among `candidates` (see [`directory`]): a code or postal code,
/// then exact names, then the closest names within a few typos, then names that start with it
/// (offered as a choice even when only one does: "Alger" is not silently Alger Centre).
pub fn find(candidates: &[Candidate], text: &str) -> CommuneMatch {
    let digits: String = normalize_digits(text.trim())
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if let Some(found) = candidates.iter().find(|c| c.code.as_str() == digits) {
        return CommuneMatch::One(found.clone());
    }
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return decide(
            candidates
                .iter()
                .filter(|c| c.postal_code.as_deref() == Some(digits.as_str()))
                .cloned()
                .collect(),
            false,
        );
    }
    let wanted = key(text);
    if wanted.chars().count() < 2 {
        return CommuneMatch::NotFound;
    }
    let exact: Vec<Candidate> = candidates
        .iter()
        .filter(|c| c.keys.contains(&wanted))
        .cloned()
        .collect();
    if !exact.is_empty() {
        return decide(exact, false);
    }
    let allowed = tolerance(wanted.chars().count());
    let mut best: Option<usize> = None;
    let mut closest = Vec::new();
    for candidate in candidates {
        let Some(d) = candidate
            .keys
            .iter()
            .map(|name| distance(&wanted, name))
            .min()
        else {
            continue;
        };
        if d > allowed || best.is_some_and(|best| d > best) {
            continue;
        }
        if best.is_none_or(|best| d < best) {
            best = Some(d);
            closest.clear();
        }
        closest.push(candidate.clone());
    }
    if !closest.is_empty() {
        return decide(closest, false);
    }
    if wanted.chars().count() >= 4 {
        return decide(
            candidates
                .iter()
                .filter(|c| c.keys.iter().any(|name| name.starts_with(&wanted)))
                .cloned()
                .collect(),
            true,
        );
    }
    CommuneMatch::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commune(code: &str, ar: &str, fr: &str) -> Commune {
        Commune {
            code: CommuneCode::parse(code).unwrap(),
            name: Bilingual {
                ar: ar.to_owned(),
                fr: fr.to_owned(),
            },
        }
    }

    /// A map like the demo's: codes are postal codes, except one municipality's own code.
    fn map() -> Vec<Commune> {
        vec![
            commune("1601", "الجزائر الوسطى", "Alger Centre"),
            commune("46000", "عين تموشنت", "Aïn Témouchent"),
            commune("15000", "تيزي وزو", "Tizi Ouzou"),
            commune("06000", "بجاية", "Béjaïa"),
        ]
    }

    fn one(found: CommuneMatch) -> Candidate {
        match found {
            CommuneMatch::One(c) => c,
            other => panic!("expected one commune, got {other:?}"),
        }
    }

    fn several(found: CommuneMatch) -> Vec<Candidate> {
        match found {
            CommuneMatch::Several(c) => c,
            other => panic!("expected a choice, got {other:?}"),
        }
    }

    #[test]
    fn names_match_without_accents_article_or_hyphens_in_either_script() {
        let all = directory(&map());
        assert_eq!(one(find(&all, "bejaia")).code.as_str(), "06000");
        assert_eq!(one(find(&all, "بجايه")).code.as_str(), "06000");
        assert_eq!(one(find(&all, "alger centre")).code.as_str(), "1601");
        assert_eq!(one(find(&all, "  ١٦٠١ ")).code.as_str(), "1601");
        // Two communes of the country are called Aïn Benian (Alger and Aïn Defla).
        for typed in ["AIN-BENIAN", "Aïn Bénian", "عين البنيان", "عين بنيان"] {
            let benian = several(find(&all, typed));
            let wilayas: Vec<&str> = benian
                .iter()
                .map(|c| c.wilaya.as_ref().unwrap().fr.as_str())
                .collect();
            assert_eq!(wilayas, ["Alger", "Ain Defla"], "{typed}");
            assert!(benian.iter().all(|c| !c.in_map));
        }
    }

    #[test]
    fn communes_outside_the_map_match_by_name_and_postal_code() {
        let all = directory(&map());
        let khroub = one(find(&all, "El Khroub"));
        assert!(!khroub.in_map);
        assert_eq!(khroub.wilaya.as_ref().unwrap().fr, "Constantine");
        assert_eq!(one(find(&all, "الخروب")).code, khroub.code);
        let postal = khroub.postal_code.clone().unwrap();
        assert_eq!(one(find(&all, &postal)).code, khroub.code);
        // The map's commune is found by its national postal code too.
        assert_eq!(one(find(&all, "16000")).code.as_str(), "1601");
    }

    #[test]
    fn a_typo_or_two_still_finds_the_commune() {
        let all = directory(&map());
        assert_eq!(one(find(&all, "Tizi Ouzo")).code.as_str(), "15000");
        assert_eq!(one(find(&all, "tizi-wazou")).code.as_str(), "15000");
        assert_eq!(one(find(&all, "Ain Timouchent")).code.as_str(), "46000");
    }

    #[test]
    fn shared_names_postal_codes_and_partial_names_give_a_choice_with_the_wilaya() {
        let all = directory(&map());
        let souk = several(find(&all, "Souk El Had"));
        assert_eq!(souk.len(), 2, "{souk:?}");
        assert!(souk.iter().all(|c| c.wilaya.is_some()));
        assert_eq!(one(find(&all, "sidi ahmed")).wilaya.unwrap().fr, "Saida");
        let alger = several(find(&all, "Alger"));
        assert!(alger.iter().any(|c| c.code.as_str() == "1601"), "{alger:?}");
        let shared = several(find(&all, "02015"));
        assert_eq!(shared.len(), 3);
        assert_eq!(find(&all, "ain"), CommuneMatch::NotFound);
        assert_eq!(find(&all, "xyzzy plugh"), CommuneMatch::NotFound);
        assert_eq!(find(&all, "99999"), CommuneMatch::NotFound);
    }

    #[test]
    fn every_commune_of_the_national_list_is_found_by_each_of_its_names() {
        let all = directory(&[]);
        assert_eq!(all.len(), national_count());
        assert!(all.len() > 1500);
        let codes: HashSet<_> = all.iter().map(|c| c.code.clone()).collect();
        assert_eq!(codes.len(), all.len(), "codes are unique");
        for c in &all {
            for name in [&c.name.ar, &c.name.fr] {
                match find(&all, name) {
                    CommuneMatch::One(found) => assert_eq!(found.code, c.code, "{name}"),
                    CommuneMatch::Several(found) => {
                        assert!(found.iter().any(|f| f.code == c.code), "{name}")
                    }
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
    }

    /// French names the list's old 24-character column held whole: any other French name of
    /// that length or more was cut and must be completed.
    const WHOLE_LONG_NAMES: &[&str] = &[
        "Beni Foudhala El Hakania",
        "Bordj El Emir Abdelkader",
        "Machraa-Houari-Boumediene",
        "El Fedjoudj Boughrara Saoudi",
        "Zmalet El Emir Abdelkader",
    ];

    #[test]
    fn the_commune_list_is_clean() {
        let mut reader = csv::Reader::from_reader(COMMUNES_CSV.as_bytes());
        let mut rows = 0;
        for (line, row) in reader.records().enumerate() {
            let row = row.unwrap();
            rows += 1;
            assert_eq!(row.len(), 8, "row {}", line + 2);
            for field in &row {
                assert!(!field.contains("  "), "double space: {field:?}");
                assert!(!field.contains('\u{0640}'), "tatweel: {field:?}");
                assert_eq!(field.trim(), field, "surrounding space: {field:?}");
                assert_eq!(
                    field.matches('(').count(),
                    field.matches(')').count(),
                    "unbalanced parenthesis: {field:?}"
                );
            }
            let french = &row[6];
            assert!(
                french.chars().count() < 24 || WHOLE_LONG_NAMES.contains(&french),
                "cut name: {french:?}"
            );
            // Postal codes are five digits; a few communes have none in the list, and some
            // share one (a code that names several communes offers the choice).
            let postal = &row[7];
            assert!(
                postal.is_empty()
                    || (postal.len() == 5 && postal.bytes().all(|b| b.is_ascii_digit())),
                "postal code {postal:?}"
            );
        }
        assert_eq!(rows, national_count());
        let without_postal = NATIONAL.iter().filter(|c| c.postal_code.is_none()).count();
        assert!(
            without_postal < 30,
            "{without_postal} communes without postal code"
        );
    }
}
