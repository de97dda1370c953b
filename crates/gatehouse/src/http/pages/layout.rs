//! How a view becomes a response: the frame every page shares (a compiled template:
//! the instance's name, logo and colour, the heading, the error when it is not about a
//! field, a notice) around the page's body. A body is either a minijinja template
//! (embedded in the binary) or a compiled one ([`CompiledBody`]: the pages with the
//! most to render, where interpreting the template was most of a request's cost). Both
//! get the CSRF token, the redirect URL carried on, and the error about one of their
//! fields to show beside it.

use std::sync::OnceLock;

use askama::Template;

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

use super::fields::Form;

/// The bodies rendered by minijinja.
const TEMPLATES: &[(&str, &str)] = &[
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("verify.html", include_str!("templates/verify.html")),
    ("mfa.html", include_str!("templates/mfa.html")),
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

/// Under an error page's message: the way back.
struct ErrorActions;
compiled_body!(ErrorActions, "error.html");

/// The frame around every page's body.
#[derive(Template)]
#[template(path = "frame.html")]
struct Frame<'a> {
    app_name: &'a str,
    logo_url: Option<String>,
    theme_css: String,
    css_url: String,
    js_url: String,
    heading: &'a str,
    subheading: Option<&'a str>,
    /// The error when it is not about a field of the form shown.
    error: Option<&'a str>,
    notice: Option<&'a str>,
    wide: bool,
    refresh: Option<u32>,
    content: &'a str,
}

/// Escapes `& < > " '` as the minijinja pages and the emails do, so every page reads
/// the same whichever engine wrote it.
#[derive(Clone, Copy)]
pub struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, text: &str) -> std::fmt::Result {
        crate::delivery::templates::write_escaped(&mut dest, text)
    }
}

/// A page body rendered by a compiled template, given the request's form pieces.
pub trait CompiledBody: Send {
    fn render(&self, form: &Form<'_>) -> askama::Result<String>;
}

/// `compiled_body!(Type, "file.html")`: `Type` is rendered by the template `file.html`,
/// which sees it as `p` and the request's form pieces as `f`.
macro_rules! compiled_body {
    ($page:ty, $path:literal) => {
        const _: () = {
            #[derive(askama::Template)]
            #[template(path = $path)]
            #[allow(dead_code)] // A template may use only one of the two.
            struct Body<'a> {
                p: &'a $page,
                f: &'a $crate::http::pages::fields::Form<'a>,
            }

            impl $crate::http::pages::layout::CompiledBody for $page {
                fn render(
                    &self,
                    form: &$crate::http::pages::fields::Form<'_>,
                ) -> askama::Result<String> {
                    askama::Template::render(&Body { p: self, f: form })
                }
            }
        };
    };
}
pub(super) use compiled_body;

/// What renders a page's body.
pub enum Body {
    /// A minijinja template with the page's values under `page`.
    Template {
        name: &'static str,
        data: Map<String, Value>,
    },
    Compiled(Box<dyn CompiledBody>),
}

/// One page to render.
pub struct View {
    pub body: Body,
    pub heading: String,
    pub subheading: Option<String>,
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
    /// A page whose body is the minijinja template `template`.
    pub fn new(template: &'static str, heading: impl Into<String>) -> View {
        View::with_body(
            Body::Template {
                name: template,
                data: Map::new(),
            },
            heading,
        )
    }

    /// A page whose body is a compiled template.
    pub fn compiled(body: impl CompiledBody + 'static, heading: impl Into<String>) -> View {
        View::with_body(Body::Compiled(Box::new(body)), heading)
    }

    fn with_body(body: Body, heading: impl Into<String>) -> View {
        View {
            body,
            heading: heading.into(),
            subheading: None,
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

    /// A value of a template body (`page.<key>`); compiled bodies carry their own.
    pub fn set(mut self, key: &str, value: impl serde::Serialize) -> View {
        match &mut self.body {
            Body::Template { data, .. } => {
                data.insert(
                    key.to_string(),
                    serde_json::to_value(value).unwrap_or(Value::Null),
                );
            }
            Body::Compiled(_) => debug_assert!(false, "`{key}` set on a compiled page body"),
        }
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
        View::compiled(ErrorActions, messages::heading(&e)).error(e)
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
    match render_html(app, page, &view) {
        Ok(html) => {
            let mut r = (view.status, html).into_response();
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        Err(e) => {
            let template = match &view.body {
                Body::Template { name, .. } => name,
                Body::Compiled(_) => "compiled",
            };
            tracing::error!(error = %e, template, "a page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Something went wrong on our side.",
            )
                .into_response()
        }
    }
}

fn render_html(app: &App, page: &Page, view: &View) -> Result<String, String> {
    let config = &app.config;
    let described = view.error.as_ref().map(|e| (e, messages::describe(e)));
    // Next to its field when the form shown has it, else above the form.
    let field_error = described.as_ref().and_then(|(e, text)| {
        e.param_name
            .as_deref()
            .and_then(|p| view.fields.iter().find(|f| **f == p))
            .map(|field| (*field, text.as_str()))
    });
    let general = match field_error {
        Some(_) => None,
        None => described.as_ref().map(|(_, text)| text.as_str()),
    };
    let csrf_token = page.csrf.field(app);
    let form = Form {
        csrf_token: &csrf_token,
        redirect_url: page.redirect_url.as_deref(),
        field_error,
    };
    let content = match &view.body {
        Body::Template { name, data } => {
            render_template(config, name, data, &form).map_err(|e| e.to_string())?
        }
        Body::Compiled(body) => body.render(&form).map_err(|e| e.to_string())?,
    };
    Frame {
        app_name: &config.application_name,
        logo_url: config.pages.logo_url.as_deref().map(|l| config.page_url(l)),
        theme_css: theme_css(config),
        css_url: assets::css_url(),
        js_url: assets::pages_js_url(),
        heading: &view.heading,
        subheading: view.subheading.as_deref(),
        error: general,
        notice: view.notice.as_deref(),
        wide: view.wide,
        refresh: view.refresh,
        content: &content,
    }
    .render()
    .map_err(|e| e.to_string())
}

/// A minijinja body: the page's values under `page`, the form pieces, and whether
/// anyone may sign up (for the "no account?" link).
fn render_template(
    config: &Config,
    name: &str,
    data: &Map<String, Value>,
    form: &Form<'_>,
) -> Result<String, minijinja::Error> {
    let mut errors = Map::new();
    if let Some((field, text)) = form.field_error {
        errors.insert(field.to_string(), json!(text));
    }
    let ctx = json!({
        "errors": errors,
        "csrf_token": form.csrf_token,
        "redirect_url": form.redirect_url,
        "sign_up_open": matches!(config.auth.sign_up, crate::config::SignUpMode::Public),
        "page": data,
    });
    env()
        .get_template(name)
        .and_then(|t| t.render(minijinja::Value::from_serialize(&ctx)))
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
