//! The outbound URL guard. A URL is parsed once into a [`CheckedUrl`] (the
//! syntax rules), and its host is checked against the address rules twice:
//! at submit time, and again by the resolver at connect time.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use ipnet::IpNet;
use url::{Host, Url};

use super::{AddressClass, NameResolver, classify};

/// What outbound requests may reach.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Plain `http://` URLs are refused unless this is set.
    pub allow_http: bool,
    /// Ranges opened despite their class, e.g. `127.0.0.0/8` for local testing.
    pub allow_cidrs: Vec<IpNet>,
    /// The longest URL accepted, in bytes.
    pub max_url_bytes: usize,
    /// How long a name lookup may take, at submit time and at connect time.
    /// A name server that never answers must not hold a request open.
    pub dns_timeout: Duration,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_cidrs: Vec::new(),
            max_url_bytes: 2048,
            dns_timeout: Duration::from_secs(3),
        }
    }
}

/// Why an outbound URL is refused. The messages go back to the client that
/// chose the URL: they name the class of a refused address, never the
/// address, so that the guard cannot be used to learn what internal names
/// resolve to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("is not a valid absolute URL ({0})")]
    Invalid(String),
    #[error("must use https (or http where allowed), not `{0}`")]
    Scheme(String),
    #[error("must use https: plain http is not allowed by this server")]
    HttpNotAllowed,
    #[error("must not contain credentials")]
    Credentials,
    #[error("must not contain a fragment")]
    Fragment,
    #[error("must name a host")]
    NoHost,
    /// `ip` is for the server's own logs (`Debug`); the message leaves it out.
    #[error("points to a {class} address, which is not allowed")]
    Blocked { ip: IpAddr, class: &'static str },
    #[error("host `{host}` could not be resolved: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error("host `{host}` could not be resolved within {} ms", .timeout.as_millis())]
    DnsTimeout { host: String, timeout: Duration },
}

/// A URL that passed the syntax rules of the guard: absolute, http(s) as
/// allowed, no credentials, no fragment, bounded length, with a host. Its
/// host still has to pass the address rules when it is resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckedUrl(Url);

impl CheckedUrl {
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `host:port`, to group requests by receiver.
    pub fn authority(&self) -> String {
        format!(
            "{}:{}",
            self.0.host_str().unwrap_or_default(),
            self.0.port_or_known_default().unwrap_or_default()
        )
    }
}

impl fmt::Display for CheckedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for CheckedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckedUrl({})", self.0)
    }
}

