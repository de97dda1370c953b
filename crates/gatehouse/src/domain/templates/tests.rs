//! Rendering, refusals, and hostile input for the claims templates.

use std::borrow::Cow;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::*;

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn one(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    Value::Object(m)
}

fn ada() -> UserData {
    UserData {
        id: "user_ada".into(),
        first_name: Some("Ada".into()),
        last_name: None,
        username: Some("ada".into()),
        primary_email_address: Some("ada@example.com".into()),
        email_verified: Some(true),
        primary_phone_number: None,
        phone_number_verified: None,
        created_at: 1_700_000_000_123,
        public_metadata: json!({
            "role": "admin",
            "level": 7,
            "ratio": 0.5,
            "beta": true,
            "team": {"name": "core", "tags": ["a", "b"]},
            "roles": ["editor", "viewer"],
            "x-hasura-role": "author",
            "my key": {"x.y": "dotted"},
            "nothing": null,
            "empty": ""
        }),
        unsafe_metadata: json!({"theme": "dark"}),
    }
}

fn render(claims: Value, user: &UserData) -> Value {
    let compiled = compile(&object(claims), TEMPLATE_RESERVED).expect("compiles");
    let actor = json!({"sub": "user_admin"});
    let data = TemplateData {
        user: Some(user),
        session_id: Some("sess_1"),
        actor: Some(&actor),
    };
    Value::Object(compiled.render(&data).into_owned())
}

fn refused(claims: Value) -> TemplateError {
    compile(&object(claims), TEMPLATE_RESERVED).expect_err("refused")
}

#[test]
fn single_shortcodes_keep_the_json_type() {
    let out = render(
        json!({
            "id": "{{user.id}}",
            "level": "{{user.public_metadata.level}}",
            "ratio": "{{ user.public_metadata.ratio }}",
            "beta": "{{user.public_metadata.beta}}",
            "verified": "{{user.email_verified}}",
            "team": "{{user.public_metadata.team}}",
            "roles": "{{user.public_metadata.roles}}",
            "created": "{{user.created_at}}",
            "meta": "{{user.public_metadata}}",
            "theme": "{{user.unsafe_metadata.theme}}",
            "session": "{{session.id}}",
            "actor": "{{session.actor}}",
            "actor_sub": "{{session.actor.sub}}",
        }),
        &ada(),
    );
    assert_eq!(out["id"], "user_ada");
    assert_eq!(out["level"], 7);
    assert_eq!(out["ratio"], 0.5);
    assert_eq!(out["beta"], true);
    assert_eq!(out["verified"], true);
    assert_eq!(out["team"], json!({"name": "core", "tags": ["a", "b"]}));
    assert_eq!(out["roles"], json!(["editor", "viewer"]));
    assert_eq!(out["created"], 1_700_000_000_123_i64);
    assert_eq!(out["meta"], ada().public_metadata);
    assert_eq!(out["theme"], "dark");
    assert_eq!(out["session"], "sess_1");
    assert_eq!(out["actor"], json!({"sub": "user_admin"}));
    assert_eq!(out["actor_sub"], "user_admin");
}

#[test]
fn shortcodes_inside_text_interpolate() {
    let out = render(
        json!({
            "greeting": "Hello {{user.first_name}} {{user.last_name}}!",
            "mixed": "{{user.id}}:{{user.public_metadata.level}}:{{user.public_metadata.beta}}",
            "json": "team={{user.public_metadata.team}} roles={{user.public_metadata.roles}}",
            "spaced": " {{user.id}} ",
            "fallback": "role: {{user.public_metadata.missing || 'guest'}}",
        }),
        &ada(),
    );
    assert_eq!(
        out["greeting"], "Hello Ada !",
        "null interpolates as nothing"
    );
    assert_eq!(out["mixed"], "user_ada:7:true");
    assert_eq!(
        out["json"],
        r#"team={"name":"core","tags":["a","b"]} roles=["editor","viewer"]"#
    );
    assert_eq!(
        out["spaced"], " user_ada ",
        "surrounding text makes it a string"
    );
    assert_eq!(out["fallback"], "role: guest");
}

