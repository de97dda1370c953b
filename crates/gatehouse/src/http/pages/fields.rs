//! The form pieces every page repeats, as the global `f` of the page templates:
//! `f.hidden(csrf_token, redirect_url)` and `f.input(errors, name, label, type=...,
//! value=..., autocomplete=..., required=..., hint=..., inputmode=..., autofocus=...,
//! minlength=..., maxlength=...)`. Written in Rust rather than as template macros: a
//! macro call is interpreted with its own frame on every use, and the account page makes
//! twenty of them, which was a third of its rendering time. Values are escaped like
//! everything else on the pages.

use std::fmt::Write as _;
use std::sync::Arc;

use minijinja::value::{from_args, Kwargs, Object, Value};
use minijinja::{Error, ErrorKind, State};

use crate::delivery::templates::write_escaped;

#[derive(Debug)]
pub struct Fields;

impl Object for Fields {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let mut html = String::with_capacity(512);
        match method {
            "hidden" => {
                let (csrf_token, redirect_url): (Value, Option<Value>) = from_args(args)?;
                hidden(&mut html, &csrf_token, redirect_url.as_ref())
            }
            "input" => {
                let (errors, name, label, kwargs): (Value, String, Value, Kwargs) =
                    from_args(args)?;
                let error = errors.get_item(&Value::from(name.as_str()))?;
                let opt = |key: &str| -> Result<Value, Error> {
                    Ok(kwargs.get::<Option<Value>>(key)?.unwrap_or_default())
                };
                let field = Input {
                    name: &name,
                    label: &label,
                    kind: passed(&kwargs, "type")?,
                    value: opt("value")?,
                    autocomplete: opt("autocomplete")?,
                    // Given (even as none) it decides; left out, the field is required.
                    required: passed(&kwargs, "required")?.is_none_or(|r| r.is_true()),
                    hint: opt("hint")?,
                    inputmode: opt("inputmode")?,
                    autofocus: opt("autofocus")?.is_true(),
                    minlength: opt("minlength")?,
                    maxlength: opt("maxlength")?,
                    error,
                };
                kwargs.assert_all_used()?;
                field.write(&mut html)
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "could not write a form field"))?;
        Ok(Value::from_safe_string(html))
    }
}

/// A keyword argument as given, none included; `None` when it was left out.
fn passed(kwargs: &Kwargs, key: &str) -> Result<Option<Value>, Error> {
    if kwargs.has(key) {
        Ok(Some(kwargs.get::<Value>(key)?))
    } else {
        Ok(None)
    }
}

