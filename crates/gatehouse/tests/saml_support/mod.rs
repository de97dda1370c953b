//! SAML test support: a real SAML 2.0 identity provider (`saml_support/idp/idp.py`, Python
//! with signxml, run from its own virtualenv) and a driver that takes a sign-in through its
//! login page to the auto-posting form a browser would submit to the ACS.
//!
//! The IdP signs with a key made at startup; besides ordinary responses it builds the
//! attack corpus (XML Signature Wrapping, comments in NameID, foreign keys, DTDs, ...) on
//! request: see `saml_support/idp/README.md` for the controls.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/saml_support/idp")
}

fn venv_python() -> PathBuf {
    idp_dir().join(".venv/bin/python")
}

/// Makes the IdP's virtualenv with its pinned packages once (CI does it in `.ci/run`).
fn install_once() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let dir = idp_dir();
        if venv_python().exists() {
            return;
        }
        let venv = dir.join(".venv");
        let made = ["python3", "/usr/bin/python3"].iter().any(|python| {
            let ok = Command::new(python)
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = std::fs::remove_dir_all(&venv);
            }
            ok
        });
        assert!(
            made,
            "python3 with venv is needed for the SAML tests (Debian: python3-venv)"
        );
        let status = Command::new(venv_python())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("-r")
            .arg(dir.join("requirements.txt"))
            .status()
            .expect("pip in the SAML IdP's virtualenv");
        if !status.success() {
            let _ = std::fs::remove_dir_all(&venv);
            panic!(
                "pip install -r requirements.txt failed in {}",
                dir.display()
            );
        }
    });
}

/// A user signing in at the IdP.
#[derive(Clone, Debug)]
pub struct IdpUser {
    pub name_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

impl IdpUser {
    /// Ada Lovelace with this email as both NameID and `email` attribute.
    pub fn new(email: &str) -> IdpUser {
        IdpUser {
            name_id: email.to_string(),
            email: email.to_string(),
            first_name: "Ada".to_string(),
            last_name: "Lovelace".to_string(),
        }
    }

    fn fields(&self) -> [(&'static str, &str); 4] {
        [
            ("name_id", &self.name_id),
            ("email", &self.email),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ]
    }
}

/// What the IdP's auto-posting form sends to the ACS (HTTP-POST binding).
#[derive(Clone, Debug)]
pub struct IdpPost {
    pub acs_url: String,
    /// Base64 of the response XML, as posted.
    pub saml_response: String,
    pub relay_state: Option<String>,
}

impl IdpPost {
    /// The response XML (the base64-decoded `SAMLResponse`).
    pub fn xml(&self) -> String {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.saml_response)
            .expect("SAMLResponse is base64");
        String::from_utf8(bytes).expect("SAMLResponse is UTF-8")
    }

    /// The same post with other response XML (base64-encoded as the binding wants).
    pub fn with_xml(&self, xml: &str) -> IdpPost {
        IdpPost {
            saml_response: base64::engine::general_purpose::STANDARD.encode(xml),
            ..self.clone()
        }
    }