#[test]
fn nested_paths_and_nested_claims() {
    let out = render(
        json!({
            "deep": "{{user.public_metadata.team.name}}",
            "index": "{{user.public_metadata.team.tags.1}}",
            "bracket": "{{user.public_metadata['my key'][\"x.y\"]}}",
            "dashed": "{{user.public_metadata.x-hasura-role}}",
            "nested": {"a": {"b": ["{{user.username}}", "static", 3, {"c": "{{user.id}}"}]}},
        }),
        &ada(),
    );
    assert_eq!(out["deep"], "core");
    assert_eq!(out["index"], "b");
    assert_eq!(out["bracket"], "dotted");
    assert_eq!(out["dashed"], "author");
    assert_eq!(
        out["nested"],
        json!({"a": {"b": ["ada", "static", 3, {"c": "user_ada"}]}})
    );
}

#[test]
fn fallbacks_take_the_first_value_that_is_not_null() {
    let out = render(
        json!({
            "string": "{{user.public_metadata.missing || 'user'}}",
            "number": "{{user.public_metadata.missing || 42}}",
            "float": "{{user.public_metadata.missing || -1.5}}",
            "bool": "{{user.public_metadata.missing || false}}",
            "path": "{{user.public_metadata.missing || user.public_metadata.role || 'x'}}",
            "first_wins": "{{user.public_metadata.role || 'user'}}",
            "explicit_null": "{{user.public_metadata.nothing || 'was null'}}",
            "empty_string_is_a_value": "{{user.public_metadata.empty || 'x'}}",
            "false_is_a_value": "{{user.public_metadata.beta || false}}",
            "all_null": "{{user.last_name || user.public_metadata.missing || null}}",
            "literal_only": "{{'just this'}}",
        }),
        &ada(),
    );
    assert_eq!(out["string"], "user");
    assert_eq!(out["number"], 42);
    assert_eq!(out["float"], -1.5);
    assert_eq!(out["bool"], false);
    assert_eq!(out["path"], "admin");
    assert_eq!(out["first_wins"], "admin");
    assert_eq!(out["explicit_null"], "was null");
    assert_eq!(out["empty_string_is_a_value"], "");
    assert_eq!(out["false_is_a_value"], true);
    assert_eq!(out["all_null"], Value::Null);
    assert_eq!(out["literal_only"], "just this");
}

#[test]
fn missing_values_are_null_and_the_claim_stays() {
    let out = render(
        json!({
            "missing_key": "{{user.public_metadata.nope}}",
            "missing_deep": "{{user.public_metadata.team.nope.deeper}}",
            "index_out_of_range": "{{user.public_metadata.roles.9}}",
            "step_into_string": "{{user.public_metadata.role.x}}",
            "unset_field": "{{user.last_name}}",
            "no_phone": "{{user.primary_phone_number}}",
            "no_phone_verified": "{{user.phone_number_verified}}",
            "image": "{{user.image_url}}",
            "org_id": "{{org.id}}",
            "org_slug": "{{org.slug}}",
            "org_role": "{{org.role}}",
        }),
        &ada(),
    );
    let out = out.as_object().unwrap();
    assert_eq!(out.len(), 11, "every claim stays: {out:?}");
    for (key, value) in out {
        assert_eq!(value, &Value::Null, "{key}");
    }
    // Without a loaded user (session claims that read no user field), user paths are null.
    let compiled = compile(&object(json!({"id": "{{user.id}}"})), &[]).unwrap();
    let rendered = compiled.render(&TemplateData::default());
    assert_eq!(rendered["id"], Value::Null);
}

#[test]
fn private_metadata_is_unreachable() {
    for template in [
        json!({"p": "{{user.private_metadata}}"}),
        json!({"p": "{{user.private_metadata.secret}}"}),
        json!({"p": "{{user.public_metadata.x || user.private_metadata.secret}}"}),
        json!({"p": "x {{user['private_metadata']}}"}),
        json!({"p": ["{{user.private_metadata}}"]}),
    ] {
        let e = refused(template.clone());
        assert!(e.message.contains("private_metadata"), "{template}: {e}");
    }
    // The data a template renders from has no private metadata to offer.
    let user = ada();
    let everything = render(
        json!({"all": "{{user.public_metadata}} {{user.unsafe_metadata}}"}),
        &user,
    );
    assert!(!everything.to_string().contains("private"));
}

