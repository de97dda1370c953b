//! Claims templates: a JSON object whose string values may hold shortcodes such as
//! `{{user.id}}` or `{{user.public_metadata.role || 'user'}}`. JWT templates and the
//! instance's custom session claims both use them.
//!
//! Pure logic: a template is parsed (`parser`), its paths checked (`paths`) and compiled
//! (`compile`) once, when it is saved or the configuration is loaded; rendering
//! (`eval`) then walks the compiled tree for each token and cannot fail.
//!
//! - A string that is exactly one shortcode takes the value's JSON type (a number stays
//!   a number, an object an object); a shortcode inside a longer string is interpolated
//!   as text (`null` as nothing, objects and arrays as compact JSON).
//! - `a || b || 'c'`: the first alternative that is not `null`; `null` when none is.
//!   A path with no value (an unset metadata key, a user without a last name, `org.*`)
//!   is `null`, and the claim stays, with that value.
//! - Object keys are never templated; shortcodes are read in string values at any depth.

mod compile;
mod eval;
mod parser;
mod paths;

pub use compile::{compile, CompiledClaims, TemplateError, MAX_CLAIMS_BYTES, MAX_DEPTH};
pub use eval::{TemplateData, UserData};
pub use parser::{has_shortcode, parse, ParseError, Piece, Shortcode, Term};
pub use paths::{known_paths, resolve, DataPath, Field};

/// Claims a JWT template may not set: every template token carries its own.
pub const TEMPLATE_RESERVED: &[&str] = &["iss", "sub", "iat", "exp", "nbf", "sid", "azp", "jti"];

/// Claims the custom session claims may not set: those of every session token.
pub const SESSION_RESERVED: &[&str] = &[
    "iss", "sub", "iat", "exp", "nbf", "sid", "azp", "jti", "v", "sts", "fva", "act", "o",
];

#[cfg(test)]
mod tests;
