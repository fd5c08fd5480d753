//! One jobcall process: the API, the workers, or both, built from settings
//! and stopped together.

use std::{future::Future, net::TcpListener, sync::Arc};

use actix_web::{dev::ServerHandle, web};
use jobcall_api::{AppState, Ops, auth::Authenticator};
use jobcall_jobs::{
    clients::SecretsCache,
    kinds::Registry,
    metrics::{Metrics, spawn_queue_sampler},
    outbound::{Guard, NameResolver, Outbound, SystemResolver},
    retention,
    services::Services,
    signals::{Signals, spawn_pg_listener},
    store::{Database, Pools, Writer, bring_tasks_forward, redact_url},
    time::{Clock, TestClock},
    worker::{LocalDispatch, WorkerRuntime, Workers},
};
use jobcall_migration::{Migrator, MigratorTrait};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{keys, settings::Settings};

/// What a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The API and the workers: the single-process default.
    Serve,
    Api,
    Worker,
}

impl Role {
    fn runs_api(self) -> bool {
        matches!(self, Role::Serve | Role::Api)
    }

    fn runs_workers(self) -> bool {
        matches!(self, Role::Serve | Role::Worker)
    }

    fn key_use(self) -> keys::KeyUse {
        match self {
            Role::Serve => keys::KeyUse::Serve,
            Role::Api => keys::KeyUse::Api,
            Role::Worker => keys::KeyUse::Worker,
        }
    }
}

/// Hooks for embedding and tests: extra kinds, another resolver, a test clock.
pub struct Customize {
    pub kinds: Box<dyn FnOnce(&mut Registry) + Send>,
    pub resolver: Arc<dyn NameResolver>,
    /// Runs the process on this clock instead of the system's; see
    /// [`Application::clock_control`].
    pub test_clock: Option<TestClock>,
}

impl Default for Customize {
    fn default() -> Self {
        Self {
            kinds: Box::new(|_| {}),
            resolver: Arc::new(SystemResolver),
            test_clock: None,
        }
    }
}

pub struct Application {
    port: Option<u16>,
    server: Option<actix_web::dev::Server>,
    handle: Option<ServerHandle>,
    workers: Option<Workers>,
    shutdown: CancellationToken,
    services: Services,
    test_clock: Option<TestClock>,
}

/// Moves the test clock of a running application forward.
#[derive(Clone)]
pub struct ClockControl {
    clock: TestClock,
    services: Services,
}

impl ClockControl {
    /// Moves the clock forward by `by`, and with it what the database times
    /// on its own clock: queue tasks due within `by` become due now. Then
    /// every worker looks for work.
    pub async fn advance(&self, by: std::time::Duration) -> anyhow::Result<()> {
        self.clock.advance(by);
        bring_tasks_forward(&self.services.db, by).await?;
        self.services.signals.wake_everything();
        Ok(())
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.clock().now_ms()
    }
}

/// Connects and brings the schema up to date; processes starting together
/// take turns.
pub async fn migrate(settings: &Settings) -> anyhow::Result<Database> {
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", redact_url(&settings.database.url)))?;
    db.migrate_exclusively(&settings.database, |schema| async move {
        Migrator::up(&schema, None).await
    })
    .await?;
    db.use_incremental_vacuum().await?;
    Ok(db)
}

