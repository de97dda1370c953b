//! Gatehouse: a self-hosted authentication and user-management server.
//!
//! See `ARCHITECTURE.md` at the repository root for the map of this crate.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod http;
pub mod idle_memory;
pub mod logging;
pub mod oauth;
pub mod outbound;
pub mod saml;
pub mod server;
pub mod store;
