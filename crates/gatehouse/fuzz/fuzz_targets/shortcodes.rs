//! Any UTF-8 string as a claim value: parsing, checking and rendering must never panic.
#![no_main]

use gatehouse::domain::templates::{compile, parse, TemplateData, UserData, TEMPLATE_RESERVED};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse(text);
    let mut claims = Map::new();
    claims.insert("value".into(), Value::String(text.to_string()));
    claims.insert("nested".into(), json!({ "list": [text] }));
    if let Ok(compiled) = compile(&claims, TEMPLATE_RESERVED) {
        let user = UserData {
            id: "user_1".into(),
            public_metadata: json!({"a": {"b": [1, "two", null]}}),
            unsafe_metadata: json!({}),
            ..UserData::default()
        };
        let _ = compiled.render(&TemplateData {
            user: Some(&user),
            session_id: Some("sess_1"),
            actor: None,
        });
    }
});