impl Application {
    pub async fn build(
        settings: Settings,
        role: Role,
        customize: Customize,
    ) -> anyhow::Result<Self> {
        let clock = customize
            .test_clock
            .as_ref()
            .map_or_else(Clock::system, TestClock::clock);
        // Keys first: a process that would make a development key where it
        // is not safe stops before it touches the database.
        let keys = keys::resolve(&settings, role.key_use())?;
        let db = migrate(&settings).await?.with_clock(clock.clone());
        info!(database = %redact_url(&settings.database.url), "database ready");
        let shutdown = CancellationToken::new();
        let signals = Signals::new(clock.clone());
        if let Pools::Postgres(pool) = db.pools() {
            spawn_pg_listener(pool.clone(), signals.clone(), shutdown.clone());
        }
        let guard = Guard::new(settings.domain.outbound.clone(), customize.resolver);
        let outbound = Outbound::new(guard, &format!("jobcall/{}", env!("CARGO_PKG_VERSION")));
        let mut registry = Registry::builtin(&outbound);
        (customize.kinds)(&mut registry);
        let writer = Writer::start(db.clone(), signals.clone());
        // Before anything seals or opens a secret: a process with another
        // key than the database's would fail every delivery, silently.
        keys::verify_secrets_key(&writer, &keys).await?;
        let services = Services {
            writer,
            db,
            signals,
            registry,
            settings: settings.domain.clone(),
            outbound,
            secrets: SecretsCache::new(keys.secrets_key, clock.clone()),
            metrics: Arc::new(Metrics::default()),
            clock,
        };

        spawn_queue_sampler(
            services.db.clone(),
            services.metrics.clone(),
            shutdown.clone(),
        );
        let runtime = role
            .runs_workers()
            .then(|| WorkerRuntime::new(services.clone()));
        let workers = runtime.clone().map(Workers::start);
        if role.runs_workers() {
            retention::spawn_sweeper(services.clone(), shutdown.clone());
        }
        let ops = web::Data::new(Ops {
            db: services.db.clone(),
            workers: runtime,
            metrics: services.metrics.clone(),
        });

        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let grace = settings.domain.worker.shutdown_grace;
        let server = if role.runs_api() {
            let auth = Authenticator::new(&settings.jwt.auth_config(keys.jwt_secret.as_deref())?);
            let state = web::Data::new(AppState::new(
                services.clone(),
                settings.api.clone(),
                auth,
                ops.workers.clone().map(LocalDispatch::new),
            ));
            jobcall_api::spawn_background(state.clone(), shutdown.clone());
            let http_workers = match settings.http_workers {
                0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
                n => n,
            };
            jobcall_api::server(state, ops, listener, http_workers, grace)?
        } else {
            // A worker-only process still answers health, readiness and metrics.
            jobcall_api::ops_server(ops, listener, grace)?
        };
        info!(
            address = %format!("{}:{port}", settings.listen.ip()),
            pid = std::process::id(),
            "listening"
        );
        let (port, server) = (Some(port), Some(server));
        let handle = server.as_ref().map(|s| s.handle());
        Ok(Self {
            port,
            server,
            handle,
            workers,
            shutdown,
            services,
            test_clock: customize.test_clock,
        })
    }

    /// The handle that moves the clock, when built with a test clock.
    pub fn clock_control(&self) -> Option<ClockControl> {
        self.test_clock.clone().map(|clock| ClockControl {
            clock,
            services: self.services.clone(),
        })
    }

    /// The port the API listens on (useful with port 0).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Runs until `stop` resolves (or the HTTP server fails), then shuts down
    /// in order: stop accepting requests, stop the workers (finishing or
    /// handing back what runs), stop the background tasks, close the database.
    pub async fn run_until_stopped(mut self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let server = self.server.take();
        let served = async move {
            match server {
                Some(server) => server.await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(served);
        let outcome = tokio::select! {
            result = &mut served => {
                warn!("the HTTP server stopped by itself");
                result.map_err(anyhow::Error::from)
            }
            () = stop => {
                info!("shutting down");
                if let Some(handle) = &self.handle {
                    // The stop command is sent now; the server future carries it out.
                    let stopped = handle.stop(true);
                    let served = served.await;
                    stopped.await;
                    served.map_err(anyhow::Error::from)
                } else {
                    Ok(())
                }
            }
        };
        if let Some(workers) = self.workers.take() {
            workers.shutdown().await;
        }
        self.shutdown.cancel();
        self.services.db.close().await;
        info!("stopped");
        outcome
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is
/// called, not when the future is first polled.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate =
            signal(SignalKind::terminate()).expect("a SIGTERM handler can be installed");
        let mut interrupt =
            signal(SignalKind::interrupt()).expect("a SIGINT handler can be installed");
        async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
