//! Message templates (minijinja): built-in defaults compiled into the binary, each
//! replaceable by a file of the same name in `[email] templates_dir`. HTML templates
//! escape every value; subjects and text bodies are plain text.
//!
//! Files: `layout.html` (the frame the HTML emails extend), and per kind
//! `<kind>.subject.txt`, `<kind>.txt`, `<kind>.html` for the emails `email_code`,
//! `reset_password_code`, `email_link`, and `phone_code.txt` for the SMS. Variables:
//! `app_name`, `to`, `expires_in_minutes`, plus `code` (code messages) or `url`
//! (`email_link`).

use std::path::Path;

use minijinja::{context, AutoEscape, Environment, Error, ErrorKind, Output, State, Value};

use super::Kind;

/// Every template file and its built-in text.
const DEFAULTS: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    (
        "email_code.subject.txt",
        include_str!("templates/email_code.subject.txt"),
    ),
    ("email_code.txt", include_str!("templates/email_code.txt")),
    ("email_code.html", include_str!("templates/email_code.html")),
    (
        "reset_password_code.subject.txt",
        include_str!("templates/reset_password_code.subject.txt"),
    ),
    (
        "reset_password_code.txt",
        include_str!("templates/reset_password_code.txt"),
    ),
    (
        "reset_password_code.html",
        include_str!("templates/reset_password_code.html"),
    ),
    (
        "email_link.subject.txt",
        include_str!("templates/email_link.subject.txt"),
    ),
    ("email_link.txt", include_str!("templates/email_link.txt")),
    ("email_link.html", include_str!("templates/email_link.html")),
    ("phone_code.txt", include_str!("templates/phone_code.txt")),
];

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a template may use besides the application name.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    Code(&'a str),
    Url(&'a str),
}

pub struct Templates {
    env: Environment<'static>,
    app_name: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// The built-in templates, with any file of `dir` in place of the default of the same
    /// name. Every template is rendered once with sample values, so a broken override
    /// stops the start instead of the first message.
    pub fn load(dir: Option<&Path>, app_name: &str) -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        for &(name, source) in DEFAULTS {
            env.add_template(name, source)?;
        }
        if let Some(dir) = dir {
            for entry in std::fs::read_dir(dir)
                .map_err(|e| anyhow::anyhow!("`email.templates_dir` {}: {e}", dir.display()))?
            {
                let path = entry?.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !(name.ends_with(".txt") || name.ends_with(".html")) {
                    continue;
                }
                if !DEFAULTS.iter().any(|(known, _)| *known == name) {
                    anyhow::bail!(
                        "`email.templates_dir`: unknown template file {name}; known names are {}",
                        DEFAULTS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                let source = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                env.add_template_owned(name.to_string(), source)
                    .map_err(|e| anyhow::anyhow!("template {}: {e}", path.display()))?;
            }
        }
        let templates = Templates {
            env,
            app_name: app_name.to_string(),
        };
        for kind in Kind::ALL {
            let payload = match kind {
                Kind::EmailLink => Payload::Url("https://example.com/v1/verify?token=sample"),
                _ => Payload::Code("123456"),
            };
            templates
                .render(kind, "someone@example.com", payload, 10)
                .map_err(|e| anyhow::anyhow!("template for {}: {e:#}", kind.name()))?;
        }
        Ok(templates)
    }

    /// Renders the subject, text and HTML of one message (an SMS has only text).
    pub fn render(
        &self,
        kind: Kind,
        to: &str,
        payload: Payload<'_>,
        expires_in_minutes: i64,
    ) -> Result<Rendered, minijinja::Error> {
        let (code, url) = match payload {
            Payload::Code(c) => (Value::from(c), Value::UNDEFINED),
            Payload::Url(u) => (Value::UNDEFINED, Value::from(u)),
        };
        let ctx = context! {
            app_name => &self.app_name,
            to => to,
            expires_in_minutes => expires_in_minutes,
            code => code,
            url => url,
        };
        let name = kind.name();
        let render = |file: String| -> Result<String, minijinja::Error> {
            self.env.get_template(&file)?.render(&ctx)
        };
        if kind.is_sms() {
            return Ok(Rendered {
                subject: String::new(),
                text: render(format!("{name}.txt"))?.trim().to_string(),
                html: String::new(),
            });
        }
        let subject = render(format!("{name}.subject.txt"))?;
        Ok(Rendered {
            // A header is one line.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: render(format!("{name}.txt"))?,
            html: render(format!("{name}.html"))?,
        })
    }
}

/// Escapes values in HTML templates the way HTML needs (`& < > " '`), leaving `/` as it
/// is, so links read as links in the message source too.
pub(crate) fn html_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    if state.auto_escape() != AutoEscape::Html
        || value.is_safe()
        || value.is_undefined()
        || value.is_none()
    {
        return minijinja::escape_formatter(out, state, value);
    }
    let written = match value.as_str() {
        Some(text) => write_escaped(out, text),
        None => write_escaped(out, &value.to_string()),
    };
    written.map_err(|_| Error::new(ErrorKind::WriteFailure, "could not write the output"))
}

/// Writes `text` with `& < > " '` escaped for HTML text and attribute values (`/` left
/// as it is), in runs between the characters that need it.
pub(crate) fn write_escaped(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[start..i])?;
        out.write_str(entity)?;
        start = i + 1;
    }
    out.write_str(&text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_render_with_the_application_name() {
        let t = Templates::load(None, "Acme <Shop>").unwrap();
        let r = t
            .render(
                Kind::EmailCode,
                "a@example.com",
                Payload::Code("042424"),
                10,
            )
            .unwrap();
        assert_eq!(r.subject, "042424 is your Acme <Shop> verification code");
        assert!(
            r.text
                .starts_with("Your Acme <Shop> verification code is 042424."),
            "{}",
            r.text
        );
        assert!(
            r.html.contains("Acme &lt;Shop&gt;"),
            "HTML is escaped: {}",
            r.html
        );
        assert!(!r.html.contains("Acme <Shop>"), "{}", r.html);
        let r = t
            .render(
                Kind::EmailLink,
                "a@example.com",
                Payload::Url("https://x.test/v?a=1&b=\"2\""),
                15,
            )
            .unwrap();
        assert!(
            r.text.contains("https://x.test/v?a=1&b=\"2\""),
            "{}",
            r.text
        );
        assert!(
            r.html
                .contains("href=\"https://x.test/v?a=1&amp;b=&quot;2&quot;\""),
            "{}",
            r.html
        );
        let r = t
            .render(Kind::PhoneCode, "+14155550100", Payload::Code("123456"), 10)
            .unwrap();
        assert_eq!(
            r.text,
            "123456 is your Acme <Shop> verification code. It expires in 10 minutes."
        );
        assert_eq!((r.subject.as_str(), r.html.as_str()), ("", ""));
        let r = t
            .render(
                Kind::ResetPasswordCode,
                "a@example.com",
                Payload::Code("777777"),
                10,
            )
            .unwrap();
        assert!(r.subject.contains("password reset code"), "{}", r.subject);
    }

    #[test]
    fn files_in_the_templates_dir_replace_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("email_code.subject.txt"),
            "Code for\n{{ app_name }}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("email_code.html"),
            "<b>{{ code }}</b> {{ to }}",
        )
        .unwrap();
        std::fs::write(dir.path().join("README.md"), "ignored").unwrap();
        let t = Templates::load(Some(dir.path()), "Acme").unwrap();
        let r = t
            .render(Kind::EmailCode, "<a@example.com>", Payload::Code("1"), 10)
            .unwrap();
        assert_eq!(r.subject, "Code for Acme");
        assert_eq!(r.html, "<b>1</b> &lt;a@example.com&gt;");
        assert!(r.text.starts_with("Your Acme verification code is 1."));

        std::fs::write(dir.path().join("email_cod.txt"), "typo").unwrap();
        let e = Templates::load(Some(dir.path()), "Acme")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("email_cod.txt") && e.contains("email_code.txt"),
            "{e}"
        );
        std::fs::remove_file(dir.path().join("email_cod.txt")).unwrap();
        std::fs::write(dir.path().join("phone_code.txt"), "{{ code ").unwrap();
        let e = format!(
            "{:#}",
            Templates::load(Some(dir.path()), "Acme").unwrap_err()
        );
        assert!(e.contains("phone_code.txt"), "{e}");
    }
}
