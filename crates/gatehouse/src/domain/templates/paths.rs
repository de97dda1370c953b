//! Which data a shortcode path may name. Checked once, when a template is saved or the
//! configuration is loaded, so rendering never meets an unknown path.
//!
//! `user.private_metadata` is deliberately absent: it is not even read from the
//! database for templates.

/// A value a template can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    UserId,
    UserFirstName,
    UserLastName,
    UserUsername,
    UserPrimaryEmailAddress,
    UserEmailVerified,
    UserPrimaryPhoneNumber,
    UserPhoneNumberVerified,
    UserImageUrl,
    UserCreatedAt,
    UserPublicMetadata,
    UserUnsafeMetadata,
    SessionId,
    SessionActor,
    OrgId,
    OrgSlug,
    OrgRole,
}

/// (root, name, field, whether further steps may follow)
const FIELDS: &[(&str, &str, Field, bool)] = &[
    ("user", "id", Field::UserId, false),
    ("user", "first_name", Field::UserFirstName, false),
    ("user", "last_name", Field::UserLastName, false),
    ("user", "username", Field::UserUsername, false),
    (
        "user",
        "primary_email_address",
        Field::UserPrimaryEmailAddress,
        false,
    ),
    ("user", "email_verified", Field::UserEmailVerified, false),
    (
        "user",
        "primary_phone_number",
        Field::UserPrimaryPhoneNumber,
        false,
    ),
    (
        "user",
        "phone_number_verified",
        Field::UserPhoneNumberVerified,
        false,
    ),
    ("user", "image_url", Field::UserImageUrl, false),
    ("user", "created_at", Field::UserCreatedAt, false),
    ("user", "public_metadata", Field::UserPublicMetadata, true),
    ("user", "unsafe_metadata", Field::UserUnsafeMetadata, true),
    ("session", "id", Field::SessionId, false),
    ("session", "actor", Field::SessionActor, true),
    ("org", "id", Field::OrgId, false),
    ("org", "slug", Field::OrgSlug, false),
    ("org", "role", Field::OrgRole, false),
];

impl Field {
    /// Whether reading it needs the user's record.
    pub fn is_user(self) -> bool {
        matches!(
            self,
            Field::UserId
                | Field::UserFirstName
                | Field::UserLastName
                | Field::UserUsername
                | Field::UserPrimaryEmailAddress
                | Field::UserEmailVerified
                | Field::UserPrimaryPhoneNumber
                | Field::UserPhoneNumberVerified
                | Field::UserImageUrl
                | Field::UserCreatedAt
                | Field::UserPublicMetadata
                | Field::UserUnsafeMetadata
        )
    }
}

/// A checked path: a field and the steps into it (metadata keys, array indexes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPath {
    pub field: Field,
    pub rest: Vec<String>,
}

/// Every path a template may use, for messages and documentation.
pub fn known_paths() -> Vec<String> {
    FIELDS
        .iter()
        .map(|(root, name, _, nested)| {
            if *nested {
                format!("{root}.{name}[.…]")
            } else {
                format!("{root}.{name}")
            }
        })
        .collect()
}

/// Checks a parsed path against what templates may read.
pub fn resolve(steps: &[String]) -> Result<DataPath, String> {
    let written = steps.join(".");
    let (root, rest) = steps.split_first().ok_or("empty path")?;
    if !FIELDS.iter().any(|(r, ..)| r == root) {
        return Err(format!(
            "unknown shortcode `{written}`: paths start with `user.`, `session.` or `org.`"
        ));
    }
    let Some((name, rest)) = rest.split_first() else {
        return Err(format!(
            "`{root}` needs a field, e.g. `{root}.id`; available: {}",
            known_paths().join(", ")
        ));
    };
    if root == "user" && name == "private_metadata" {
        return Err(
            "`user.private_metadata` is never available to templates; use `user.public_metadata`"
                .into(),
        );
    }
    let Some(&(_, _, field, nested)) = FIELDS.iter().find(|(r, n, ..)| r == root && n == name)
    else {
        return Err(format!(
            "unknown field `{root}.{name}`; available: {}",
            known_paths().join(", ")
        ));
    };
    if !nested && !rest.is_empty() {
        return Err(format!("`{root}.{name}` has no fields (in `{written}`)"));
    }
    Ok(DataPath {
        field,
        rest: rest.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    #[test]
    fn known_paths_resolve() {
        for (root, name, field, _) in FIELDS {
            let p = resolve(&steps(&format!("{root}.{name}"))).unwrap();
            assert_eq!(p.field, *field);
            assert!(p.rest.is_empty());
            assert_eq!(field.is_user(), *root == "user");
        }
        let p = resolve(&steps("user.public_metadata.a.b")).unwrap();
        assert_eq!(p.field, Field::UserPublicMetadata);
        assert_eq!(p.rest, vec!["a".to_string(), "b".to_string()]);
        let p = resolve(&steps("session.actor.sub")).unwrap();
        assert_eq!(p.field, Field::SessionActor);
    }

    #[test]
    fn unknown_and_private_paths_are_refused() {
        for (path, words) in [
            ("user", "needs a field"),
            ("users.id", "unknown shortcode"),
            ("user.nickname", "unknown field `user.nickname`"),
            ("user.private_metadata", "never available"),
            ("user.private_metadata.secret", "never available"),
            ("user.id.x", "has no fields"),
            ("org.members", "unknown field"),
        ] {
            let e = resolve(&steps(path)).unwrap_err();
            assert!(e.contains(words), "{path}: {e}");
        }
    }
}
