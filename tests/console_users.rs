//! Actors as identities (issue 13, point 4) and console users (issue 15): token names are
//! unique, the two-person rule compares identities, the audit log shows name and id; console
//! users are created, listed, disabled and reset through the command line and the office, on
//! SQLite and (when `MAKTAB_TEST_POSTGRES_URL` names a server) PostgreSQL; sessions end when
//! their user is disabled; sign-in attempts are limited and unknown logins read as wrong
//! passwords.
// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use maktab::domain::{CommuneCode, Role};
use maktab::office::users::{LoginRefusal, SecondFactor, SessionPolicy};
use maktab::office::{OfficeError, Principal};
use maktab::store::{AuditQuery, ChangeSetStatus, Store};

fn commune(code: &str) -> CommuneCode {
    CommuneCode::parse(code).unwrap()
}

fn policy() -> SessionPolicy {
    SessionPolicy {
        national_second_factor: false,
        ..SessionPolicy::default()
    }
}

#[tokio::test]
async fn a_second_token_of_the_same_name_is_refused_as_a_conflict() {
    let db = TestDb::empty().await;
    let office = office(&db.store);
    let operator = Principal::command_line();
    office
        .create_token(
            &operator,
            "Oran office",
            Role::CommuneAdmin,
            vec![commune("3101")],
            None,
        )
        .await
        .unwrap();
    let again = office
        .create_token(&operator, " oran OFFICE ", Role::National, Vec::new(), None)
        .await;
    assert!(
        matches!(&again, Err(OfficeError::Conflict(m)) if m.contains("exists already")),
        "{again:?}"
    );
    assert_eq!(office.tokens(&operator).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_two_person_rule_compares_identities_and_the_audit_log_shows_them() {
    let db = TestDb::empty().await;
    db.import_map(MAP_CSV).await.unwrap();
    db.import_roll(ROLL_CSV).await.unwrap();
    let office = office_with(&db.store, true);
    let operator = Principal::command_line();
    let first = office
        .create_token(&operator, "first officer", Role::National, Vec::new(), None)
        .await
        .unwrap();
    let second = office
        .create_token(
            &operator,
            "second officer",
            Role::National,
            Vec::new(),
            None,
        )
        .await
        .unwrap();
    let importer = office.authenticate(&first.token).await.unwrap().unwrap();
    let approver = office.authenticate(&second.token).await.unwrap().unwrap();
    assert_eq!(importer.id, format!("token:{}", first.id));
    let moved = ROLL_CSV.replace("1990-03-15,M,1601,C01,1", "1990-03-15,M,1601,C02,2");
    office
        .import(
            &importer,
            maktab::store::ImportKind::Roll,
            Box::new(std::io::Cursor::new(moved.into_bytes())),
            false,
            "moved.csv",
        )
        .await
        .unwrap();
    let pending = db
        .store
        .change_sets(Some(ChangeSetStatus::Pending), 10)
        .await
        .unwrap();
    let change_set = &pending[0];
    assert_eq!(
        change_set.created_by,
        format!("first officer (token:{})", first.id)
    );
    // Someone presenting the importer's name under another identity is another person; the
    // importer under another name is still the importer.
    let renamed_importer = Principal {
        name: "second officer".to_owned(),
        ..importer.clone()
    };
    let refused = office.approve(&renamed_importer, change_set.id).await;
    assert!(
        matches!(refused, Err(OfficeError::Forbidden(_))),
        "{refused:?}"
    );
    office.approve(&approver, change_set.id).await.unwrap();
    let entries = db
        .store
        .audit_entries(&AuditQuery {
            action: Some("changes".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        entries[0].actor,
        format!("second officer (token:{})", second.id)
    );
    assert_eq!(db.store.verify_audit_chain().await.unwrap().broken, None);
}

#[tokio::test]
async fn an_observer_token_is_refused_observers_are_console_users() {
    let db = TestDb::empty().await;
    let refused = office(&db.store)
        .create_token(
            &Principal::command_line(),
            "partners",
            Role::Observer,
            Vec::new(),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(OfficeError::Rejected(_))),
        "{refused:?}"
    );
}

fn maktab(url: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_maktab"))
        .env("MAKTAB_DATABASE_URL", url)
        .env("USER", "root")
        .env_remove("MAKTAB_LOG")
        .env_remove("RUST_LOG")
        .env_remove("MAKTAB_CONFIG")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn the_command_line_creates_lists_disables_and_resets_console_users() {
    let db = TestDb::empty().await;
    let url = db.url.clone();
    let run = move |args: Vec<&'static str>, stdin: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || maktab(&url, &args, stdin))
    };
    let (ok, out, err) = run(
        vec![
            "user",
            "create",
            "--login",
            "Amina",
            "--role",
            "commune_admin",
            "--commune",
            "1601",
            "--password-stdin",
        ],
        "a long enough secret\n",
    )
    .await
    .unwrap();
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("User Amina created (user:1, commune_admin)"),
        "{out}"
    );
    let (ok, _, err) = run(
        vec![
            "user",
            "create",
            "--login",
            "amina",
            "--role",
            "national",
            "--password-stdin",
        ],
        "another long secret\n",
    )
    .await
    .unwrap();
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = run(
        vec![
            "user",
            "create",
            "--login",
            "short",
            "--role",
            "national",
            "--password-stdin",
        ],
        "short\n",
    )
    .await
    .unwrap();
    assert!(!ok && err.contains("10 to"), "{err}");
    let (ok, _, err) = run(
        vec![
            "user",
            "create",
            "--login",
            "nocommune",
            "--role",
            "commune_admin",
            "--password-stdin",
        ],
        "a long enough secret\n",
    )
    .await
    .unwrap();
    assert!(!ok && err.contains("at least one commune"), "{err}");

    let office = office(&db.store);
    let opened = office
        .log_in(&policy(), "AMINA", "a long enough secret", "127.0.0.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.second_factor, SecondFactor::None);
    let session = office
        .session(&policy(), &opened.secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.principal.id, "user:1");
    assert_eq!(session.principal.communes, vec![commune("1601")]);

    let (ok, out, _) = run(vec!["user", "list"], "").await.unwrap();
    assert!(ok);
    let line = out.lines().find(|l| l.ends_with(" amina")).unwrap();
    assert!(
        line.contains("active") && line.contains("commune_admin") && line.contains("1601"),
        "{line}"
    );

    let (ok, out, err) = run(
        vec!["user", "reset-password", "amina", "--password-stdin"],
        "a brand new secret\n",
    )
    .await
    .unwrap();
    assert!(ok, "{out}{err}");
    assert!(
        office
            .session(&policy(), &opened.secret)
            .await
            .unwrap()
            .is_none(),
        "a new password ends the sessions"
    );
    let old = office
        .log_in(&policy(), "amina", "a long enough secret", "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(old.err(), Some(LoginRefusal::Invalid));
    let opened = office
        .log_in(&policy(), "amina", "a brand new secret", "127.0.0.1")
        .await
        .unwrap()
        .unwrap();

    let (ok, out, err) = run(vec!["user", "disable", "amina"], "").await.unwrap();
    assert!(ok, "{out}{err}");
    assert!(
        office
            .session(&policy(), &opened.secret)
            .await
            .unwrap()
            .is_none()
    );
    let disabled = office
        .log_in(&policy(), "amina", "a brand new secret", "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(
        disabled.err(),
        Some(LoginRefusal::Invalid),
        "a disabled user reads as a wrong password"
    );
    let (_, out, _) = run(vec!["user", "list"], "").await.unwrap();
    assert!(
        out.lines()
            .any(|l| l.contains("disabled") && l.ends_with(" amina")),
        "{out}"
    );

    let audit = db
        .store
        .audit_entries(&AuditQuery {
            action: Some("user".to_owned()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("user.disable", "command line (cli:root)"),
            ("user.reset_password", "command line (cli:root)"),
            ("user.create", "command line (cli:root)"),
        ]
    );
    assert_eq!(db.store.verify_audit_chain().await.unwrap().broken, None);
}

async fn users_and_sessions_behave_alike(store: Arc<dyn Store>) {
    let office = maktab::office::Office::new(
        Arc::clone(&store),
        Arc::new(maktab::i18n::Catalog::load().unwrap()),
        maktab::office::Rules {
            two_person_rule: true,
            max_voters_per_station: 500,
        },
    );
    let operator = Principal::command_line();
    let id = office
        .create_user(
            &operator,
            "watcher",
            Role::Observer,
            Vec::new(),
            "watching quietly",
        )
        .await
        .unwrap();
    let again = office
        .create_user(
            &operator,
            "Watcher",
            Role::Observer,
            Vec::new(),
            "watching quietly",
        )
        .await;
    assert!(matches!(again, Err(OfficeError::Conflict(_))), "{again:?}");
    let opened = office
        .log_in(&policy(), "watcher", "watching quietly", "10.0.0.1")
        .await
        .unwrap()
        .unwrap();
    let session = office
        .session(&policy(), &opened.secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.principal.id, format!("user:{id}"));
    assert_eq!(session.principal.role, Role::Observer);
    assert!(session.csrf_matches(&opened.csrf));
    assert!(!session.csrf_matches("forged"));
    // The cookie's secret is not stored: the session id is its hash.
    assert_ne!(session.id, opened.secret);
    assert!(
        office
            .session(&policy(), &session.id)
            .await
            .unwrap()
            .is_none()
    );
    // An idle session ends.
    let strict = SessionPolicy {
        idle_seconds: -1,
        ..policy()
    };
    assert!(
        office
            .session(&strict, &opened.secret)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        office
            .session(&policy(), &opened.secret)
            .await
            .unwrap()
            .is_none(),
        "an expired session stays ended"
    );
    // A national user must enrol a second factor before going on.
    office
        .create_user(
            &operator,
            "chief",
            Role::National,
            Vec::new(),
            "national secret",
        )
        .await
        .unwrap();
    let chief = office
        .log_in(
            &SessionPolicy::default(),
            "chief",
            "national secret",
            "10.0.0.1",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(chief.second_factor, SecondFactor::Enrol);
    let session = office
        .session(&SessionPolicy::default(), &chief.secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.second_factor, SecondFactor::Enrol);
    let enrolment = maktab::office::users::new_totp_secret("chief").unwrap();
    assert!(
        !office
            .enrol_second_factor(&session, &enrolment.secret, "000000")
            .await
            .unwrap()
    );
    let enrolled =
        maktab::office::users::totp_code(&enrolment.secret, maktab::domain::now()).unwrap();
    assert!(
        office
            .enrol_second_factor(&session, &enrolment.secret, &enrolled)
            .await
            .unwrap()
    );
    let session = office
        .session(&SessionPolicy::default(), &chief.secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.second_factor, SecondFactor::None);
    // From now on a sign-in asks for the code.
    let next = office
        .log_in(
            &SessionPolicy::default(),
            "chief",
            "national secret",
            "10.0.0.1",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.second_factor, SecondFactor::Code);
    let waiting = office
        .session(&SessionPolicy::default(), &next.secret)
        .await
        .unwrap()
        .unwrap();
    let wrong = office
        .give_second_factor(&SessionPolicy::default(), &waiting, "123")
        .await
        .unwrap();
    assert_eq!(wrong, Err(LoginRefusal::Invalid));
    // The enrolment's code was used once: it cannot sign in (RFC 6238, 5.2). The next
    // step's code, which an authenticator shows 30 s later, is accepted once.
    let replayed = office
        .give_second_factor(&SessionPolicy::default(), &waiting, &enrolled)
        .await
        .unwrap();
    assert_eq!(replayed, Err(LoginRefusal::Invalid));
    let code =
        maktab::office::users::totp_code(&enrolment.secret, maktab::domain::now() + 30).unwrap();
    office
        .give_second_factor(&SessionPolicy::default(), &waiting, &code)
        .await
        .unwrap()
        .unwrap();
    let third = office
        .log_in(
            &SessionPolicy::default(),
            "chief",
            "national secret",
            "10.0.0.1",
        )
        .await
        .unwrap()
        .unwrap();
    let third = office
        .session(&SessionPolicy::default(), &third.secret)
        .await
        .unwrap()
        .unwrap();
    let again = office
        .give_second_factor(&SessionPolicy::default(), &third, &code)
        .await
        .unwrap();
    assert_eq!(again, Err(LoginRefusal::Invalid), "a code signs in once");
    assert_eq!(store.verify_audit_chain().await.unwrap().broken, None);
}

#[tokio::test]
async fn users_and_sessions_on_sqlite() {
    let db = TestDb::empty().await;
    users_and_sessions_behave_alike(Arc::clone(&db.store)).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL"]
async fn users_and_sessions_on_postgres() {
    let (db, _pg) = TestDb::postgres()
        .await
        .expect("needs PostgreSQL: set MAKTAB_TEST_POSTGRES_URL");
    users_and_sessions_behave_alike(Arc::clone(&db.store)).await;
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_login_and_per_address_even_in_parallel() {
    let db = TestDb::empty().await;
    let office = office(&db.store);
    office
        .create_user(
            &Principal::command_line(),
            "amina",
            Role::CommuneAdmin,
            vec![commune("1601")],
            "the right secret",
        )
        .await
        .unwrap();
    let tight = SessionPolicy {
        attempts_per_login: 3,
        attempts_per_address: 100,
        ..policy()
    };
    let mut guesses = Vec::new();
    for i in 0..10 {
        let office = office.clone();
        guesses.push(tokio::spawn(async move {
            office
                .log_in(
                    &tight,
                    "amina",
                    &format!("wrong guess {i}"),
                    &format!("10.0.0.{i}"),
                )
                .await
                .unwrap()
        }));
    }
    let mut refusals = Vec::new();
    for guess in guesses {
        refusals.push(guess.await.unwrap().err().unwrap());
    }
    let invalid = refusals
        .iter()
        .filter(|r| **r == LoginRefusal::Invalid)
        .count();
    assert_eq!(invalid, 3, "exactly the limit was checked: {refusals:?}");
    // Even the right password waits out the window now.
    let blocked = office
        .log_in(&tight, "amina", "the right secret", "10.0.0.99")
        .await
        .unwrap();
    assert_eq!(blocked.err(), Some(LoginRefusal::TooManyAttempts));
    // Per address: many logins from one address.
    let by_address = SessionPolicy {
        attempts_per_login: 100,
        attempts_per_address: 2,
        ..policy()
    };
    for login in ["x1", "x2"] {
        let refused = office
            .log_in(&by_address, login, "whatever it is", "10.9.9.9")
            .await
            .unwrap();
        assert_eq!(refused.err(), Some(LoginRefusal::Invalid));
    }
    let refused = office
        .log_in(&by_address, "x3", "whatever it is", "10.9.9.9")
        .await
        .unwrap();
    assert_eq!(refused.err(), Some(LoginRefusal::TooManyAttempts));
}
