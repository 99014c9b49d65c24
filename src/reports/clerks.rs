//! Clerk invitation codes: short enough to type on a phone, long enough not to be guessed
//! (50 random bits, and enrolment attempts are rate-limited), stored only as a hash.

use sha2::{Digest, Sha256};

/// Letters and digits that cannot be mistaken for one another (no 0 or O, no 1 or I).
const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LENGTH: usize = 10;

/// A fresh code, printed as `XXXXX-XXXXX`.
pub fn generate_code() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; CODE_LENGTH];
    getrandom::fill(&mut bytes)?;
    let letters: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(format!("{}-{}", &letters[..5], &letters[5..]))
}

/// The canonical form of a typed code (any case, with or without the dash or spaces), or
/// `None` if it cannot be a code.
pub fn normalize_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    let valid = code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// What the store keeps of a code.
pub fn hash_code(canonical: &str) -> String {
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_read_back_however_they_are_typed() {
        let code = generate_code().unwrap();
        assert_eq!(code.len(), 11);
        let canonical = normalize_code(&code).unwrap();
        assert_eq!(
            normalize_code(&code.to_lowercase()),
            Some(canonical.clone())
        );
        assert_eq!(
            normalize_code(&code.replace('-', " ")),
            Some(canonical.clone())
        );
        assert_eq!(hash_code(&canonical).len(), 64);
        assert_ne!(generate_code().unwrap(), code);
    }

    #[test]
    fn what_cannot_be_a_code_is_refused() {
        assert_eq!(normalize_code("ABCDE-FGHJ"), None);
        assert_eq!(normalize_code("ABCDE-FGHJ0"), None);
        assert_eq!(normalize_code("ABCDE-FGHJKM"), None);
        assert_eq!(normalize_code(""), None);
    }
}
