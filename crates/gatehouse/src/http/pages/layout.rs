//! The page templates (minijinja, compiled into the binary) and how a view becomes a
//! response: the frame with the instance's name, logo and colour, the CSRF token, the
//! error (next to its field when the form has one, else above the form) and a notice.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde_json::{json, Map, Value};

use crate::app::App;
use crate::config::Config;
use crate::error::Error;

use super::assets;
use super::messages;
use super::request::Page;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("error.html", include_str!("templates/error.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("sign_up.html", include_str!("templates/sign_up.html")),
    ("verify.html", include_str!("templates/verify.html")),
    ("user.html", include_str!("templates/user.html")),
    ("mfa.html", include_str!("templates/mfa.html")),
    ("sign_out.html", include_str!("templates/sign_out.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Escapes `& < > " '` and leaves `/` as it is, like the email templates.
        env.set_formatter(crate::delivery::templates::html_formatter);
        env.add_global("f", minijinja::Value::from_object(super::fields::Fields));
        for &(name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("page template {name}: {e}"));
        }
        env
    })
}

/// One page to render.
pub struct View {
    pub template: &'static str,
    pub heading: String,
    pub subheading: Option<String>,
    /// The page's own values.
    pub data: Map<String, Value>,
    pub error: Option<Error>,
    /// The fields of the form shown, so an error about one goes next to it.
    pub fields: Vec<&'static str>,
    pub notice: Option<String>,
    pub wide: bool,
    /// Reload the page every so many seconds when scripts are off (a link opened
    /// elsewhere).
    pub refresh: Option<u32>,
    status: StatusCode,
}

impl View {
    pub fn new(template: &'static str, heading: impl Into<String>) -> View {
        View {
            template,
            heading: heading.into(),
            subheading: None,
            data: Map::new(),
            error: None,
            fields: Vec::new(),
            notice: None,
            wide: false,
            refresh: None,
            status: StatusCode::OK,
        }
    }

    pub fn sub(mut self, text: impl Into<String>) -> View {
        self.subheading = Some(text.into());
        self
    }

    pub fn set(mut self, key: &str, value: impl serde::Serialize) -> View {
        self.data.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    pub fn fields(mut self, fields: &[&'static str]) -> View {
        self.fields = fields.to_vec();
        self
    }

    pub fn notice(mut self, notice: Option<String>) -> View {
        self.notice = notice;
        self
    }

    /// Shows a domain error; the page answers with the error's status.
    pub fn error(mut self, e: Error) -> View {
        self.status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        self.error = Some(e);
        self
    }

    pub fn maybe_error(self, e: Option<Error>) -> View {
        match e {
            Some(e) => self.error(e),
            None => self,
        }
    }

    /// A page that only explains what went wrong.
    pub fn error_page(e: Error) -> View {
        View::new("error.html", messages::heading(&e)).error(e)
    }
}

/// The inline style every page carries: the accent colour and a readable text colour on it.
pub fn theme_css(config: &Config) -> String {
    let accent = &config.pages.primary_color;
    let on_accent = if is_light(accent) { "#111" } else { "#fff" };
    format!(":root{{--accent:{accent};--on-accent:{on_accent}}}")
}

/// Whether black text reads better than white on `#rgb`/`#rrggbb` (WCAG luminance).
fn is_light(hex: &str) -> bool {
    let h = hex.trim_start_matches('#');
    let expand: String = if h.len() == 3 {
        h.chars().flat_map(|c| [c, c]).collect()
    } else {
        h.to_string()
    };
    let channel = |i: usize| {
        let v = u8::from_str_radix(expand.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
        let c = f64::from(v) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    // Contrast with white (1.05 / (l + 0.05)) against with black ((l + 0.05) / 0.05).
    (l + 0.05) / 0.05 > 1.05 / (l + 0.05)
}

/// Renders `view` for `page` (no cookies: the caller adds them).
pub fn render(app: &App, page: &Page, view: View) -> Response {
    let config = &app.config;
    let mut errors = Map::new();
    let mut general = None;
    if let Some(e) = &view.error {
        let text = messages::describe(e);
        match e.param_name.as_deref().filter(|p| view.fields.contains(p)) {
            Some(param) => {
                errors.insert(param.to_string(), json!(text));
            }
            None => general = Some(text),
        }
    }
    let ctx = json!({
        "app_name": config.application_name,
        "logo_url": config.pages.logo_url.as_deref().map(|l| config.page_url(l)),
        "theme_css": theme_css(config),
        "css_url": assets::css_url(),
        "js_url": assets::pages_js_url(),
        "heading": view.heading,
        "subheading": view.subheading,
        "error": general,
        "errors": errors,
        "notice": view.notice,
        "wide": view.wide,
        "refresh": view.refresh,
        "csrf_token": page.csrf.field(app),
        "redirect_url": page.redirect_url,
        "sign_up_open": matches!(config.auth.sign_up, crate::config::SignUpMode::Public),
        "page": view.data,
    });
    let html = env()
        .get_template(view.template)
        .and_then(|t| t.render(minijinja::Value::from_serialize(&ctx)));
    match html {
        Ok(html) => {
            let mut r = (view.status, html).into_response();
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, template = view.template, "a page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Something went wrong on our side.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for &(name, _) in TEMPLATES {
            env().get_template(name).unwrap();
        }
    }

    #[test]
    fn text_on_the_accent_colour_contrasts() {
        assert!(!is_light("#4f46e5"));
        assert!(!is_light("#000"));
        assert!(is_light("#fff"));
        assert!(is_light("#ffd700"));
    }
}
