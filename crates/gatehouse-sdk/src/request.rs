//! Reading what the SDK needs from a request: the token, the `__client_uat` cookie and
//! whether the request is a browser navigation.

use http::header::{ACCEPT, AUTHORIZATION, COOKIE};
use http::{HeaderMap, Method};

/// The session token: `Authorization: Bearer <token>` first, then the `__session` cookie.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty());
    bearer.or_else(|| cookie(headers, "__session").filter(|token| !token.is_empty()))
}

/// The value of cookie `name`, from any `Cookie` header.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// A top-level HTML navigation (where a redirect is what the browser expects), as
/// opposed to an API call from a page.
pub(crate) fn is_html_navigation(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    match headers.get("sec-fetch-dest").and_then(|v| v.to_str().ok()) {
        Some(dest) => dest == "document",
        None => headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html")),
    }
}

/// Whether `__client_uat` says the browser signed in (a positive timestamp).
pub(crate) fn client_says_signed_in(headers: &HeaderMap) -> bool {
    cookie(headers, "__client_uat")
        .and_then(|value| value.parse::<i64>().ok())
        .is_some_and(|uat| uat > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn bearer_wins_over_the_cookie() {
        let h = headers(&[
            ("authorization", "Bearer a.b.c"),
            ("cookie", "__session=d.e.f"),
        ]);
        assert_eq!(session_token(&h), Some("a.b.c"));
        let h = headers(&[("authorization", "bearer  a.b.c ")]);
        assert_eq!(session_token(&h), Some("a.b.c"));
    }

    #[test]
    fn reads_the_session_cookie_among_others() {
        let h = headers(&[
            ("authorization", "Basic dXNlcjpwdw=="),
            ("cookie", "theme=dark; __session_x=no"),
            ("cookie", "a=1;__session=d.e.f; b=2"),
        ]);
        assert_eq!(session_token(&h), Some("d.e.f"));
        assert_eq!(session_token(&headers(&[("cookie", "__session=")])), None);
        assert_eq!(session_token(&headers(&[])), None);
    }

    #[test]
    fn tells_navigations_from_api_calls() {
        let nav = headers(&[("sec-fetch-dest", "document")]);
        assert!(is_html_navigation(&Method::GET, &nav));
        assert!(!is_html_navigation(&Method::POST, &nav));
        assert!(!is_html_navigation(
            &Method::GET,
            &headers(&[("sec-fetch-dest", "empty"), ("accept", "text/html")])
        ));
        assert!(is_html_navigation(
            &Method::GET,
            &headers(&[("accept", "text/html,*/*")])
        ));
        assert!(!is_html_navigation(
            &Method::GET,
            &headers(&[("accept", "application/json")])
        ));
    }

    #[test]
    fn client_uat_must_be_a_positive_number() {
        assert!(client_says_signed_in(&headers(&[(
            "cookie",
            "__client_uat=1700000000"
        )])));
        for bad in [
            "__client_uat=0",
            "__client_uat=x",
            "__client_uat=-5",
            "other=1",
        ] {
            let h = HeaderMap::from_iter([(COOKIE, bad.parse().unwrap())]);
            assert!(!client_says_signed_in(&h), "{bad}");
        }
    }
}
