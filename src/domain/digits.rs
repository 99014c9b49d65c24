//! Digits as people type them: ASCII, Arabic-Indic (٠–٩) and Extended Arabic-Indic (۰–۹, the
//! Persian and Urdu forms some phone keyboards produce), mixed freely within one number.

/// The value of a decimal digit in any script Maktab accepts, as an ASCII digit.
pub fn ascii_digit(c: char) -> Option<char> {
    let value = match c {
        '0'..='9' => c as u32 - '0' as u32,
        '\u{0660}'..='\u{0669}' => c as u32 - 0x0660,
        '\u{06F0}'..='\u{06F9}' => c as u32 - 0x06F0,
        _ => return None,
    };
    char::from_digit(value, 10)
}

/// Characters people put between digit groups: space, dash, dot, slash, and the look-alikes
/// phones insert (no-break space, typographic dashes, the Arabic decimal and thousands marks).
pub fn is_group_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '/' | '_' | '\u{00A0}' | '\u{202F}' | '\u{2010}'
            ..='\u{2015}' | '\u{066B}' | '\u{066C}' | '\u{2212}'
    )
}

/// Invisible direction and joining marks that Arabic keyboards insert around digits; they
/// carry no meaning for a number and are skipped.
pub fn is_invisible_mark(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// The text with every digit in ASCII and invisible marks removed; other characters unchanged.
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !is_invisible_mark(*c))
        .map(|c| ascii_digit(c).unwrap_or(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_maps_to_the_same_ascii_digit() {
        for (value, ascii) in ('0'..='9').enumerate() {
            let arabic = char::from_u32(0x0660 + value as u32).unwrap();
            let persian = char::from_u32(0x06F0 + value as u32).unwrap();
            assert_eq!(ascii_digit(ascii), Some(ascii));
            assert_eq!(ascii_digit(arabic), Some(ascii));
            assert_eq!(ascii_digit(persian), Some(ascii));
        }
        assert_eq!(ascii_digit('a'), None);
        assert_eq!(ascii_digit('\u{0661}'), Some('1'));
    }

    #[test]
    fn normalize_drops_direction_marks_and_keeps_words() {
        assert_eq!(normalize("رقمي \u{200F}١٢٣"), "رقمي 123");
    }
}
