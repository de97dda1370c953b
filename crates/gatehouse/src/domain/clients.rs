//! The client a request speaks for, created on demand, rotated on sign-in.

use crate::app::App;
use crate::crypto::digest::token_hash;
use crate::crypto::{ids, random};
use crate::domain::model::{Client, Session};
use crate::domain::user_agent::{self, Activity};
use crate::error::Error;
use crate::store::Writes;

/// Facts about the request that flows record (device list, rate limits, `azp`).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub ip: String,
    pub user_agent: Option<String>,
    /// The request's `Origin`, when it was checked and allowed.
    pub origin: Option<String>,
}

impl RequestInfo {
    pub fn activity(&self) -> Activity {
        user_agent::activity(Some(self.ip.clone()), self.user_agent.as_deref())
    }
}

/// The client of one request and what changed about it, so the HTTP layer knows which
/// cookies to set.
#[derive(Debug, Default)]
pub struct ClientCtx {
    pub client: Option<Client>,
    /// A new `__client` value to hand out (client created or rotated).
    pub new_token: Option<String>,
    /// The signed-in state changed: `__client_uat` must be re-sent.
    pub auth_changed: bool,
    pub request: RequestInfo,
    /// The cookie value of `client` while it is not stored yet (see `ensure_unstored`).
    pub unstored_token: Option<String>,
}

impl ClientCtx {
    /// The client, creating one when the request has none.
    pub async fn ensure(&mut self, app: &App) -> Result<Client, Error> {
        let client = self.ensure_unstored(app);
        if self.unstored_token.is_some() {
            app.store.insert_client(&client).await?;
            self.new_token = self.unstored_token.take();
        }
        Ok(client)
    }

    /// The client, creating one in memory when the request has none: it is stored by
    /// `store_unstored` inside the transaction of the flow's first write, so a request
    /// refused before any write stores nothing and a password sign-in makes one commit.
    pub fn ensure_unstored(&mut self, app: &App) -> Client {
        if let Some(c) = &self.client {
            return c.clone();
        }
        let token = random::random_token();
        let client = Client::new(ids::new_id("client"), token_hash(&token), app.now());
        self.client = Some(client.clone());
        self.unstored_token = Some(token);
        client
    }

    /// Stores the client `ensure_unstored` made, if it is not stored yet, in `tx`; its
    /// cookie is handed out from then on.
    pub async fn store_unstored(&mut self, app: &App, tx: &mut impl Writes) -> Result<(), Error> {
        let (Some(_), Some(client)) = (&self.unstored_token, &self.client) else {
            return Ok(());
        };
        app.store.insert_client_tx(tx, client).await?;
        self.new_token = self.unstored_token.take();
        Ok(())
    }

    /// The client, or 401 when the request carries none.
    pub fn require(&self) -> Result<&Client, Error> {
        self.client.as_ref().ok_or_else(Error::unauthenticated)
    }

    /// Re-reads the client after a flow changed it.
    pub async fn reload(&mut self, app: &App) -> Result<(), Error> {
        if let Some(c) = &self.client {
            self.client = app.store.client_by_id(&c.id).await?;
        }
        Ok(())
    }

    /// Active sessions of this client as of now.
    pub async fn active_sessions(&self, app: &App) -> Result<Vec<Session>, Error> {
        let Some(client) = &self.client else {
            return Ok(Vec::new());
        };
        let now = app.now();
        let inactivity = app.inactivity_ms();
        Ok(app
            .store
            .client_sessions(&client.id)
            .await?
            .into_iter()
            .filter(|s| s.is_active_at(now, inactivity))
            .collect())
    }

    /// `__client_uat`: seconds of the last sign-in while a session is active, else 0.
    pub async fn client_uat(&self, app: &App) -> Result<i64, Error> {
        Ok(self.uat_with(&self.active_sessions(app).await?))
    }

    /// [`Self::client_uat`] given the client's active sessions.
    pub fn uat_with(&self, active: &[Session]) -> i64 {
        match &self.client {
            Some(client) if !active.is_empty() => client.uat(),
            _ => 0,
        }
    }
}

/// Looks up a client by its cookie or `Authorization: Client` value.
pub async fn find_by_token(app: &App, token: &str) -> Result<Option<Client>, Error> {
    if token.is_empty() || token.len() > 256 {
        return Ok(None);
    }
    Ok(app.store.client_by_token_hash(&token_hash(token)).await?)
}
