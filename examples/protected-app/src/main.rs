//! `cargo run -p protected-app` with Gatehouse on `http://localhost:3000`; set
//! `GATEHOUSE_ISSUER`, `APP_URL` and `PORT` to change where things are, and
//! `AUTHORIZED_PARTIES` (comma-separated origins) to restrict `azp`.

use gatehouse_sdk::Verifier;
use protected_app::{router, Settings};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let port = env("PORT", "4000");
    let settings = Settings {
        issuer: env("GATEHOUSE_ISSUER", "http://localhost:3000"),
        app_url: env("APP_URL", &format!("http://localhost:{port}")),
    };
    let parties: Vec<String> = env("AUTHORIZED_PARTIES", "")
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let verifier = Verifier::builder(&settings.issuer)
        .authorized_parties(parties)
        .build()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>()?)).await?;
    println!(
        "protected-app on {} (issuer {})",
        settings.app_url, settings.issuer
    );
    axum::serve(listener, router(settings, verifier))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
