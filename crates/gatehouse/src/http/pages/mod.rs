//! The hosted pages: server-rendered HTML over the same domain flows as the Frontend
//! API, one file per page (`sign_in`, `sign_up`, `verify`, `user`, `sign_out`), with
//! the shared parts beside them: `request` (the page extractors: client, CSRF, form,
//! where to go next), `layout` (templates and rendering), `csrf`, `headers` (security
//! headers), `messages` (domain errors as sentences) and `assets` (CSS, the pages'
//! script and `gatehouse.js`). Forms work without JavaScript; the script only enhances.

mod account;
mod assets;
mod csrf;
mod fields;
mod headers;
mod layout;
mod messages;
mod request;
mod sign_in;
mod sign_out;
mod sign_up;
mod user;
mod verify;

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppRef;

pub use assets::GATEHOUSE_JS_PATH;

/// Every page route, with the security headers every page response carries.
pub fn router(app: AppRef) -> Router<AppRef> {
    Router::new()
        .route("/sign-in", get(sign_in::show).post(sign_in::identify))
        .route("/sign-in/password", post(sign_in::password).get(back))
        .route("/sign-in/prepare", post(sign_in::prepare).get(back))
        .route("/sign-in/code", post(sign_in::code).get(back))
        .route(
            "/sign-in/new-password",
            post(sign_in::new_password).get(back),
        )
        .route(
            "/sign-in/second-factor",
            post(sign_in::second_factor).get(back),
        )
        .route(
            "/sign-in/second-factor/prepare",
            post(sign_in::prepare_second_factor).get(back),
        )
        .route("/sign-in/social", get(sign_in::social))
        .route("/sign-up", get(sign_up::show).post(sign_up::create))
        .route("/sign-up/verify", post(sign_up::verify).get(back))
        .route("/sign-up/resend", post(sign_up::resend).get(back))
        .route("/verify", get(verify::show))
        .route("/user", get(user::show))
        .route("/user/profile", post(user::profile).get(back))
        .route(
            "/user/identifiers/add",
            post(user::add_identifier).get(back),
        )
        .route("/user/identifiers/send", post(user::send_code).get(back))
        .route(
            "/user/identifiers/verify",
            post(user::verify_identifier).get(back),
        )
        .route(
            "/user/identifiers/primary",
            post(user::make_primary).get(back),
        )
        .route(
            "/user/identifiers/remove",
            post(user::remove_identifier).get(back),
        )
        .route("/user/password", post(user::password).get(back))
        .route("/user/reverify", post(user::reverify).get(back))
        .route("/user/mfa/start", post(user::mfa_start).get(back))
        .route("/user/mfa/confirm", post(user::mfa_confirm).get(back))
        .route("/user/mfa/disable", post(user::mfa_disable).get(back))
        .route("/user/mfa/backup-codes", post(user::backup_codes).get(back))
        .route(
            "/user/sessions/revoke",
            post(user::revoke_session).get(back),
        )
        .route(
            "/user/sign-out-everywhere",
            post(user::sign_out_everywhere).get(back),
        )
        .route("/user/delete", post(user::delete_account).get(back))
        .route("/sign-out", get(sign_out::show).post(sign_out::sign_out))
        .layer(axum::middleware::from_fn_with_state(
            app,
            headers::page_headers,
        ))
        .route("/pages/assets/{file}", get(assets::page_asset))
        .route(GATEHOUSE_JS_PATH, get(assets::gatehouse_js))
}

/// `GET` of a path forms post to (a reload, a copied URL): back to its page.
async fn back(uri: Uri) -> Response {
    let page = match uri.path().split('/').nth(1) {
        Some("sign-up") => "/sign-up",
        Some("user") => "/user",
        _ => "/sign-in",
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, page)]).into_response()
}
