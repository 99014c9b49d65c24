//! A deterministic demo data set: real communes (from the shipped commune list), synthetic
//! centres with plausible Arabic and French names and addresses, stations of at most 500
//! voters including women's stations, and about 50,000 synthetic voters. It goes through the
//! real import path, so what the demo shows is what an import produces.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::domain::DEFAULT_MAX_VOTERS_PER_STATION;
use crate::store::{ImportKind, ImportRecord, Store};

use super::{ImportError, ImportOptions, import_map, import_roll};

/// Algeria's communes, shipped with the binary (see `data/communes.csv`).
pub const COMMUNES_CSV: &str = include_str!("../../data/communes.csv");

/// Demo communes by postal code, used as the municipality's commune code in the demo.
const DEMO_COMMUNES: &[(&str, f64, f64)] = &[
    ("16000", 36.7762, 3.0585),
    ("16008", 36.7906, 3.0514),
    ("31000", 35.6971, -0.6308),
    ("25000", 36.3650, 6.6147),
    ("15000", 36.7169, 4.0497),
    ("47000", 32.4909, 3.6735),
];

const CENTRE_NAMES: &[(&str, &str)] = &[
    (
        "مدرسة الأمير عبد القادر الابتدائية",
        "Ecole primaire Emir Abdelkader",
    ),
    ("متوسطة العربي بن مهيدي", "CEM Larbi Ben M'hidi"),
    ("ثانوية حسيبة بن بوعلي", "Lycée Hassiba Ben Bouali"),
    ("دار الشباب ديدوش مراد", "Maison de jeunes Didouche Mourad"),
    (
        "مدرسة زيغود يوسف الابتدائية",
        "Ecole primaire Zighoud Youcef",
    ),
    (
        "القاعة متعددة الرياضات مصطفى بن بولعيد",
        "Salle omnisports Mustapha Ben Boulaid",
    ),
    (
        "المكتبة البلدية مالك بن نبي",
        "Bibliothèque communale Malek Bennabi",
    ),
    (
        "متوسطة الشيخ عبد الحميد بن باديس",
        "CEM Cheikh Abdelhamid Ben Badis",
    ),
];

const STREETS: &[(&str, &str)] = &[
    ("شارع الاستقلال", "Rue de l'Indépendance"),
    ("شارع أول نوفمبر", "Boulevard du 1er Novembre"),
    ("شارع العقيد عميروش", "Rue Colonel Amirouche"),
    ("حي 5 جويلية", "Cité du 5 Juillet"),
    ("شارع محمد خميستي", "Rue Mohamed Khemisti"),
    ("نهج الإخوة بوعزة", "Rue des Frères Bouaza"),
];

const CENTRES_PER_COMMUNE: usize = 5;

/// A voter of the demo roll to try.
#[derive(Debug, Clone)]
pub struct DemoSample {
    pub nin: String,
    /// `DD/MM/YYYY`.
    pub birth_date: String,
    pub commune_fr: String,
    pub centre_fr: String,
    pub station: u32,
    pub women_station: bool,
}

/// The demo data set as import files.
pub struct DemoData {
    pub map_csv: String,
    pub roll_csv: String,
    pub samples: Vec<DemoSample>,
}

