//! Parsing and verifying compact-serialized JWS tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Algorithm, JwsError, VerifyingKey};

/// Tokens larger than this are refused before any decoding work.
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// The JOSE header fields we read; others are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Algorithm named by the token (not yet checked against anything).
    pub alg: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Media type, `JWT` for our tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Critical extensions; we understand none, so any makes a token invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

/// The three parts of a compact JWS, still encoded.
struct Parts<'a> {
    signing_input: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

/// Decodes header and payload WITHOUT checking the signature.
///
/// For display (`token inspect`) and for picking a key; never trust the result.
pub fn decode_unverified(token: &str) -> Result<(Header, Value), JwsError> {
    let parts = split(token)?;
    decode_b64(parts.signature, "signature is not base64url")?;
    Ok((parse_header(parts.header)?, parse_payload(parts.payload)?))
}

/// Verifies `token` against `keys` and returns its JSON object payload.
///
/// The key is chosen by `kid` (a token without `kid` is accepted only when
/// exactly one key is given). `none`, HMAC and any algorithm that differs
/// from the chosen key's are refused. Claims such as `exp` are not checked.
pub fn verify_compact(token: &str, keys: &[VerifyingKey]) -> Result<Value, JwsError> {
    let parts = split(token)?;
    let header = parse_header(parts.header)?;
    if header.crit.is_some() {
        return Err(JwsError::Malformed(
            "crit header parameters are not supported",
        ));
    }
    let alg: Algorithm = header.alg.parse()?;
    let key = select_key(keys, header.kid.as_deref())?;
    if key.alg() != alg {
        return Err(JwsError::AlgorithmMismatch {
            token: alg,
            key: key.alg(),
        });
    }
    let signature = decode_b64(parts.signature, "signature is not base64url")?;
    key.verify_signature(parts.signing_input.as_bytes(), &signature)?;
    let payload = parse_payload(parts.payload)?;
    if !payload.is_object() {
        return Err(JwsError::Malformed("payload is not a JSON object"));
    }
    Ok(payload)
}

fn select_key<'k>(
    keys: &'k [VerifyingKey],
    kid: Option<&str>,
) -> Result<&'k VerifyingKey, JwsError> {
    match (kid, keys) {
        (Some(kid), _) => keys.iter().find(|key| key.kid() == Some(kid)),
        // Without a kid only an unambiguous single key may be used.
        (None, [only]) => Some(only),
        (None, _) => None,
    }
    .ok_or(JwsError::UnknownKey)
}

fn split(token: &str) -> Result<Parts<'_>, JwsError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwsError::Malformed("token is too long"));
    }
    let mut pieces = token.split('.');
    match (pieces.next(), pieces.next(), pieces.next(), pieces.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok(Parts {
            signing_input: &token[..header.len() + 1 + payload.len()],
            header,
            payload,
            signature,
        }),
        _ => Err(JwsError::Malformed("expected three dot-separated parts")),
    }
}

fn decode_b64(part: &str, what: &'static str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Malformed(what))
}

fn parse_header(part: &str) -> Result<Header, JwsError> {
    let json = decode_b64(part, "header is not base64url")?;
    // serde would also accept a JSON array for a struct; insist on an object.
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(JwsError::Malformed("header is not a JSON object"));
    }
    serde_json::from_slice(&json)
        .map_err(|_| JwsError::Malformed("header is not a valid JOSE header"))
}

fn parse_payload(part: &str) -> Result<Value, JwsError> {
    let json = decode_b64(part, "payload is not base64url")?;
    serde_json::from_slice(&json).map_err(|_| JwsError::Malformed("payload is not JSON"))
}
