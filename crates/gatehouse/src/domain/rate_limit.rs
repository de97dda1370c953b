//! Rate limits shared by every process through the database (fixed windows).

use crate::app::App;
use crate::config::Rate;
use crate::crypto::digest::token_hash;
use crate::error::Error;

/// Counts one event for `key` under `scope`; past the budget, `429` with `Retry-After`.
/// Identifier keys are hashed so the counters table holds no personal data.
pub async fn check(app: &App, scope: &str, key: &str, rate: Rate) -> Result<(), Error> {
    if !app.config.rate_limits.enabled {
        return Ok(());
    }
    let now = app.now();
    let window = rate.window.as_millis().max(1) as i64;
    let window_start = now - now.rem_euclid(window);
    let bucket = format!("{scope}:{}", &token_hash(key)[..32]);
    let hits = app.store.hit_rate_counter(&bucket, window_start).await?;
    if hits > rate.count as i64 {
        metrics::counter!("gatehouse_rate_limited_total", "scope" => scope.to_string())
            .increment(1);
        let retry_after = ((window_start + window - now) as u64).div_ceil(1000);
        return Err(Error::rate_limited(retry_after));
    }
    Ok(())
}

pub async fn per_ip(app: &App, scope: &str, ip: &str, rate: Rate) -> Result<(), Error> {
    check(app, scope, &format!("ip:{ip}"), rate).await
}

pub async fn per_identifier(app: &App, identifier: &str) -> Result<(), Error> {
    check(
        app,
        "identifier",
        &format!("id:{identifier}"),
        app.config.rate_limits.per_identifier,
    )
    .await
}

/// A factor attempt (password, code): limited per IP and, when the identifier is known,
/// per identifier whatever the IP.
pub async fn factor_attempt(app: &App, ip: &str, identifier: Option<&str>) -> Result<(), Error> {
    per_ip(
        app,
        "factor_attempt",
        ip,
        app.config.rate_limits.factor_attempts,
    )
    .await?;
    if let Some(identifier) = identifier {
        per_identifier(app, identifier).await?;
    }
    Ok(())
}

/// Sending a code or link: limited per IP (`code_sends`) and per identifier whatever the
/// IP (`per_identifier`, shared with attempts), on top of the per-attempt resend cooldown.
pub async fn send(app: &App, ip: &str, identifier: &str) -> Result<(), Error> {
    per_ip(app, "code_send", ip, app.config.rate_limits.code_sends).await?;
    per_identifier(app, &identifier.to_lowercase()).await
}
