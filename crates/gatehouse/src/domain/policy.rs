//! Which factors this instance offers (`[auth] first_factors`, `second_factors`), and the
//! error for a strategy it does not.

use crate::app::App;
use crate::error::Error;

pub const PASSWORD: &str = "password";
pub const EMAIL_CODE: &str = "email_code";
pub const EMAIL_LINK: &str = "email_link";
pub const PHONE_CODE: &str = "phone_code";
pub const RESET_PASSWORD_EMAIL_CODE: &str = "reset_password_email_code";

/// The configured first factors.
pub fn first_factors(app: &App) -> Vec<&str> {
    app.config
        .auth
        .first_factors
        .iter()
        .map(String::as_str)
        .collect()
}

/// The configured second factors.
pub fn second_factors(app: &App) -> Vec<&str> {
    app.config
        .auth
        .second_factors
        .iter()
        .map(String::as_str)
        .collect()
}

/// Whether a first-factor strategy is offered; a password reset goes with passwords.
pub fn first_factor_enabled(app: &App, strategy: &str) -> bool {
    let strategy = if strategy == RESET_PASSWORD_EMAIL_CODE {
        PASSWORD
    } else {
        strategy
    };
    app.config.auth.first_factors.iter().any(|f| f == strategy)
}

pub fn second_factor_enabled(app: &App, strategy: &str) -> bool {
    app.config.auth.second_factors.iter().any(|f| f == strategy)
}

/// `422 form_param_format_invalid` for `strategy`.
pub fn not_enabled(strategy: &str) -> Error {
    let shown: String = strategy.chars().take(64).collect();
    Error::param_invalid(
        "strategy",
        format!("strategy `{shown}` is not enabled on this instance."),
    )
}

pub fn require_first_factor(app: &App, strategy: &str) -> Result<(), Error> {
    if first_factor_enabled(app, strategy) {
        Ok(())
    } else {
        Err(not_enabled(strategy))
    }
}

pub fn require_second_factor(app: &App, strategy: &str) -> Result<(), Error> {
    if second_factor_enabled(app, strategy) {
        Ok(())
    } else {
        Err(not_enabled(strategy))
    }
}

/// `422 strategy_for_user_invalid`: the strategy is enabled, but not for this sign-in
/// (for example `phone_code` for an account without a phone number).
pub fn not_for_this_user(strategy: &str) -> Error {
    let shown: String = strategy.chars().take(64).collect();
    Error::new(
        "strategy_for_user_invalid",
        format!("strategy `{shown}` is not available for this sign-in."),
    )
    .with_param("strategy")
}
