//! Taking a compact JWS apart without trusting any of it.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use crate::error::Error;

/// Tokens longer than this many bytes are refused before any decoding. Gatehouse
/// session tokens are well under 4 KB (the cookie limit); JWT templates stay far below.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The three parts of a compact JWS, still encoded.
pub(crate) struct Parts<'a> {
    pub(crate) signing_input: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

/// The JOSE header members the verifier reads, borrowed from the decoded header.
#[derive(Debug, Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub(crate) alg: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(crate) kid: Option<Cow<'a, str>>,
    /// Critical extensions: the verifier understands none, so any refuses the token.
    #[serde(default)]
    pub(crate) crit: Option<serde::de::IgnoredAny>,
}

pub(crate) fn split(token: &str) -> Result<Parts<'_>, Error> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Error::TooLarge);
    }
    let mut pieces = token.split('.');
    match (pieces.next(), pieces.next(), pieces.next(), pieces.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok(Parts {
            signing_input: &token[..header.len() + 1 + payload.len()],
            header,
            payload,
            signature,
        }),
        _ => Err(Error::Malformed("expected three dot-separated parts")),
    }
}

/// Decodes base64url (no padding) into `out`, reusing its allocation.
pub(crate) fn decode_into(part: &str, out: &mut Vec<u8>, what: &'static str) -> Result<(), Error> {
    out.clear();
    URL_SAFE_NO_PAD
        .decode_vec(part, out)
        .map_err(|_| Error::Malformed(what))
}

pub(crate) fn parse_header(json: &[u8]) -> Result<Header<'_>, Error> {
    // serde would accept a JSON array for a struct; insist on an object.
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(Error::Malformed("header is not a JSON object"));
    }
    let header: Header = serde_json::from_slice(json)
        .map_err(|_| Error::Malformed("header is not a valid JOSE header"))?;
    if header.crit.is_some() {
        return Err(Error::Malformed("crit header parameters are not supported"));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_parts_only() {
        let parts = split("a.b.c").unwrap();
        assert_eq!(parts.signing_input, "a.b");
        assert_eq!(
            (parts.header, parts.payload, parts.signature),
            ("a", "b", "c")
        );
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e"] {
            assert!(matches!(split(bad), Err(Error::Malformed(_))), "{bad}");
        }
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(split(&long), Err(Error::TooLarge)));
    }

    #[test]
    fn headers_must_be_objects_without_crit() {
        assert!(parse_header(br#"{"alg":"RS256","kid":"k"}"#).is_ok());
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"alg":7}"#,
            br#"{"alg":"RS256","crit":["b64"]}"#,
            br#"{"alg":"RS256","alg":"none"}"#,
            b"not json",
        ] {
            assert!(
                parse_header(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
