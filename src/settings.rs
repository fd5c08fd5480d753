//! Configuration: defaults, then an optional TOML file, then `JOBCALL_*`
//! environment variables (the variable is the key in upper case with the
//! prefix: `worker_concurrency` ↔ `JOBCALL_WORKER_CONCURRENCY`). Everything
//! is checked when it is loaded; a bad value stops the start with a message
//! that names it.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use ipnet::IpNet;
use jobcall_api::{
    ApiSettings,
    auth::{AuthConfig, KeyError, KeyMaterial, parse_algorithm},
};
use jobcall_jobs::{
    config::{
        Backoff, CallbackSettings, DomainSettings, JobLimits, RetentionSettings, WorkerSettings,
    },
    outbound::OutboundPolicy,
    secrets::EncryptionKey,
    store::{DatabaseOptions, backend_of_url, redact_url},
};
use serde::{Deserialize, Serialize};

/// A secret from configuration: never printed.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: &str) -> Self {
        Self(value.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The settings as written: every key, its default, and its meaning. The
/// README's configuration table is this struct.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSettings {
    /// Where the default SQLite file and generated development keys live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `jobcall.db` in the data directory.
    pub database_url: Option<Secret>,
    pub database_max_connections: u32,
    /// `normal` (survives a crash of the process) or `full` (survives power loss).
    pub sqlite_synchronous: String,
    pub listen: String,
    /// HTTP worker threads; 0 = one per CPU.
    pub http_workers: usize,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,jobcall_jobs=debug`.
    pub log_level: String,
    /// An OTLP/HTTP collector (`http://collector:4318`) to export spans to;
    /// unset: none are exported.
    pub otlp_endpoint: Option<String>,

    /// The HS256 key (at least 32 bytes). Unset: generated into the data directory, for `serve` on SQLite only (src/keys.rs).
    pub jwt_secret: Option<Secret>,
    /// `HS256`, `RS256`, `ES256` or `EdDSA`; the only algorithm tokens may use.
    pub jwt_algorithm: String,
    /// For RS256/ES256/EdDSA: the PEM public key, or a path to it.
    pub jwt_public_key: Option<String>,
    /// For `jobcall token` with RS256/ES256/EdDSA: path to the PEM private key.
    pub jwt_private_key_file: Option<PathBuf>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    /// 32 bytes in base64: encrypts signing secrets at rest; must match the database's fingerprint. Unset: generated, for `serve` on SQLite only.
    pub secrets_key: Option<Secret>,
    /// How long a rotated-out signing secret keeps signing.
    pub secret_rotation_overlap_seconds: u64,

    /// Comma-separated CIDRs the outbound URL guard lets through despite their class.
    pub outbound_allow_cidrs: String,
    /// Allow plain-http callback and request URLs.
    pub outbound_allow_http: bool,
    pub outbound_max_url_bytes: usize,
    /// How long resolving a callback or request URL's host may take, at submit time and at connect time.
    pub outbound_dns_timeout_ms: u64,

    pub callback_max_attempts: u32,
    pub callback_initial_backoff_ms: u64,
    pub callback_max_backoff_ms: u64,
    pub callback_max_age_ms: u64,
    pub callback_timeout_ms: u64,
    pub callback_max_retry_after_ms: u64,
    pub callback_concurrency: usize,
    /// Deliveries of one client in flight at once per process; 0 = all but an eighth of `callback_concurrency`.
    pub callback_max_per_client: usize,
    pub callback_receiver_concurrency: usize,
    pub callback_response_body_bytes: usize,

    pub worker_concurrency: usize,
    /// Attempts of one client running at once per process; 0 = all but an eighth of `worker_concurrency`.
    pub worker_max_per_client: usize,
    pub worker_takeover_ms: u64,
    pub worker_shutdown_grace_ms: u64,
    pub worker_poll_interval_ms: u64,
    pub job_retry_initial_backoff_ms: u64,
    pub job_retry_max_backoff_ms: u64,
    pub job_default_timeout_seconds: u64,
    pub job_max_timeout_seconds: u64,
    pub job_default_max_attempts: u32,
    pub job_max_attempts_limit: u32,

    /// Succeeded and canceled jobs are deleted this long after they finish; 0 = forever.
    pub retention_seconds: u64,
    /// Failed jobs are deleted this long after they finish; 0 = forever.
    pub retention_failed_seconds: u64,
    pub retention_sweep_interval_ms: u64,

    pub max_body_bytes: usize,
    pub max_input_bytes: usize,
    /// Submissions, test events and replays per second per client (one
    /// shared rate, burst of the same size); 0 = unlimited.
    pub submit_rate_per_client: u32,
    /// Queued jobs beyond which submissions get 503.
    pub max_queued_jobs: u64,
    /// Long-polls (`?wait`) one client may hold open at once; beyond, `?wait`
    /// answers at once as a plain read. 0 = unlimited.
    pub max_waits_per_client: usize,
    /// The most jobs one `POST /v1/jobs/batch` submits (1 to 1000).
    pub max_batch_jobs: usize,
}

