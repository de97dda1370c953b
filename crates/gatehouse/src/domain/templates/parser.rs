//! The shortcode syntax, and nothing about what the paths mean.
//!
//! A string is text with shortcodes in it. A shortcode is `{{`, one or more terms
//! separated by `||`, and `}}`; spaces around terms are ignored. A term is
//!
//! - a path: a name (`user`), then `.name` or `['quoted name']` or `[0]` steps, where
//!   a name after a dot may also hold digits and `-` (`user.public_metadata.x-role`);
//! - a string: `'single'` or `"double"` quoted, with `\'`, `\"` and `\\` escapes;
//! - a number in JSON syntax (`3`, `-1.5`, `2e3`);
//! - `true`, `false` or `null`.
//!
//! Every `{{` opens a shortcode; there is no escape for a literal `{{`. A `}}` outside a
//! shortcode is plain text. Errors carry the 1-based character position they are about.

use serde_json::Value;

/// A piece of a parsed string: text, or a shortcode to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Code(Shortcode),
}

/// `{{ a || b || ... }}`: the terms in order; the first that has a value wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortcode {
    pub terms: Vec<Term>,
}

/// One alternative of a shortcode.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// Path steps, e.g. `["user", "public_metadata", "role"]`.
    Path(Vec<String>),
    /// A string, number or boolean (or `null`) written in the shortcode.
    Literal(Value),
}

/// Where a string stops being valid shortcode syntax, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based character position in the string.
    pub position: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Splits `input` into text and shortcodes. Never panics, whatever the input.
pub fn parse(input: &str) -> Result<Vec<Piece>, ParseError> {
    let mut cursor = Cursor { src: input, pos: 0 };
    let mut pieces = Vec::new();
    while !cursor.at_end() {
        match cursor.rest().find("{{") {
            Some(offset) => {
                if offset > 0 {
                    pieces.push(Piece::Text(cursor.rest()[..offset].to_string()));
                }
                cursor.pos += offset;
                let open = cursor.pos;
                cursor.pos += 2;
                pieces.push(Piece::Code(shortcode(&mut cursor, open)?));
            }
            None => {
                pieces.push(Piece::Text(cursor.rest().to_string()));
                cursor.pos = input.len();
            }
        }
    }
    Ok(pieces)
}

/// Whether a string holds anything that could be a shortcode.
pub fn has_shortcode(input: &str) -> bool {
    input.contains("{{")
}

struct Cursor<'a> {
    src: &'a str,
    /// Byte offset, always on a character boundary.
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Consumes characters while `keep` holds; returns them.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        &self.src[start..self.pos]
    }

    fn error(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            position: self.src[..at].chars().count() + 1,
            message: message.into(),
        }
    }
}

fn shortcode(c: &mut Cursor<'_>, open: usize) -> Result<Shortcode, ParseError> {
    let unclosed = |c: &Cursor<'_>| c.error(open, "this shortcode is not closed with `}}`");
    let mut terms = Vec::new();
    loop {
        c.skip_spaces();
        if terms.is_empty() && c.rest().starts_with("}}") {
            return Err(c.error(open, "empty shortcode: write a path such as `{{user.id}}`"));
        }
        terms.push(term(c, open)?);
        c.skip_spaces();
        if c.eat("||") {
            continue;
        }
        if c.eat("}}") {
            return Ok(Shortcode { terms });
        }
        return Err(match c.peek() {
            // Nothing closes it further on: say so rather than point at what follows.
            Some(_) if !c.rest().contains("}}") => unclosed(c),
            None => unclosed(c),
            Some(ch) => c.error(c.pos, format!("unexpected `{ch}`: expected `||` or `}}}}`")),
        });
    }
}

