//! The three cookies, written byte for byte here and nowhere else.

use std::fmt::Write as _;

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};

use crate::config::Config;

pub const CLIENT: &str = "__client";
pub const SESSION: &str = "__session";
pub const CLIENT_UAT: &str = "__client_uat";

/// `name=value` and the attributes, in one allocation (a `__session` cookie is built for
/// every token minted).
fn cookie(
    config: &Config,
    name: &str,
    value: &str,
    max_age: i64,
    http_only: bool,
    domain: bool,
) -> String {
    let domain = domain
        .then_some(config.session.cookie_domain.as_deref())
        .flatten();
    // The longest attributes without the domain: "; Path=/; Max-Age=" and 20 digits,
    // "; HttpOnly", "; SameSite=Lax", "; Secure".
    const ATTRIBUTES: usize = 18 + 20 + 10 + 14 + 8;
    let mut s = String::with_capacity(
        name.len() + 1 + value.len() + ATTRIBUTES + domain.map_or(0, |d| 9 + d.len()),
    );
    s.push_str(name);
    s.push('=');
    s.push_str(value);
    // Writing to a String cannot fail.
    let _ = write!(s, "; Path=/; Max-Age={max_age}");
    if let Some(d) = domain {
        s.push_str("; Domain=");
        s.push_str(d);
    }
    if http_only {
        s.push_str("; HttpOnly");
    }
    s.push_str("; SameSite=Lax");
    if config.is_https() {
        s.push_str("; Secure");
    }
    s
}

/// `__client`: the opaque client value, HttpOnly, for the session lifetime.
pub fn client(config: &Config, value: &str) -> String {
    let max_age = config.session.lifetime.0.as_secs() as i64;
    cookie(config, CLIENT, value, max_age, true, false)
}

/// `__session`: the session token, for the token lifetime.
pub fn session(config: &Config, jwt: &str) -> String {
    let max_age = config.session.token_lifetime.0.as_secs() as i64;
    let http_only = config.session.session_cookie_http_only;
    cookie(config, SESSION, jwt, max_age, http_only, true)
}

pub fn clear_session(config: &Config) -> String {
    let http_only = config.session.session_cookie_http_only;
    cookie(config, SESSION, "", 0, http_only, true)
}

/// `__client_uat`: readable by scripts, seconds of the last sign-in (0 when signed out).
pub fn client_uat(config: &Config, seconds: i64) -> String {
    let max_age = config.session.lifetime.0.as_secs() as i64;
    cookie(
        config,
        CLIENT_UAT,
        &seconds.to_string(),
        max_age,
        false,
        true,
    )
}

pub fn append(headers: &mut HeaderMap, cookie: String) {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, v);
    }
}

/// The value of a cookie in the request, if present.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_named_cookie_only() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("a=1; __client=abc; __client_uat=5"),
        );
        assert_eq!(read(&h, "__client"), Some("abc"));
        assert_eq!(read(&h, "__client_uat"), Some("5"));
        assert_eq!(read(&h, "__session"), None);
    }

    proptest! {
        // Cookie headers are untrusted input: any bytes a header may hold never panic
        // and only ever yield a value that was in the header.
        #[test]
        fn arbitrary_cookie_headers_never_panic(raw in proptest::collection::vec(0x20u8..0x7f, 0..300)) {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(&raw) {
                h.insert(axum::http::header::COOKIE, v);
                if let Some(found) = read(&h, CLIENT) {
                    prop_assert!(String::from_utf8_lossy(&raw).contains(found));
                }
            }
        }
    }
}
