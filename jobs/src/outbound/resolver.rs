//! Name resolution behind the guard, injectable so tests can make a name
//! resolve differently at submit time and at delivery time.

use std::{
    io,
    net::{IpAddr, ToSocketAddrs},
};

use futures::future::BoxFuture;
use tokio::sync::Semaphore;

/// Resolves a host name to its addresses.
pub trait NameResolver: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (getaddrinfo, on a blocking thread).
///
/// getaddrinfo cannot be cancelled: when the guard's deadline gives up on a
/// lookup, the request is answered but the thread stays in getaddrinfo
/// until the system resolver's own timeouts end it (`resolv.conf`'s
/// `timeout` × `attempts` per name server, seconds to tens of seconds). The
/// thread holds one of [`MAX_SYSTEM_LOOKUPS`] permits until then, so a name
/// server that never answers ties up at most that many of tokio's blocking
/// threads (512 by default), however many requests name it; further lookups
/// wait for a permit within their own deadline, and fail at it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

/// System lookups running at once, stuck ones included.
pub const MAX_SYSTEM_LOOKUPS: usize = 64;

static SYSTEM_LOOKUPS: Semaphore = Semaphore::const_new(MAX_SYSTEM_LOOKUPS);

impl NameResolver for SystemResolver {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let permit = SYSTEM_LOOKUPS
                .acquire()
                .await
                .map_err(|_| io::Error::other("the system resolver is closed"))?;
            let addresses = tokio::task::spawn_blocking(move || {
                // Released when getaddrinfo returns, not when the caller gives up.
                let _permit = permit;
                (host.as_str(), 0).to_socket_addrs()
            })
            .await
            .map_err(io::Error::other)??;
            let mut ips: Vec<IpAddr> = addresses.map(|a| a.ip()).collect();
            ips.dedup();
            Ok(ips)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Answers from a fixed table; unknown names do not resolve.
    pub(crate) struct FixedResolver(HashMap<String, Vec<IpAddr>>);

    impl FixedResolver {
        pub(crate) fn new(entries: &[(&str, &[&str])]) -> Self {
            Self(
                entries
                    .iter()
                    .map(|(host, ips)| {
                        (
                            host.to_string(),
                            ips.iter().map(|ip| ip.parse().unwrap()).collect(),
                        )
                    })
                    .collect(),
            )
        }
    }

    impl NameResolver for FixedResolver {
        fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
            let answer = self
                .0
                .get(host)
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "unknown host"));
            Box::pin(async move { answer })
        }
    }

    #[tokio::test]
    async fn the_system_resolver_resolves_localhost() {
        let ips = SystemResolver.lookup("localhost").await.unwrap();
        assert!(ips.iter().all(|ip| ip.is_loopback()), "{ips:?}");
    }
}
