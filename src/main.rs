//! `jobcall`: the command line.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use jobcall::{
    Application, Customize, Role, Settings,
    app::{migrate, shutdown_signal},
    keys, telemetry,
};
use jobcall_api::auth::{Scope, TokenIssuer};
use jobcall_entity::{ClientId, SignatureScheme, SignatureSchemes};
use jobcall_jobs::{
    callbacks::signing::Verifier, clients::CreateClient, signals::Signals, store::Writer,
    time::rfc3339,
};

#[derive(Parser)]
#[command(
    name = "jobcall",
    version,
    about = "An asynchronous job service: submit work, get 202, receive the signed result at your callback URL."
)]
struct Cli {
    /// A TOML file of settings; JOBCALL_* environment variables override it.
    #[arg(long, global = true, env = "JOBCALL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the workers (the default for one machine).
    Serve,
    /// Run only the API.
    Api,
    /// Run only the workers.
    Worker,
    /// Apply the database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database to PATH while the
    /// service runs (PostgreSQL: use pg_dump).
    Backup {
        /// Where the copy goes; must not exist yet.
        path: PathBuf,
    },
    /// Receive callbacks locally and print one line per callback (type, job,
    /// status, latency, signature check). Answers 204 to everything.
    Listen {
        /// The port to listen on (0: any free one; the address goes to stderr).
        #[arg(long, default_value_t = 9000)]
        port: u16,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Check signatures: a `whsec_…` secret (v1) or a `whpk_…` public
        /// key (v1a).
        #[arg(long, value_parser = parse_verifier)]
        secret: Option<Verifier>,
        /// Print one JSON object per callback instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Manage API clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Measure this machine: accept rate, end-to-end latency, sustained
    /// throughput and memory, against a server started for the purpose.
    #[cfg(feature = "bench")]
    Bench(jobcall::bench::BenchArgs),
    /// Mint a token for a client, signed with this server's key.
    Token {
        /// The client id (`cli_…`).
        #[arg(long)]
        client: String,
        /// Space-separated scopes: jobs:read, jobs:write, admin.
        #[arg(long, default_value = "jobs:read jobs:write")]
        scope: String,
        /// How long the token is valid: seconds, or with a unit (30m, 12h, 7d).
        #[arg(long, default_value = "24h")]
        ttl: String,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create a client and print its id and signing secret (shown only now).
    Create {
        name: String,
        /// How its callbacks are signed: v1 (HMAC), v1a (ed25519) or both
        /// (`v1,v1a`).
        #[arg(long, default_value = "v1", value_parser = parse_schemes)]
        signatures: SignatureSchemes,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("jobcall: {err}");
            return ExitCode::from(2);
        }
    };
    // Held to the end: dropping it flushes the exported spans.
    let _telemetry = match telemetry::init(
        settings.log_format,
        &settings.log_level,
        settings.otlp_traces_url.as_deref(),
    ) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("jobcall: cannot set up logging: {err}");
            return ExitCode::FAILURE;
        }
    };
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("jobcall: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        #[cfg(feature = "bench")]
        Command::Bench(args) => jobcall::bench::run_bench(args).await,
        Command::Serve => serve(settings, Role::Serve).await,
        Command::Api => serve(settings, Role::Api).await,
        Command::Worker => serve(settings, Role::Worker).await,
        Command::Migrate => {
            migrate(&settings).await?.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Backup { path } => backup(&settings, &path).await,
        Command::Listen {
            port,
            host,
            secret,
            json,
        } => {
            let listen = jobcall::listen::Listen {
                host,
                port,
                verifier: secret,
                json,
            };
            jobcall::listen::run(listen).await
        }
        Command::Client {
            command:
                ClientCommand::Create {
                    name,
                    signatures,
                    json,
                },
        } => create_client(settings, name, signatures, json).await,
        Command::Token { client, scope, ttl } => {
            println!("{}", mint_token(&settings, &client, &scope, &ttl)?);
            Ok(())
        }
    }
}

async fn serve(settings: Settings, role: Role) -> anyhow::Result<()> {
    // Handlers first: a SIGTERM that arrives while the application starts
    // (or just after it says it is listening) must stop it gracefully, not
    // kill it.
    let stop = shutdown_signal();
    let app = Application::build(settings, role, Customize::default()).await?;
    app.run_until_stopped(stop).await
}