impl Default for RawSettings {
    fn default() -> Self {
        let domain = DomainSettings::default();
        let api = ApiSettings::default();
        let ms = |d: Duration| d.as_millis() as u64;
        Self {
            data_dir: PathBuf::from("."),
            database_url: None,
            database_max_connections: 16,
            sqlite_synchronous: "normal".into(),
            listen: "127.0.0.1:8080".into(),
            http_workers: 0,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            otlp_endpoint: None,
            jwt_secret: None,
            jwt_algorithm: "HS256".into(),
            jwt_public_key: None,
            jwt_private_key_file: None,
            jwt_issuer: None,
            jwt_audience: None,
            secrets_key: None,
            secret_rotation_overlap_seconds: api.secret_rotation_overlap.as_secs(),
            outbound_allow_cidrs: String::new(),
            outbound_allow_http: false,
            outbound_max_url_bytes: domain.outbound.max_url_bytes,
            outbound_dns_timeout_ms: ms(domain.outbound.dns_timeout),
            callback_max_attempts: domain.callbacks.max_attempts,
            callback_initial_backoff_ms: ms(domain.callbacks.backoff.initial),
            callback_max_backoff_ms: ms(domain.callbacks.backoff.max),
            callback_max_age_ms: ms(domain.callbacks.max_age),
            callback_timeout_ms: ms(domain.callbacks.attempt_timeout),
            callback_max_retry_after_ms: ms(domain.callbacks.max_retry_after),
            callback_concurrency: domain.callbacks.concurrency,
            callback_max_per_client: domain.callbacks.max_per_client,
            callback_receiver_concurrency: domain.callbacks.per_receiver_concurrency,
            callback_response_body_bytes: domain.callbacks.response_body_bytes,
            worker_concurrency: domain.worker.concurrency,
            worker_max_per_client: domain.worker.max_per_client,
            worker_takeover_ms: ms(domain.worker.takeover),
            worker_shutdown_grace_ms: ms(domain.worker.shutdown_grace),
            worker_poll_interval_ms: ms(domain.worker.poll_interval),
            job_retry_initial_backoff_ms: ms(domain.worker.retry_backoff.initial),
            job_retry_max_backoff_ms: ms(domain.worker.retry_backoff.max),
            job_default_timeout_seconds: domain.limits.default_timeout.as_secs(),
            job_max_timeout_seconds: domain.limits.max_timeout.as_secs(),
            job_default_max_attempts: domain.limits.default_max_attempts,
            job_max_attempts_limit: domain.limits.max_max_attempts,
            retention_seconds: seconds_or_forever(domain.retention.finished),
            retention_failed_seconds: seconds_or_forever(domain.retention.failed),
            retention_sweep_interval_ms: ms(domain.retention.sweep_interval),
            max_body_bytes: api.max_body_bytes,
            max_input_bytes: domain.limits.max_input_bytes,
            submit_rate_per_client: api.submit_rate_per_client,
            max_queued_jobs: api.max_queued_jobs,
            max_waits_per_client: api.max_waits_per_client,
            max_batch_jobs: api.max_batch_jobs,
        }
    }
}

