//! The `gatehouse` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{self, App, AppRef};
use crate::clock::SystemClock;
use crate::config::Config;

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse",
    version,
    about = "Self-hosted authentication and user management"
)]
struct Cli {
    /// Configuration file (default: ./gatehouse.toml when it exists).
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default command).
    Serve,
    /// Write a commented configuration file.
    Init {
        /// Where to write it.
        #[arg(default_value = "gatehouse.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Signing keys and secret keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Session tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Make a new signing key current; the previous one stays published.
    Rotate,
    /// Create a Backend API secret key and print it once.
    CreateSecret {
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// Create a user.
    Create {
        #[arg(long)]
        email: Vec<String>,
        #[arg(long)]
        username: Option<String>,
        /// The password (read from GATEHOUSE_USER_PASSWORD when not given).
        #[arg(long, env = "GATEHOUSE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
    /// List users, newest first.
    List {
        #[arg(long)]
        query: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Ban a user and revoke every session.
    Ban { user_id: String },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Decode a token and check its signature against this instance's keys.
    Inspect { token: String },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<PathBuf>) -> anyhow::Result<Config> {
    let path = path.or_else(|| {
        let default = PathBuf::from("gatehouse.toml");
        default.exists().then_some(default)
    });
    Ok(Config::load(path.as_deref())?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Init { path, force } => init(&path, force),
        Command::Serve => serve(load_config(cli.config)?).await,
        Command::Migrate => {
            let config = load_config(cli.config)?;
            crate::store::Store::open(&config.effective_database_url()).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Keys(k) => keys(start(load_config(cli.config)?).await?, k).await,
        Command::Users(u) => users(start(load_config(cli.config)?).await?, u).await,
        Command::Token(TokenCommand::Inspect { token }) => {
            inspect(start(load_config(cli.config)?).await?, &token)
        }
    }
}

async fn start(config: Config) -> anyhow::Result<AppRef> {
    let (app, notes) = App::start(config, Arc::new(SystemClock)).await?;
    if let Some(path) = notes.generated_master_key {
        eprintln!("warning: generated a master key in {} — back it up; set GATEHOUSE_MASTER_KEY in production", path.display());
    }
    Ok(app)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = start(config).await?;
    let secret = app::bootstrap_secret_key(&app.store, &app.config, app.now()).await?;
    let listeners = crate::server::Listeners::bind(&app).await?;
    let (public, admin) = listeners.addresses()?;
    println!("Gatehouse {} is running", env!("CARGO_PKG_VERSION"));
    println!("  public URL:   {}", app.config.public_url);
    println!("  Frontend API: http://{public}/v1/");
    println!("  Backend API:  http://{admin}/v1/  (Authorization: Bearer <secret key>)");
    println!(
        "  database:     {}",
        app::redact_url(&app.config.effective_database_url())
    );
    if let Some(key) = secret {
        println!();
        println!("  Backend API secret key (shown once, stored hashed):");
        println!("    {key}");
        println!();
    }
    tracing::info!(public = %public, admin = %admin, "listening");
    crate::server::serve(app, listeners, crate::server::shutdown_signal()).await
}

fn init(path: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists (use --force to overwrite)",
            path.display()
        );
    }
    std::fs::write(path, INIT_TEMPLATE).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

async fn keys(app: AppRef, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate => {
            let keep = keep_previous_key_ms(&app.config);
            let kid = crate::domain::keys::rotate(
                &app.store,
                &app.master_key,
                app.config.tokens.algorithm,
                app.now(),
                keep,
            )
            .await?;
            println!(
                "new signing key {kid} ({}) is current; the previous key stays published for {} s",
                app.config.tokens.algorithm.as_str(),
                keep / 1000
            );
        }
        KeysCommand::CreateSecret { name } => {
            let key = app::new_secret_key();
            app.store
                .insert_secret_key(
                    &crate::crypto::ids::new_id("sk"),
                    &crate::crypto::digest::token_hash(&key),
                    &name,
                    app.now(),
                )
                .await?;
            println!("{key}");
        }
    }
    Ok(())
}

/// How long a rotated-out key stays in the JWKS: well past any token it signed (at
/// least one maximum token lifetime), and at least an hour for cached JWKS.
pub fn keep_previous_key_ms(config: &Config) -> i64 {
    (config.session.token_lifetime.as_millis() * 2).max(3_600_000)
}

async fn users(app: AppRef, command: UsersCommand) -> anyhow::Result<()> {
    use crate::domain::users;
    let show = |e: crate::error::Error| anyhow::anyhow!("{}: {}", e.code, e.message);
    match command {
        UsersCommand::Create {
            email,
            username,
            password,
            first_name,
            last_name,
        } => {
            let user = users::create(
                &app,
                users::CreateUser {
                    email_address: email,
                    username,
                    password,
                    first_name,
                    last_name,
                    ..Default::default()
                },
            )
            .await
            .map_err(show)?;
            println!("{}", user.user.id);
        }
        UsersCommand::List { query, limit } => {
            let q = crate::store::UserQuery {
                query,
                newest_first: true,
                order_column: "created_at",
                limit: limit.clamp(1, 500),
                ..Default::default()
            };
            let (list, total) = app.store.list_users(&q).await?;
            for r in &list {
                let email = r.primary_email().map(|e| e.value.as_str()).unwrap_or("-");
                let name = r.user.username.as_deref().unwrap_or("-");
                let flags = if r.user.is_banned() { " banned" } else { "" };
                println!("{}  {email}  {name}{flags}", r.user.id);
            }
            println!("({} of {total})", list.len());
        }
        UsersCommand::Ban { user_id } => {
            users::set_banned(&app, &user_id, true)
                .await
                .map_err(show)?;
            println!("banned {user_id}; every session revoked");
        }
    }
    Ok(())
}

fn inspect(app: AppRef, token: &str) -> anyhow::Result<()> {
    let (header, claims) = crate::crypto::jws::decode_unverified(token)
        .map_err(|e| anyhow::anyhow!("not a JWS: {e}"))?;
    println!("header: {}", serde_json::to_string_pretty(&header)?);
    println!("claims: {}", serde_json::to_string_pretty(&claims)?);
    let verified = crate::crypto::jws::verify_compact(token, &app.keys.verifying_keys()).is_ok();
    let now = app.now() / 1000;
    let exp = claims.get("exp").and_then(|v| v.as_i64());
    println!(
        "signature: {}",
        if verified {
            "valid (signed by this instance)"
        } else {
            "NOT valid for this instance's published keys"
        }
    );
    if let Some(exp) = exp {
        println!(
            "expires: {} ({})",
            exp,
            if exp > now {
                "in the future"
            } else {
                "expired"
            }
        );
    }
    if !verified {
        anyhow::bail!("the signature does not verify against this instance's published keys");
    }
    Ok(())
}

/// The file `gatehouse init` writes: every key, commented, with its default.
pub const INIT_TEMPLATE: &str = include_str!("../gatehouse.example.toml");
