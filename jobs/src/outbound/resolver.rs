//! Name resolution behind the guard, injectable so tests can make a name
//! resolve differently at submit time and at delivery time.

use std::{io, net::IpAddr};

use futures::future::BoxFuture;

/// Resolves a host name to its addresses.
pub trait NameResolver: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (getaddrinfo, on a blocking thread).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl NameResolver for SystemResolver {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), 0)).await?;
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
