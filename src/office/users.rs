//! Console users and their sessions: creating, listing, disabling users and resetting their
//! passwords (national), signing in with a password (Argon2id) and, for those who enrolled or
//! must, a TOTP code (RFC 6238); checking a session on every request.
//!
//! A session is a random secret in a cookie; the database keeps only its SHA-256, with the
//! user, a CSRF token for the session's forms, and when it was opened and last used. A
//! session ends when its user signs out, is disabled or gets a new password, when it was idle
//! too long, and at an absolute age whatever its use.
//!
//! Signing in says the same for an unknown login, a wrong password and a disabled user, and
//! takes about the same time for each (an unknown login still runs Argon2 against a fixed
//! hash). Attempts are counted per login and per address before the password is checked, in
//! one atomic statement each, so that parallel guesses cannot pass the limit.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::store::{NewSession, NewUser, UserRecord};

/// Bytes of randomness in a session secret and a CSRF token.
const TOKEN_BYTES: usize = 32;
/// The shortest password accepted: long enough that a phrase beats a guessable word.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longer inputs are refused before hashing: Argon2 of a megabyte is a cheap denial of service.
const MAX_PASSWORD_BYTES: usize = 1024;
/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
const TOTP_SECRET_BYTES: usize = 20;
/// Seconds of a TOTP step (RFC 6238's default, what authenticator apps use).
const TOTP_STEP_SECONDS: u64 = 30;

/// How long sessions last and how many sign-in attempts are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_seconds: i64,
    /// A session ends this long after sign-in, however used.
    pub absolute_seconds: i64,
    /// Sign-in attempts allowed per login, and per address, in one window.
    pub attempts_per_login: u64,
    pub attempts_per_address: u64,
    /// The window attempts are counted in.
    pub attempt_window_seconds: i64,
    /// National users must give a TOTP code (and enrol first if they have none).
    pub national_second_factor: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_seconds: 30 * 60,
            absolute_seconds: 12 * 3600,
            attempts_per_login: 5,
            attempts_per_address: 30,
            attempt_window_seconds: 15 * 60,
            national_second_factor: true,
        }
    }
}

/// Why a sign-in was refused. The console shows one text for [`Self::Invalid`] whatever the
/// cause (unknown login, wrong password, disabled user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    Invalid,
    /// Too many attempts for this login or from this address; try again later.
    TooManyAttempts,
}

/// What the second step of signing in is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// Signed in.
    None,
    /// A TOTP code is to be given.
    Code,
    /// The user must enrol a TOTP authenticator before going on.
    Enrol,
}

/// A session opened by signing in: the cookie's secret (shown only now) and its CSRF token.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub secret: String,
    pub csrf: String,
    pub second_factor: SecondFactor,
}

/// A live session, as every console request sees it.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The SHA-256 of the cookie's secret: the session's id in the database.
    pub id: String,
    pub principal: Principal,
    pub user: UserRecord,
    pub csrf: String,
    /// What must still happen before the session may do anything but sign in.
    pub second_factor: SecondFactor,
}

impl ConsoleSession {
    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// The principal a console user acts as: identity `user:ID`, named by its login.
pub fn principal_of(user: &UserRecord) -> Principal {
    Principal {
        id: format!("user:{}", user.id),
        name: user.login.clone(),
        role: user.role,
        communes: user.communes.clone(),
        expires_at: None,
    }
}

fn random_hex(bytes: usize) -> OfficeResult<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| OfficeError::Internal(format!("no randomness available: {e}")))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes a password with Argon2id (the crate's default parameters, RFC 9106's second
/// recommendation) and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> OfficeResult<String> {
    check_password(password)?;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| OfficeError::Internal(format!("cannot hash the password: {e}")))
}

fn check_password(password: &str) -> OfficeResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(OfficeError::Rejected(format!(
            "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} characters"
        )));
    }
    Ok(())
}

/// Whether `password` gives the stored PHC hash.
fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// The hash an unknown login is checked against, so that it costs what a known one does.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no such user, but the same work")
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

/// A login as stored: trimmed, lower case, 2 to 64 of `a-z 0-9 . _ - @`.
pub fn normalise_login(login: &str) -> OfficeResult<String> {
    let login = login.trim().to_lowercase();
    let valid = (2..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
    if valid {
        Ok(login)
    } else {
        Err(OfficeError::Rejected(
            "a login has 2 to 64 characters among a-z, 0-9, '.', '_', '-' and '@'".to_owned(),
        ))
    }
}

/// The TOTP generator of a base32 secret (SHA-1, 6 digits, 30 s, one step of skew: what
/// every authenticator app reads).
fn totp(secret_base32: &str) -> OfficeResult<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32)
        .map_err(|e| OfficeError::Internal(format!("stored TOTP secret is invalid: {e:?}")))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .map_err(|e| OfficeError::Internal(format!("TOTP: {e:?}")))
}

