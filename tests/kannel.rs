//! End to end with real Kannel (Debian's `kannel` and `kannel-extras`): the test writes a
//! kannel.conf, starts bearerbox with a fake SMSC and smsbox whose `sms-service` calls
//! Maktab's webhook, and uses `fakesmsc` as the phone. A phone sends an Arabic message with
//! Arabic-Indic digits (as UCS-2) and a French one, and must receive the right answers; then
//! Maktab sends a two-segment Arabic SMS through `sendsms`, which must reach the phone as one
//! concatenated message.
//!
//! Without the Kannel binaries the test fails when `CI` is set (`.ci/run` installs them) and
//! is skipped, saying why, otherwise.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use maktab::channels::sms::kannel;
use maktab::channels::sms::lane::SmsNotices;
use maktab::config::{KannelConfig, Secret};
use maktab::domain::{Channel, Locale, PhoneNumber};
use maktab::i18n::Catalog;
use maktab::notices::{ChannelLimits, Dispatcher};
use maktab::store::{DeliveryStatus, NewReply};

const SECRET: &str = "kannel-e2e-secret";
const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";

/// A program on the PATH or in the sbin directories, where Debian puts Kannel's boxes.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

/// A child process killed when the test ends, however it ends.
struct Running {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Running {
    fn start(name: &'static str, command: &mut Command, log: PathBuf) -> Self {
        let out = File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self { name, child, log }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let output = self.output();
            let tail: Vec<&str> = output.lines().rev().take(30).collect();
            eprintln!("--- last lines of {} ---", self.name);
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} never listened on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Ports {
    admin: u16,
    smsbox: u16,
    smsc: u16,
    sendsms: u16,
}

fn kannel_conf(dir: &Path, ports: &Ports, webhook: &str) -> String {
    let log = |name: &str| dir.join(name).display().to_string();
    format!(
        r#"group = core
admin-port = {admin}
admin-password = e2e-admin
admin-interface = 127.0.0.1
smsbox-port = {smsbox}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{bearerbox_log}"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
mo-recode = true
log-file = "{smsbox_log}"
log-level = 1

group = sms-service
keyword = default
catch-all = true
get-url = "{webhook}?secret={SECRET}&id=%I&from=%p&to=%P&coding=%c&charset=%C&text=%a"
max-messages = 3
concatenation = true
omit-empty = true

group = sendsms-user
username = maktab
password = e2e-send
max-messages = 3
concatenation = true
"#,
        admin = ports.admin,
        smsbox = ports.smsbox,
        smsc = ports.smsc,
        sendsms = ports.sendsms,
        bearerbox_log = log("bearerbox.log"),
        smsbox_log = log("smsbox.log"),
    )
}

/// What fakesmsc printed as received: one `(header, data)` per line after `Got message N: <`.
/// A `text` message is printed raw, each byte outside printable ASCII as `?`, and its newline
/// bytes start new lines; `udh`/`data` messages are printed url-encoded.
fn received_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.split_once("Got message ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once(": <").map(|(_, data)| data))
        .map(|data| data.strip_suffix('>').unwrap_or(data).to_owned())
        .collect()
}

/// How fakesmsc prints the UCS-2 text `text` sent as a `text` message from `from` to `to`.
fn fakesmsc_view_of_ucs2(from: &str, to: &str, text: &str) -> Vec<String> {
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let printed: String = bytes
        .iter()
        .map(|&b| match b {
            b'\n' => '\n',
            0x20..=0x7E => char::from(b),
            _ => '?',
        })
        .collect();
    format!("{from} {to} text {printed}")
        .split('\n')
        .map(str::to_owned)
        .collect()
}

/// Runs fakesmsc as the phone until it has printed `lines` received lines (or 30 s pass).
async fn phone(
    dir: &Path,
    smsc_port: u16,
    message: Option<String>,
    lines: usize,
) -> (Running, Vec<String>) {
    let mut command = Command::new(FAKESMSC);
    command.args(["-H", "127.0.0.1", "-r", &smsc_port.to_string(), "-i", "0.1"]);
    match message {
        Some(message) => command.args(["-m", "1", &message]),
        None => command.args(["-m", "0", "0 0 text nothing"]),
    };
    let log = dir.join(format!("fakesmsc-{}.log", free_port()));
    let running = Running::start("fakesmsc", &mut command, log);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let received = received_lines(&running.output());
        if received.len() >= lines || Instant::now() > deadline {
            return (running, received);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn url_encode_utf16be(text: &str) -> String {
    text.encode_utf16()
        .flat_map(u16::to_be_bytes)
        .map(|b| format!("%{b:02X}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kannel: apt-get install kannel kannel-extras (.ci/run installs it and runs ignored tests)"]
async fn a_phone_behind_real_kannel_gets_answers_in_arabic_and_french() {
    let (Some(bearerbox), Some(smsbox)) = (find("bearerbox"), find("smsbox")) else {
        panic!("Kannel is not installed (apt-get install kannel kannel-extras)");
    };
    assert!(
        Path::new(FAKESMSC).is_file(),
        "{FAKESMSC} is missing (apt-get install kannel-extras)"
    );

    let app = spawn_app(|sms| {
        sms.kannel.secret = Some(Secret::new(SECRET));
        sms.kannel.allow_from = vec!["127.0.0.1".to_owned()];
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports {
        admin: free_port(),
        smsbox: free_port(),
        smsc: free_port(),
        sendsms: free_port(),
    };
    let conf = dir.path().join("kannel.conf");
    std::fs::write(
        &conf,
        kannel_conf(dir.path(), &ports, &app.url("/webhooks/sms/kannel")),
    )
    .unwrap();
    let _bearerbox = Running::start(
        "bearerbox",
        Command::new(&bearerbox).arg(&conf),
        dir.path().join("bearerbox.out"),
    );
    wait_for_port(ports.smsbox, "bearerbox").await;
    let _smsbox = Running::start(
        "smsbox",
        Command::new(&smsbox).arg(&conf),
        dir.path().join("smsbox.out"),
    );
    wait_for_port(ports.sendsms, "smsbox").await;
    wait_for_port(ports.smsc, "the fake SMSC").await;

    // Arabic, with Arabic-Indic digits, sent by the phone as UCS-2.
    let arabic = arabic_indic(&format!("رقمي {NIN_MIXED} تاريخ ميلادي {BIRTH_MIXED}"));
    let message = format!("0550123456 3030 ucs2 {}", url_encode_utf16be(&arabic));
    let expected = fakesmsc_view_of_ucs2(
        "3030",
        "0550123456",
        "مركزك: مدرسة الأمير عبد القادر\n12 شارع الاستقلال\nالمكتب رقم 1",
    );
    let (phone_1, received) = phone(dir.path(), ports.smsc, Some(message), expected.len()).await;
    assert_eq!(received, expected, "the Arabic answer, as UCS-2");
    drop(phone_1);

    // French, as plain text.
    let french = format!("0661000000 3030 text mon NIN {NIN_WOMEN} ne le {BIRTH_WOMEN}");
    let (phone_2, received) = phone(dir.path(), ports.smsc, Some(french), 3).await;
    assert_eq!(received.len(), 3, "{received:?}");
    assert_eq!(
        received[0],
        "3030 0661000000 text Centre : Ecole Emir Abdelkader"
    );
    assert!(received[1].starts_with("12 Rue de l'Ind"), "{received:?}");
    assert_eq!(received[2], "Bureau 2 (femmes)");
    drop(phone_2);

    // Both senders were recognised as the same E.164 numbers, dialogues stored under them.
    let state = app
        .store()
        .sender_state(
            maktab::domain::Channel::Sms,
            "+213661000000",
            maktab::domain::now(),
        )
        .await
        .unwrap();
    assert_eq!(state.locale, Some(maktab::domain::Locale::Fr));

    // Outbound: a two-segment Arabic text through sendsms reaches the phone as one
    // concatenated message (two parts sharing one UDH reference).
    let config = KannelConfig {
        secret: Some(Secret::new(SECRET)),
        sendsms_url: Some(format!(
            "http://127.0.0.1:{}/cgi-bin/sendsms",
            ports.sendsms
        )),
        sendsms_user: Some("maktab".to_owned()),
        sendsms_password: Some(Secret::new("e2e-send")),
        from: Some("3030".to_owned()),
        ..KannelConfig::default()
    };
    let client = reqwest::Client::new();
    let sender = kannel::sender(&config, Some(&app.base), &client).unwrap();
    // Kannel's lane of the outbox, as the server runs it.
    let lane = Dispatcher::new(app.store(), Arc::new(Catalog::load().unwrap())).with_lane(
        Channel::Sms,
        Some("kannel"),
        true,
        Arc::new(SmsNotices::new(Arc::new(sender))),
        ChannelLimits {
            per_second: 10.0,
            per_recipient: None,
        },
    );
    let (phone_3, _) = phone(dir.path(), ports.smsc, None, 0).await;
    let notice = "تغير مكتب تصويتك: مدرسة الأمير عبد القادر، 12 شارع الاستقلال، المكتب رقم 2. للاستفسار اتصل بمصلحة الانتخابات";
    let to = PhoneNumber::parse("0550123456").unwrap();
    let id = app
        .store()
        .enqueue_reply(
            &NewReply {
                channel: Channel::Sms,
                provider: Some("kannel"),
                recipient: to.as_str(),
                locale: Locale::Ar,
                body: notice,
                message: "notice",
                segments: 2,
            },
            maktab::domain::now(),
        )
        .await
        .unwrap();
    assert_eq!(lane.dispatch_once().await.unwrap(), 1);
    let outcome = app.store().outbound_sms(id).await.unwrap().unwrap();
    assert_eq!(outcome.status, DeliveryStatus::Accepted, "{outcome:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let parts = loop {
        let parts = received_lines(&phone_3.output());
        if parts.len() >= 2 || Instant::now() > deadline {
            break parts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(parts.len(), 2, "two parts: {parts:?}");
    let mut text = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        // "3030 +213550123456 udh %05%00%03<ref>%02%0N data <url-encoded UCS-2>"
        let fields: Vec<&str> = part.split(' ').collect();
        assert_eq!(&fields[..3], ["3030", "+213550123456", "udh"], "{part}");
        let udh: Vec<u8> = percent_encoding::percent_decode_str(fields[3]).collect();
        assert_eq!(udh[..3], [5, 0, 3], "a concatenation header: {part}");
        assert_eq!((udh[4], udh[5] as usize), (2, index + 1), "{part}");
        assert_eq!(fields[4], "data");
        text.extend(percent_encoding::percent_decode_str(
            &fields[5..].join(" ").replace('+', " "),
        ));
    }
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    assert_eq!(String::from_utf16(&units).unwrap(), notice);
    let udh_1: Vec<u8> =
        percent_encoding::percent_decode_str(parts[0].split(' ').nth(3).unwrap()).collect();
    let udh_2: Vec<u8> =
        percent_encoding::percent_decode_str(parts[1].split(' ').nth(3).unwrap()).collect();
    assert_eq!(udh_1[3], udh_2[3], "both parts belong to one message");
}
