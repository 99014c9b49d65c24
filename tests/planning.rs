//! Station planning (`maktab plan`) on real files: the output files, their warnings and
//! reports, line-numbered errors, determinism, and the whole road from an overfull station to
//! the notices its moved voters' subscribers get: plan, import through the office, approve
//! under the two-person rule, dispatch.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use maktab::domain::{Channel, NationalId};
use maktab::i18n::Catalog;
use maktab::notices::{ChannelLimits, Dispatcher, NoticeSender, SendOutcome};
use maktab::office::Principal;
use maktab::planning::{self, PlanError, PlanOptions, Strategy, Warning};
use maktab::store::{ChangeSetStatus, ImportKind, VoterChangeKind};
use proptest::prelude::*;

const FAMILIES: [&str; 16] = [
    "بن علي",
    "بوزيد",
    "أحمد",
    "إبراهيمي",
    "آل خليفة",
    "بلقاسم",
    "حداد",
    "زروقي",
    "شريف",
    "عمراني",
    "قاسمي",
    "مسعودي",
    "بنعيسى",
    "يحياوي",
    "طالبي",
    "Zerrouki",
];
const GIVEN: [&str; 8] = [
    "فاطمة",
    "محمد",
    "أمينة",
    "يوسف",
    "خديجة",
    "عبد القادر",
    "سعاد",
    "Karim",
];

fn nin(i: u64) -> String {
    format!("{:018}", 300_000_000_000_000_000 + i * 104_729)
}

const MAP_HEADER: &str = "commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind,rooms\n";

/// Commune 1601 with C01 (stations 1 mixed, 2 women; 3 rooms) and C02 (station 1).
fn map_csv() -> String {
    format!(
        "{MAP_HEADER}\
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,36.7762,-0.6358,1,mixed,3
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,36.7762,-0.6358,2,women,3
1601,الجزائر الوسطى,Alger Centre,C02,متوسطة العربي بن مهيدي,=CEM Larbi Ben M'hidi,5 شارع أول نوفمبر,5 Boulevard du 1er Novembre,,,1,,
"
    )
}

/// A voter row: NIN, birth date, sex, place, names.
struct Person {
    i: u64,
    sex: &'static str,
    centre: &'static str,
    station: &'static str,
}

fn roll_csv(people: &[Person]) -> String {
    let mut csv = String::from(
        "nin,birth_date,sex,commune_code,centre_code,station,family_name_ar,given_name_ar,family_name_fr,given_name_fr,address\n",
    );
    for p in people {
        let family = FAMILIES[(p.i * 7 % 16) as usize];
        let given = GIVEN[(p.i * 3 % 8) as usize];
        let _ = writeln!(
            csv,
            "{},1980-01-{:02},{},1601,{},{},{family},{given},Nom{},Prenom{},\"12, rue X\"",
            nin(p.i),
            p.i % 28 + 1,
            p.sex,
            p.centre,
            p.station,
            p.i,
            p.i
        );
    }
    csv
}

/// 1,340 voters (men and women) in C01/1, 200 women in C01/2, 60 in C02/1.
fn overfull_people() -> Vec<Person> {
    let mut people = Vec::new();
    for i in 0..1340 {
        let sex = if i % 2 == 0 { "M" } else { "F" };
        people.push(Person {
            i,
            sex,
            centre: "C01",
            station: "1",
        });
    }
    for i in 1340..1540 {
        people.push(Person {
            i,
            sex: "F",
            centre: "C01",
            station: "2",
        });
    }
    for i in 1540..1600 {
        people.push(Person {
            i,
            sex: "M",
            centre: "C02",
            station: "1",
        });
    }
    people
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(map: &str, roll: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in-map.csv"), map).unwrap();
        std::fs::write(dir.path().join("in-roll.csv"), roll).unwrap();
        Self { dir }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn plan(&self, options: &PlanOptions) -> Result<planning::PlanSummary, PlanError> {
        planning::plan(
            &self.dir.path().join("in-map.csv"),
            &self.dir.path().join("in-roll.csv"),
            &self.out(),
            options,
        )
    }

    fn read(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.out().join(name)).unwrap();
        text.trim_start_matches('\u{feff}').to_owned()
    }
}

