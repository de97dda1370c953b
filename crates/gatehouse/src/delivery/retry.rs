//! When a failed message is tried again: exponential backoff with jitter, capped.

use rand::Rng;

use crate::config::DeliveryConfig;

/// The delay before attempt `attempts + 1` after `attempts` failed ones (≥ 1): the
/// initial delay doubled for each earlier failure, capped at `retry_max`, then drawn
/// uniformly from its upper half, so that messages that failed together spread out.
pub fn backoff_ms(config: &DeliveryConfig, attempts: i64) -> i64 {
    let base = config.retry_initial.as_millis().max(1);
    let cap = config.retry_max.as_millis().max(base);
    let doublings = (attempts - 1).clamp(0, 32) as u32;
    let delay = base.saturating_mul(1i64 << doublings).min(cap);
    let half = delay / 2;
    half + rand::thread_rng().gen_range(0..=delay - half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        let config = DeliveryConfig {
            retry_initial: Span::from_secs(10),
            retry_max: Span::from_secs(600),
            ..DeliveryConfig::default()
        };
        for _ in 0..200 {
            let first = backoff_ms(&config, 1);
            assert!((5_000..=10_000).contains(&first), "{first}");
            let third = backoff_ms(&config, 3);
            assert!((20_000..=40_000).contains(&third), "{third}");
            let late = backoff_ms(&config, 30);
            assert!((300_000..=600_000).contains(&late), "{late}");
        }
        let draws: std::collections::BTreeSet<i64> =
            (0..50).map(|_| backoff_ms(&config, 2)).collect();
        assert!(draws.len() > 10, "jitter spreads retries: {draws:?}");
    }
}
