//! CLDR plural categories for Arabic and French integers.
//!
//! Fluent's built-in selection uses `intl_pluralrules` 7.0.2, which puts Arabic 103–110 in
//! `other` instead of `few` and 111–199 in `other` instead of `many`. Rather than pull in
//! ICU4X for two rule sets over integers, the CLDR rules are written out here and exposed to
//! the catalogues as the `PLURAL()` function; the tests check CLDR's own sample numbers.

use crate::domain::Locale;

/// The CLDR plural category of a non-negative integer count in a locale.
pub fn category(locale: Locale, count: u64) -> &'static str {
    match locale {
        Locale::Ar => {
            let last_two = count % 100;
            match count {
                0 => "zero",
                1 => "one",
                2 => "two",
                _ if (3..=10).contains(&last_two) => "few",
                _ if (11..=99).contains(&last_two) => "many",
                _ => "other",
            }
        }
        Locale::Fr => match count {
            0 | 1 => "one",
            n if n % 1_000_000 == 0 => "many",
            _ => "other",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_in(locale: Locale, samples: &[u64], expected: &str) {
        for &n in samples {
            assert_eq!(category(locale, n), expected, "{locale} {n}");
        }
    }

    #[test]
    fn arabic_matches_cldr_samples() {
        all_in(Locale::Ar, &[0], "zero");
        all_in(Locale::Ar, &[1], "one");
        all_in(Locale::Ar, &[2], "two");
        all_in(Locale::Ar, &[3, 7, 10, 103, 104, 110, 1003], "few");
        all_in(Locale::Ar, &[11, 26, 99, 111, 150, 199, 1011], "many");
        all_in(Locale::Ar, &[100, 101, 102, 200, 1000, 10000], "other");
    }

    #[test]
    fn french_matches_cldr_samples() {
        all_in(Locale::Fr, &[0, 1], "one");
        all_in(Locale::Fr, &[2, 17, 100, 1000, 1_000_001], "other");
        all_in(Locale::Fr, &[1_000_000, 2_000_000], "many");
    }
}
