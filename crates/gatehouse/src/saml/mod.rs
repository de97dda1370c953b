//! SAML 2.0 as a service provider, and nothing else: the strict XML reader (`xml`),
//! exclusive canonicalization (`c14n`), enveloped signatures checked against the
//! connection's certificates only (`dsig`, `keys`), the response rules (`response`),
//! the `AuthnRequest` in the HTTP-Redirect binding (`request`) and metadata
//! (`metadata`). It keeps no flow state and never touches the store: that is
//! `domain::saml`.

pub mod c14n;
pub mod dsig;
pub mod keys;
pub mod metadata;
#[cfg(test)]
mod random_inputs;
pub mod request;
pub mod response;
pub mod xml;
