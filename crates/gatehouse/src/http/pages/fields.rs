//! The form pieces every page repeats: the hidden CSRF and redirect fields, and a
//! labelled input with its hint and error wired for screen readers. Written once in Rust
//! ([`Input`], [`Hidden`]) and offered to both kinds of page body: compiled pages call
//! [`Form`] (`f.hidden()`, `f.input(name, label).kind("password")...`), template pages
//! the global `f` ([`Fields`]: `f.hidden(csrf_token, redirect_url)` and `f.input(errors,
//! name, label, type=..., value=..., autocomplete=..., required=..., hint=...,
//! inputmode=..., autofocus=..., minlength=..., maxlength=...)`). Not template macros: a
//! macro call is interpreted with its own frame on every use, and the account page makes
//! twenty of them. Values are escaped like everything else on the pages.

use std::borrow::Borrow;
use std::fmt::{self, Display, Write as _};
use std::sync::Arc;

use minijinja::value::{from_args, Kwargs, Object, Value};
use minijinja::{Error, ErrorKind, State};

use crate::delivery::templates::write_escaped;

/// What a compiled page body's form pieces need from the request: the CSRF token, the
/// redirect URL carried on, and the error to show next to its field.
pub struct Form<'a> {
    pub csrf_token: &'a str,
    pub redirect_url: Option<&'a str>,
    /// `(field, sentence)`: a domain error about a field on this page.
    pub field_error: Option<(&'a str, &'a str)>,
}

impl<'a> Form<'a> {
    pub fn hidden(&self) -> Hidden<'a> {
        Hidden {
            csrf_token: self.csrf_token,
            redirect_url: self.redirect_url,
        }
    }

    /// The error shown next to field `name`, if the page's error is about it.
    pub fn error(&self, name: &str) -> Option<&'a str> {
        self.field_error
            .filter(|(field, _)| *field == name)
            .map(|(_, text)| text)
    }

    /// A required text input with this page's error for it, if any.
    pub fn input(&self, name: &'a str, label: &'a str) -> Input<'a> {
        Input {
            error: self.error(name),
            ..Input::new(name, label)
        }
    }
}

/// The CSRF token and, when there is one, the redirect URL the page carries on.
pub struct Hidden<'a> {
    pub csrf_token: &'a str,
    pub redirect_url: Option<&'a str>,
}

impl Display for Hidden<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.write_str(r#"<input type="hidden" name="csrf_token" value=""#)?;
        write_escaped(out, self.csrf_token)?;
        out.write_str(r#"">"#)?;
        if let Some(url) = self.redirect_url.filter(|u| !u.is_empty()) {
            out.write_str(r#"<input type="hidden" name="redirect_url" value=""#)?;
            write_escaped(out, url)?;
            out.write_str(r#"">"#)?;
        }
        Ok(())
    }
}

/// A labelled input; attributes left `None` (or empty) are not written.
pub struct Input<'a> {
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    value: Option<&'a str>,
    autocomplete: Option<&'a str>,
    required: bool,
    hint: Option<&'a str>,
    inputmode: Option<&'a str>,
    autofocus: bool,
    minlength: Option<&'a str>,
    maxlength: Option<&'a str>,
    /// The error shown next to the field, if any.
    error: Option<&'a str>,
}

impl<'a> Input<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Input<'a> {
        Input {
            name,
            label,
            kind: "text",
            value: None,
            autocomplete: None,
            required: true,
            hint: None,
            inputmode: None,
            autofocus: false,
            minlength: None,
            maxlength: None,
            error: None,
        }
    }

    pub fn kind(self, kind: &'a str) -> Self {
        Input { kind, ..self }
    }

    pub fn value(self, value: Option<&'a str>) -> Self {
        Input { value, ..self }
    }

    pub fn autocomplete(self, autocomplete: &'a str) -> Self {
        Input {
            autocomplete: Some(autocomplete),
            ..self
        }
    }

    pub fn optional(self) -> Self {
        Input {
            required: false,
            ..self
        }
    }

    /// (A template passes its fields by reference.)
    pub fn required(self, required: impl Borrow<bool>) -> Self {
        Input {
            required: *required.borrow(),
            ..self
        }
    }

    pub fn hint(self, hint: &'a str) -> Self {
        Input {
            hint: Some(hint),
            ..self
        }
    }

    pub fn minlength(self, minlength: &'a str) -> Self {
        Input {
            minlength: Some(minlength),
            ..self
        }
    }

    pub fn inputmode(self, inputmode: &'a str) -> Self {
        Input {
            inputmode: Some(inputmode),
            ..self
        }
    }

    pub fn autofocus(self) -> Self {
        Input {
            autofocus: true,
            ..self
        }
    }

    pub fn maxlength(self, maxlength: &'a str) -> Self {
        Input {
            maxlength: Some(maxlength),
            ..self
        }
    }
}