#[test]
fn static_templates_are_borrowed_and_user_reads_are_detected() {
    let fixed = compile(
        &object(json!({"a": 1, "b": ["x", {"c": "}} not a code"}]})),
        &[],
    )
    .unwrap();
    assert!(fixed.is_static());
    assert!(!fixed.needs_user());
    assert!(matches!(
        fixed.render(&TemplateData::default()),
        Cow::Borrowed(_)
    ));

    let session_only = compile(
        &object(json!({"s": "{{session.id}}", "o": "{{org.id}}"})),
        &[],
    )
    .unwrap();
    assert!(!session_only.is_static());
    assert!(
        !session_only.needs_user(),
        "no user read for session and org fields"
    );

    let user = compile(
        &object(json!({"deep": [{"r": "{{session.id || user.id}}"}]})),
        &[],
    )
    .unwrap();
    assert!(
        user.needs_user(),
        "a user path in a fallback, deep in an array"
    );

    let empty = compile(&Map::new(), SESSION_RESERVED).unwrap();
    assert!(empty.is_empty() && empty.is_static() && !empty.needs_user());
}

#[test]
fn reserved_claims_are_refused_at_the_top_level_only() {
    for key in TEMPLATE_RESERVED {
        let e = refused(one(key, json!("x")));
        assert_eq!(e.location, *key);
        assert!(e.message.contains("reserved"), "{e}");
    }
    for key in SESSION_RESERVED {
        let e = compile(&object(one(key, json!(1))), SESSION_RESERVED).unwrap_err();
        assert!(e.message.contains("reserved"), "{e}");
    }
    // Nested objects may use the names.
    render(json!({"inner": {"sub": "{{user.id}}", "exp": 1}}), &ada());
}

#[test]
fn errors_name_the_claim_and_the_position() {
    let e = refused(json!({"role": "{{user.public_metadata.role || 'user'"}));
    assert_eq!(e.location, "role");
    assert!(e.message.contains("at character 1"), "{e}");
    assert!(e.message.contains("not closed"), "{e}");

    let e = refused(json!({"https://hasura.io/jwt/claims": {"x-hasura-user-id": "{{user.idd}}"}}));
    assert_eq!(
        e.location,
        r#"["https://hasura.io/jwt/claims"].x-hasura-user-id"#
    );
    assert!(e.message.contains("unknown field `user.idd`"), "{e}");
    assert_eq!(e.to_string(), format!("`{}`: {}", e.location, e.message));

    let e = refused(json!({"roles": ["ok", "{{user.id}} {{}}"]}));
    assert_eq!(e.location, "roles[1]");
    assert!(e.message.contains("at character 13"), "{e}");
}

#[test]
fn size_and_depth_are_bounded() {
    let e = refused(json!({"big": "x".repeat(MAX_CLAIMS_BYTES)}));
    assert!(e.message.contains("bytes"), "{e}");
    let mut deep = json!("{{user.id}}");
    for _ in 0..MAX_DEPTH {
        deep = json!([deep]);
    }
    let e = refused(json!({ "deep": deep }));
    assert!(e.message.contains("nested"), "{e}");
    let mut fine = json!("{{user.id}}");
    for _ in 0..MAX_DEPTH - 2 {
        fine = json!({ "a": fine });
    }
    render(json!({ "fine": fine }), &ada());
}

// ---------------------------------------------------------------- hostile input

/// Strings built from the syntax's own pieces, to reach deep into the parser.
fn shortcode_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("||".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just(".".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(" ".to_string()),
        Just("user".to_string()),
        Just("public_metadata".to_string()),
        Just("private_metadata".to_string()),
        Just("session".to_string()),
        Just("true".to_string()),
        Just("-".to_string()),
        "[0-9eE+]{1,3}",
        "\\PC",
    ];
    prop::collection::vec(token, 0..24).prop_map(|parts| parts.concat())
}