/// Whether `code` is the TOTP code of `secret` at `now` (or one step either side).
pub fn totp_code_matches(secret_base32: &str, code: &str, now: Timestamp) -> bool {
    totp_step(secret_base32, code, now).is_some()
}

/// The time step (`unix time / 30`) whose code `code` is, within one step of `now`.
fn totp_step(secret_base32: &str, code: &str, now: Timestamp) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let now = u64::try_from(now).ok()?;
    totp(secret_base32).ok()?.check(&code, now)
}

/// The current TOTP code of a secret (for tests and for showing an enrolment works).
pub fn totp_code(secret_base32: &str, now: Timestamp) -> OfficeResult<String> {
    let now = u64::try_from(now).map_err(|_| OfficeError::Internal("time".to_owned()))?;
    Ok(totp(secret_base32)?.generate(now).to_string())
}

/// A TOTP secret to enrol, with the `otpauth://` URL an authenticator app reads.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// Base32, as the user may type it.
    pub secret: String,
    pub url: String,
}

/// A fresh TOTP secret for `login`.
pub fn new_totp_secret(login: &str) -> OfficeResult<TotpEnrolment> {
    let mut bytes = [0u8; TOTP_SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| OfficeError::Internal(format!("no randomness available: {e}")))?;
    let secret = totp_rs::Secret::from(bytes.to_vec()).to_base32();
    let label: String = percent_encoding::utf8_percent_encode(
        &format!("Maktab:{login}"),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let url = format!(
        "otpauth://totp/{label}?secret={secret}&issuer=Maktab&algorithm=SHA1&digits=6&period=30"
    );
    Ok(TotpEnrolment { secret, url })
}

fn validate_scope(role: Role, communes: &[CommuneCode]) -> OfficeResult<()> {
    match (role, communes.is_empty()) {
        (Role::National, false) => Err(OfficeError::Rejected(
            "a national user covers every commune: give no commune".to_owned(),
        )),
        (Role::CommuneAdmin | Role::ClerkSupervisor, true) => Err(OfficeError::Rejected(format!(
            "a {role} user needs at least one commune"
        ))),
        _ => Ok(()),
    }
}

impl Office {
    /// Creates a console user (national only) and records who did it.
    pub async fn create_user(
        &self,
        creator: &Principal,
        login: &str,
        role: Role,
        communes: Vec<CommuneCode>,
        password: &str,
    ) -> OfficeResult<i64> {
        creator.require(Permission::Users)?;
        let login = normalise_login(login)?;
        validate_scope(role, &communes)?;
        let password_hash = hash_password(password)?;
        let audit = creator.audit(
            "user.create",
            communes.clone(),
            json!({ "login": login, "role": role }),
        );
        self.store
            .create_user(
                NewUser {
                    login: login.clone(),
                    role,
                    communes,
                    password_hash,
                    created_at: crate::domain::now(),
                },
                audit,
            )
            .await?
            .ok_or_else(|| OfficeError::Conflict(format!("a user {login:?} exists already")))
    }

    /// Every console user (national only), never with their hashes.
    pub async fn users(&self, principal: &Principal) -> OfficeResult<Vec<UserRecord>> {
        principal.require(Permission::Users)?;
        Ok(self.store.users().await?)
    }

    async fn user_named(&self, login: &str) -> OfficeResult<UserRecord> {
        let login = normalise_login(login)?;
        self.store
            .user_by_login(&login)
            .await?
            .ok_or_else(|| OfficeError::NotFound(format!("no user {login:?}")))
    }

    /// Disables a user; their sessions end at once.
    pub async fn disable_user(&self, principal: &Principal, login: &str) -> OfficeResult<()> {
        principal.require(Permission::Users)?;
        let user = self.user_named(login).await?;
        let audit = principal.audit(
            "user.disable",
            user.communes.clone(),
            json!({ "login": user.login, "user": format!("user:{}", user.id) }),
        );
        if self
            .store
            .disable_user(user.id, crate::domain::now(), audit)
            .await?
        {
            Ok(())
        } else {
            Err(OfficeError::Conflict(format!(
                "user {:?} is disabled already",
                user.login
            )))
        }
    }

    /// Gives a user a new password; their sessions end.
    pub async fn reset_password(
        &self,
        principal: &Principal,
        login: &str,
        password: &str,
    ) -> OfficeResult<()> {
        principal.require(Permission::Users)?;
        let user = self.user_named(login).await?;
        let hash = hash_password(password)?;
        let audit = principal.audit(
            "user.reset_password",
            user.communes.clone(),
            json!({ "login": user.login, "user": format!("user:{}", user.id) }),
        );
        self.store
            .set_password(user.id, &hash, crate::domain::now(), audit)
            .await?;
        Ok(())
    }

    /// Signs in: counts the attempt per login and per address, checks the password and opens
    /// a session. The refusal does not say whether the login exists.
    pub async fn log_in(
        &self,
        policy: &SessionPolicy,
        login: &str,
        password: &str,
        address: &str,
    ) -> OfficeResult<Result<OpenedSession, LoginRefusal>> {
        let now = crate::domain::now();
        let window = now - now.rem_euclid(policy.attempt_window_seconds.max(1));
        // Logins are compared lower case; anything else (too long, odd characters) still
        // counts, under its own key, but can never match a user.
        let login_key = format!(
            "console-login:{}",
            login
                .trim()
                .to_lowercase()
                .chars()
                .take(80)
                .collect::<String>()
        );
        let address_key = format!("console-address:{address}");
        let by_login = self.store.increment_counter(&login_key, window).await?;
        let by_address = self.store.increment_counter(&address_key, window).await?;
        if by_login > policy.attempts_per_login || by_address > policy.attempts_per_address {
            tracing::warn!(address, "console sign-in refused: too many attempts");
            return Ok(Err(LoginRefusal::TooManyAttempts));
        }
        let user = match normalise_login(login) {
            Ok(login) if password.len() <= MAX_PASSWORD_BYTES => {
                self.store.user_by_login(&login).await?
            }
            _ => None,
        };
        let stored = user
            .as_ref()
            .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
        let password_owned = password.to_owned();
        // Argon2 takes tens of milliseconds of CPU: off the async workers.
        let matches =
            tokio::task::spawn_blocking(move || password_matches(&password_owned, &stored))
                .await
                .map_err(|e| OfficeError::Internal(format!("password check failed: {e}")))?;
        let Some(user) = user.filter(|u| matches && u.disabled_at.is_none()) else {
            tracing::info!(address, "console sign-in refused");
            return Ok(Err(LoginRefusal::Invalid));
        };
        // A right password does not use up the budget of the person who typed it.
        self.store.release_counter(&login_key, window).await?;
        self.store.release_counter(&address_key, window).await?;
        let second_factor = if user.totp_secret.is_some() {
            SecondFactor::Code
        } else if policy.national_second_factor && user.role == Role::National {
            SecondFactor::Enrol
        } else {
            SecondFactor::None
        };
        let secret = random_hex(TOKEN_BYTES)?;
        let csrf = random_hex(TOKEN_BYTES)?;
        self.store
            .create_session(NewSession {
                id: sha256_hex(&secret),
                user_id: user.id,
                csrf: csrf.clone(),
                pending_second_factor: second_factor != SecondFactor::None,
                created_at: now,
            })
            .await?;
        let principal = principal_of(&user);
        let audit = principal.audit(
            "console.login",
            user.communes.clone(),
            json!({ "address": address, "second_factor": second_factor != SecondFactor::None }),
        );
        self.store.append_audit(audit).await?;
        Ok(Ok(OpenedSession {
            secret,
            csrf,
            second_factor,
        }))
    }

    /// The live session a cookie's secret opens, if any: not ended, its user enabled, not
    /// idle too long nor too old. Records the use.
    pub async fn session(
        &self,
        policy: &SessionPolicy,
        secret: &str,
    ) -> OfficeResult<Option<ConsoleSession>> {
        if secret.len() != TOKEN_BYTES * 2 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let id = sha256_hex(secret);
        let Some(record) = self.store.session(&id).await? else {
            return Ok(None);
        };
        let now = crate::domain::now();
        let expired = record.ended_at.is_some()
            || record.user.disabled_at.is_some()
            || now - record.last_seen > policy.idle_seconds
            || now - record.created_at > policy.absolute_seconds;
        if expired {
            if record.ended_at.is_none() {
                self.store.end_session(&id, now).await?;
            }
            return Ok(None);
        }
        self.store.touch_session(&id, now).await?;
        let second_factor = match (record.pending_second_factor, &record.user.totp_secret) {
            (false, _) => SecondFactor::None,
            (true, Some(_)) => SecondFactor::Code,
            (true, None) => SecondFactor::Enrol,
        };
        Ok(Some(ConsoleSession {
            id,
            principal: principal_of(&record.user),
            user: record.user,
            csrf: record.csrf,
            second_factor,
        }))
    }

    /// Checks the TOTP code of a session waiting for it; the session is then signed in.
    /// Codes are limited like passwords (per login).
    pub async fn give_second_factor(
        &self,
        policy: &SessionPolicy,
        session: &ConsoleSession,
        code: &str,
    ) -> OfficeResult<Result<(), LoginRefusal>> {
        let now = crate::domain::now();
        let window = now - now.rem_euclid(policy.attempt_window_seconds.max(1));
        let key = format!("console-totp:{}", session.user.id);
        if self.store.increment_counter(&key, window).await? > policy.attempts_per_login {
            return Ok(Err(LoginRefusal::TooManyAttempts));
        }
        let Some(secret) = &session.user.totp_secret else {
            return Ok(Err(LoginRefusal::Invalid));
        };
        let Some(step) = totp_step(secret, code, now) else {
            return Ok(Err(LoginRefusal::Invalid));
        };
        if !self.first_use_of_step(session.user.id, step).await? {
            return Ok(Err(LoginRefusal::Invalid));
        }
        self.store.release_counter(&key, window).await?;
        self.store.complete_second_factor(&session.id, now).await?;
        Ok(Ok(()))
    }

    /// Enrols a TOTP secret for the session's user once they typed its current code; the
    /// session is then signed in.
    pub async fn enrol_second_factor(
        &self,
        session: &ConsoleSession,
        secret: &str,
        code: &str,
    ) -> OfficeResult<bool> {
        let now = crate::domain::now();
        let Some(step) = totp_step(secret, code, now) else {
            return Ok(false);
        };
        // The code that proved the enrolment cannot sign in a second session.
        if !self.first_use_of_step(session.user.id, step).await? {
            return Ok(false);
        }
        let audit = session.principal.audit(
            "user.totp.enrol",
            session.user.communes.clone(),
            json!({ "login": session.user.login }),
        );
        self.store
            .set_totp_secret(session.user.id, Some(secret), audit)
            .await?;
        self.store.complete_second_factor(&session.id, now).await?;
        Ok(true)
    }

    /// Marks a user's TOTP step as used; `false` if it was already. RFC 6238 (5.2) wants a
    /// code accepted once: whoever reads a code over a shoulder, or from a phishing page that
    /// relays it, cannot sign in with it again inside its 90 s of validity. The mark is one
    /// atomic counter increment, so two sign-ins racing with one code on two instances get
    /// one success between them; it is pruned with the other counters.
    async fn first_use_of_step(&self, user: i64, step: u64) -> OfficeResult<bool> {
        let key = format!("console-totp-used:{user}");
        let window = Timestamp::try_from(step.saturating_mul(TOTP_STEP_SECONDS))
            .map_err(|_| OfficeError::Internal("TOTP step out of range".to_owned()))?;
        Ok(self.store.increment_counter(&key, window).await? == 1)
    }

    /// Signs a session out.
    pub async fn log_out(&self, session: &ConsoleSession) -> OfficeResult<()> {
        self.store
            .end_session(&session.id, crate::domain::now())
            .await?;
        let audit =
            session
                .principal
                .audit("console.logout", session.user.communes.clone(), json!({}));
        self.store.append_audit(audit).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hash_is_argon2id_and_checks_only_its_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("anything", "not a hash"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn logins_are_folded_to_lower_case_and_limited_to_plain_characters() {
        assert_eq!(normalise_login("  Amina.B ").unwrap(), "amina.b");
        assert!(normalise_login("a").is_err());
        assert!(normalise_login("amina b").is_err());
        assert!(normalise_login("أمينة").is_err());
    }

    #[test]
    fn a_totp_code_matches_its_step_and_the_next_but_not_later_ones() {
        let enrolment = new_totp_secret("amina").unwrap();
        assert!(
            enrolment
                .url
                .starts_with("otpauth://totp/Maktab%3Aamina?secret=")
        );
        let now = 1_793_700_000;
        let code = totp_code(&enrolment.secret, now).unwrap();
        assert_eq!(code.len(), 6);
        assert!(totp_code_matches(&enrolment.secret, &code, now));
        assert!(totp_code_matches(&enrolment.secret, &code, now + 30));
        assert!(!totp_code_matches(&enrolment.secret, &code, now + 120));
        assert!(!totp_code_matches(&enrolment.secret, "000000x", now));
    }

    #[test]
    fn rfc_6238_test_vector_gives_its_code() {
        // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (8 digits); the 6-digit code is its
        // last six digits.
        let secret = totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
    }
}
