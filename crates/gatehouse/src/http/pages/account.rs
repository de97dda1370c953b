//! The account page's body (`/user`) as a compiled template: what it shows, as plain
//! values, and the template that writes them. `user.rs` gathers the values.

use crate::domain::model::{KIND_EMAIL, KIND_PHONE};
use crate::domain::user_identifiers::Kind;

use super::layout::compiled_body;

/// Everything the account page shows.
pub struct AccountPage {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub username_enabled: bool,
    pub emails: IdentifierGroup,
    pub phones: IdentifierGroup,
    /// Whether the user has a password (change it) or not (set one).
    pub password_enabled: bool,
    pub passwords_allowed: bool,
    pub totp_allowed: bool,
    pub totp_enabled: bool,
    pub backup_code_enabled: bool,
    /// Changing two-step verification needs the password again first.
    pub needs_reverify: bool,
    pub devices: Vec<Device>,
    pub allow_delete: bool,
}

impl AccountPage {
    fn groups(&self) -> [&IdentifierGroup; 2] {
        [&self.emails, &self.phones]
    }
}

/// The email addresses, or the phone numbers, and the form to add one.
pub struct IdentifierGroup {
    /// The form value naming the kind: `email_address` or `phone_number`.
    pub kind: &'static str,
    pub enabled: bool,
    pub items: Vec<Identifier>,
    /// "email address", as in "Add email address".
    pub noun: &'static str,
    /// The input's `type` and `autocomplete`: `email` or `tel`.
    pub input_type: &'static str,
    pub list_label: &'static str,
}

impl IdentifierGroup {
    pub fn new(kind: Kind, enabled: bool, items: Vec<Identifier>) -> IdentifierGroup {
        let (kind, noun, input_type, list_label) = match kind {
            Kind::Email => (KIND_EMAIL, "email address", "email", "Email addresses"),
            Kind::Phone => (KIND_PHONE, "phone number", "tel", "Phone numbers"),
        };
        IdentifierGroup {
            kind,
            enabled,
            items,
            noun,
            input_type,
            list_label,
        }
    }
}

pub struct Identifier {
    pub id: String,
    pub value: String,
    pub verified: bool,
    pub primary: bool,
    /// The code form is open under it.
    pub verifying: bool,
    pub code_label: String,
}

/// A signed-in device, as the device list shows it.
pub struct Device {
    pub id: String,
    pub current: bool,
    pub browser: String,
    pub os: String,
    pub ip: Option<String>,
    pub last_active: String,
    pub signed_in: String,
}

compiled_body!(AccountPage, "account.html");
