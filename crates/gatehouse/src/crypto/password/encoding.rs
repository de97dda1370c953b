//! Base64 decoding shared by the imported-digest parsers.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Standard-alphabet base64 that tolerates missing padding and non-zero
/// trailing bits, since exporters differ on both.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes standard base64 (padding optional).
pub(super) fn decode_b64(text: &str) -> Option<Vec<u8>> {
    LENIENT.decode(text).ok()
}

/// Parses an unsigned decimal made only of ASCII digits (no sign, no spaces).
pub(super) fn parse_decimal(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_padding_is_optional() {
        assert_eq!(decode_b64("Bw==").unwrap(), [7]);
        assert_eq!(decode_b64("Bw").unwrap(), [7]);
        assert!(decode_b64("B w").is_none());
        assert!(decode_b64("Bw_-").is_none());
    }

    #[test]
    fn decimals_are_digits_only() {
        assert_eq!(parse_decimal("10000"), Some(10_000));
        for bad in ["", "+1", "-1", " 1", "1e3", "99999999999"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }
}
