//! The Frontend API (public listener): thin handlers that parse, call the domain, and
//! render through the envelope.

mod client;
pub(crate) mod environment;
mod external_accounts;
mod me;
pub(crate) mod me_identifiers;
mod mfa;
mod oauth_callback;
mod saml;
mod sessions;
pub(crate) mod sign_ins;
mod sign_ups;
mod verify;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::app::AppRef;

pub fn router() -> Router<AppRef> {
    Router::new()
        .route("/v1/environment", get(environment::get_environment))
        .route("/v1/client", get(client::get_client))
        .route("/v1/client/sessions", delete(client::sign_out_all))
        .route("/v1/client/handshake", get(client::handshake))
        .route("/v1/client/sign_ups", post(sign_ups::create))
        .route(
            "/v1/client/sign_ups/{id}",
            get(sign_ups::get_one).patch(sign_ups::update),
        )
        .route(
            "/v1/client/sign_ups/{id}/prepare_verification",
            post(sign_ups::prepare_verification),
        )
        .route(
            "/v1/client/sign_ups/{id}/attempt_verification",
            post(sign_ups::attempt_verification),
        )
        .route("/v1/client/sign_ins", post(sign_ins::create))
        .route("/v1/client/sign_ins/{id}", get(sign_ins::get_one))
        .route(
            "/v1/client/sign_ins/{id}/prepare_first_factor",
            post(sign_ins::prepare_first_factor),
        )
        .route(
            "/v1/client/sign_ins/{id}/attempt_first_factor",
            post(sign_ins::attempt_first_factor),
        )
        .route(
            "/v1/client/sign_ins/{id}/reset_password",
            post(sign_ins::reset_password),
        )
        .route(
            "/v1/client/sign_ins/{id}/prepare_second_factor",
            post(sign_ins::prepare_second_factor),
        )
        .route(
            "/v1/client/sign_ins/{id}/attempt_second_factor",
            post(sign_ins::attempt_second_factor),
        )
        .route("/v1/verify", get(verify::verify))
        .route("/v1/saml/metadata/{id}", get(saml::metadata))
        .route("/v1/saml/acs/{id}", post(saml::acs))
        .route("/v1/saml/complete", get(saml::complete))
        .route(
            "/v1/oauth_callback",
            get(oauth_callback::get_callback).post(oauth_callback::post_callback),
        )
        .route(
            "/v1/client/sessions/{sid}/tokens",
            post(sessions::mint_token),
        )
        .route(
            "/v1/client/sessions/{sid}/tokens/{template}",
            post(sessions::mint_template_token),
        )
        .route("/v1/client/sessions/{sid}/touch", post(sessions::touch))
        .route("/v1/client/sessions/{sid}/end", post(sessions::end))
        .route(
            "/v1/me",
            get(me::get_me).patch(me::update_me).delete(me::delete_me),
        )
        .route("/v1/me/change_password", post(me::change_password))
        .route("/v1/me/sessions", get(me::list_sessions))
        .route(
            "/v1/me/totp",
            post(mfa::start_totp).delete(mfa::delete_totp),
        )
        .route("/v1/me/totp/attempt_verification", post(mfa::verify_totp))
        .route("/v1/me/backup_codes", post(mfa::regenerate_backup_codes))
        .route("/v1/me/reverify", post(mfa::reverify))
        .route("/v1/me/sessions/{id}/revoke", post(me::revoke_session))
        .route("/v1/me/external_accounts", post(external_accounts::create))
        .route(
            "/v1/me/external_accounts/{id}",
            delete(external_accounts::remove),
        )
        .merge(identifier_routes::<me_identifiers::EmailAddresses>(
            "/v1/me/email_addresses",
        ))
        .merge(identifier_routes::<me_identifiers::PhoneNumbers>(
            "/v1/me/phone_numbers",
        ))
}

/// `base`, `base/{id}`, and `base/{id}/prepare_verification|attempt_verification`.
fn identifier_routes<K: me_identifiers::Identifiers + 'static>(base: &str) -> Router<AppRef> {
    Router::new()
        .route(base, post(me_identifiers::add::<K>))
        .route(
            &format!("{base}/{{id}}"),
            delete(me_identifiers::remove::<K>),
        )
        .route(
            &format!("{base}/{{id}}/prepare_verification"),
            post(me_identifiers::prepare_verification::<K>),
        )
        .route(
            &format!("{base}/{{id}}/attempt_verification"),
            post(me_identifiers::attempt_verification::<K>),
        )
}