impl Display for Input<'_> {
    /// A labelled input with its hint and error, wired for screen readers.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name;
        fn present(v: Option<&str>) -> Option<&str> {
            v.filter(|v| !v.is_empty())
        }
        let error = present(self.error);
        let hint = present(self.hint);
        out.write_str(if error.is_some() {
            "<div class=\"field invalid\">\n"
        } else {
            "<div class=\"field\">\n"
        })?;
        out.write_str("<label for=\"f-")?;
        write_escaped(out, name)?;
        out.write_str("\">")?;
        write_escaped(out, self.label)?;
        if !self.required {
            out.write_str(r#" <span class="optional">(optional)</span>"#)?;
        }
        out.write_str("</label>\n<input id=\"f-")?;
        write_escaped(out, name)?;
        out.write_str("\" name=\"")?;
        write_escaped(out, name)?;
        out.write_str("\" type=\"")?;
        write_escaped(out, self.kind)?;
        out.write_char('"')?;
        for (attribute, value) in [
            ("value", self.value),
            ("autocomplete", self.autocomplete),
            ("inputmode", self.inputmode),
            ("minlength", self.minlength),
            ("maxlength", self.maxlength),
        ] {
            if let Some(value) = present(value) {
                write!(out, " {attribute}=\"")?;
                write_escaped(out, value)?;
                out.write_char('"')?;
            }
        }
        if self.required {
            out.write_str(" required")?;
        }
        if self.autofocus || error.is_some() {
            out.write_str(" autofocus")?;
        }
        if error.is_some() {
            out.write_str(r#" aria-invalid="true""#)?;
        }
        if hint.is_some() || error.is_some() {
            out.write_str(" aria-describedby=\"")?;
            if hint.is_some() {
                out.write_str("h-")?;
                write_escaped(out, name)?;
            }
            if hint.is_some() && error.is_some() {
                out.write_char(' ')?;
            }
            if error.is_some() {
                out.write_str("e-")?;
                write_escaped(out, name)?;
            }
            out.write_char('"')?;
        }
        out.write_char('>')?;
        if let Some(hint) = hint {
            out.write_str("<div class=\"hint\" id=\"h-")?;
            write_escaped(out, name)?;
            out.write_str("\">")?;
            write_escaped(out, hint)?;
            out.write_str("</div>")?;
        }
        if let Some(error) = error {
            out.write_str("<p class=\"field-error\" id=\"e-")?;
            write_escaped(out, name)?;
            out.write_str("\">")?;
            write_escaped(out, error)?;
            out.write_str("</p>")?;
        }
        out.write_str("\n</div>")
    }
}

/// The global `f` of the template pages: the same pieces, from template values.
#[derive(Debug)]
pub struct Fields;

