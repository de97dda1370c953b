//! CSRF protection of the page forms: a signed double-submit token.
//!
//! Every page sets (once) the `__gatehouse_csrf` cookie, 256 random bits, HttpOnly and
//! `SameSite=Lax`; every form carries `csrf_token`, an HMAC of that cookie value
//! under a key derived from the master key. A post is accepted only when the field
//! matches the cookie's MAC (compared in constant time). A site that can plant cookies
//! (a sibling subdomain) still cannot make a matching field without the key, and a
//! cross-site form cannot read either. The Frontend API's Origin rule applies on top.

use axum::http::HeaderMap;

use crate::app::App;
use crate::config::Config;
use crate::crypto::digest::{ct_eq, hmac_hex};
use crate::crypto::random;
use crate::http::cookies;

pub const COOKIE: &str = "__gatehouse_csrf";
const PURPOSE: &str = "gatehouse pages csrf v1";

/// The browser's CSRF cookie value, or a new one to set.
#[derive(Debug, Clone)]
pub struct Csrf {
    value: String,
    fresh: bool,
}

impl Csrf {
    /// The request's cookie when it looks like ours, else a new value.
    pub fn from_headers(headers: &HeaderMap) -> Csrf {
        match cookies::read(headers, COOKIE).filter(|v| well_formed(v)) {
            Some(v) => Csrf {
                value: v.to_string(),
                fresh: false,
            },
            None => Csrf {
                value: random::random_token(),
                fresh: true,
            },
        }
    }

    /// The value forms carry in `csrf_token`.
    pub fn field(&self, app: &App) -> String {
        mac(app, &self.value)
    }

    /// The `Set-Cookie` value when the browser does not hold the cookie yet.
    pub fn set_cookie(&self, config: &Config) -> Option<String> {
        if !self.fresh {
            return None;
        }
        let mut c = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", self.value);
        if config.is_https() {
            c.push_str("; Secure");
        }
        Some(c)
    }
}

/// Whether a post's `csrf_token` matches the request's CSRF cookie.
pub fn verify(app: &App, headers: &HeaderMap, submitted: Option<&str>) -> bool {
    let Some(cookie) = cookies::read(headers, COOKIE).filter(|v| well_formed(v)) else {
        return false;
    };
    let Some(submitted) = submitted else {
        return false;
    };
    ct_eq(mac(app, cookie).as_bytes(), submitted.as_bytes())
}

fn mac(app: &App, value: &str) -> String {
    hmac_hex(&app.master_key.derive(PURPOSE), value.as_bytes())
}

/// Our values are 43 base64url characters; anything else is replaced.
fn well_formed(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
