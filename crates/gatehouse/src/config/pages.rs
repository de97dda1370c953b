//! The `[pages]` section: where the hosted pages send people, and how they look.

use serde::{Deserialize, Serialize};

use super::{normalize_origin, ConfigError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PagesConfig {
    /// Where a completed sign-in goes when the page was given no allowed `redirect_url`:
    /// a path on the public URL (`/user`) or an absolute URL on an allowed origin.
    pub after_sign_in_url: String,
    /// The same after a sign-up.
    pub after_sign_up_url: String,
    /// The same after signing out.
    pub after_sign_out_url: String,
    /// A logo shown above every page: a path on the public URL or an http(s) URL.
    pub logo_url: Option<String>,
    /// The accent colour of buttons and links, `#rgb` or `#rrggbb`.
    pub primary_color: String,
    /// Whether `/user` offers "Delete account".
    pub allow_delete_account: bool,
}

impl Default for PagesConfig {
    fn default() -> Self {
        PagesConfig {
            after_sign_in_url: "/user".into(),
            after_sign_up_url: "/user".into(),
            after_sign_out_url: "/sign-in".into(),
            logo_url: None,
            primary_color: "#4f46e5".into(),
            allow_delete_account: true,
        }
    }
}

impl PagesConfig {
    /// Checks the section against the (already normalised) public URL and allowed
    /// origins. Paths stay as written and are resolved against the public URL when used
    /// ([`resolve`]), so a `public_url` set later (by the environment) applies to them.
    pub fn validate(&self, public_url: &str, allowed: &[String]) -> Result<(), ConfigError> {
        let public_origin = normalize_origin(public_url).unwrap_or_default();
        let on_allowed = |url: &str| {
            normalize_origin(url).is_some_and(|o| o == public_origin || allowed.contains(&o))
        };
        for (key, value) in [
            ("pages.after_sign_in_url", &self.after_sign_in_url),
            ("pages.after_sign_up_url", &self.after_sign_up_url),
            ("pages.after_sign_out_url", &self.after_sign_out_url),
        ] {
            if !resolve(public_url, value)
                .as_deref()
                .is_some_and(on_allowed)
            {
                return Err(ConfigError(format!(
                    "`{key}`: expected a path such as \"/user\" or an absolute URL on the public URL or an allowed origin, got `{value}`"
                )));
            }
        }
        if let Some(logo) = &self.logo_url {
            let ok = resolve(public_url, logo).is_some_and(|url| {
                normalize_origin(&url).is_some() && !url.contains(['"', '\'', ' ', '<', '>'])
            });
            if !ok {
                return Err(ConfigError(format!(
                    "`pages.logo_url`: expected a path or an http(s) URL, got `{logo}`"
                )));
            }
        }
        if !is_hex_color(&self.primary_color) {
            return Err(ConfigError(format!(
                "`pages.primary_color`: expected a colour such as \"#4f46e5\" or \"#36c\", got `{}`",
                self.primary_color
            )));
        }
        Ok(())
    }
}

/// A path (`/x`) on the public URL, or an absolute http(s) URL as it is; `None` for
/// anything else.
pub fn resolve(public_url: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.starts_with('/') && !value.starts_with("//") {
        return Some(format!("{public_url}{value}"));
    }
    let url = url::Url::parse(value).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

fn is_hex_color(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_resolve_on_the_public_url() {
        let c = Config::from_toml_str("public_url = \"https://auth.example.com\"\n").unwrap();
        let url = |v: &str| super::resolve(&c.public_url, v).unwrap();
        assert_eq!(
            url(&c.pages.after_sign_in_url),
            "https://auth.example.com/user"
        );
        assert_eq!(
            url(&c.pages.after_sign_out_url),
            "https://auth.example.com/sign-in"
        );
    }

    #[test]
    fn targets_must_be_on_an_allowed_origin() {
        let ok = Config::from_toml_str(
            "allowed_origins = [\"https://app.example.com\"]\n[pages]\nafter_sign_up_url = \"https://app.example.com/welcome\"\n",
        )
        .unwrap();
        assert_eq!(
            ok.pages.after_sign_up_url,
            "https://app.example.com/welcome"
        );
        for bad in [
            "https://evil.example.com/",
            "//evil.example.com/x",
            "javascript:alert(1)",
            "welcome",
            "",
        ] {
            let e = Config::from_toml_str(&format!("[pages]\nafter_sign_in_url = \"{bad}\"\n"))
                .unwrap_err()
                .0;
            assert!(e.contains("pages.after_sign_in_url"), "{bad}: {e}");
        }
    }

    #[test]
    fn colours_and_logos_are_checked() {
        for bad in ["red", "#12345", "#ggg", "4f46e5", "#4f46e5;}"] {
            let e = Config::from_toml_str(&format!("[pages]\nprimary_color = \"{bad}\"\n"))
                .unwrap_err()
                .0;
            assert!(e.contains("pages.primary_color"), "{bad}: {e}");
        }
        let e = Config::from_toml_str("[pages]\nlogo_url = \"data:image/png;base64,AAAA\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains("pages.logo_url"), "{e}");
        let c =
            Config::from_toml_str("[pages]\nlogo_url = \"/logo.svg\"\nprimary_color = \"#36C\"\n")
                .unwrap();
        assert_eq!(c.pages.logo_url.as_deref(), Some("/logo.svg"));
    }
}
