//! What the API and the workers of one process share, built once per
//! process: the database and its write path, the signal hub, the kinds,
//! the outbound client, the signing secrets, the metrics and the clock.

use std::sync::Arc;

use crate::{
    clients::SecretsCache, config::DomainSettings, kinds::Registry, metrics::Metrics,
    outbound::Outbound, signals::Signals, store::Database, store::Writer, time::Clock,
};

/// Cheap to clone: every field is a handle.
#[derive(Clone)]
pub struct Services {
    pub db: Database,
    pub writer: Writer,
    pub signals: Signals,
    pub registry: Registry,
    pub settings: DomainSettings,
    pub outbound: Outbound,
    /// The process's one cache of decrypted signing secrets.
    pub secrets: SecretsCache,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
}