/// A CSV file's rows as maps from column to cell.
fn rows(csv: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn stations_of(files: &Files) -> Vec<(String, String, String, String, usize)> {
    rows(&files.read("stations.csv"))
        .into_iter()
        .map(|r| {
            (
                r["centre_code"].clone(),
                r["station"].clone(),
                r["kind"].clone(),
                r["ballots"].clone(),
                r["voters"].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn an_overfull_station_is_split_after_the_last_station_and_the_files_say_what_is_needed() {
    let files = Files::new(&map_csv(), &roll_csv(&overfull_people()));
    let summary = files.plan(&PlanOptions::default()).unwrap();
    assert_eq!(summary.voters, 1600);
    assert_eq!(summary.moved, 893, "1,340 - 447 stay in station 1");
    assert_eq!(summary.new_stations, 2);
    assert_eq!(
        stations_of(&files),
        [
            // 447 + 10 % = 492 → 500; 200 + 20 = 220 → 250; 60 + 6 = 66 → 100.
            ("C01".into(), "1".into(), "mixed".into(), "500".into(), 447),
            ("C01".into(), "2".into(), "women".into(), "250".into(), 200),
            ("C01".into(), "3".into(), "mixed".into(), "500".into(), 447),
            ("C01".into(), "4".into(), "mixed".into(), "500".into(), 446),
            ("C02".into(), "1".into(), "mixed".into(), "100".into(), 60),
        ]
    );
    let centres = rows(&files.read("centres.csv"));
    assert_eq!(centres[0]["stations"], "4");
    assert_eq!(centres[0]["voters"], "1540");
    assert_eq!(centres[0]["ballots"], "1750");
    assert_eq!(centres[0]["cards"], "893");
    assert_eq!(centres[1]["cards"], "0");
    // Four stations in three rooms is a warning, not a silent choice.
    assert!(summary.warnings.contains(&Warning::Rooms {
        commune: maktab::domain::CommuneCode::parse("1601").unwrap(),
        centre: maktab::domain::CentreCode::parse("C01").unwrap(),
        rooms: 3,
        stations: 4,
    }));
    // The ranges of the split follow one another in name order and do not overlap.
    let roll = rows(&files.read("roll.csv"));
    let collator = planning::NameCollator::new().unwrap();
    let key = |r: &HashMap<String, String>| {
        let mut key = Vec::new();
        collator.sort_key(&r["family_name_ar"], &r["given_name_ar"], &mut key);
        (key, r["nin"].clone())
    };
    let range = |station: &str| {
        let keys: Vec<_> = roll
            .iter()
            .filter(|r| r["centre_code"] == "C01" && r["station"] == station)
            .map(key)
            .collect();
        (
            keys.iter().min().unwrap().clone(),
            keys.iter().max().unwrap().clone(),
        )
    };
    let (r1, r3, r4) = (range("1"), range("3"), range("4"));
    assert!(r1.1 < r3.0 && r3.1 < r4.0, "1 < 3 < 4 in name order");
    let stations = rows(&files.read("stations.csv"));
    let first_of_3 = roll.iter().find(|r| key(r) == r3.0).unwrap();
    assert_eq!(
        stations[2]["first"],
        format!(
            "{} {}",
            first_of_3["family_name_ar"], first_of_3["given_name_ar"]
        )
    );
    // The new map has the new stations, its cells as they were read (the import stores them).
    let map = rows(&files.read("map.csv"));
    assert_eq!(map.len(), 5);
    assert_eq!(map[2]["station"], "3");
    assert_eq!(map[2]["kind"], "mixed");
    assert_eq!(map[0]["longitude"], "-0.6358");
    assert_eq!(map[4]["centre_fr"], "=CEM Larbi Ben M'hidi");
    assert_eq!(map[0]["rooms"], "3");
    // The roll keeps every voter once, with the names the input had and no other column.
    assert_eq!(roll.len(), 1600);
    let nins: HashSet<&String> = roll.iter().map(|r| &r["nin"]).collect();
    assert_eq!(nins.len(), 1600);
    assert!(roll[0].contains_key("family_name_ar") && roll[0].contains_key("given_name_fr"));
    assert!(!roll[0].contains_key("address"));
    assert!(
        roll.iter()
            .filter(|r| r["station"] == "2")
            .all(|r| r["sex"] == "F")
    );
    // One report per commune, Arabic right to left, then French.
    let html = files.read("report-1601.html");
    let ar = html.find("<section lang=\"ar\" dir=\"rtl\">").unwrap();
    let fr = html.find("<section lang=\"fr\" dir=\"ltr\">").unwrap();
    assert!(ar < fr);
    assert!(html.contains("يحتاج إلى 4 مكاتب وليس فيه إلا 3 قاعات"));
    assert!(html.contains("a besoin de 4 bureaux mais n’a que 3 salles"));
    assert!(
        html.contains("=CEM Larbi Ben M&#39;hidi"),
        "escaped, not quoted"
    );
}

#[test]
fn rebalance_puts_women_in_womens_stations_in_balanced_ranges() {
    let files = Files::new(&map_csv(), &roll_csv(&overfull_people()));
    let options = PlanOptions {
        strategy: Strategy::Rebalance,
        ..PlanOptions::default()
    };
    files.plan(&options).unwrap();
    // C01: 670 men → 2 mixed stations (1, 3); 870 women → 2 women's stations (2, 4).
    let sizes: Vec<(String, String, usize)> = stations_of(&files)
        .into_iter()
        .map(|(c, s, k, _, v)| (format!("{c}/{s}"), k, v))
        .collect();
    assert_eq!(
        sizes,
        [
            ("C01/1".into(), "mixed".into(), 335),
            ("C01/2".into(), "women".into(), 435),
            ("C01/3".into(), "mixed".into(), 335),
            ("C01/4".into(), "women".into(), 435),
            ("C02/1".into(), "mixed".into(), 60),
        ]
    );
    let roll = rows(&files.read("roll.csv"));
    for r in &roll {
        if r["centre_code"] == "C01" {
            let women = r["station"] == "2" || r["station"] == "4";
            assert_eq!(women, r["sex"] == "F", "{r:?}");
        }
    }
}

#[test]
fn a_small_station_that_could_merge_and_an_emptied_station_are_warned_about() {
    let map = format!(
        "{MAP_HEADER}\
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة,Ecole,شارع,Rue,,,1,mixed,
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة,Ecole,شارع,Rue,,,2,mixed,
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة,Ecole,شارع,Rue,,,3,mixed,
"
    );
    let mut people: Vec<Person> = (0..300)
        .map(|i| Person {
            i,
            sex: "M",
            centre: "C01",
            station: "1",
        })
        .collect();
    people.extend((300..320).map(|i| Person {
        i,
        sex: "",
        centre: "C01",
        station: "2",
    }));
    let files = Files::new(&map, &roll_csv(&people));
    let summary = files.plan(&PlanOptions::default()).unwrap();
    let code = |s: &str| maktab::domain::CentreCode::parse(s).unwrap();
    let commune = maktab::domain::CommuneCode::parse("1601").unwrap();
    assert_eq!(
        summary.warnings,
        [
            Warning::Empty {
                commune: commune.clone(),
                centre: code("C01"),
                station: 3
            },
            Warning::Small {
                commune,
                centre: code("C01"),
                station: 2,
                voters: 20,
                sibling: 1,
                sibling_voters: 300
            },
        ]
    );
    let html = files.read("report-1601.html");
    assert!(html.contains("يمكن دمجه مع المكتب 1"), "{html}");
    assert!(html.contains("pourrait fusionner avec le bureau 1"));
}

#[test]
fn new_voters_without_a_station_are_placed_and_counted_as_cards() {
    let mut people: Vec<Person> = (0..490)
        .map(|i| Person {
            i,
            sex: "M",
            centre: "C01",
            station: "1",
        })
        .collect();
    people.extend((490..520).map(|i| Person {
        i,
        sex: "M",
        centre: "C01",
        station: "",
    }));
    let files = Files::new(&map_csv(), &roll_csv(&people));
    let summary = files.plan(&PlanOptions::default()).unwrap();
    assert_eq!(summary.placed, 30);
    assert_eq!(summary.moved, 0);
    let stations = stations_of(&files);
    assert_eq!(stations[0].4, 500, "station 1 filled to the limit");
    assert_eq!(
        (stations[2].1.as_str(), stations[2].4),
        ("3", 20),
        "the rest opened a new station"
    );
    assert_eq!(rows(&files.read("centres.csv"))[0]["cards"], "30");
}

#[test]
fn name_cells_are_neutralised_against_spreadsheet_formulas() {
    let roll = "nin,birth_date,sex,commune_code,centre_code,station,family_name,given_name\n\
        000000000000000001,1980-01-01,M,1601,C02,1,=HYPERLINK(\"http://x\"),Ali\n\
        000000000000000002,1980-01-01,M,1601,C02,1,Zidane,-Omar\n";
    let files = Files::new(&map_csv(), roll);
    files.plan(&PlanOptions::default()).unwrap();
    let stations = rows(&files.read("stations.csv"));
    let c02 = stations.iter().find(|s| s["centre_code"] == "C02").unwrap();
    assert_eq!(c02["first"], "'=HYPERLINK(\"http://x\") Ali");
    assert_eq!(
        c02["last"], "Zidane -Omar",
        "only a leading character counts"
    );
    let roll = rows(&files.read("roll.csv"));
    assert_eq!(roll[0]["family_name"], "'=HYPERLINK(\"http://x\")");
    assert_eq!(roll[1]["given_name"], "'-Omar");
}

#[test]
fn errors_name_the_file_and_line_for_lf_and_crlf_and_nothing_is_written() {
    let people: Vec<Person> = (0..3)
        .map(|i| Person {
            i,
            sex: "M",
            centre: "C01",
            station: "1",
        })
        .collect();
    let roll = roll_csv(&people)
        + &format!(
            "{},1980-01-01,M,1601,C01,2,أحمد,علي,,,\n\n{},1980-02-30,F,1601,C09,1,أحمد,علي,,,\n{},1980-01-01,F,1601,C01,1,x,y,,,\n",
            nin(90),
            nin(91),
            nin(0)
        );
    for roll in [roll.clone(), roll.replace('\n', "\r\n")] {
        let files = Files::new(&map_csv(), &roll);
        let Err(PlanError::Rejected {
            file,
            errors,
            total,
        }) = files.plan(&PlanOptions::default())
        else {
            panic!("expected a rejection");
        };
        assert!(file.ends_with("in-roll.csv"));
        let lines: Vec<(Option<u64>, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(total, 4, "{lines:?}");
        assert_eq!(lines[0].0, Some(5));
        assert!(lines[0].1.contains("sex: M in women's station 1601/C01/2"));
        assert_eq!(lines[1].0, Some(7), "after the blank line");
        assert!(lines[1].1.starts_with("birth_date:"));
        assert_eq!(lines[2].0, Some(7));
        assert!(lines[2].1.contains("C09 is not a centre"));
        assert_eq!(lines[3], (Some(8), "nin: duplicate of line 2"));
        assert!(!files.out().exists(), "nothing written");
    }
    let bad_map = map_csv().replace(",1,mixed,3", ",1,men,3");
    let files = Files::new(&bad_map, &roll_csv(&people));
    let Err(PlanError::Rejected { errors, .. }) = files.plan(&PlanOptions::default()) else {
        panic!("expected a rejection");
    };
    assert_eq!(errors[0].line, Some(2));
    assert!(errors[0].message.starts_with("kind:"), "{errors:?}");
}

#[test]
fn the_command_line_plans_with_the_configured_limit_and_prints_warnings() {
    let files = Files::new(&map_csv(), &roll_csv(&overfull_people()));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_maktab"))
        .env_remove("MAKTAB_CONFIG")
        .env("MAKTAB_IMPORT_MAX_VOTERS_PER_STATION", "700")
        .arg("plan")
        .arg("--map")
        .arg(files.dir.path().join("in-map.csv"))
        .arg("--roll")
        .arg(files.dir.path().join("in-roll.csv"))
        .arg("--out")
        .arg(files.out())
        .args(["--pack", "100", "--reserve-percent", "5"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("planned 1600 voters in 4 stations (1 new)"),
        "{stdout}"
    );
    assert!(stdout.contains("wrote ") && stdout.contains("report-1601.html"));
    // 1,340 in two stations of 670 under a limit of 700; 670 + 5 % = 704 → 800.
    let stations = stations_of(&files);
    assert_eq!(stations[0].4, 670);
    assert_eq!(stations[0].3, "800");
    assert_eq!(stations[2].1, "3");
    assert!(stderr.is_empty(), "no warning: {stderr}");
}

fn plan_bytes(map: &str, roll: &str, strategy: Strategy) -> Vec<(String, Vec<u8>)> {
    let files = Files::new(map, roll);
    files
        .plan(&PlanOptions {
            strategy,
            max_per_station: 37,
            ..PlanOptions::default()
        })
        .unwrap();
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(files.out())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `roll.csv` rows by NIN, as (centre, station).
fn assignment(out: &[(String, Vec<u8>)]) -> HashMap<String, (String, String)> {
    let roll = &out.iter().find(|(n, _)| n == "roll.csv").unwrap().1;
    rows(
        std::str::from_utf8(roll)
            .unwrap()
            .trim_start_matches('\u{feff}'),
    )
    .into_iter()
    .map(|r| {
        (
            r["nin"].clone(),
            (r["centre_code"].clone(), r["station"].clone()),
        )
    })
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_files_hold_every_voter_once_within_the_rules_whatever_the_input_order(
        people in proptest::collection::vec((0u8..3, 0u8..4), 1..300),
        seed in any::<u64>(),
        rebalance in any::<bool>(),
    ) {
        let strategy = if rebalance { Strategy::Rebalance } else { Strategy::Keep };
        let people: Vec<Person> = people
            .iter()
            .enumerate()
            .map(|(i, &(sex, place))| {
                let sex = ["M", "F", ""][sex as usize];
                let (centre, station) = match place {
                    0 => ("C01", "1"),
                    1 if sex == "F" => ("C01", "2"),
                    1 => ("C01", ""),
                    2 => ("C02", "1"),
                    _ => ("C02", ""),
                };
                Person { i: i as u64, sex, centre, station }
            })
            .collect();
        let roll = roll_csv(&people);
        let out = plan_bytes(&map_csv(), &roll, strategy);
        let again = plan_bytes(&map_csv(), &roll, strategy);
        prop_assert_eq!(&out, &again, "deterministic");
        // The same voters in another order get the same stations.
        let mut lines: Vec<&str> = roll.lines().skip(1).collect();
        let mut state = seed | 1;
        for i in (1..lines.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lines.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let shuffled = format!("{}\n{}\n", roll.lines().next().unwrap(), lines.join("\n"));
        let placed = assignment(&out);
        prop_assert_eq!(&placed, &assignment(&plan_bytes(&map_csv(), &shuffled, strategy)));
        prop_assert_eq!(placed.len(), people.len(), "every voter exactly once");
        let mut load: HashMap<(String, String), usize> = HashMap::new();
        for p in &people {
            let at = &placed[&nin(p.i)];
            prop_assert_eq!(&at.0, p.centre, "voters stay in their centre");
            *load.entry(at.clone()).or_default() += 1;
        }
        prop_assert!(load.values().all(|&n| n <= 37), "no station over the limit: {load:?}");
        if strategy == Strategy::Keep {
            let mut before: HashMap<(&str, &str), usize> = HashMap::new();
            for p in people.iter().filter(|p| !p.station.is_empty()) {
                *before.entry((p.centre, p.station)).or_default() += 1;
            }
            for p in people.iter().filter(|p| !p.station.is_empty()) {
                if before[&(p.centre, p.station)] <= 37 {
                    prop_assert_eq!(&placed[&nin(p.i)].1, p.station, "no move within the limit");
                }
            }
        }
        // Women's stations of the output map hold only women.
        let map = &out.iter().find(|(n, _)| n == "map.csv").unwrap().1;
        let women: HashSet<(String, String)> = rows(std::str::from_utf8(map).unwrap().trim_start_matches('\u{feff}'))
            .into_iter()
            .filter(|r| r["kind"] == "women")
            .map(|r| (r["centre_code"].clone(), r["station"].clone()))
            .collect();
        for p in &people {
            if women.contains(&placed[&nin(p.i)]) {
                prop_assert_eq!(p.sex, "F");
            }
        }
    }
}

/// A channel that records whom it is asked to send to.
#[derive(Default)]
struct RecordingChannel {
    sent: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl NoticeSender for RecordingChannel {
    async fn send(&self, message: &maktab::store::Notice) -> SendOutcome {
        self.sent
            .lock()
            .unwrap()
            .push((message.recipient.clone(), message.body.clone()));
        SendOutcome::Sent { provider_id: None }
    }
}

async fn import_file(
    office: &maktab::office::Office,
    who: &Principal,
    kind: ImportKind,
    path: &Path,
) {
    let file = std::fs::File::open(path).unwrap();
    let outcome = office
        .import(
            who,
            kind,
            Box::new(file),
            false,
            &path.display().to_string(),
        )
        .await
        .unwrap();
    assert!(outcome.record.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_1340_voter_station_is_planned_imported_approved_and_moved_voters_are_told() {
    let db = TestDb::empty().await;
    // The current roll predates the limit: it is loaded with a higher one.
    let map = map_csv();
    db.import_map(&map).await.unwrap();
    let people = overfull_people();
    let roll = roll_csv(&people);
    let mut old_rules = options(false);
    old_rules.max_voters_per_station = 2000;
    db.import_roll_with(&roll, &old_rules).await.unwrap();
    // Subscribers: every 10th voter of the overfull station, and two of C02.
    let subscribed: Vec<u64> = (0..1340).step_by(10).chain([1550, 1551]).collect();
    for (k, &i) in subscribed.iter().enumerate() {
        db.store
            .add_subscription(
                Channel::Sms,
                &format!("+2135500{k:05}"),
                &NationalId::parse(&nin(i)).unwrap(),
                START,
            )
            .await
            .unwrap();
    }

    let files = Files::new(&map, &roll);
    let summary = files.plan(&PlanOptions::default()).unwrap();
    assert_eq!(summary.moved, 893);

    let office = office_with(&db.store, true);
    // Two people: the two-person rule compares identities, not names.
    let importer = Principal {
        id: "cli:importer".to_owned(),
        name: "importer".to_owned(),
        ..Principal::command_line()
    };
    let approver = Principal {
        id: "cli:approver".to_owned(),
        name: "approver".to_owned(),
        ..Principal::command_line()
    };
    // The map first: its change set (two stations added) is approved before the roll that
    // uses them is imported, as the import requires.
    import_file(
        &office,
        &importer,
        ImportKind::Map,
        &files.out().join("map.csv"),
    )
    .await;
    let map_set = db
        .store
        .change_sets(Some(ChangeSetStatus::Pending), 10)
        .await
        .unwrap();
    assert_eq!(map_set.len(), 1);
    assert_eq!(map_set[0].kind, ImportKind::Map);
    let map_notices = office
        .approve(&approver, map_set[0].id)
        .await
        .unwrap()
        .notices;
    assert_eq!(map_notices, 0, "adding stations tells nobody");
    import_file(
        &office,
        &importer,
        ImportKind::Roll,
        &files.out().join("roll.csv"),
    )
    .await;
    let pending = db
        .store
        .change_sets(Some(ChangeSetStatus::Pending), 10)
        .await
        .unwrap();
    let roll_set = pending
        .iter()
        .find(|c| c.kind == ImportKind::Roll)
        .unwrap()
        .clone();
    assert_eq!(roll_set.summary["voters_moved"], 893);
    let changes = db.store.voter_changes(roll_set.id, 2000, 0).await.unwrap();
    assert!(changes.iter().all(|c| c.change == VoterChangeKind::Moved));
    let planned = rows(&files.read("roll.csv"));
    let moved: HashSet<String> = planned
        .iter()
        .filter(|r| r["station"] != "1" && r["centre_code"] == "C01" && r["station"] != "2")
        .map(|r| r["nin"].clone())
        .collect();
    assert_eq!(
        changes
            .iter()
            .map(|c| c.nin.as_str().to_owned())
            .collect::<HashSet<_>>(),
        moved,
        "the change set's flows are exactly the splits"
    );
    // The importer may not approve its own change set.
    assert!(matches!(
        office.approve(&importer, roll_set.id).await,
        Err(maktab::office::OfficeError::Forbidden(_))
    ));
    let mut notices = 0;
    for change_set in &pending {
        notices += office
            .approve(&approver, change_set.id)
            .await
            .unwrap()
            .notices;
    }
    let told: HashSet<String> = subscribed
        .iter()
        .enumerate()
        .filter(|(_, i)| moved.contains(&nin(**i)))
        .map(|(k, _)| format!("+2135500{k:05}"))
        .collect();
    assert!(
        told.len() > 50,
        "a real share of subscribers moved: {}",
        told.len()
    );
    assert_eq!(notices, told.len() as u64);
    let sms = Arc::new(RecordingChannel::default());
    let dispatcher = Dispatcher::new(Arc::clone(&db.store), Arc::new(Catalog::load().unwrap()))
        .with_channel(
            Channel::Sms,
            sms.clone(),
            ChannelLimits {
                per_second: 10_000.0,
                per_recipient: None,
            },
        );
    for _ in 0..100 {
        if dispatcher.dispatch_once().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let sent = sms.sent.lock().unwrap().clone();
    let recipients: HashSet<String> = sent.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(recipients, told, "exactly the subscribers of moved voters");
    assert_eq!(sent.len(), told.len(), "each once");
    assert!(
        sent.iter()
            .all(|(_, body)| body.contains("مدرسة الأمير عبد القادر")),
        "{:?}",
        sent[0]
    );
    // Names were read to sort, and never reached the database.
    for entry in std::fs::read_dir(db.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for name in ["يحياوي", "Prenom1"] {
            assert!(
                !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
                "{name} stored"
            );
        }
    }
}