impl Object for Fields {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let html = match method {
            "hidden" => {
                let (csrf_token, redirect_url): (Value, Option<Value>) = from_args(args)?;
                let redirect_url = redirect_url.filter(Value::is_true).map(|u| text(&u));
                Hidden {
                    csrf_token: &text(&csrf_token),
                    redirect_url: redirect_url.as_deref(),
                }
                .to_string()
            }
            "input" => {
                let (errors, name, label, kwargs): (Value, String, Value, Kwargs) =
                    from_args(args)?;
                let error = given(&errors.get_item(&Value::from(name.as_str()))?);
                let opt = |key: &str| -> Result<Option<String>, Error> {
                    Ok(kwargs.get::<Option<Value>>(key)?.as_ref().and_then(given))
                };
                let label = text(&label);
                // Given (even as none) a keyword decides; left out, the default applies.
                let kind = passed(&kwargs, "type")?.map(|k| text(&k));
                let required = passed(&kwargs, "required")?.is_none_or(|r| r.is_true());
                let [value, autocomplete, hint, inputmode, minlength, maxlength] = [
                    "value",
                    "autocomplete",
                    "hint",
                    "inputmode",
                    "minlength",
                    "maxlength",
                ]
                .map(opt);
                let [value, autocomplete, hint, inputmode, minlength, maxlength] = [
                    value?,
                    autocomplete?,
                    hint?,
                    inputmode?,
                    minlength?,
                    maxlength?,
                ];
                let field = Input {
                    name: &name,
                    label: &label,
                    kind: kind.as_deref().unwrap_or("text"),
                    value: value.as_deref(),
                    autocomplete: autocomplete.as_deref(),
                    required,
                    hint: hint.as_deref(),
                    inputmode: inputmode.as_deref(),
                    autofocus: kwargs
                        .get::<Option<Value>>("autofocus")?
                        .is_some_and(|a| a.is_true()),
                    minlength: minlength.as_deref(),
                    maxlength: maxlength.as_deref(),
                    error: error.as_deref(),
                };
                kwargs.assert_all_used()?;
                field.to_string()
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        };
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

/// A template value as text (escaped when written).
fn text(value: &Value) -> String {
    match value.as_str() {
        Some(s) => s.to_string(),
        None => value.to_string(),
    }
}

/// A template value's text when it is true (given, non-empty, non-zero).
fn given(value: &Value) -> Option<String> {
    value.is_true().then(|| text(value))
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

    /// The compiled pages' builder writes what the template pages' `f` writes.
    #[test]
    fn the_builder_writes_what_the_template_global_writes() {
        let mut env = Environment::new();
        env.set_formatter(crate::delivery::templates::html_formatter);
        env.add_global("f", minijinja::Value::from_object(super::Fields));
        let ctx = serde_json::json!({
            "errors": {"code": "That code is <wrong> & \"old\""},
            "csrf": "tok'en<>", "redirect": "https://app.test/a?b=1&c=\"2\"",
        });
        let form = super::Form {
            csrf_token: "tok'en<>",
            redirect_url: Some("https://app.test/a?b=1&c=\"2\""),
            field_error: Some(("code", "That code is <wrong> & \"old\"")),
        };
        let no_redirect = super::Form {
            redirect_url: None,
            field_error: None,
            ..form
        };
        let cases: [(&str, String); 7] = [
            ("f.hidden(csrf, redirect)", form.hidden().to_string()),
            ("f.hidden(csrf, none)", no_redirect.hidden().to_string()),
            (
                r#"f.input(errors, "code", "Code", inputmode="numeric", autocomplete="one-time-code", autofocus=true, maxlength="6")"#,
                form.input("code", "Code")
                    .inputmode("numeric")
                    .autocomplete("one-time-code")
                    .autofocus()
                    .maxlength("6")
                    .to_string(),
            ),
            (
                r#"f.input(errors, "first_name", "First name", value="Ada & 'Bob'", autocomplete="given-name", required=false)"#,
                form.input("first_name", "First name")
                    .value(Some("Ada & 'Bob'"))
                    .autocomplete("given-name")
                    .optional()
                    .to_string(),
            ),
            (
                r#"f.input(errors, "password", "Password", type="password", hint="At least <8>", minlength="8", maxlength="256")"#,
                form.input("password", "Password")
                    .kind("password")
                    .hint("At least <8>")
                    .minlength("8")
                    .maxlength("256")
                    .to_string(),
            ),
            (
                r#"f.input(errors, "phone_number", "Phone", type="tel", value=none, required=false)"#,
                form.input("phone_number", "Phone")
                    .kind("tel")
                    .value(None)
                    .required(false)
                    .to_string(),
            ),
            (
                r#"f.input(errors, "code", "Code", hint="A hint")"#,
                form.input("code", "Code").hint("A hint").to_string(),
            ),
        ];
        for (call, built) in cases {
            let source = format!("{{{{ {call} }}}}");
            env.add_template_owned("call.html", source).unwrap();
            let rendered = env
                .get_template("call.html")
                .and_then(|t| t.render(minijinja::Value::from_serialize(&ctx)))
                .unwrap();
            assert_eq!(built, rendered, "{call}");
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