fn term(c: &mut Cursor<'_>, open: usize) -> Result<Term, ParseError> {
    match c.peek() {
        None => Err(c.error(open, "this shortcode is not closed with `}}`")),
        Some(q @ ('\'' | '"')) => quoted(c, q).map(|s| Term::Literal(Value::String(s))),
        Some(ch) if ch == '-' || ch.is_ascii_digit() => number(c).map(Term::Literal),
        Some(ch) if ch.is_ascii_alphabetic() || ch == '_' => path_or_keyword(c),
        Some('|') => Err(c.error(c.pos, "expected a value before `||`")),
        Some('}') => Err(c.error(c.pos, "expected a value after `||`")),
        Some(ch) => Err(c.error(
            c.pos,
            format!(
                "unexpected `{ch}`: expected a path such as user.id, a quoted string, a number, true or false"
            ),
        )),
    }
}

/// A quoted string; the cursor is on the opening quote.
fn quoted(c: &mut Cursor<'_>, quote: char) -> Result<String, ParseError> {
    let start = c.pos;
    c.bump();
    let mut out = String::new();
    loop {
        match c.bump() {
            None => return Err(c.error(start, format!("this string has no closing {quote}"))),
            Some(ch) if ch == quote => return Ok(out),
            Some('\\') => {
                let at = c.pos - 1;
                match c.bump() {
                    Some(e @ ('\'' | '"' | '\\')) => out.push(e),
                    _ => {
                        return Err(c.error(
                            at,
                            "unknown escape: only \\', \\\" and \\\\ are allowed in strings",
                        ))
                    }
                }
            }
            Some(ch) => out.push(ch),
        }
    }
}

fn number(c: &mut Cursor<'_>) -> Result<Value, ParseError> {
    let start = c.pos;
    let lexeme =
        c.take_while(|ch| ch.is_ascii_digit() || matches!(ch, '-' | '+' | '.' | 'e' | 'E'));
    match serde_json::from_str::<serde_json::Number>(lexeme) {
        Ok(n) => Ok(Value::Number(n)),
        Err(_) => {
            let shown: String = lexeme.chars().take(32).collect();
            Err(c.error(start, format!("`{shown}` is not a number")))
        }
    }
}

fn is_name_start(ch: char) -> bool {
    ch.is_ascii_alphabetic() || ch == '_'
}

fn is_name_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'
}

