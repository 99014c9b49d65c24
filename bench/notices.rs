//! Notices benchmark: a 100,000-recipient SMS broadcast through a fake provider on loopback,
//! with the dispatcher configured at 500 segments per second (achieved over configured rate),
//! and the time to enqueue 1,000,000 recipients into the outbox.
//!
//! `cargo bench --bench notices`; `MAKTAB_BENCH_RECIPIENTS` (default 100,000),
//! `MAKTAB_BENCH_RATE` (default 500), `MAKTAB_BENCH_ENQUEUE` (default 1,000,000).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maktab::channels::sms::SmsGateway;
use maktab::channels::sms::lane::SmsNotices;
use maktab::config::{GenericConfig, Secret, SmsConfig};
use maktab::domain::{Channel, CommuneCode, Locale};
use maktab::i18n::Catalog;
use maktab::notices::Dispatcher;
use maktab::office::{Office, Principal, Rules};
use maktab::roll::{self, ImportOptions};
use maktab::store::{self, Audience, CampaignStatus, NewNotice};

mod common;
use common::env_number;

const MAP: &str = "commune_code,commune_ar,commune_fr,centre_code,centre_ar,centre_fr,address_ar,address_fr,station\n\
1601,الجزائر الوسطى,Alger Centre,C01,مدرسة,Ecole,شارع,Rue,1\n";
const NIN: &str = "109870123456789012";

#[tokio::main]
async fn main() {
    let recipients = env_number("MAKTAB_BENCH_RECIPIENTS", 100_000);
    let rate = env_number("MAKTAB_BENCH_RATE", 500) as f64;
    let enqueue = env_number("MAKTAB_BENCH_ENQUEUE", 1_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("notices.db").display());
    let store = store::connect(&url).await.expect("database");
    let options = ImportOptions {
        allowed_communes: None,
        dry_run: false,
        max_voters_per_station: 500,
        source: "bench".into(),
        actor: "bench".into(),
        read: Default::default(),
        keep_every_error: false,
    };
    roll::import_map(store.as_ref(), MAP.as_bytes(), &options)
        .await
        .expect("map");
    let roll_csv =
        format!("nin,birth_date,commune_code,centre_code,station\n{NIN},1990-03-15,1601,C01,1\n");
    roll::import_roll(
        Arc::clone(&store),
        std::io::Cursor::new(roll_csv.into_bytes()),
        &options,
    )
    .await
    .expect("roll");
    println!("# Maktab notices benchmark: {recipients} SMS recipients at {rate} segments/s");

    // Time to enqueue: a draft campaign filled with `enqueue` rows (not sent).
    let operator = Principal::command_line();
    let office = Office::new(
        Arc::clone(&store),
        Arc::new(Catalog::load().expect("catalogues")),
        Rules {
            two_person_rule: false,
            max_voters_per_station: maktab::domain::DEFAULT_MAX_VOTERS_PER_STATION,
        },
    );
    let audience = Audience {
        commune: CommuneCode::parse("1601").expect("code"),
        centre: None,
        station: None,
        reporters: false,
    };
    let big = office
        .create_broadcast(&operator, &audience, "نص", "texte")
        .await
        .expect("draft")
        .campaign;
    let rows: Vec<NewNotice> = (0..enqueue)
        .map(|k| NewNotice {
            channel: Channel::Sms,
            recipient: format!("+2135{k:08}"),
            locale: Locale::Fr,
            body: "Rappel : vote jeudi".into(),
        })
        .collect();
    let started = Instant::now();
    store
        .fill_campaign(big, &rows, CampaignStatus::Draft, maktab::domain::now())
        .await
        .expect("enqueue");
    let took = started.elapsed().as_secs_f64();
    println!(
        "enqueue {enqueue} recipients: {took:.2} s ({:.0} rows/s)",
        enqueue as f64 / took
    );
    office
        .control_campaign(&operator, big, maktab::office::campaigns::Control::Cancel)
        .await
        .expect("cancel");

    // The campaign: subscribers of the voter, one SMS segment each.
    for k in 0..recipients {
        store
            .add_subscription(
                Channel::Sms,
                &format!("+2136{k:08}"),
                &maktab::domain::NationalId::parse(NIN).expect("nin"),
                0,
            )
            .await
            .expect("subscribe");
    }
    let accepted: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = Arc::clone(&accepted);
    let app = axum::Router::new().route(
        "/sms/send",
        axum::routing::post(move || {
            let log = Arc::clone(&log);
            async move {
                log.lock().expect("log").push(Instant::now());
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let provider = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sms = SmsConfig {
        generic: GenericConfig {
            secret: Some(Secret::new("s3cret")),
            send_url: Some(format!("{provider}/sms/send")),
            segments_per_second: rate,
            ..Default::default()
        },
        ..Default::default()
    };
    let gateway = SmsGateway::from_config(&sms).expect("sms");
    let (notices, limits) = SmsNotices::from_gateway(&gateway).expect("generic provider");
    let draft = office
        .create_broadcast(&operator, &audience, "تذكير", "Rappel : vote jeudi")
        .await
        .expect("draft");
    let (campaign, preview) = (draft.campaign, draft.preview);
    println!(
        "preview: {:?} recipients, {} SMS segments",
        preview.recipients, preview.sms_segments
    );
    office
        .confirm_broadcast(&operator, campaign)
        .await
        .expect("confirm");
    let dispatcher = Dispatcher::new(
        Arc::clone(&store),
        Arc::new(Catalog::load().expect("catalogues")),
    )
    .with_channel(Channel::Sms, Arc::new(notices), limits)
    .with_batch(500, 64);
    while store
        .campaign(campaign)
        .await
        .expect("campaign")
        .expect("exists")
        .status
        != CampaignStatus::Done
    {
        if dispatcher.dispatch_once().await.expect("round") == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let times = accepted.lock().expect("log").clone();
    let (first, last) = (
        times.iter().min().copied().expect("sent"),
        times.iter().max().copied().expect("sent"),
    );
    let elapsed = last.duration_since(first).as_secs_f64();
    let achieved = (times.len() as f64 - 1.0) / elapsed;
    println!(
        "campaign: {} SMS in {elapsed:.1} s: {achieved:.1} segments/s for {rate} configured, ratio {:.3}",
        times.len(),
        achieved / rate
    );
}
