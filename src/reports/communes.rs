//! Finding the commune a citizen names: by code, or by its Arabic or French name written the
//! way people write it (without accents, with or without the article, with a typo or two).
//! Names shared by several communes, or too short to tell apart, get a short choice.

use crate::domain::{Commune, fold, normalize_digits};

/// At most this many communes are offered to choose from (what fits in 2 SMS segments in
/// Arabic); more means "be more precise".
pub const MAX_CHOICES: usize = 4;

/// What a commune name matched.
#[derive(Debug, Clone, PartialEq)]
pub enum CommuneMatch {
    One(Commune),
    /// Several communes fit equally well: the citizen chooses (at most [`MAX_CHOICES`]).
    Several(Vec<Commune>),
    /// Too many communes fit (a very short or generic name).
    TooMany,
    NotFound,
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

fn decide(mut found: Vec<Commune>) -> CommuneMatch {
    found.dedup_by(|a, b| a.code == b.code);
    match found.len() {
        0 => CommuneMatch::NotFound,
        1 => found
            .pop()
            .map_or(CommuneMatch::NotFound, CommuneMatch::One),
        n if n <= MAX_CHOICES => CommuneMatch::Several(found),
        _ => CommuneMatch::TooMany,
    }
}

/// Finds what `text` names among `communes`: an exact code, then exact names, then the
/// closest names within a few typos, then names that start with it.
pub fn find(communes: &[Commune], text: &str) -> CommuneMatch {
    let digits = normalize_digits(text.trim());
    if let Some(commune) = communes.iter().find(|c| c.code.as_str() == digits) {
        return CommuneMatch::One(commune.clone());
    }
    let wanted = key(text);
    if wanted.chars().count() < 2 {
        return CommuneMatch::NotFound;
    }
    let keys: Vec<(&Commune, [String; 2])> = communes
        .iter()
        .map(|c| (c, [key(&c.name.ar), key(&c.name.fr)]))
        .collect();
    let exact: Vec<Commune> = keys
        .iter()
        .filter(|(_, names)| names.contains(&wanted))
        .map(|(c, _)| (*c).clone())
        .collect();
    if !exact.is_empty() {
        return decide(exact);
    }
    let allowed = tolerance(wanted.chars().count());
    let mut best: Option<usize> = None;
    let mut closest = Vec::new();
    for (commune, names) in &keys {
        let Some(d) = names.iter().map(|name| distance(&wanted, name)).min() else {
            continue;
        };
        if d > allowed || best.is_some_and(|best| d > best) {
            continue;
        }
        if best.is_none_or(|best| d < best) {
            best = Some(d);
            closest.clear();
        }
        closest.push((*commune).clone());
    }
    if !closest.is_empty() {
        return decide(closest);
    }
    if wanted.chars().count() >= 4 {
        return decide(
            keys.iter()
                .filter(|(_, names)| names.iter().any(|name| name.starts_with(&wanted)))
                .map(|(c, _)| (*c).clone())
                .collect(),
        );
    }
    CommuneMatch::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Bilingual, CommuneCode};

    fn commune(code: &str, ar: &str, fr: &str) -> Commune {
        Commune {
            code: CommuneCode::parse(code).unwrap(),
            name: Bilingual {
                ar: ar.to_owned(),
                fr: fr.to_owned(),
            },
        }
    }

    fn communes() -> Vec<Commune> {
        vec![
            commune("16000", "الجزائر الوسطى", "Alger Centre"),
            commune("16008", "عين البنيان", "Aïn Benian"),
            commune("46000", "عين تموشنت", "Aïn Témouchent"),
            commune("15000", "تيزي وزو", "Tizi Ouzou"),
            commune("10001", "سيدي علي", "Sidi Ali"),
            commune("27001", "سيدي علي", "Sidi Ali"),
            commune("06000", "بجاية", "Béjaïa"),
        ]
    }

    fn code(found: CommuneMatch) -> String {
        match found {
            CommuneMatch::One(c) => c.code.as_str().to_owned(),
            other => panic!("expected one commune, got {other:?}"),
        }
    }

    #[test]
    fn names_match_without_accents_article_or_hyphens_in_either_script() {
        let all = communes();
        assert_eq!(code(find(&all, "ain benian")), "16008");
        assert_eq!(code(find(&all, "AIN-BENIAN")), "16008");
        assert_eq!(code(find(&all, "عين البنيان")), "16008");
        assert_eq!(code(find(&all, "عين بنيان")), "16008");
        assert_eq!(code(find(&all, "bejaia")), "06000");
        assert_eq!(code(find(&all, "بجايه")), "06000");
        assert_eq!(code(find(&all, "  ١٦٠٠٠ ")), "16000");
    }

    #[test]
    fn a_typo_or_two_still_finds_the_commune() {
        let all = communes();
        assert_eq!(code(find(&all, "Tizi Ouzo")), "15000");
        assert_eq!(code(find(&all, "tizi-wazou")), "15000");
        assert_eq!(code(find(&all, "Ain Timouchent")), "46000");
        assert_eq!(code(find(&all, "alger")), "16000");
    }

    #[test]
    fn shared_names_and_short_prefixes_give_a_choice_and_nonsense_nothing() {
        let all = communes();
        match find(&all, "sidi ali") {
            CommuneMatch::Several(found) => assert_eq!(found.len(), 2),
            other => panic!("{other:?}"),
        }
        match find(&all, "ain") {
            CommuneMatch::NotFound => {}
            other => panic!("{other:?}"),
        }
        match find(&all, "ain t") {
            CommuneMatch::One(c) => assert_eq!(c.code.as_str(), "46000"),
            other => panic!("{other:?}"),
        }
        assert_eq!(find(&all, "xyzzy plugh"), CommuneMatch::NotFound);
        assert_eq!(find(&all, "99999"), CommuneMatch::NotFound);
    }

    #[test]
    fn the_shipped_commune_list_matches_every_commune_by_its_own_names() {
        let all: Vec<Commune> =
            csv::Reader::from_reader(crate::roll::demo::COMMUNES_CSV.as_bytes())
                .records()
                .enumerate()
                // Postal codes repeat in the list, so each row gets a code of its own here.
                .map(|(i, r)| {
                    let r = r.unwrap();
                    commune(&format!("C{i}"), &r[5], &r[6])
                })
                .collect();
        assert!(all.len() > 1500);
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
}
