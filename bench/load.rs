//! The HTTP load generator the benchmarks share: keep-alive connections driving one request
//! kind for a time, latency percentiles, and the signed lookup through the generic SMS webhook
//! with the check that its answer is the found-voter reply.

// Each benchmark is its own crate and uses only part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use maktab::channels::sms::generic;

use crate::common::{birth_date, nin};

/// What one route measured.
pub struct Figures {
    pub requests: u64,
    pub failures: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// CPU time the whole process (server and load generator) used meanwhile.
    pub cpu: Duration,
    /// The share of the machine's CPU time the hypervisor gave to others meanwhile (`steal`).
    pub stolen: f64,
}

impl Figures {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn print(&self, name: &str) {
        println!(
            "{name}: {} requests in {:.1} s, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} failed",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.rps(),
            self.p50.as_secs_f64() * 1000.0,
            self.p99.as_secs_f64() * 1000.0,
            self.failures
        );
        println!(
            "  CPU {:.0} us per request (server and load generator; {:.2} cores), host steal {:.0} %",
            self.cpu.as_secs_f64() * 1e6 / (self.requests.max(1) as f64),
            self.cpu.as_secs_f64() / self.elapsed.as_secs_f64(),
            self.stolen * 100.0
        );
    }
}

/// This process's CPU time so far (user and system, from `/proc/self/stat`, in the kernel's
/// fixed 100 ticks a second); zero where there is no `/proc`.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The machine's CPU time so far: (steal, all), from the first line of `/proc/stat`.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    (
        ticks.get(7).copied().unwrap_or(0),
        ticks.iter().take(8).sum(),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Request number `n`, and the check its answer must pass.
pub type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;
pub type Check = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// Drives `concurrency` keep-alive connections for `duration` (or `max` requests) and
/// records every latency. Request numbers start at `first` so ids never repeat across runs.
pub async fn load(
    make: MakeRequest,
    check: Check,
    first: u64,
    concurrency: u64,
    duration: Duration,
    max: u64,
) -> Figures {
    let next = Arc::new(AtomicU64::new(first));
    let (cpu_before, (steal_before, all_before)) = (process_cpu(), machine_ticks());
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, check, next) = (Arc::clone(&make), Arc::clone(&check), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("http client");
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= first + max {
                    break;
                }
                let sent = Instant::now();
                let ok = match make(&client, n).send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(body) => status.is_success() && check(&body),
                            Err(_) => false,
                        }
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed());
                if !ok {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (mut l, f) = task.await.expect("load task");
        latencies.append(&mut l);
        failures += f;
    }
    let elapsed = started.elapsed();
    let (steal, all) = machine_ticks();
    let cpu = process_cpu().saturating_sub(cpu_before);
    latencies.sort_unstable();
    Figures {
        requests: latencies.len() as u64,
        failures,
        elapsed,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        cpu,
        stolen: (steal - steal_before) as f64 / ((all - all_before).max(1) as f64),
    }
}

/// Request `n` to `POST /webhooks/sms/generic` at `base` (`http://host:port`), signed with
/// `secret`: a new message id, sent from sender `n % senders` (pass `u64::MAX` for a new
/// sender every request, which no per-sender limit ever stops), carrying "NIN DD/MM/YYYY" of a
/// voter spread over a roll of `voters`.
pub fn sms_lookup(base: &str, secret: &'static str, voters: u64, senders: u64) -> MakeRequest {
    let webhook = format!("{base}/webhooks/sms/generic");
    // Message ids are new in every run: a database kept from an earlier run
    // (`MAKTAB_BENCH_POSTGRES_KEEP`) has that run's ids, which would be answered as retries.
    let run = std::process::id();
    Arc::new(move |client, n| {
        let i = n.wrapping_mul(7919) % voters;
        let (y, m, d) = birth_date(i);
        let body = serde_json::json!({
            "id": format!("bench-{run}-{n}"),
            "from": format!("+2135{:08}", n % senders),
            "to": "3030",
            "text": format!("{} {d:02}/{m:02}/{y}", nin(i)),
        })
        .to_string();
        client
            .post(&webhook)
            .header("content-type", "application/json")
            .header(
                generic::SIGNATURE_HEADER,
                generic::sign(secret, body.as_bytes()),
            )
            .body(body)
    })
}

/// The answer is the found-voter reply: digits only are answered in Arabic, and that reply
/// starts with "مركزك" (a refused or not-found answer does not contain it).
pub fn found_reply() -> Check {
    Arc::new(|body| {
        let needle = "مركزك".as_bytes();
        body.windows(needle.len()).any(|w| w == needle)
    })
}
