//! Syntax and normal forms of the identifiers a user signs in with.
//!
//! - Email addresses: trimmed; unique case-insensitively (the normal form is lowercase);
//!   `local@domain` with an RFC 5322 dot-atom local part (at most 64 characters) and a
//!   domain of LDH labels with a dot and an alphabetic top-level label; 254 characters at most.
//! - Usernames: 3 to 64 characters from `A-Z a-z 0-9 _ - .`, starting with a letter or
//!   digit; unique case-insensitively.
//! - Phone numbers: E.164 (`+` then 8 to 15 digits, the first not 0); spaces, dashes,
//!   dots and parentheses are ignored on input.

use crate::error::Error;

/// A parsed identifier: what to show and what to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub display: String,
    pub normalized: String,
}

pub fn parse_email(input: &str) -> Result<Normalized, Error> {
    let email = input.trim();
    let invalid = || {
        Error::param_invalid(
            "email_address",
            "email_address must be a valid email address.",
        )
    };
    if email.is_empty() || email.len() > 254 {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    if !valid_local_part(local) || !valid_domain(domain) {
        return Err(invalid());
    }
    Ok(Normalized {
        display: email.to_string(),
        normalized: email.to_lowercase(),
    })
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c))
}

pub fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

pub fn parse_username(input: &str) -> Result<Normalized, Error> {
    let name = input.trim();
    let len = name.chars().count();
    if !(3..=64).contains(&len) {
        return Err(Error::param_invalid(
            "username",
            "username must be between 3 and 64 characters long.",
        ));
    }
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(Error::param_invalid(
            "username",
            "username may contain only letters, digits, '_', '-' and '.', and must start with a letter or digit.",
        ));
    }
    Ok(Normalized {
        display: name.to_string(),
        normalized: name.to_lowercase(),
    })
}

pub fn parse_phone(input: &str) -> Result<Normalized, Error> {
    let compact: String = input
        .trim()
        .chars()
        .filter(|c| !" -.()".contains(*c))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    let valid = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if !valid {
        return Err(Error::param_invalid(
            "phone_number",
            "phone_number must be in international E.164 format, e.g. +14155550123.",
        ));
    }
    Ok(Normalized {
        display: compact.clone(),
        normalized: compact,
    })
}

/// What kind of identifier a sign-in `identifier` string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierGuess {
    Email,
    Phone,
    Username,
}

pub fn guess_kind(identifier: &str) -> IdentifierGuess {
    let s = identifier.trim();
    if s.contains('@') {
        IdentifierGuess::Email
    } else if s.starts_with('+') {
        IdentifierGuess::Phone
    } else {
        IdentifierGuess::Username
    }
}

/// Masks an identifier for display to someone who has not proven they own it.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Masks a phone number to its last two digits: `+*********23`.
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().count();
    let tail: String = phone.chars().skip(digits.saturating_sub(2)).collect();
    format!("+{}{tail}", "*".repeat(digits.saturating_sub(3)))
}

/// Masks an email address or phone number (`kind` is `email_address` or `phone_number`).
pub fn mask(kind: &str, value: &str) -> String {
    if kind == crate::domain::model::KIND_PHONE {
        mask_phone(value)
    } else {
        mask_email(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            parse_email("  Ada@Example.COM ").unwrap().normalized,
            "ada@example.com"
        );
        assert_eq!(
            parse_email("  Ada@Example.COM ").unwrap().display,
            "Ada@Example.COM"
        );
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "x_y@a-b.example",
        ] {
            assert!(parse_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@b.c",
            "a..b@example.com",
            ".a@example.com",
            "a@-x.com",
            "a@x-.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@example.c0m",
            "\u{0}@x.com",
            "a@@example.com",
        ] {
            let e = parse_email(bad).unwrap_err();
            assert_eq!(e.code, "form_param_format_invalid", "{bad}");
            assert_eq!(e.param_name.as_deref(), Some("email_address"));
        }
        assert!(parse_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn usernames() {
        assert_eq!(
            parse_username("Ada_Lovelace").unwrap().normalized,
            "ada_lovelace"
        );
        for bad in [
            "ab",
            "_ada",
            "ada lovelace",
            "ada@x",
            "ädá",
            &"a".repeat(65),
        ] {
            assert!(parse_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            parse_phone("+1 (415) 555-0123").unwrap().normalized,
            "+14155550123"
        );
        for bad in [
            "4155550123",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+1415abc0123",
            "",
        ] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masks() {
        assert_eq!(mask_email("ada@example.com"), "a***@example.com");
        assert_eq!(mask_phone("+14155550123"), "+*********23");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic_and_normal_forms_are_stable(s in "\\PC{0,80}") {
            if let Ok(e) = parse_email(&s) {
                prop_assert_eq!(parse_email(&e.normalized).unwrap().normalized, e.normalized.clone());
            }
            if let Ok(u) = parse_username(&s) {
                prop_assert_eq!(parse_username(&u.normalized).unwrap().normalized, u.normalized.clone());
            }
            if let Ok(p) = parse_phone(&s) {
                prop_assert!(p.normalized.starts_with('+'));
            }
            let _ = guess_kind(&s);
        }
    }
}
