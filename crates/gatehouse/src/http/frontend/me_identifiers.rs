//! `/v1/me/email_addresses` and `/v1/me/phone_numbers`: add, verify with a code, remove.
//! One set of handlers serves both, picked by the [`Identifiers`] type parameter.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{json, Value};

use crate::app::{App, AppRef};
use crate::domain::user_identifiers::{self, Kind};
use crate::error::Error;
use crate::http::body::Body;
use crate::http::envelope::finish;
use crate::http::extract::{Frontend, SignedIn};
use crate::http::render;

/// Which identifiers a route manages.
pub trait Identifiers {
    const KIND: Kind;
}

pub struct EmailAddresses;
pub struct PhoneNumbers;

impl Identifiers for EmailAddresses {
    const KIND: Kind = Kind::Email;
}

impl Identifiers for PhoneNumbers {
    const KIND: Kind = Kind::Phone;
}

/// The signed-in user; a user who must still enroll MFA may manage phone numbers when
/// they are how a second factor is enrolled.
pub(crate) async fn me(app: &AppRef, fe: &Frontend, kind: Kind) -> Result<SignedIn, Error> {
    if kind.enrolls_second_factor(app) {
        SignedIn::from_frontend(app, fe).await
    } else {
        SignedIn::enrolled(app, fe).await
    }
}

/// The identifier `id` of the user as the API shows it, read again after a change.
async fn identifier(app: &App, user_id: &str, kind: Kind, id: &str) -> Result<Value, Error> {
    let user = app
        .store
        .get_user(user_id)
        .await?
        .ok_or_else(Error::unauthenticated)?;
    user.identifier(id)
        .map(|i| render::identifier(app, i))
        .ok_or_else(|| Error::not_found(kind.name()))
}

#[derive(serde::Deserialize)]
pub struct AddParams {
    email_address: Option<String>,
    phone_number: Option<String>,
}

pub async fn add<K: Identifiers>(
    State(app): State<AppRef>,
    fe: Frontend,
    Body(p): Body<AddParams>,
) -> Response {
    let result = async {
        let me = me(&app, &fe, K::KIND).await?;
        let value = match K::KIND {
            Kind::Email => p.email_address,
            Kind::Phone => p.phone_number,
        };
        let id = user_identifiers::add(&app, &me.user, K::KIND, value.as_deref()).await?;
        identifier(&app, &me.user.user.id, K::KIND, &id).await
    }
    .await;
    finish(&app, fe.ctx, result).await
}

#[derive(serde::Deserialize)]
pub struct VerifyParams {
    strategy: Option<String>,
    code: Option<String>,
}

pub async fn prepare_verification<K: Identifiers>(
    State(app): State<AppRef>,
    fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<VerifyParams>,
) -> Response {
    verification_step::<K>(app, fe, id, p, Step::Prepare).await
}

pub async fn attempt_verification<K: Identifiers>(
    State(app): State<AppRef>,
    fe: Frontend,
    Path(id): Path<String>,
    Body(p): Body<VerifyParams>,
) -> Response {
    verification_step::<K>(app, fe, id, p, Step::Attempt).await
}

enum Step {
    Prepare,
    Attempt,
}

/// Sends a code, or checks one; answers with the identifier as it is now.
async fn verification_step<K: Identifiers>(
    app: AppRef,
    fe: Frontend,
    id: String,
    p: VerifyParams,
    step: Step,
) -> Response {
    let result = async {
        let me = me(&app, &fe, K::KIND).await?;
        let (ip, user) = (&fe.ctx.request.ip, &me.user);
        match step {
            Step::Prepare => {
                let strategy = p.strategy.as_deref();
                user_identifiers::prepare_verification(&app, ip, user, K::KIND, &id, strategy)
                    .await?
            }
            Step::Attempt => {
                let code = p.code.as_deref();
                user_identifiers::attempt_verification(&app, ip, user, K::KIND, &id, code).await?
            }
        }
        identifier(&app, &me.user.user.id, K::KIND, &id).await
    }
    .await;
    finish(&app, fe.ctx, result).await
}

pub async fn remove<K: Identifiers>(
    State(app): State<AppRef>,
    fe: Frontend,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let me = me(&app, &fe, K::KIND).await?;
        user_identifiers::remove(&app, &me.session, &me.user, K::KIND, &id).await?;
        Ok(json!({"object": K::KIND.name(), "id": id, "deleted": true}))
    }
    .await;
    finish(&app, fe.ctx, result).await
}
