//! Message contents at rest. A queued message's subject and bodies carry a code or a link,
//! so the outbox keeps them sealed with the master key, bound to the message id and field,
//! and opens them only to send them or to show them in the dev outbox.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;

use crate::crypto::sealed::{MasterKey, SealError};
use crate::store::OutboxMessage;

/// Marks a sealed field; anything else (an erased, empty body) is stored as is.
const SEALED: &str = "sealed1:";

/// Seals the subject, text and HTML of a message about to be stored.
pub fn seal(key: &MasterKey, m: &mut OutboxMessage) {
    let id = m.id.clone();
    for (name, field) in fields(m) {
        if !field.is_empty() {
            let sealed = key.seal(field.as_bytes(), &aad(&id, name));
            *field = format!("{SEALED}{}", STANDARD_NO_PAD.encode(sealed));
        }
    }
}

/// Opens what [`seal`] sealed, in place.
pub fn open(key: &MasterKey, m: &mut OutboxMessage) -> Result<(), SealError> {
    let id = m.id.clone();
    for (name, field) in fields(m) {
        if let Some(encoded) = field.strip_prefix(SEALED) {
            let sealed = STANDARD_NO_PAD
                .decode(encoded)
                .map_err(|_| SealError::Truncated)?;
            let plain = key.open(&sealed, &aad(&id, name))?;
            *field = String::from_utf8(plain).map_err(|_| SealError::Truncated)?;
        }
    }
    Ok(())
}

fn fields(m: &mut OutboxMessage) -> [(&'static str, &mut String); 3] {
    [
        ("subject", &mut m.subject),
        ("text", &mut m.text_body),
        ("html", &mut m.html_body),
    ]
}

fn aad(id: &str, field: &str) -> Vec<u8> {
    format!("outbox:{id}:{field}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> OutboxMessage {
        OutboxMessage {
            id: "msg_1".into(),
            channel: "email".into(),
            recipient: "a@example.com".into(),
            kind: "email_code".into(),
            subject: "123456 is your code".into(),
            text_body: "Your code is 123456.".into(),
            html_body: "<p>123456</p>".into(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: 0,
            created_at: 0,
            expire_at: None,
            last_error: None,
        }
    }

    #[test]
    fn sealed_fields_hide_the_code_and_open_back() {
        let key = MasterKey::generate();
        let mut m = message();
        seal(&key, &mut m);
        for field in [&m.subject, &m.text_body, &m.html_body] {
            assert!(field.starts_with(SEALED));
            assert!(!field.contains("123456"));
        }
        open(&key, &mut m).unwrap();
        assert_eq!(m.subject, message().subject);
        assert_eq!(m.text_body, message().text_body);
        assert_eq!(m.html_body, message().html_body);
    }

    #[test]
    fn a_field_moved_to_another_message_or_key_does_not_open() {
        let key = MasterKey::generate();
        let mut a = message();
        seal(&key, &mut a);
        let mut b = message();
        b.id = "msg_2".into();
        b.text_body = a.text_body.clone();
        assert!(open(&key, &mut b).is_err(), "bound to the message id");
        let mut swapped = a.clone();
        std::mem::swap(&mut swapped.subject, &mut swapped.text_body);
        assert!(open(&key, &mut swapped).is_err(), "bound to the field");
        assert!(
            open(&MasterKey::generate(), &mut a).is_err(),
            "bound to the key"
        );
        let mut garbage = message();
        garbage.text_body = format!("{SEALED}not base64!");
        assert!(open(&key, &mut garbage).is_err());
    }

    #[test]
    fn erased_bodies_stay_empty() {
        let key = MasterKey::generate();
        let mut m = message();
        m.text_body.clear();
        m.html_body.clear();
        seal(&key, &mut m);
        assert!(m.text_body.is_empty() && m.html_body.is_empty());
        open(&key, &mut m).unwrap();
        assert!(m.text_body.is_empty());
    }
}