/// The CSRF token and, when there is one, the redirect URL the page carries on.
fn hidden(out: &mut String, csrf_token: &Value, redirect_url: Option<&Value>) -> std::fmt::Result {
    out.push_str(r#"<input type="hidden" name="csrf_token" value=""#);
    text(out, csrf_token)?;
    out.push_str(r#"">"#);
    if let Some(url) = redirect_url.filter(|u| u.is_true()) {
        out.push_str(r#"<input type="hidden" name="redirect_url" value=""#);
        text(out, url)?;
        out.push_str(r#"">"#);
    }
    Ok(())
}

struct Input<'a> {
    name: &'a str,
    label: &'a Value,
    kind: Option<Value>,
    value: Value,
    autocomplete: Value,
    required: bool,
    hint: Value,
    inputmode: Value,
    autofocus: bool,
    minlength: Value,
    maxlength: Value,
    /// The error shown next to the field, if any.
    error: Value,
}

impl Input<'_> {
    /// A labelled input with its hint and error, wired for screen readers.
    fn write(&self, out: &mut String) -> std::fmt::Result {
        let name = self.name;
        let invalid = self.error.is_true();
        let hint = self.hint.is_true();
        out.push_str(if invalid {
            "<div class=\"field invalid\">\n"
        } else {
            "<div class=\"field\">\n"
        });
        out.push_str("<label for=\"f-");
        write_escaped(out, name)?;
        out.push_str("\">");
        text(out, self.label)?;
        if !self.required {
            out.push_str(r#" <span class="optional">(optional)</span>"#);
        }
        out.push_str("</label>\n<input id=\"f-");
        write_escaped(out, name)?;
        out.push_str("\" name=\"");
        write_escaped(out, name)?;
        out.push_str("\" type=\"");
        match &self.kind {
            Some(kind) => text(out, kind)?,
            None => out.push_str("text"),
        }
        out.push('"');
        for (attribute, value) in [
            ("value", &self.value),
            ("autocomplete", &self.autocomplete),
            ("inputmode", &self.inputmode),
            ("minlength", &self.minlength),
            ("maxlength", &self.maxlength),
        ] {
            if value.is_true() {
                write!(out, " {attribute}=\"")?;
                text(out, value)?;
                out.push('"');
            }
        }
        if self.required {
            out.push_str(" required");
        }
        if self.autofocus || invalid {
            out.push_str(" autofocus");
        }
        if invalid {
            out.push_str(r#" aria-invalid="true""#);
        }
        if hint || invalid {
            out.push_str(" aria-describedby=\"");
            if hint {
                out.push_str("h-");
                write_escaped(out, name)?;
            }
            if hint && invalid {
                out.push(' ');
            }
            if invalid {
                out.push_str("e-");
                write_escaped(out, name)?;
            }
            out.push('"');
        }
        out.push('>');
        if hint {
            out.push_str("<div class=\"hint\" id=\"h-");
            write_escaped(out, name)?;
            out.push_str("\">");
            text(out, &self.hint)?;
            out.push_str("</div>");
        }
        if invalid {
            out.push_str("<p class=\"field-error\" id=\"e-");
            write_escaped(out, name)?;
            out.push_str("\">");
            text(out, &self.error)?;
            out.push_str("</p>");
        }
        out.push_str("\n</div>");
        Ok(())
    }
}

/// A template value as page text: escaped unless already safe HTML.
fn text(out: &mut String, value: &Value) -> std::fmt::Result {
    if value.is_safe() {
        write!(out, "{value}")
    } else if let Some(s) = value.as_str() {
        write_escaped(out, s)
    } else {
        write_escaped(out, &value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    /// The template macros these functions replace, kept to prove the output unchanged.
    const MACROS: &str = r##"{% macro hidden(csrf_token, redirect_url) -%}
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
{%- if redirect_url %}<input type="hidden" name="redirect_url" value="{{ redirect_url }}">{% endif %}
{%- endmacro %}

{% macro input(errors, name, label, type="text", value="", autocomplete="", required=true, hint="", inputmode="", autofocus=false, minlength="", maxlength="") -%}
<div class="field{% if errors[name] %} invalid{% endif %}">
<label for="f-{{ name }}">{{ label }}{% if not required %} <span class="optional">(optional)</span>{% endif %}</label>
<input id="f-{{ name }}" name="{{ name }}" type="{{ type }}"
{%- if value %} value="{{ value }}"{% endif %}
{%- if autocomplete %} autocomplete="{{ autocomplete }}"{% endif %}
{%- if inputmode %} inputmode="{{ inputmode }}"{% endif %}
{%- if minlength %} minlength="{{ minlength }}"{% endif %}
{%- if maxlength %} maxlength="{{ maxlength }}"{% endif %}
{%- if required %} required{% endif %}
{%- if autofocus or errors[name] %} autofocus{% endif %}
{%- if errors[name] %} aria-invalid="true"{% endif %}
{%- if hint or errors[name] %} aria-describedby="{% if hint %}h-{{ name }}{% endif %}{% if hint and errors[name] %} {% endif %}{% if errors[name] %}e-{{ name }}{% endif %}"{% endif %}>
{%- if hint %}<div class="hint" id="h-{{ name }}">{{ hint }}</div>{% endif %}
{%- if errors[name] %}<p class="field-error" id="e-{{ name }}">{{ errors[name] }}</p>{% endif %}
</div>
{%- endmacro %}
"##;

    /// Renders `source` as an `.html` template (so with HTML escaping, as the pages are).
    fn render(env: &mut Environment<'_>, source: &str, ctx: &serde_json::Value) -> String {
        env.add_template_owned("call.html", source.to_string())
            .unwrap();
        env.get_template("call.html")
            .and_then(|t| t.render(minijinja::Value::from_serialize(ctx)))
            .unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    #[test]
    fn the_same_html_as_the_macros_were() {
        let mut with_macros = Environment::new();
        with_macros.set_formatter(crate::delivery::templates::html_formatter);
        with_macros.add_template("macros.html", MACROS).unwrap();
        let mut with_fields = Environment::new();
        with_fields.set_formatter(crate::delivery::templates::html_formatter);
        with_fields.add_global("f", minijinja::Value::from_object(super::Fields));
        let ctx = serde_json::json!({
            "errors": {"code": "That code is <wrong> & \"old\"", "password": "Too short"},
            "no_errors": {},
            "csrf": "tok'en<>", "redirect": "https://app.test/a?b=1&c=\"2\"",
            "v": {"first_name": "Ada & 'Bob'", "none": null, "n": 8, "yes": true, "no": false},
        });
        let calls = [
            r#"f.hidden(csrf, redirect)"#,
            r#"f.hidden(csrf, none)"#,
            r#"f.hidden(csrf, "")"#,
            r#"f.input(errors, "code", "Code from the app", inputmode="numeric", autocomplete="one-time-code", autofocus=true, maxlength="6")"#,
            r#"f.input(no_errors, "code", "Code sent to " ~ v.first_name, inputmode="numeric")"#,
            r#"f.input(errors, "password", "New password", type="password", autocomplete="new-password", hint="At least <8> & 'more'", autofocus=true)"#,
            r#"f.input(no_errors, "password", "Password", type="password", hint="A hint", minlength=v.n, maxlength=v.n)"#,
            r#"f.input(no_errors, "first_name", "First name", value=v.first_name, autocomplete="given-name", required=false)"#,
            r#"f.input(no_errors, "last_name", "Last name", value=v.none, required=v.none)"#,
            r#"f.input(no_errors, "username", "Username", value=v.n, required=v.yes)"#,
            r#"f.input(errors, "first_name", "First name", required=v.no)"#,
            r#"f.input(no_errors, "email_address", "Email address", type="email")"#,
            r#"f.input(no_errors, "email_address", "Email address", type=v.none)"#,
            r#"f.input(no_errors, "n", v.n, type=v.n, value=v.yes, autofocus=v.n)"#,
        ];
        for call in calls {
            let old = render(
                &mut with_macros,
                &format!("{{% import \"macros.html\" as f %}}{{{{ {call} }}}}"),
                &ctx,
            );
            let new = render(&mut with_fields, &format!("{{{{ {call} }}}}"), &ctx);
            assert_eq!(new, old, "{call}");
        }
    }

    #[test]
    fn unknown_arguments_and_methods_are_errors() {
        let mut env = Environment::new();
        env.add_global("f", minijinja::Value::from_object(super::Fields));
        let ctx = serde_json::json!({"errors": {}});
        for call in [
            r#"f.input(errors, "a", "A", colour="red")"#,
            r#"f.select(errors)"#,
            r#"f.input(errors)"#,
        ] {
            let source = format!("{{{{ {call} }}}}");
            let rendered = env.render_str(&source, minijinja::Value::from_serialize(&ctx));
            assert!(rendered.is_err(), "{call}");
        }
    }
}
