//! The identity logic: flows, policies and records. No HTTP here, and no SQL: storage
//! goes through `crate::store::Store`.

pub mod clients;
pub mod codes;
pub mod identifiers;
pub mod jwt_templates;
pub mod keys;
pub mod links;
pub mod mfa;
pub mod model;
pub mod password_policy;
pub mod passwords;
pub mod policy;
pub mod rate_limit;
pub mod saml;
pub mod session_claims;
pub mod sessions;
pub mod sign_in;
pub mod sign_up;
pub mod social;
pub mod templates;
pub mod tokens;
pub mod user_agent;
pub mod user_identifiers;
pub mod users;
pub mod verify_link;
