//! SMS segment counting. Operators bill and throttle per segment, not per message: GSM-7 text
//! fits 160 characters in one segment (153 per part when concatenated), anything else is sent
//! as UCS-2 with 70 UTF-16 units (67 per part). Arabic is always UCS-2.

/// How a text is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

/// The cost of a text as SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCount {
    pub encoding: SmsEncoding,
    /// Septets for GSM-7 (extension characters count two), UTF-16 units for UCS-2.
    pub units: usize,
    pub segments: usize,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// Septets a character takes in GSM-7, or `None` if it forces UCS-2.
fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts the segments a text needs.
///
/// ```
/// use maktab::i18n::sms::{SmsEncoding, count_segments};
///
/// assert_eq!(count_segments("Bureau 3").encoding, SmsEncoding::Gsm7);
/// assert_eq!(count_segments(&"م".repeat(71)).segments, 2);
/// ```
pub fn count_segments(text: &str) -> SegmentCount {
    let septets: Option<usize> = text.chars().map(gsm7_septets).sum();
    let (encoding, units, single, part) = match septets {
        Some(units) => (SmsEncoding::Gsm7, units, 160, 153),
        None => (SmsEncoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = match units {
        0 => 1,
        n if n <= single => 1,
        n => n.div_ceil(part),
    };
    SegmentCount {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_french_is_gsm7_and_splits_at_153() {
        let one = count_segments(&"a".repeat(160));
        assert_eq!((one.encoding, one.segments), (SmsEncoding::Gsm7, 1));
        assert_eq!(count_segments(&"a".repeat(161)).segments, 2);
        assert_eq!(count_segments(&"a".repeat(306)).segments, 2);
        assert_eq!(count_segments(&"a".repeat(307)).segments, 3);
        assert_eq!(
            count_segments("Né à Sétif, été").encoding,
            SmsEncoding::Gsm7
        );
    }

    #[test]
    fn circumflex_and_cedilla_force_ucs2() {
        for text in ["fenêtre", "français", "île", "cœur", "l’école"] {
            assert_eq!(count_segments(text).encoding, SmsEncoding::Ucs2, "{text}");
        }
    }

    #[test]
    fn arabic_is_ucs2_and_splits_at_67() {
        assert_eq!(count_segments(&"م".repeat(70)).segments, 1);
        assert_eq!(count_segments(&"م".repeat(71)).segments, 2);
        assert_eq!(count_segments(&"م".repeat(134)).segments, 2);
        assert_eq!(count_segments(&"م".repeat(135)).segments, 3);
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let count = count_segments("{€}");
        assert_eq!((count.encoding, count.units), (SmsEncoding::Gsm7, 6));
    }
}