impl OutboundPolicy {
    /// The syntax rules. The WHATWG parser normalises odd host spellings
    /// first (decimal, octal, hex and short IPv4 forms, IDNs, trailing dots),
    /// so the rules below see the host a client library would connect to.
    pub fn parse_url(&self, raw: &str) -> Result<CheckedUrl, GuardError> {
        if raw.len() > self.max_url_bytes {
            return Err(GuardError::TooLong {
                max: self.max_url_bytes,
            });
        }
        let url = Url::parse(raw.trim()).map_err(|e| GuardError::Invalid(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(GuardError::HttpNotAllowed),
            other => return Err(GuardError::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::Credentials);
        }
        if url.fragment().is_some() {
            return Err(GuardError::Fragment);
        }
        match url.host() {
            None => return Err(GuardError::NoHost),
            Some(Host::Domain("")) => return Err(GuardError::NoHost),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(Host::Domain(_)) => {}
        }
        if url.as_str().len() > self.max_url_bytes {
            return Err(GuardError::TooLong {
                max: self.max_url_bytes,
            });
        }
        Ok(CheckedUrl(url))
    }

    /// The address rules: public unicast, or inside an allowed range.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), GuardError> {
        let canonical = canonical_ip(ip);
        if self
            .allow_cidrs
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return Ok(());
        }
        match classify(ip) {
            AddressClass::Public => Ok(()),
            class => Err(GuardError::Blocked {
                ip,
                class: class.as_str(),
            }),
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it maps, so allow-lists
/// written for IPv4 apply to it too.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The policy together with the resolver it checks names with.
#[derive(Clone)]
pub struct Guard {
    policy: Arc<OutboundPolicy>,
    resolver: Arc<dyn NameResolver>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Guard {
    pub fn new(policy: OutboundPolicy, resolver: Arc<dyn NameResolver>) -> Self {
        Self {
            policy: Arc::new(policy),
            resolver,
        }
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// The syntax rules, then the address rules on every address the host
    /// resolves to: one refused address refuses the URL.
    pub async fn check(&self, raw: &str) -> Result<CheckedUrl, GuardError> {
        let url = self.policy.parse_url(raw)?;
        if let Some(Host::Domain(host)) = url.as_url().host() {
            self.resolve(host).await?;
        }
        Ok(url)
    }

    /// Resolves `host` and checks every address; these are the only
    /// addresses a connection to `host` may use.
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, GuardError> {
        let timeout = self.policy.dns_timeout;
        let addresses = tokio::time::timeout(timeout, self.resolver.lookup(host))
            .await
            .map_err(|_| GuardError::DnsTimeout {
                host: host.to_owned(),
                timeout,
            })?
            .map_err(|e| GuardError::Unresolvable {
                host: host.to_owned(),
                reason: e.to_string(),
            })?;
        if addresses.is_empty() {
            return Err(GuardError::Unresolvable {
                host: host.to_owned(),
                reason: "no addresses".into(),
            });
        }
        for ip in &addresses {
            self.policy.check_ip(*ip)?;
        }
        Ok(addresses
            .into_iter()
            .map(|ip| SocketAddr::new(ip, 0))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::resolver::tests::FixedResolver;
    use proptest::prelude::*;

    fn strict() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    fn blocked(policy: &OutboundPolicy, url: &str) -> String {
        match policy.parse_url(url) {
            Err(GuardError::Blocked { class, .. }) => class.to_owned(),
            other => panic!("{url}: expected a blocked address, got {other:?}"),
        }
    }

    #[test]
    fn syntax_rules() {
        let policy = strict();
        assert!(policy.parse_url("https://example.com/hook").is_ok());
        assert_eq!(
            policy.parse_url("http://example.com/"),
            Err(GuardError::HttpNotAllowed)
        );
        assert_eq!(
            policy.parse_url("ftp://example.com/"),
            Err(GuardError::Scheme("ftp".into()))
        );
        assert_eq!(
            policy.parse_url("file:///etc/passwd"),
            Err(GuardError::Scheme("file".into()))
        );
        assert_eq!(
            policy.parse_url("gopher://example.com/"),
            Err(GuardError::Scheme("gopher".into()))
        );
        assert_eq!(
            policy.parse_url("https://user:pw@example.com/"),
            Err(GuardError::Credentials)
        );
        assert_eq!(
            policy.parse_url("https://user@example.com/"),
            Err(GuardError::Credentials)
        );
        assert_eq!(
            policy.parse_url("https://example.com/#frag"),
            Err(GuardError::Fragment)
        );
        assert!(matches!(
            policy.parse_url("/relative"),
            Err(GuardError::Invalid(_))
        ));
        assert!(matches!(
            policy.parse_url("https://"),
            Err(GuardError::Invalid(_))
        ));
        assert!(matches!(
            policy.parse_url("https://exa mple.com"),
            Err(GuardError::Invalid(_))
        ));
        let long = format!("https://example.com/{}", "a".repeat(3000));
        assert_eq!(
            policy.parse_url(&long),
            Err(GuardError::TooLong { max: 2048 })
        );
        let open = OutboundPolicy {
            allow_http: true,
            ..strict()
        };
        assert!(open.parse_url("http://example.com/").is_ok());
    }

    #[test]
    fn odd_ipv4_spellings_are_normalised_before_the_check() {
        let policy = strict();
        for url in [
            "https://127.0.0.1/",
            "https://2130706433/",   // decimal
            "https://0x7f000001/",   // hex
            "https://0x7f.0.0.1/",   // hex octet
            "https://0177.0.0.1/",   // octal
            "https://017700000001/", // octal, whole
            "https://127.1/",        // short form
            "https://127.0.1/",      // short form
            "https://127.0.0.1./",   // trailing dot
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://[::1]/",
            "https://[0:0:0:0:0:0:0:1]/",
            "https://%31%32%37.0.0.1/", // percent-encoded
            "https://１２７.０.０.１/", // full-width digits (IDNA maps them)
        ] {
            assert_eq!(blocked(&policy, url), "loopback", "{url}");
        }
        assert_eq!(blocked(&policy, "https://0/"), "unspecified");
        assert_eq!(blocked(&policy, "https://0.0.0.0/"), "unspecified");
        assert_eq!(blocked(&policy, "https://[::]/"), "unspecified");
        assert_eq!(
            blocked(&policy, "https://169.254.169.254/latest/meta-data/"),
            "cloud metadata"
        );
        assert_eq!(blocked(&policy, "https://0xa9fea9fe/"), "cloud metadata");
        assert_eq!(
            blocked(&policy, "https://[fd00:ec2::254]/"),
            "cloud metadata"
        );
        assert_eq!(blocked(&policy, "https://10.0.0.1/"), "private");
        assert_eq!(
            blocked(&policy, "https://100.64.1.1/"),
            "shared address space (CGNAT)"
        );
        assert_eq!(blocked(&policy, "https://224.0.0.1/"), "multicast");
        assert_eq!(blocked(&policy, "https://255.255.255.255/"), "broadcast");
        assert_eq!(blocked(&policy, "https://[fe80::1]/"), "link-local");
        assert_eq!(blocked(&policy, "https://[fd00::1]/"), "unique local");
        assert_eq!(blocked(&policy, "https://[64:ff9b::7f00:1]/"), "loopback");
        assert_eq!(blocked(&policy, "https://[2002:a00:1::]/"), "private");
    }

    #[test]
    fn idns_are_checked_in_their_ascii_form() {
        let policy = strict();
        // Enclosed alphanumerics fold to "localhost"; it is then a name to resolve.
        let url = policy.parse_url("https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/").unwrap();
        assert_eq!(url.as_url().host_str(), Some("localhost"));
        let url = policy.parse_url("https://bücher.example/").unwrap();
        assert_eq!(url.as_url().host_str(), Some("xn--bcher-kva.example"));
    }

    #[test]
    fn the_allow_list_opens_ranges() {
        let policy = OutboundPolicy {
            allow_http: true,
            allow_cidrs: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            ..strict()
        };
        assert!(policy.parse_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(policy.parse_url("http://[::1]:8080/hook").is_ok());
        assert!(policy.parse_url("http://[::ffff:127.0.0.1]/").is_ok());
        assert_eq!(blocked(&policy, "http://10.0.0.1/"), "private");
    }

    #[tokio::test]
    async fn names_are_refused_when_any_address_is_refused() {
        let resolver = FixedResolver::new(&[
            ("public.example", &["93.184.216.34"]),
            ("mixed.example", &["93.184.216.34", "10.0.0.5"]),
            ("localhost", &["127.0.0.1", "::1"]),
            ("metadata.example", &["169.254.169.254"]),
        ]);
        let guard = Guard::new(strict(), Arc::new(resolver));
        assert!(guard.check("https://public.example/").await.is_ok());
        assert!(matches!(
            guard.check("https://mixed.example/").await,
            Err(GuardError::Blocked {
                class: "private",
                ..
            })
        ));
        assert!(matches!(
            guard.check("https://localhost/").await,
            Err(GuardError::Blocked {
                class: "loopback",
                ..
            })
        ));
        assert!(matches!(
            guard.check("https://metadata.example/").await,
            Err(GuardError::Blocked {
                class: "cloud metadata",
                ..
            })
        ));
        assert!(matches!(
            guard.check("https://nowhere.example/").await,
            Err(GuardError::Unresolvable { .. })
        ));
    }

    #[tokio::test]
    async fn refusals_name_the_class_and_never_the_address() {
        let resolver = FixedResolver::new(&[("internal.example", &["10.1.2.3"])]);
        let guard = Guard::new(strict(), Arc::new(resolver));
        let err = guard.check("https://internal.example/").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "points to a private address, which is not allowed"
        );
        let err = strict().parse_url("https://[fd00::1234]/").unwrap_err();
        assert_eq!(
            err.to_string(),
            "points to a unique local address, which is not allowed"
        );
    }

    /// A resolver whose name server never answers.
    struct Silent;

    impl NameResolver for Silent {
        fn lookup(
            &self,
            _host: &str,
        ) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookup_that_never_answers_ends_at_the_deadline() {
        let policy = OutboundPolicy {
            dns_timeout: Duration::from_millis(250),
            ..strict()
        };
        let guard = Guard::new(policy, Arc::new(Silent));
        let err = guard.check("https://silent.example/").await.unwrap_err();
        assert_eq!(
            err,
            GuardError::DnsTimeout {
                host: "silent.example".into(),
                timeout: Duration::from_millis(250)
            }
        );
        assert_eq!(
            err.to_string(),
            "host `silent.example` could not be resolved within 250 ms"
        );
    }

    proptest! {
        // At least 4096 cases; PROPTEST_CASES=N asks for more in a long run.
        #![proptest_config(ProptestConfig::with_cases(ProptestConfig::default().cases.max(4096)))]

        /// Whatever the input, the guard answers without panicking, and
        /// anything it accepts is an https URL whose literal host is public.
        #[test]
        fn accepted_urls_are_https_with_public_literal_hosts(raw in ".{0,80}") {
            if let Ok(url) = strict().parse_url(&raw) {
                prop_assert_eq!(url.as_url().scheme(), "https");
                prop_assert!(url.as_url().username().is_empty());
                match url.as_url().host() {
                    Some(Host::Ipv4(ip)) => prop_assert_eq!(classify(IpAddr::V4(ip)), AddressClass::Public),
                    Some(Host::Ipv6(ip)) => prop_assert_eq!(classify(IpAddr::V6(ip)), AddressClass::Public),
                    Some(Host::Domain(d)) => prop_assert!(!d.is_empty()),
                    None => prop_assert!(false, "accepted a URL without a host"),
                }
            }
        }

        /// Every spelling of an IPv4 address in the private ranges is refused.
        #[test]
        fn private_ipv4_addresses_are_refused_in_any_spelling(
            a in prop_oneof![Just(10u8), Just(127u8), Just(192u8), Just(169u8), Just(0u8)],
            b: u8, c: u8, d: u8, spelling in 0..4usize,
        ) {
            let b = if a == 192 { 168 } else if a == 169 { 254 } else { b };
            let n = u32::from_be_bytes([a, b, c, d]);
            let host = match spelling {
                0 => format!("{a}.{b}.{c}.{d}"),
                1 => n.to_string(),
                2 => format!("0x{n:x}"),
                _ => format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
            };
            let result = strict().parse_url(&format!("https://{host}/"));
            prop_assert!(matches!(result, Err(GuardError::Blocked { .. })), "{} -> {:?}", host, result);
        }
    }
}
