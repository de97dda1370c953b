//! `/sign-out`: a confirmation page (a link alone must never sign anyone out), and the
//! form that ends every session of this browser, then goes to `redirect_url` or
//! `[pages] after_sign_out_url`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppRef;
use crate::domain::sessions;

use super::layout::{compiled_body, View};
use super::request::{Page, PagePost};

pub async fn show(State(app): State<AppRef>, page: Page) -> Response {
    if !page.is_signed_in(&app).await {
        let target = page.destination(&app, &app.config.pages.after_sign_out_url);
        return page.see_other(&app, &target).await;
    }
    let view = View::compiled(Confirm, "Sign out").sub(format!(
        "Sign out of {} on this device?",
        app.config.application_name
    ));
    page.render(&app, view).await
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn sign_out(
    State(app): State<AppRef>,
    PagePost { mut page, form: _ }: PagePost<Empty>,
) -> Response {
    if page.fe.ctx.client.is_some() {
        if let Err(e) = sessions::sign_out_client(&app, &mut page.fe.ctx).await {
            return page.render(&app, View::error_page(e)).await;
        }
    }
    let target = page.destination(&app, &app.config.pages.after_sign_out_url);
    page.see_other(&app, &target).await
}

/// The confirmation: a form, so that only a deliberate click signs out.
struct Confirm;
compiled_body!(Confirm, "sign_out.html");
