//! Ready-made claims for systems that verify JWTs in their own documented shape.

use serde_json::{json, Value};

/// A preset a template can be created from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Hasura GraphQL Engine: its claims under the `https://hasura.io/jwt/claims`
    /// namespace, every value a string (the allowed roles an array of strings), the
    /// default role one of the allowed roles.
    Hasura,
    /// Supabase (PostgREST and its Row Level Security): `role` and `aud`
    /// `authenticated`, signed with HS256 and the project's JWT secret.
    Supabase,
}

impl Preset {
    pub fn parse(name: &str) -> Option<Preset> {
        match name {
            "hasura" => Some(Preset::Hasura),
            "supabase" => Some(Preset::Supabase),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Hasura => "hasura",
            Preset::Supabase => "supabase",
        }
    }

    /// The claims template the preset fills in.
    pub fn claims(self) -> Value {
        match self {
            Preset::Hasura => json!({
                "https://hasura.io/jwt/claims": {
                    "x-hasura-user-id": "{{user.id}}",
                    "x-hasura-default-role": "user",
                    "x-hasura-allowed-roles": ["user"],
                }
            }),
            Preset::Supabase => json!({
                "aud": "authenticated",
                "role": "authenticated",
                "email": "{{user.primary_email_address || ''}}",
                "phone": "{{user.primary_phone_number || ''}}",
                "app_metadata": {},
                "user_metadata": {},
            }),
        }
    }

    /// The algorithm the preset must sign with, if it has one.
    pub fn algorithm(self) -> Option<&'static str> {
        match self {
            Preset::Hasura => None,
            Preset::Supabase => Some("HS256"),
        }
    }
}
