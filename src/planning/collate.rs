//! The alphabetical order of voters' names, as printed on a station's door ("from … to …").
//!
//! Names are first folded so that the spellings people do not tell apart sort as one
//! (أ إ آ ٱ and ا, ة and ه, ى and ي, tatweel, diacritics, case, runs of spaces): the folding is
//! the project's [`fold`], the one keywords and commune names are matched with. The folded
//! names are then ordered by CLDR collation through ICU4X (`icu_collator`, compiled data):
//! Arabic rules for names in Arabic script, French rules for Latin names, and every Arabic
//! name before every Latin one. Spaces and punctuation are ignored at the first levels
//! ("alternate shifted"), so "بن علي" and "بنعلي", "Ben Ali" and "Benali" sit side by side.
//!
//! A name is turned into one byte string, its *sort key*: comparing keys bytewise gives the
//! order of family name, then given name. Keys are computed once per voter, so sorting
//! millions of voters compares bytes instead of running the collation algorithm each time.

use std::cmp::Ordering;

use icu_collator::CollatorBorrowed;
use icu_collator::options::{AlternateHandling, CollatorOptions};
use icu_locale_core::locale;

use crate::domain::fold;

/// Which collation a name is sorted by; Arabic names come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Script {
    Arabic = 0,
    Latin = 1,
}

impl Script {
    /// The script of a name: that of its first letter (Latin for a name without letters).
    pub fn of(name: &str) -> Self {
        match name.chars().find(|c| c.is_alphabetic()) {
            Some(c) if is_arabic(c) => Self::Arabic,
            _ => Self::Latin,
        }
    }
}

fn is_arabic(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{08A0}'..='\u{08FF}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}')
}

/// A name folded for sorting: [`fold`], then surrounding spaces trimmed and every run of
/// white space made one space.
pub fn fold_name(name: &str) -> String {
    let folded = fold(name);
    let mut out = String::with_capacity(folded.len());
    for word in folded.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Why the collation data could not be loaded (it is compiled in, so this is a build fault).
#[derive(Debug, thiserror::Error)]
#[error("cannot load the collation rules for {locale}: {reason}")]
pub struct CollatorError {
    locale: &'static str,
    reason: String,
}

/// The Arabic and French collators, built once and shared by every key.
pub struct NameCollator {
    arabic: CollatorBorrowed<'static>,
    french: CollatorBorrowed<'static>,
}

impl std::fmt::Debug for NameCollator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameCollator(ar, fr)")
    }
}

impl NameCollator {
    /// Loads the compiled CLDR rules for Arabic and French.
    pub fn new() -> Result<Self, CollatorError> {
        let mut options = CollatorOptions::default();
        options.alternate_handling = Some(AlternateHandling::Shifted);
        let arabic = CollatorBorrowed::try_new(locale!("ar").into(), options).map_err(|e| {
            CollatorError {
                locale: "ar",
                reason: e.to_string(),
            }
        })?;
        let french = CollatorBorrowed::try_new(locale!("fr").into(), options).map_err(|e| {
            CollatorError {
                locale: "fr",
                reason: e.to_string(),
            }
        })?;
        Ok(Self { arabic, french })
    }

    /// Appends the sort key of a full name to `key`. The key is the script (Arabic first),
    /// the family name's collation key, a zero byte and the given name's key: collation keys
    /// hold no zero byte, so the zero ends the family name below any letter and the family
    /// name decides before the given name does.
    pub fn sort_key(&self, family: &str, given: &str, key: &mut Vec<u8>) {
        let family = fold_name(family);
        let given = fold_name(given);
        let script = Script::of(if family.is_empty() { &given } else { &family });
        let collator = match script {
            Script::Arabic => &self.arabic,
            Script::Latin => &self.french,
        };
        key.push(script as u8);
        // Writing into a Vec cannot fail (its error type is `Infallible`).
        let Ok(()) = collator.write_sort_key_to(&family, key);
        key.push(0);
        let Ok(()) = collator.write_sort_key_to(&given, key);
    }

