//! The one error type of the API: a stable code, a message, and the HTTP status the
//! code maps to. Domain code returns these; the HTTP layer renders them.

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: &'static str,
    pub message: String,
    pub long_message: Option<String>,
    pub param_name: Option<String>,
    /// Seconds, for `rate_limit_exceeded`.
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            long_message: None,
            param_name: None,
            retry_after: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param_name = Some(param.into());
        self
    }

    pub fn with_long(mut self, long: impl Into<String>) -> Self {
        self.long_message = Some(long.into());
        self
    }

    /// The HTTP status of this error's code.
    pub fn status(&self) -> u16 {
        match self.code {
            "request_body_invalid" => 400,
            "authentication_invalid" => 401,
            "user_banned"
            | "user_locked"
            | "origin_invalid"
            | "csrf_invalid"
            | "sign_up_disabled"
            | "mfa_enrollment_required"
            | "session_reverification_required"
            | "not_allowed" => 403,
            "resource_not_found" | "session_not_found" => 404,
            "method_not_allowed" => 405,
            "request_body_too_large" => 413,
            "rate_limit_exceeded" => 429,
            "provider_unavailable" => 502,
            "service_unavailable" => 503,
            "internal_error" => 500,
            _ => 422,
        }
    }

    pub fn param_missing(param: &str) -> Self {
        Error::new("form_param_missing", format!("{param} is required")).with_param(param)
    }

    pub fn param_invalid(param: &str, why: impl Into<String>) -> Self {
        Error::new("form_param_format_invalid", why).with_param(param)
    }

    pub fn identifier_exists(param: &str) -> Self {
        Error::new(
            "form_identifier_exists",
            "That identifier is taken. Please try another.",
        )
        .with_param(param)
    }

    pub fn identifier_not_found() -> Self {
        Error::new("form_identifier_not_found", "Couldn't find your account.")
            .with_param("identifier")
    }

    pub fn password_incorrect() -> Self {
        Error::new(
            "form_password_incorrect",
            "Password is incorrect. Try again, or use another method.",
        )
        .with_param("password")
    }

    pub fn not_found(what: &str) -> Self {
        Error::new("resource_not_found", format!("{what} not found"))
    }

    pub fn unauthenticated() -> Self {
        Error::new(
            "authentication_invalid",
            "Authentication is missing or invalid.",
        )
    }

    pub fn body_invalid(why: impl Into<String>) -> Self {
        Error::new("request_body_invalid", why)
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Error::new(
            "rate_limit_exceeded",
            "Too many requests. Please try again later.",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn banned() -> Self {
        Error::new("user_banned", "This account is banned.")
    }

    pub fn locked(seconds: Option<i64>) -> Self {
        let e = Error::new("user_locked", "This account is locked.");
        match seconds {
            Some(s) => e.with_long(format!(
                "Too many failed attempts. Try again in {s} seconds."
            )),
            None => e.with_long("This account was locked by an administrator."),
        }
    }

    pub fn internal() -> Self {
        Error::new("internal_error", "Something went wrong on our side.")
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Storage failures become an opaque 500 (logged by the HTTP layer, never shown).
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        Error::internal()
    }
}