fn path_or_keyword(c: &mut Cursor<'_>) -> Result<Term, ParseError> {
    let first = c
        .take_while(|ch| is_name_start(ch) || ch.is_ascii_digit())
        .to_string();
    let followed = matches!(c.peek(), Some('.' | '['));
    if !followed {
        match first.as_str() {
            "true" => return Ok(Term::Literal(Value::Bool(true))),
            "false" => return Ok(Term::Literal(Value::Bool(false))),
            "null" => return Ok(Term::Literal(Value::Null)),
            _ => {}
        }
    }
    let mut steps = vec![first];
    loop {
        match c.peek() {
            Some('.') => {
                c.bump();
                let at = c.pos;
                let name = c.take_while(is_name_char);
                if name.is_empty() {
                    return Err(c.error(at, "expected a name after `.`"));
                }
                steps.push(name.to_string());
            }
            Some('[') => {
                let at = c.pos;
                c.bump();
                c.skip_spaces();
                let step =
                    match c.peek() {
                        Some(q @ ('\'' | '"')) => quoted(c, q)?,
                        Some(ch) if ch.is_ascii_digit() => {
                            c.take_while(|ch| ch.is_ascii_digit()).to_string()
                        }
                        _ => return Err(c.error(
                            at,
                            "expected a quoted name or an index in `[...]`, e.g. ['my key'] or [0]",
                        )),
                    };
                c.skip_spaces();
                if !c.eat("]") {
                    return Err(c.error(at, "this `[` is not closed with `]`"));
                }
                steps.push(step);
            }
            _ => return Ok(Term::Path(steps)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(terms: Vec<Term>) -> Piece {
        Piece::Code(Shortcode { terms })
    }

    fn path(p: &str) -> Term {
        Term::Path(p.split('.').map(String::from).collect())
    }

    #[test]
    fn text_without_shortcodes() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("plain } }} { text").unwrap(),
            vec![Piece::Text("plain } }} { text".into())]
        );
    }

    #[test]
    fn single_and_interpolated_shortcodes() {
        assert_eq!(
            parse("{{user.id}}").unwrap(),
            vec![code(vec![path("user.id")])]
        );
        assert_eq!(
            parse("{{  user.public_metadata.a.b  }}").unwrap(),
            vec![code(vec![path("user.public_metadata.a.b")])]
        );
        assert_eq!(
            parse("Hi {{user.first_name}}!").unwrap(),
            vec![
                Piece::Text("Hi ".into()),
                code(vec![path("user.first_name")]),
                Piece::Text("!".into())
            ]
        );
        assert_eq!(
            parse("{{a.b}}{{c.d}}").unwrap(),
            vec![code(vec![path("a.b")]), code(vec![path("c.d")])]
        );
    }

    #[test]
    fn fallbacks_and_literals() {
        assert_eq!(
            parse("{{user.public_metadata.role || 'user'}}").unwrap(),
            vec![code(vec![
                path("user.public_metadata.role"),
                Term::Literal(json!("user"))
            ])]
        );
        assert_eq!(
            parse(r#"{{ a.b || c.d || "x'y" || 'it\'s \\ "q"' || 42 || -1.5e2 || true || false || null }}"#)
                .unwrap(),
            vec![code(vec![
                path("a.b"),
                path("c.d"),
                Term::Literal(json!("x'y")),
                Term::Literal(json!("it's \\ \"q\"")),
                Term::Literal(json!(42)),
                Term::Literal(json!(-150.0)),
                Term::Literal(json!(true)),
                Term::Literal(json!(false)),
                Term::Literal(Value::Null),
            ])]
        );
        assert_eq!(
            parse("{{'a||b}}'}}").unwrap(),
            vec![code(vec![Term::Literal(json!("a||b}}"))])]
        );
    }

    #[test]
    fn bracket_and_dashed_steps() {
        assert_eq!(
            parse("{{user.public_metadata['my key'][\"x.y\"][0].x-hasura-role}}").unwrap(),
            vec![code(vec![Term::Path(vec![
                "user".into(),
                "public_metadata".into(),
                "my key".into(),
                "x.y".into(),
                "0".into(),
                "x-hasura-role".into(),
            ])])]
        );
        assert_eq!(
            parse("{{true.x}}").unwrap(),
            vec![code(vec![path("true.x")])],
            "a keyword followed by a step is a path"
        );
    }

    #[test]
    fn errors_say_where() {
        let cases: &[(&str, usize, &str)] = &[
            ("{{user.id", 1, "not closed"),
            ("ab {{user.id", 4, "not closed"),
            ("{{}}", 1, "empty shortcode"),
            ("{{ }}", 1, "empty shortcode"),
            ("{{user.}}", 8, "after `.`"),
            ("{{user.id user.x}}", 11, "expected `||` or `}}`"),
            ("{{user.id ||}}", 13, "after `||`"),
            ("{{|| 'x'}}", 3, "before `||`"),
            ("{{ 'abc }}", 4, "no closing '"),
            ("{{'a\\n'}}", 5, "unknown escape"),
            ("{{01}}", 3, "not a number"),
            ("{{-}}", 3, "not a number"),
            ("{{1.}}", 3, "not a number"),
            ("{{user[}}", 7, "quoted name or an index"),
            ("{{user['a'}}", 7, "not closed with `]`"),
            ("{{@}}", 3, "unexpected `@`"),
            ("{{user.id | 'x'}}", 11, "unexpected `|`"),
            ("é{{ü}}", 4, "unexpected `ü`"),
            ("{{user.id}", 1, "not closed"),
        ];
        for (input, position, words) in cases {
            let e = parse(input).expect_err(input);
            assert_eq!(e.position, *position, "{input}: {e}");
            assert!(e.message.contains(words), "{input}: {e}");
            assert!(e
                .to_string()
                .starts_with(&format!("at character {position}:")));
        }
    }
}
