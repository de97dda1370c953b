//! Every raw cryptographic primitive Gatehouse uses lives behind this module.
//!
//! The rest of the crate asks for ids, tokens, digests, sealed secrets, JWS
//! tokens and password hashes here, so reviews of "how do we do crypto" only
//! ever need to read this directory.

pub mod digest;
pub mod ids;
pub mod jws;
pub mod password;
pub mod pem;
pub mod pkce;
pub mod random;
pub mod sealed;
pub mod totp;
pub mod x509;

pub use digest::{ct_eq, token_hash};
pub use ids::new_id;
pub use jws::{
    decode_unverified, verify_compact, Algorithm, Header, JwsError, SigningKey, VerifyingKey,
};
pub use password::{
    dummy_verify, hash_password, needs_rehash, validate_digest, verify_password, DigestError,
    DigestKind, HashPool, Overloaded,
};
pub use random::{random_base62, random_bytes, random_digits, random_token};
pub use sealed::{MasterKey, MasterKeyError, SealError};