/// A small deterministic generator (SplitMix64): the demo must be the same on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Finds a commune's Arabic and French names by postal code in the shipped list.
fn commune_names(postal_code: &str) -> Option<(String, String)> {
    let mut reader = csv::Reader::from_reader(COMMUNES_CSV.as_bytes());
    reader.records().flatten().find_map(|record| {
        (record.get(7) == Some(postal_code))
            .then(|| Some((record.get(5)?.to_owned(), record.get(6)?.to_owned())))
            .flatten()
    })
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// Builds the demo map and roll.
pub fn generate() -> DemoData {
    let mut rng = SplitMix(20_261_129);
    let mut map_csv = String::from(
        "commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind\n",
    );
    let mut roll_csv = String::from("nin,birth_date,sex,commune_code,centre_code,station\n");
    let mut samples = Vec::new();
    let mut used_nins = HashSet::new();
    for (commune_index, &(code, latitude, longitude)) in DEMO_COMMUNES.iter().enumerate() {
        let (commune_ar, commune_fr) =
            commune_names(code).unwrap_or_else(|| (code.to_owned(), code.to_owned()));
        for centre_index in 0..CENTRES_PER_COMMUNE {
            let (name_ar, name_fr) =
                CENTRE_NAMES[(commune_index * 3 + centre_index) % CENTRE_NAMES.len()];
            let (street_ar, street_fr) =
                STREETS[(commune_index + centre_index * 5) % STREETS.len()];
            let number = 1 + rng.below(120);
            let centre_code = format!("C{:02}", centre_index + 1);
            let address_ar = format!("{number} {street_ar}، {commune_ar}");
            let address_fr = format!("{number} {street_fr}, {commune_fr}");
            // Every fourth centre has no coordinates yet, as in real municipal files.
            let (lat, lon) = if centre_index % 4 == 3 {
                (String::new(), String::new())
            } else {
                let jitter = |rng: &mut SplitMix| (rng.below(2000) as f64 - 1000.0) / 100_000.0;
                (
                    format!("{:.5}", latitude + jitter(&mut rng)),
                    format!("{:.5}", longitude + jitter(&mut rng)),
                )
            };
            let stations = 3 + centre_index % 3;
            for station in 1..=stations {
                // The last station of every other centre is a women's station.
                let women = centre_index % 2 == 0 && station == stations;
                let kind = if women { "women" } else { "mixed" };
                let _ = writeln!(
                    map_csv,
                    "{code},{},{},{centre_code},{},{},{},{},{lat},{lon},{station},{kind}",
                    csv_field(&commune_ar),
                    csv_field(&commune_fr),
                    csv_field(name_ar),
                    csv_field(name_fr),
                    csv_field(&address_ar),
                    csv_field(&address_fr),
                );
                let voters = 400 + rng.below(u64::from(DEFAULT_MAX_VOTERS_PER_STATION) - 400 + 1);
                for voter in 0..voters {
                    let nin = loop {
                        let candidate = format!("{:018}", rng.below(1_000_000_000_000_000_000));
                        if used_nins.insert(candidate.clone()) {
                            break candidate;
                        }
                    };
                    let year = 1940 + rng.below(69);
                    let month = 1 + rng.below(12);
                    let day = 1 + rng.below(28);
                    let sex = if women || rng.below(2) == 0 { "F" } else { "M" };
                    let _ = writeln!(
                        roll_csv,
                        "{nin},{year}-{month:02}-{day:02},{sex},{code},{centre_code},{station}"
                    );
                    let wanted_sample = voter == 0
                        && centre_index == 0
                        && (station == 1 || women)
                        && commune_index < 3;
                    if wanted_sample {
                        samples.push(DemoSample {
                            nin,
                            birth_date: format!("{day:02}/{month:02}/{year}"),
                            commune_fr: commune_fr.clone(),
                            centre_fr: name_fr.to_owned(),
                            station: station as u32,
                            women_station: women,
                        });
                    }
                }
            }
        }
    }
    DemoData {
        map_csv,
        roll_csv,
        samples,
    }
}

/// What loading the demo did.
// Built once per run: boxing the records would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum DemoLoad {
    /// The database was empty; the demo map and roll are now the current versions.
    Loaded {
        map: ImportRecord,
        roll: ImportRecord,
    },
    /// A roll is already there; nothing was changed.
    AlreadyHasData,
}

/// Loads the demo into an empty database, through the real import path.
pub async fn load(store: Arc<dyn Store>, data: &DemoData) -> Result<DemoLoad, ImportError> {
    if store.current_import(ImportKind::Roll).await?.is_some()
        || store.current_import(ImportKind::Map).await?.is_some()
    {
        return Ok(DemoLoad::AlreadyHasData);
    }
    let options = ImportOptions {
        allowed_communes: None,
        dry_run: false,
        max_voters_per_station: DEFAULT_MAX_VOTERS_PER_STATION,
        source: "demo".to_owned(),
        actor: "maktab demo".to_owned(),
        read: Default::default(),
        keep_every_error: false,
    };
    let map = import_map(store.as_ref(), data.map_csv.as_bytes(), &options).await?;
    let roll = import_roll(
        store,
        std::io::Cursor::new(data.roll_csv.clone().into_bytes()),
        &options,
    )
    .await?;
    match (map.record, roll.record) {
        (Some(map), Some(roll)) => Ok(DemoLoad::Loaded { map, roll }),
        _ => Ok(DemoLoad::AlreadyHasData),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_deterministic_and_about_fifty_thousand_voters() {
        let first = generate();
        let second = generate();
        assert_eq!(first.roll_csv, second.roll_csv);
        let voters = first.roll_csv.lines().count() - 1;
        assert!((45_000..=60_000).contains(&voters), "{voters} voters");
        assert!(first.samples.iter().any(|s| s.women_station));
        assert!(first.samples.len() >= 3);
    }

    #[test]
    fn demo_communes_come_from_the_shipped_list() {
        assert_eq!(
            commune_names("31000"),
            Some(("وهران".to_owned(), "Oran".to_owned()))
        );
        assert_eq!(COMMUNES_CSV.lines().count(), 1542);
    }
}