/// The settings, checked and typed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database: DatabaseOptions,
    pub listen: SocketAddr,
    pub http_workers: usize,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Where spans are exported (the OTLP/HTTP traces URL), if anywhere.
    pub otlp_traces_url: Option<String>,
    pub jwt: JwtSettings,
    pub secrets_key: Option<Secret>,
    pub domain: DomainSettings,
    pub api: ApiSettings,
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub algorithm: jsonwebtoken::Algorithm,
    pub secret: Option<Secret>,
    pub public_key_pem: Option<Vec<u8>>,
    pub private_key_file: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl JwtSettings {
    /// The verification side, given the HS256 secret in use.
    pub fn auth_config(&self, hs256_secret: Option<&[u8]>) -> Result<AuthConfig, KeyError> {
        let material = KeyMaterial {
            secret: hs256_secret,
            public_pem: self.public_key_pem.as_deref(),
        };
        AuthConfig::new(
            self.algorithm,
            material,
            self.issuer.clone(),
            self.audience.clone(),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: `{key}` {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

impl Settings {
    /// Defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawSettings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("JOBCALL_"));
        let raw: RawSettings = figment.extract().map_err(Box::new)?;
        Self::check(raw)
    }

    /// Checks raw settings and gives them their types.
    pub fn check(raw: RawSettings) -> Result<Self, ConfigError> {
        let listen = raw.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("`{}` is not an address like 127.0.0.1:8080", raw.listen),
            )
        })?;
        let url = match &raw.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", raw.data_dir.join("jobcall.db").display()),
        };
        if backend_of_url(&url).is_none() {
            return Err(invalid(
                "database_url",
                format!(
                    "`{}` is neither sqlite:// nor postgres://",
                    redact_url(&url)
                ),
            ));
        }
        let otlp_traces_url = raw
            .otlp_endpoint
            .as_deref()
            .map(otlp_traces_url)
            .transpose()?;
        let sqlite_synchronous_full = match raw.sqlite_synchronous.to_ascii_lowercase().as_str() {
            "normal" => false,
            "full" => true,
            other => {
                return Err(invalid(
                    "sqlite_synchronous",
                    format!("`{other}` is not `normal` or `full`"),
                ));
            }
        };
        let algorithm = parse_algorithm(&raw.jwt_algorithm)
            .map_err(|e| invalid("jwt_algorithm", e.to_string()))?;
        let public_key_pem = raw
            .jwt_public_key
            .as_deref()
            .map(read_pem)
            .transpose()
            .map_err(|m| invalid("jwt_public_key", m))?;
        let allow_cidrs = raw
            .outbound_allow_cidrs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>().map_err(|_| {
                    invalid(
                        "outbound_allow_cidrs",
                        format!("`{s}` is not a CIDR like 127.0.0.0/8"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(key) = &raw.secrets_key {
            EncryptionKey::parse(key.expose())
                .map_err(|e| invalid("secrets_key", e.to_string()))?;
        }

        positive(
            "database_max_connections",
            raw.database_max_connections as u64,
        )?;
        positive("callback_max_attempts", raw.callback_max_attempts as u64)?;
        positive(
            "callback_initial_backoff_ms",
            raw.callback_initial_backoff_ms,
        )?;
        positive("callback_timeout_ms", raw.callback_timeout_ms)?;
        positive("outbound_dns_timeout_ms", raw.outbound_dns_timeout_ms)?;
        positive("callback_concurrency", raw.callback_concurrency as u64)?;
        positive(
            "callback_receiver_concurrency",
            raw.callback_receiver_concurrency as u64,
        )?;
        positive("worker_concurrency", raw.worker_concurrency as u64)?;
        positive("worker_poll_interval_ms", raw.worker_poll_interval_ms)?;
        positive(
            "retention_sweep_interval_ms",
            raw.retention_sweep_interval_ms,
        )?;
        positive(
            "job_retry_initial_backoff_ms",
            raw.job_retry_initial_backoff_ms,
        )?;
        positive(
            "job_default_timeout_seconds",
            raw.job_default_timeout_seconds,
        )?;
        positive(
            "job_default_max_attempts",
            raw.job_default_max_attempts as u64,
        )?;
        positive("max_body_bytes", raw.max_body_bytes as u64)?;
        if !(1..=1000).contains(&raw.max_batch_jobs) {
            return Err(invalid("max_batch_jobs", "must be 1 to 1000"));
        }
        if raw.worker_takeover_ms < 1000 {
            return Err(invalid("worker_takeover_ms", "must be at least 1000"));
        }
        if raw.callback_max_backoff_ms < raw.callback_initial_backoff_ms {
            return Err(invalid(
                "callback_max_backoff_ms",
                "must not be less than callback_initial_backoff_ms",
            ));
        }
        if raw.job_retry_max_backoff_ms < raw.job_retry_initial_backoff_ms {
            return Err(invalid(
                "job_retry_max_backoff_ms",
                "must not be less than job_retry_initial_backoff_ms",
            ));
        }
        if raw.job_default_timeout_seconds > raw.job_max_timeout_seconds {
            return Err(invalid(
                "job_default_timeout_seconds",
                "must not exceed job_max_timeout_seconds",
            ));
        }
        if raw.job_default_max_attempts > raw.job_max_attempts_limit {
            return Err(invalid(
                "job_default_max_attempts",
                "must not exceed job_max_attempts_limit",
            ));
        }

        let ms = Duration::from_millis;
        let domain = DomainSettings {
            limits: JobLimits {
                max_input_bytes: raw.max_input_bytes,
                default_timeout: Duration::from_secs(raw.job_default_timeout_seconds),
                max_timeout: Duration::from_secs(raw.job_max_timeout_seconds),
                default_max_attempts: raw.job_default_max_attempts,
                max_max_attempts: raw.job_max_attempts_limit,
                ..JobLimits::default()
            },
            worker: WorkerSettings {
                concurrency: raw.worker_concurrency,
                max_per_client: raw.worker_max_per_client,
                takeover: ms(raw.worker_takeover_ms),
                shutdown_grace: ms(raw.worker_shutdown_grace_ms),
                retry_backoff: Backoff {
                    initial: ms(raw.job_retry_initial_backoff_ms),
                    max: ms(raw.job_retry_max_backoff_ms),
                },
                poll_interval: ms(raw.worker_poll_interval_ms),
            },
            callbacks: CallbackSettings {
                max_attempts: raw.callback_max_attempts,
                backoff: Backoff {
                    initial: ms(raw.callback_initial_backoff_ms),
                    max: ms(raw.callback_max_backoff_ms),
                },
                max_age: ms(raw.callback_max_age_ms),
                attempt_timeout: ms(raw.callback_timeout_ms),
                max_retry_after: ms(raw.callback_max_retry_after_ms),
                concurrency: raw.callback_concurrency,
                max_per_client: raw.callback_max_per_client,
                per_receiver_concurrency: raw.callback_receiver_concurrency,
                response_body_bytes: raw.callback_response_body_bytes,
            },
            outbound: OutboundPolicy {
                allow_http: raw.outbound_allow_http,
                allow_cidrs,
                max_url_bytes: raw.outbound_max_url_bytes,
                dns_timeout: ms(raw.outbound_dns_timeout_ms),
            },
            retention: RetentionSettings {
                finished: kept_for(raw.retention_seconds),
                failed: kept_for(raw.retention_failed_seconds),
                sweep_interval: ms(raw.retention_sweep_interval_ms),
                ..RetentionSettings::default()
            },
        };
        let api = ApiSettings {
            max_body_bytes: raw.max_body_bytes,
            submit_rate_per_client: raw.submit_rate_per_client,
            max_queued_jobs: raw.max_queued_jobs,
            max_waits_per_client: raw.max_waits_per_client,
            max_batch_jobs: raw.max_batch_jobs,
            secret_rotation_overlap: Duration::from_secs(raw.secret_rotation_overlap_seconds),
        };
        Ok(Self {
            data_dir: raw.data_dir,
            database: DatabaseOptions {
                url,
                max_connections: raw.database_max_connections,
                sqlite_synchronous_full,
            },
            listen,
            http_workers: raw.http_workers,
            log_format: raw.log_format,
            log_level: raw.log_level,
            otlp_traces_url,
            jwt: JwtSettings {
                algorithm,
                secret: raw.jwt_secret,
                public_key_pem,
                private_key_file: raw.jwt_private_key_file,
                issuer: raw.jwt_issuer,
                audience: raw.jwt_audience,
            },
            secrets_key: raw.secrets_key,
            domain,
            api,
        })
    }
}

/// A retention in seconds as configured: 0 means forever.
fn kept_for(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

fn seconds_or_forever(keep: Option<Duration>) -> u64 {
    keep.map_or(0, |keep| keep.as_secs())
}

/// The traces URL of an OTLP/HTTP collector: `…/v1/traces` appended to
/// its base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` is read.
fn otlp_traces_url(endpoint: &str) -> Result<String, ConfigError> {
    let endpoint = endpoint.trim().trim_end_matches('/');
    let scheme_ok = endpoint.starts_with("http://") || endpoint.starts_with("https://");
    if !scheme_ok || endpoint.contains(char::is_whitespace) {
        return Err(invalid(
            "otlp_endpoint",
            format!("`{endpoint}` is not an http(s) URL like http://127.0.0.1:4318"),
        ));
    }
    Ok(if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/v1/traces")
    })
}

fn positive(key: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(invalid(key, "must be greater than 0"))
    } else {
        Ok(())
    }
}

/// PEM text as given, or read from the path given.
fn read_pem(value: &str) -> Result<Vec<u8>, String> {
    if value.contains("-----BEGIN") {
        Ok(value.as_bytes().to_vec())
    } else {
        std::fs::read(value).map_err(|e| format!("cannot read `{value}`: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_need_nothing() {
        let settings = Settings::check(RawSettings::default()).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database.url, "sqlite://./jobcall.db");
        assert_eq!(settings.domain.worker.takeover, Duration::from_secs(60));
        assert_eq!(settings.api.max_waits_per_client, 100);
        assert_eq!(settings.api.max_batch_jobs, 100);
        assert_eq!(settings.otlp_traces_url, None);
    }

    #[test]
    fn the_otlp_endpoint_is_a_base_url() {
        for (given, url) in [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
            ("https://otel.example/", "https://otel.example/v1/traces"),
            ("http://c:4318/v1/traces", "http://c:4318/v1/traces"),
        ] {
            assert_eq!(otlp_traces_url(given).unwrap(), url);
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: Vec<(RawSettings, &str)> = vec![
            (
                RawSettings {
                    listen: "nowhere".into(),
                    ..Default::default()
                },
                "`listen`",
            ),
            (
                RawSettings {
                    outbound_allow_cidrs: "127.0.0.0/8, nonsense".into(),
                    ..Default::default()
                },
                "`outbound_allow_cidrs`",
            ),
            (
                RawSettings {
                    jwt_algorithm: "none".into(),
                    ..Default::default()
                },
                "`jwt_algorithm`",
            ),
            (
                RawSettings {
                    worker_concurrency: 0,
                    ..Default::default()
                },
                "`worker_concurrency`",
            ),
            (
                RawSettings {
                    database_url: Some(Secret("mysql://x".into())),
                    ..Default::default()
                },
                "`database_url`",
            ),
            (
                RawSettings {
                    secrets_key: Some(Secret("short".into())),
                    ..Default::default()
                },
                "`secrets_key`",
            ),
            (
                RawSettings {
                    outbound_dns_timeout_ms: 0,
                    ..Default::default()
                },
                "`outbound_dns_timeout_ms`",
            ),
            (
                RawSettings {
                    worker_takeover_ms: 10,
                    ..Default::default()
                },
                "`worker_takeover_ms`",
            ),
            (
                RawSettings {
                    max_batch_jobs: 0,
                    ..Default::default()
                },
                "`max_batch_jobs`",
            ),
            (
                RawSettings {
                    otlp_endpoint: Some("collector:4318".into()),
                    ..Default::default()
                },
                "`otlp_endpoint`",
            ),
        ];
        for (raw, key) in cases {
            let message = Settings::check(raw).unwrap_err().to_string();
            assert!(message.contains(key), "{message}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let raw = RawSettings {
            jwt_secret: Some(Secret("super-secret-value-that-is-long-enough".into())),
            database_url: Some(Secret("postgres://u:pw@h/db".into())),
            ..Default::default()
        };
        let printed = format!("{raw:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
        assert!(!printed.contains("pw@"), "{printed}");
    }

    #[test]
    // figment's Jail closure returns figment's (large) error type.
    #[allow(clippy::result_large_err)]
    fn environment_and_file_layers_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "jobcall.toml",
                "worker_concurrency = 7\nlisten = \"127.0.0.1:9000\"",
            )?;
            jail.set_env("JOBCALL_WORKER_CONCURRENCY", "9");
            jail.set_env("JOBCALL_OUTBOUND_ALLOW_HTTP", "true");
            let settings = Settings::load(Some(Path::new("jobcall.toml"))).unwrap();
            assert_eq!(settings.domain.worker.concurrency, 9);
            assert_eq!(settings.listen.to_string(), "127.0.0.1:9000");
            assert!(settings.domain.outbound.allow_http);
            jail.set_env("JOBCALL_WORKER_CONCURENCY", "3");
            let error = Settings::load(None).unwrap_err().to_string();
            assert!(error.contains("worker_concurency"), "{error}");
            Ok(())
        });
    }
}