    /// The form fields to post to `acs_url`.
    pub fn form(&self) -> Vec<(&'static str, String)> {
        let mut form = vec![("SAMLResponse", self.saml_response.clone())];
        if let Some(relay_state) = &self.relay_state {
            form.push(("RelayState", relay_state.clone()));
        }
        form
    }
}

/// The test IdP on 127.0.0.1; it stops when dropped (and when the test process ends).
pub struct TestIdp {
    pub url: String,
    pub entity_id: String,
    pub sso_url: String,
    pub metadata_url: String,
    /// The IdP's signing certificate (PEM).
    pub certificate: String,
    /// The certificate of the attacker's key (PEM), which the `keyinfo_key` attack uses.
    pub attacker_certificate: String,
    http: reqwest::Client,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl TestIdp {
    /// Starts the IdP on a free port, with a fresh signing key.
    pub fn start() -> TestIdp {
        install_once();
        let mut child = Command::new(venv_python())
            .arg(idp_dir().join("idp.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SAML IdP's python");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the SAML IdP did not print its JSON line ({e}): {line:?}"));
        let field = |name: &str| {
            info[name]
                .as_str()
                .unwrap_or_else(|| panic!("the SAML IdP's line has no {name}: {line}"))
                .to_string()
        };
        let url = field("url");
        TestIdp {
            metadata_url: format!("{url}/metadata"),
            url,
            entity_id: field("entity_id"),
            sso_url: field("sso_url"),
            certificate: field("certificate"),
            attacker_certificate: field("attacker_certificate"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            child,
            stdin,
            stdout,
        }
    }

    /// The IdP's metadata XML.
    pub async fn metadata(&self) -> String {
        let r = self.http.get(&self.metadata_url).send().await.unwrap();
        assert_eq!(r.status(), 200, "IdP metadata");
        r.text().await.unwrap()
    }

    /// Follows an external redirect URL to the IdP's login page, submits it with this
    /// user and controls, and returns what the IdP's auto-post form would send.
    pub async fn sign_in(
        &self,
        redirect_url: &str,
        user: &IdpUser,
        controls: &[(&str, &str)],
    ) -> IdpPost {
        let r = self.http.get(redirect_url).send().await.unwrap();
        let status = r.status();
        let html_page = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let body = r.text().await.unwrap();
        let form = html_form(&body).filter(|f| f.action == "/login");
        let Some(form) = form.filter(|_| status == 200 && html_page) else {
            panic!("the IdP's login page for {redirect_url} answered {status}: {body}");
        };
        let mut fields: Vec<(&str, &str)> = form
            .hidden
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        fields.extend(user.fields());
        fields.extend_from_slice(controls);
        self.post_login(&fields).await
    }

    /// An unsolicited (IdP-initiated) response for this ACS and audience.
    pub async fn unsolicited(
        &self,
        acs_url: &str,
        audience: &str,
        user: &IdpUser,
        controls: &[(&str, &str)],
    ) -> IdpPost {
        let mut fields = vec![("acs_url", acs_url), ("audience", audience)];
        fields.extend(user.fields());
        fields.extend_from_slice(controls);
        self.post_login(&fields).await
    }

    /// The raw HTTP status and body the IdP answers for a login attempt with exactly these
    /// form fields (for the IdP's own tests: refusals answer 400 with the reason as text).
    pub async fn login_raw(&self, fields: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/login", self.url))
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    async fn post_login(&self, fields: &[(&str, &str)]) -> IdpPost {
        let (status, body) = self.login_raw(fields).await;
        assert_eq!(status, 200, "the IdP refused the login: {body}");
        let form = html_form(&body)
            .unwrap_or_else(|| panic!("the IdP's answer has no auto-posting form: {body}"));
        assert!(
            body.contains("document.forms[0].submit()"),
            "the IdP's form does not post itself: {body}"
        );
        let saml_response = form
            .hidden
            .iter()
            .find(|(name, _)| name == "SAMLResponse")
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("the IdP's form has no SAMLResponse: {body}"));
        let relay_state = form
            .hidden
            .iter()
            .find(|(name, _)| name == "RelayState")
            .map(|(_, value)| value.clone());
        IdpPost {
            acs_url: form.action,
            saml_response,
            relay_state,
        }
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        // Closing stdin asks the IdP to exit; the kill makes sure.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The IdP's HTML

/// The first form of a page: its action and hidden inputs (HTML-unescaped).
struct HtmlForm {
    action: String,
    hidden: Vec<(String, String)>,
}

fn html_form(html: &str) -> Option<HtmlForm> {
    let start = html.find("<form")?;
    let end = start + html[start..].find("</form>")?;
    let (form_tag, rest) = tag_attributes(&html[start..end])?;
    let action = attribute(&form_tag, "action")?;
    let mut hidden = Vec::new();
    let mut inner = rest;
    while let Some(at) = inner.find("<input") {
        let Some((attrs, next)) = tag_attributes(&inner[at..]) else {
            break;
        };
        if attribute(&attrs, "type").as_deref() == Some("hidden") {
            if let Some(name) = attribute(&attrs, "name") {
                hidden.push((name, attribute(&attrs, "value").unwrap_or_default()));
            }
        }
        inner = next;
    }
    Some(HtmlForm { action, hidden })
}

/// The attributes of the tag `s` starts with, and the text after the tag.
fn tag_attributes(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut attrs = Vec::new();
    let mut rest = s.strip_prefix('<')?;
    rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>").or_else(|| rest.strip_prefix('>')) {
            return Some((attrs, after));
        }
        let name_end = rest.find(|c: char| c == '=' || c == '>' || c.is_whitespace())?;
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let Some(after_eq) = rest.strip_prefix('=') else {
            attrs.push((name, String::new()));
            continue;
        };
        rest = after_eq.trim_start();
        let quote = rest.chars().next()?;
        let value;
        if quote == '"' || quote == '\'' {
            let close = rest[1..].find(quote)?;
            value = &rest[1..1 + close];
            rest = &rest[close + 2..];
        } else {
            let value_end = rest.find(|c: char| c == '>' || c.is_whitespace())?;
            value = &rest[..value_end];
            rest = &rest[value_end..];
        }
        attrs.push((name, html_unescape(value)));
    }
}

fn attribute(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// Decodes HTML character references: the named ones the IdP uses and numeric ones.
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let code = if let Some(hex) = entity
                        .strip_prefix("#x")
                        .or_else(|| entity.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok()
                    } else if let Some(dec) = entity.strip_prefix('#') {
                        dec.parse().ok()
                    } else {
                        None
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