async fn backup(settings: &Settings, path: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !path.exists(),
        "`{}` exists already: a backup goes to a new file",
        path.display()
    );
    let db = jobcall_jobs::store::Database::connect(&settings.database).await?;
    db.backup_sqlite(path).await?;
    db.close().await;
    tracing::info!(path = %path.display(), "backup written");
    println!("{}", path.display());
    Ok(())
}

fn parse_verifier(text: &str) -> Result<Verifier, String> {
    Verifier::parse(text).map_err(|e| e.to_string())
}

fn parse_schemes(text: &str) -> Result<SignatureSchemes, String> {
    let schemes = text
        .split(',')
        .map(|name| {
            SignatureScheme::parse(name.trim())
                .ok_or_else(|| format!("`{name}` is not a scheme (v1, v1a)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    SignatureSchemes::new(schemes).ok_or_else(|| "name at least one scheme".into())
}

async fn create_client(
    settings: Settings,
    name: String,
    schemes: SignatureSchemes,
    json: bool,
) -> anyhow::Result<()> {
    let name = name.trim().to_owned();
    anyhow::ensure!(
        (1..=200).contains(&name.chars().count()),
        "the name must be 1 to 200 characters"
    );
    let keys = keys::resolve(&settings, keys::KeyUse::Command)?;
    let db = migrate(&settings).await?;
    let writer = Writer::start(db.clone(), Signals::new(db.clock().clone()));
    keys::verify_secrets_key(&writer, &keys).await?;
    let create = CreateClient::with_schemes(name, schemes.clone(), &keys.secrets_key);
    let public_key = create.public_key().map(|key| key.expose());
    let (client, secret) = writer.run(create).await?;
    drop(writer);
    db.close().await;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": client.id,
                "name": client.name,
                "created_at": rfc3339(client.created_at),
                "signatures": schemes,
                "signing_secret": secret.expose(),
                "signing_public_key": public_key,
            })
        );
    } else {
        println!("id:                 {}", client.id);
        println!("name:               {}", client.name);
        println!("signatures:         {}", schemes.to_stored());
        println!("signing_secret:     {}", secret.expose());
        if let Some(public_key) = &public_key {
            println!("signing_public_key: {public_key}");
        }
        println!("(the signing secret is shown only this once)");
    }
    Ok(())
}

fn mint_token(settings: &Settings, client: &str, scope: &str, ttl: &str) -> anyhow::Result<String> {
    let client = ClientId::parse(client).map_err(|e| anyhow::anyhow!("--client {e}"))?;
    let scopes = scope
        .split_whitespace()
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                anyhow::anyhow!("--scope: `{s}` is not jobs:read, jobs:write or admin")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ttl = parse_ttl(ttl).ok_or_else(|| {
        anyhow::anyhow!("--ttl: `{ttl}` is not a duration like 3600, 30m, 12h or 7d")
    })?;
    let jwt = &settings.jwt;
    let issuer = match &jwt.private_key_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            TokenIssuer::from_private_pem(
                jwt.algorithm,
                &pem,
                jwt.issuer.clone(),
                jwt.audience.clone(),
            )?
        }
        None => {
            // Minting needs only the JWT secret: a configured one is used
            // as it is, without asking for the secrets key too.
            let secret = match &jwt.secret {
                Some(secret) if jwt.algorithm == jsonwebtoken::Algorithm::HS256 => {
                    Some(secret.expose().as_bytes().to_vec())
                }
                _ => keys::resolve(settings, keys::KeyUse::Command)?.jwt_secret,
            };
            let secret = secret.ok_or_else(|| {
                anyhow::anyhow!(
                    "{:?} tokens need JOBCALL_JWT_PRIVATE_KEY_FILE",
                    jwt.algorithm
                )
            })?;
            TokenIssuer::hs256(&secret, jwt.issuer.clone(), jwt.audience.clone())
        }
    };
    Ok(issuer.mint(&client, &scopes, ttl)?)
}

fn parse_ttl(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}
