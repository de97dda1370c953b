//! Domain errors as sentences a person reads on a page. The API's messages are kept
//! where they already speak to people (wrong password, password rules, lockouts); the
//! ones written for developers get a plain-language version.

use crate::error::Error;

/// The sentence shown for `e`.
pub fn describe(e: &Error) -> String {
    let param = e.param_name.as_deref().unwrap_or("");
    match e.code {
        "form_param_missing" => format!("Enter your {}.", label(param)),
        "form_param_format_invalid" if param == "identifier" => {
            "Enter a valid email address, phone number or username.".into()
        }
        "form_param_format_invalid" | "form_param_unknown" => match param {
            "email_address" => "Enter a valid email address.".into(),
            "phone_number" => "Enter a phone number with its country code, such as +1 415 555 0123.".into(),
            "username" => "Usernames are 3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.".into(),
            "first_name" | "last_name" => format!("Your {} is too long.", label(param)),
            "strategy" => "That sign-in method is not available here.".into(),
            _ => format!("Check your {} and try again.", label(param)),
        },
        "form_identifier_not_found" => {
            "We couldn't find an account with that. Check it, or sign up.".into()
        }
        "form_identifier_exists" => format!(
            "That {} is already in use. Sign in, or use another one.",
            label(param)
        ),
        "form_code_incorrect" => "That code is incorrect. Check it and try again.".into(),
        "verification_expired" => "That code has expired. Send a new one.".into(),
        "verification_failed" => {
            "Too many incorrect attempts for this code. Send a new one.".into()
        }
        "user_locked" => e.long_message.clone().unwrap_or_else(|| e.message.clone()),
        "user_banned" => "This account can't sign in. Contact the administrator.".into(),
        "rate_limit_exceeded" => match e.retry_after {
            Some(s) if s > 1 => format!("Too many attempts. Try again in {s} seconds."),
            _ => "Too many attempts. Try again in a moment.".into(),
        },
        "session_exists" => "You're already signed in.".into(),
        "sign_in_expired" | "sign_up_abandoned" => "This took too long. Please start again.".into(),
        "sign_up_disabled" => "Sign-ups are closed. Contact the administrator for an account.".into(),
        "origin_invalid" | "csrf_invalid" => {
            "This form has expired. Please reload the page and try again.".into()
        }
        "session_reverification_required" => {
            "For your security, confirm your password to make this change.".into()
        }
        "mfa_enrollment_required" => "Set up two-step verification to continue.".into(),
        "cannot_remove_last_identifier" => {
            "You can't remove this one: it is your last way to sign in.".into()
        }
        "identifier_limit_reached" => "You have reached the limit of addresses of this kind.".into(),
        "authentication_invalid" => "You're signed out. Please sign in again.".into(),
        "strategy_for_user_invalid" => "That method is not available for this account.".into(),
        "internal_error" | "service_unavailable" => {
            "Something went wrong on our side. Please try again.".into()
        }
        _ => e.message.clone(),
    }
}

/// The heading of a page that only shows an error.
pub fn heading(e: &Error) -> &'static str {
    match e.code {
        "csrf_invalid" | "origin_invalid" => "Please try again",
        "rate_limit_exceeded" => "Slow down",
        "resource_not_found" => "Not found",
        _ => "Something went wrong",
    }
}

/// How a parameter is named in a sentence.
fn label(param: &str) -> &str {
    match param {
        "identifier" => "email address or username",
        "email_address" => "email address",
        "phone_number" => "phone number",
        "first_name" => "first name",
        "last_name" => "last name",
        "current_password" => "current password",
        "new_password" | "password" => "password",
        "code" => "code",
        "username" => "username",
        _ => "details",
    }
}
