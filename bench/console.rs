//! Console benchmark: how long each page of the office console takes against a national
//! roll, as a signed-in national user sees it (the heaviest: every commune). The server is
//! the real one on loopback; each page is requested one after another by one browser-like
//! client (cookie, keep-alive), and the p50, p95 and slowest answers are printed per page.
//!
//! Run with `cargo bench --bench console` (release build). `MAKTAB_BENCH_VOTERS` sets the
//! roll (default 1,000,000; the national figure is 24,000,000, some 1,200 communes: it
//! takes several minutes to import, so run it once), `MAKTAB_BENCH_REQUESTS` the requests
//! per page (default 50). The last line is `slowest page p95: …`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use maktab::domain::Role;
use maktab::i18n::Catalog;
use maktab::office::users::SessionPolicy;
use maktab::office::{Office, Principal, Rules};
use maktab::server::{self, App};
use maktab::store;

mod common;
use common::{env_number, import_generated, write_files};

/// The console's pages, as the menu links them.
const PAGES: &[&str] = &[
    "/console/dashboard",
    "/console/changes",
    "/console/imports",
    "/console/plan",
    "/console/notices",
    "/console/reports",
    "/console/clerks",
    "/console/audit",
    "/console/users",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let voters = env_number("MAKTAB_BENCH_VOTERS", 1_000_000);
    let requests = env_number("MAKTAB_BENCH_REQUESTS", 50).max(1);
    let dir = tempfile::tempdir().expect("temporary directory");
    println!("# Maktab console benchmark: {voters} voters, {requests} requests per page");

    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    let (address, cookie, _stop) = server_runtime.block_on(async {
        let (map_path, roll_path) = write_files(dir.path(), voters);
        let url = format!("sqlite://{}", dir.path().join("maktab.db").display());
        let store = store::connect(&url).await.expect("open database");
        import_generated(&store, &map_path, &roll_path, voters).await;

        let mut config = maktab::config::Config::default();
        config.console.national_totp = false;
        let office = Office::new(
            Arc::clone(&store),
            Arc::new(Catalog::load().expect("catalogues")),
            Rules::from_config(&config),
        );
        office
            .create_user(
                &Principal::command_line(),
                "bench.national",
                Role::National,
                Vec::new(),
                "a long bench pass phrase",
            )
            .await
            .expect("user");
        let session = office
            .log_in(
                // As the server's with `national_totp = false`: no second factor to give.
                &SessionPolicy {
                    national_second_factor: false,
                    ..SessionPolicy::default()
                },
                "bench.national",
                "a long bench pass phrase",
                "127.0.0.1",
            )
            .await
            .expect("sign in")
            .expect("accepted");
        let app = App::new(store, &config).expect("catalogues");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, None, app, async {
            let _ = stopped.await;
        }));
        (
            address,
            format!(
                "{}={}",
                maktab::console::session::SESSION_COOKIE,
                session.secret
            ),
            stop,
        )
    });

    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let slowest = client_runtime.block_on(async {
        // Not following redirects: a page that sends to the sign-in form is a failure.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut slowest = (Duration::ZERO, "");
        for page in PAGES {
            let url = format!("http://{address}{page}");
            let mut latencies = Vec::with_capacity(requests as usize);
            // One request first: connection, caches.
            for n in 0..=requests {
                let sent = Instant::now();
                let response = client
                    .get(&url)
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .expect("request");
                let status = response.status();
                let body = response.text().await.expect("body");
                assert!(
                    status == reqwest::StatusCode::OK && body.contains("aria-current=\"page\""),
                    "{page}: {status}"
                );
                if n > 0 {
                    latencies.push(sent.elapsed());
                }
            }
            latencies.sort_unstable();
            let p95 = percentile(&latencies, 0.95);
            println!(
                "{page}: p50 {:.1} ms, p95 {:.1} ms, slowest {:.1} ms",
                ms(percentile(&latencies, 0.50)),
                ms(p95),
                ms(*latencies.last().expect("requests"))
            );
            if p95 > slowest.0 {
                slowest = (p95, page);
            }
        }
        slowest
    });
    println!("slowest page p95: {} at {:.1} ms", slowest.1, ms(slowest.0));
}
