//! Shared test fixtures: a fresh SQLite database per test, a small map and roll, and helpers
//! to talk to the conversation core.
#![allow(dead_code)]

use std::sync::Arc;

use maktab::conversation::{Conversation, ConversationSettings, Handled, Inbound};
use maktab::domain::{Channel, DEFAULT_MAX_VOTERS_PER_STATION, Timestamp};
use maktab::i18n::Catalog;
use maktab::roll::{self, ImportError, ImportOptions, ImportOutcome};
use maktab::store::{self, Store};
use tempfile::TempDir;

/// A voter of [`ROLL_CSV`] in a mixed station with coordinates.
pub const NIN_MIXED: &str = "109870123456789012";
pub const BIRTH_MIXED: &str = "15/03/1990";
/// A voter in a women's station.
pub const NIN_WOMEN: &str = "000000000000000042";
pub const BIRTH_WOMEN: &str = "01/12/1985";
/// A voter whose centre has no coordinates.
pub const NIN_NO_COORDS: &str = "209870123456789099";
pub const BIRTH_NO_COORDS: &str = "20/01/1970";
/// On no roll.
pub const NIN_UNKNOWN: &str = "555555555555555555";

pub const MAP_CSV: &str = "\
commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,latitude,longitude,station,kind
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,36.7762,3.0585,1,mixed
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة الأمير عبد القادر,Ecole Emir Abdelkader,12 شارع الاستقلال,12 Rue de l'Indépendance,36.7762,3.0585,2,women
1601,الجزائر الوسطى,Alger Centre,C02,متوسطة العربي بن مهيدي,CEM Larbi Ben M'hidi,5 شارع أول نوفمبر,5 Boulevard du 1er Novembre,,,1,
1601,الجزائر الوسطى,Alger Centre,C02,متوسطة العربي بن مهيدي,CEM Larbi Ben M'hidi,5 شارع أول نوفمبر,5 Boulevard du 1er Novembre,,,2,mixed
";

pub const ROLL_CSV: &str = "\
nin,birth_date,sex,commune_code,centre_code,station
109870123456789012,1990-03-15,M,1601,C01,1
000000000000000042,1985-12-01,F,1601,C01,2
209870123456789099,1970-01-20,,1601,C02,1
";

/// A fresh database in its own directory, removed when the test ends.
pub struct TestDb {
    pub dir: TempDir,
    pub url: String,
    pub store: Arc<dyn Store>,
}

impl TestDb {
    /// An empty, migrated database.
    pub async fn empty() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
        let store = store::connect(&url).await.expect("open the test database");
        Self { dir, url, store }
    }

    /// A database holding [`MAP_CSV`] and [`ROLL_CSV`].
    pub async fn with_roll() -> Self {
        let db = Self::empty().await;
        db.import_map(MAP_CSV).await.expect("fixture map imports");
        db.import_roll(ROLL_CSV)
            .await
            .expect("fixture roll imports");
        db
    }

    /// Opens the same file again, as a restarted process would.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        store::connect(&self.url)
            .await
            .expect("reopen the test database")
    }

    pub async fn import_map(&self, csv: &str) -> Result<ImportOutcome, ImportError> {
        roll::import_map(self.store.as_ref(), csv.as_bytes(), &options(false)).await
    }

    pub async fn import_roll(&self, csv: &str) -> Result<ImportOutcome, ImportError> {
        self.import_roll_with(csv, &options(false)).await
    }

    pub async fn import_roll_with(
        &self,
        csv: &str,
        options: &ImportOptions,
    ) -> Result<ImportOutcome, ImportError> {
        let bytes = std::io::Cursor::new(csv.as_bytes().to_vec());
        roll::import_roll(Arc::clone(&self.store), bytes, options).await
    }

    pub fn talk(&self) -> Talk {
        self.talk_with(ConversationSettings::default())
    }

    pub fn talk_with(&self, settings: ConversationSettings) -> Talk {
        Talk::new(Arc::clone(&self.store), settings)
    }
}

pub fn options(dry_run: bool) -> ImportOptions {
    ImportOptions {
        dry_run,
        max_voters_per_station: DEFAULT_MAX_VOTERS_PER_STATION,
        source: "test.csv".to_owned(),
        actor: "test".to_owned(),
    }
}

/// A conversation with a clock the test controls.
pub struct Talk {
    pub conversation: Conversation,
    pub now: Timestamp,
}

/// A fixed Tuesday, 2026-11-03 10:00:00 UTC: the start of an hour.
pub const START: Timestamp = 1_793_700_000;

impl Talk {
    pub fn new(store: Arc<dyn Store>, settings: ConversationSettings) -> Self {
        let catalog = Arc::new(Catalog::load().expect("catalogues load"));
        Self {
            conversation: Conversation::new(store, catalog, settings),
            now: START,
        }
    }

    /// Sends one SMS from `sender` at the current test time.
    pub async fn sms(&self, sender: &str, text: &str) -> Handled {
        self.send(Channel::Sms, sender, text).await
    }

    pub async fn send(&self, channel: Channel, sender: &str, text: &str) -> Handled {
        let inbound = Inbound {
            channel,
            sender: sender.to_owned(),
            text: text.to_owned(),
        };
        self.conversation.handle_at(&inbound, self.now).await
    }

    /// The single reply's text.
    pub async fn text(&self, sender: &str, text: &str) -> String {
        let handled = self.sms(sender, text).await;
        assert_eq!(handled.replies.len(), 1, "{handled:?}");
        handled.replies[0].text.clone()
    }
}

pub mod fake_telegram;
