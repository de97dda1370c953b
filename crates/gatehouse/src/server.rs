//! Running the listeners and the background housekeeping, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::app::AppRef;
use crate::domain::keys::KEY_REFRESH_INTERVAL;
use crate::idle_memory::IdleTrim;

/// Both listeners, bound.
pub struct Listeners {
    pub public: TcpListener,
    pub admin: TcpListener,
}

impl Listeners {
    pub async fn bind(app: &AppRef) -> anyhow::Result<Listeners> {
        use anyhow::Context;
        let public = TcpListener::bind(&app.config.listen)
            .await
            .with_context(|| format!("cannot listen on {} (`listen`)", app.config.listen))?;
        let admin = TcpListener::bind(&app.config.admin_listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (`admin_listen`)",
                    app.config.admin_listen
                )
            })?;
        Ok(Listeners { public, admin })
    }

    pub fn addresses(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.public.local_addr()?, self.admin.local_addr()?))
    }
}

/// How long shutdown waits for messages being sent before releasing them to others.
const DELIVERY_GRACE: Duration = Duration::from_secs(5);

/// Serves until `shutdown` resolves, then stops accepting and finishes in-flight requests.
pub async fn serve(
    app: AppRef,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::http::ops::install_metrics();
    let housekeeping = spawn_housekeeping(app.clone());
    let delivery = crate::delivery::worker::spawn(app.clone());
    let (tx, rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let public = axum::serve(
        listeners.public,
        crate::http::public_router(app.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(wait(rx.clone()));
    let admin = axum::serve(
        listeners.admin,
        crate::http::admin_router(app.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(wait(rx));
    let public = tokio::spawn(async move { public.await });
    let admin = tokio::spawn(async move { admin.await });
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = tx.send(true);
    let _ = public.await;
    let _ = admin.await;
    housekeeping.abort();
    if let Some(worker) = delivery {
        worker.stop(DELIVERY_GRACE).await;
    }
    app.store.close().await;
    Ok(())
}

/// Key and session-claims refresh (rotations and claims set through other processes reach
/// this one within seconds), free memory returned after a busy spell, and pruning of spent
/// rate counters, of magic links a week past their expiry and of social sign-in states a
/// day past theirs.
fn spawn_housekeeping(app: AppRef) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(KEY_REFRESH_INTERVAL);
        let mut ticks: u64 = 0;
        let mut idle_trim = IdleTrim::default();
        loop {
            ticker.tick().await;
            ticks += 1;
            if idle_trim.tick() {
                tracing::debug!("traffic fell quiet: free heap memory returned");
            }
            if let Err(e) = app
                .keys
                .refresh(&app.store, &app.master_key, app.now())
                .await
            {
                tracing::warn!(error = %e, "could not refresh signing keys");
            }
            if let Err(e) = app.session_claims.refresh(&app.store).await {
                tracing::warn!(error = %e, "could not refresh the session claims");
            }
            if ticks % 20 == 0 {
                let day = Duration::from_secs(86_400).as_millis() as i64;
                if let Err(e) = app.store.prune_rate_counters(app.now() - day).await {
                    tracing::warn!(error = %e, "could not prune rate counters");
                }
                if let Err(e) = app.store.prune_links(app.now() - 7 * day).await {
                    tracing::warn!(error = %e, "could not prune magic links");
                }
                if let Err(e) = app.store.prune_oauth_states(app.now() - day).await {
                    tracing::warn!(error = %e, "could not prune social sign-in states");
                }
                if let Err(e) = app.store.prune_saml(app.now() - day, app.now()).await {
                    tracing::warn!(error = %e, "could not prune SAML requests and assertion ids");
                }
            }
        }
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
