//! QR codes drawn as inline SVG: the Telegram deep link of a clerk's invitation, which the
//! clerk scans with the phone that will report, and the `otpauth://` URL of a TOTP
//! enrolment, which an authenticator app scans. Drawn on the server as paths, so the page
//! needs no script, no image request and nothing the CSP would have to allow.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The QR code of `data` as an `<svg>` element (no XML declaration, so it can sit inside
/// HTML), at least `size` pixels wide; `None` if the data is too long for a QR code.
pub fn svg(data: &str, size: u32) -> Option<String> {
    // Medium correction (15 %): a code on a screen is read whole; a lower level keeps the
    // modules big enough for old phone cameras.
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build();
    let start = drawn.find("<svg")?;
    Some(drawn[start..].replacen("<svg ", "<svg role=\"img\" class=\"qr\" ", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_an_svg_element_without_xml_declaration() {
        let drawn = svg("https://t.me/maktab_bot?start=ABCD1234", 160).unwrap();
        assert!(
            drawn.starts_with("<svg role=\"img\" class=\"qr\" "),
            "{drawn}"
        );
        assert!(drawn.ends_with("</svg>"));
        assert!(!drawn.contains("<?xml"));
        let width: u32 = drawn
            .split("width=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(width >= 160, "{width}");
        // Different data, different modules.
        assert_ne!(
            drawn,
            svg("https://t.me/maktab_bot?start=ABCD1235", 160).unwrap()
        );
    }

    #[test]
    fn data_beyond_a_qr_codes_capacity_is_refused() {
        assert!(svg(&"x".repeat(4000), 160).is_none());
    }
}