fn json_without_shortcodes() -> impl Strategy<Value = Value> {
    let text = "(?s).{0,16}".prop_filter("no `{{`", |s: &String| !s.contains("{{"));
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text.prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[^{]{0,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A literal as it is written inside a shortcode.
fn written(literal: &Value) -> String {
    match literal {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(input in prop_oneof![any::<String>(), shortcode_soup()]) {
        let _ = parse(&input);
        // Nor does compiling it as a claim, nor rendering what compiles.
        let claims = object(json!({"c": input, "d": [input]}));
        if let Ok(compiled) = compile(&claims, TEMPLATE_RESERVED) {
            let user = ada();
            let _ = compiled.render(&TemplateData { user: Some(&user), ..Default::default() });
        }
    }

    #[test]
    fn json_without_shortcodes_renders_unchanged(
        claims in prop::collection::btree_map("[a-z]{1,6}", json_without_shortcodes(), 0..5)
    ) {
        let claims: Map<String, Value> = claims.into_iter().collect();
        let compiled = compile(&claims, &[]).unwrap();
        prop_assert!(compiled.is_static());
        let user = ada();
        let rendered = compiled.render(&TemplateData { user: Some(&user), ..Default::default() });
        prop_assert_eq!(rendered.as_ref(), &claims);
    }

    #[test]
    fn a_literal_fallback_renders_as_the_literal(
        literal in prop_oneof![
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ],
        missing in "[a-z_]{1,10}",
    ) {
        let template = format!("{{{{user.public_metadata.{missing}_absent || {}}}}}", written(&literal));
        let compiled = compile(&object(json!({"v": template})), &[]).unwrap();
        let user = ada();
        let rendered = compiled.render(&TemplateData { user: Some(&user), ..Default::default() });
        prop_assert_eq!(&rendered["v"], &literal);
        // Also when it is the only term.
        let only = compile(&object(json!({"v": format!("{{{{{}}}}}", written(&literal))})), &[]).unwrap();
        prop_assert_eq!(&only.render(&TemplateData::default())["v"], &literal);
    }
}

/// A fixed amount of seeded random input, so every run of the suite covers the same
/// ground in bounded time (the fuzz target in `fuzz/` goes further, without a bound).
#[test]
fn bounded_random_inputs_never_panic() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "||",
        "'",
        "\"",
        "\\",
        ".",
        "[",
        "]",
        " ",
        "user",
        "session",
        "org",
        "id",
        "public_metadata",
        "private_metadata",
        "unsafe_metadata",
        "actor",
        "true",
        "null",
        "-",
        "0",
        "9",
        "e",
        "+",
        "é",
        "\u{0}",
        "\u{10FFFF}",
        "x-y",
        "{",
        "}",
        "|",
    ];
    let mut rng = StdRng::seed_from_u64(0x5eed_c0de);
    let user = ada();
    let data = TemplateData {
        user: Some(&user),
        session_id: Some("sess_1"),
        actor: None,
    };
    let (mut parsed, mut compiled) = (0, 0);
    for _ in 0..20_000 {
        let len = rng.gen_range(0..32);
        let input: String = (0..len)
            .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
            .collect();
        if parse(&input).is_ok() {
            parsed += 1;
        }
        if let Ok(c) = compile(&object(json!({ "v": input })), TEMPLATE_RESERVED) {
            compiled += 1;
            let _ = c.render(&data);
        }
    }
    // The generator reaches both outcomes, so the loop tests something.
    assert!(parsed > 1_000 && parsed < 19_000, "{parsed}");
    assert!(compiled > 100, "{compiled}");
}

#[test]
fn errors_read_under_a_root_name() {
    let e = refused(json!({"role": "{{user.x}}"}));
    assert!(
        e.at("claims").starts_with("`claims.role`: unknown field"),
        "{}",
        e.at("claims")
    );
    let e = refused(json!({"https://x": "{{"}));
    assert!(e
        .at("session.claims")
        .starts_with(r#"`session.claims["https://x"]`: at character 1"#));
    let e = refused(json!({"big": "x".repeat(MAX_CLAIMS_BYTES)}));
    assert!(e.at("claims").starts_with("`claims`: the claims are"));
}