    /// The order of two full names (family, given), as their sort keys give it.
    pub fn compare(&self, a: (&str, &str), b: (&str, &str)) -> Ordering {
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        self.sort_key(a.0, a.1, &mut ka);
        self.sort_key(b.0, b.1, &mut kb);
        ka.cmp(&kb)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn sorted(names: &[(&str, &str)]) -> Vec<String> {
        let collator = NameCollator::new().unwrap();
        let mut names = names.to_vec();
        names.sort_by(|a, b| collator.compare(*a, *b));
        names.into_iter().map(|(f, g)| format!("{f} {g}")).collect()
    }

    #[test]
    fn hamza_forms_of_alef_sort_as_one_letter() {
        let collator = NameCollator::new().unwrap();
        for variant in ["أحمد", "إحمد", "آحمد", "احمد", "ٱحمد"] {
            assert_eq!(
                collator.compare((variant, "علي"), ("احمد", "علي")),
                Ordering::Equal,
                "{variant}"
            );
        }
        // And so "إبراهيم" files under alef beside "ابراهيم", before "بلقاسم".
        assert_eq!(
            sorted(&[
                ("بلقاسم", "محمد"),
                ("إبراهيمي", "سعاد"),
                ("ابراهيمي", "أمين")
            ]),
            ["ابراهيمي أمين", "إبراهيمي سعاد", "بلقاسم محمد"]
        );
    }

    #[test]
    fn ta_marbuta_alef_maqsura_and_tatweel_are_folded() {
        let collator = NameCollator::new().unwrap();
        assert_eq!(
            collator.compare(("بوجمعة", "فاطمة"), ("بوجمعه", "فاطمه")),
            Ordering::Equal
        );
        assert_eq!(
            collator.compare(("مصطفى", "يحيى"), ("مصطفي", "يحيي")),
            Ordering::Equal
        );
        assert_eq!(
            collator.compare(("بلحـــاج", "كريم"), ("بلحاج", "كريم")),
            Ordering::Equal
        );
        assert_eq!(
            collator.compare(("  بن   علي ", "كريم"), ("بن علي", "كريم")),
            Ordering::Equal
        );
    }

    #[test]
    fn names_with_ben_and_al_sort_by_their_letters_ignoring_the_space() {
        // "بن علي" and "بنعلي" are the same family to the people reading the door sign.
        let collator = NameCollator::new().unwrap();
        assert_eq!(
            collator.compare(("بن علي", "كريم"), ("بنعلي", "كريم")),
            Ordering::Equal
        );
        assert_eq!(
            sorted(&[
                ("بوزيد", "علي"),
                ("بن يوسف", "مريم"),
                ("بن علي", "كريم"),
                ("بنعيسى", "نادية"),
                ("آل خليفة", "سارة"),
                ("العربي", "سمير"),
                ("بلعيد", "جميلة"),
            ]),
            [
                "آل خليفة سارة",
                "العربي سمير",
                "بلعيد جميلة",
                "بن علي كريم",
                "بنعيسى نادية",
                "بن يوسف مريم",
                "بوزيد علي",
            ]
        );
    }

    #[test]
    fn the_family_name_decides_before_the_given_name() {
        assert_eq!(
            sorted(&[("حداد", "أمين"), ("حدادي", "آدم"), ("حداد", "يوسف")]),
            ["حداد أمين", "حداد يوسف", "حدادي آدم"]
        );
    }

    #[test]
    fn latin_names_follow_arabic_ones_in_french_order() {
        assert_eq!(
            sorted(&[
                ("Zerrouki", "Ali"),
                ("Étienne", "Marc"),
                ("زروقي", "علي"),
                ("Benali", "Yacine"),
                ("Ben Ali", "Amel"),
                ("Ecker", "Paul"),
            ]),
            [
                "زروقي علي",
                "Ben Ali Amel",
                "Benali Yacine",
                "Ecker Paul",
                "Étienne Marc",
                "Zerrouki Ali",
            ]
        );
    }

    proptest! {
        #[test]
        fn composite_keys_order_family_then_given(
            f1 in "[ابتثجحخدرزسشصضطظعغفقكلمنهوي ]{0,8}",
            g1 in "[ابتثجحخدرزسشصضطظعغفقكلمنهوي]{0,6}",
            f2 in "[ابتثجحخدرزسشصضطظعغفقكلمنهوي ]{0,8}",
            g2 in "[ابتثجحخدرزسشصضطظعغفقكلمنهوي]{0,6}",
        ) {
            let collator = NameCollator::new().unwrap();
            let single = |a: &str, b: &str| {
                let (mut ka, mut kb) = (Vec::new(), Vec::new());
                let Ok(()) = collator.arabic.write_sort_key_to(&fold_name(a), &mut ka);
                let Ok(()) = collator.arabic.write_sort_key_to(&fold_name(b), &mut kb);
                prop_assert!(!ka.contains(&0) && !kb.contains(&0), "a collation key holds no zero byte");
                Ok(ka.cmp(&kb))
            };
            let expected = single(&f1, &f2)?.then(single(&g1, &g2)?);
            // Only names in Arabic script (or without letters, then Latin) are compared here.
            if Script::of(if fold_name(&f1).is_empty() { &g1 } else { &f1 })
                == Script::of(if fold_name(&f2).is_empty() { &g2 } else { &f2 })
            {
                prop_assert_eq!(collator.compare((&f1, &g1), (&f2, &g2)), expected);
            }
        }
    }
}
