//! The one HTTP client for client-chosen URLs: no redirects, no proxies from
//! the environment, and a resolver that only returns addresses the guard
//! accepted. An IP-literal host never reaches a resolver, so `send` checks it
//! again itself.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use reqwest::{
    Method,
    dns::{Addrs, Name, Resolve, Resolving},
    header::HeaderMap,
};
use url::Host;

use super::{CheckedUrl, Guard, GuardError};

/// What kind of failure stopped an outbound request. Stored with each
/// callback attempt and used as a metrics label, so the set is small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundErrorClass {
    /// The guard refused the address at connect time.
    Blocked,
    Dns,
    Connect,
    Tls,
    Timeout,
    /// The response body could not be read.
    Body,
    Other,
}

impl OutboundErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocked => "blocked_address",
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Timeout => "timeout",
            Self::Body => "body",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OutboundError {
    pub class: OutboundErrorClass,
    pub message: String,
}

impl OutboundError {
    fn new(class: OutboundErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }

    fn from_guard(err: &GuardError) -> Self {
        let class = match err {
            GuardError::Unresolvable { .. } | GuardError::DnsTimeout { .. } => {
                OutboundErrorClass::Dns
            }
            _ => OutboundErrorClass::Blocked,
        };
        Self::new(class, format!("URL {err}"))
    }

    fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        let mut chain = String::new();
        while let Some(current) = source {
            if let Some(guard) = current.downcast_ref::<GuardError>() {
                return Self::from_guard(guard);
            }
            chain.push_str(&current.to_string().to_lowercase());
            chain.push(' ');
            source = current.source();
        }
        let err = err.without_url();
        if err.is_timeout() {
            return Self::new(
                OutboundErrorClass::Timeout,
                format!("no response within {} ms", timeout.as_millis()),
            );
        }
        let class = if chain.contains("certificate")
            || chain.contains("tls")
            || chain.contains("handshake")
        {
            OutboundErrorClass::Tls
        } else if err.is_connect() {
            OutboundErrorClass::Connect
        } else if err.is_body() || err.is_decode() {
            OutboundErrorClass::Body
        } else {
            OutboundErrorClass::Other
        };
        Self::new(class, describe(&err))
    }
}

/// An error and its causes, on one line, with any IP address in it replaced:
/// the text is stored with the delivery attempt and shown to the client, and
/// must not tell it what a name resolved to.
fn describe(err: &dyn std::error::Error) -> String {
    without_addresses(&describe_all(err))
}

fn without_addresses(text: &str) -> String {
    let in_address = |c: char| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']' | '%');
    let is_address = |run: &str| {
        let unbracketed = run.trim_start_matches('[').trim_end_matches(']');
        run.parse::<std::net::SocketAddr>().is_ok()
            || unbracketed.parse::<std::net::IpAddr>().is_ok()
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(in_address) {
        out.push_str(&rest[..start]);
        let run_len = rest[start..]
            .find(|c: char| !in_address(c))
            .unwrap_or(rest.len() - start);
        let run = &rest[start..start + run_len];
        // A sentence's full stop or a label's colon is not part of the address.
        let core = run.trim_end_matches(['.', ':']);
        if is_address(core) {
            out.push_str("[address]");
            out.push_str(&run[core.len()..]);
        } else {
            out.push_str(run);
        }
        rest = &rest[start + run_len..];
    }
    out.push_str(rest);
    out
}

fn describe_all(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The guarded outbound HTTP client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Outbound {
    http: reqwest::Client,
    guard: Guard,
}

impl Outbound {
    pub fn new(guard: Guard, user_agent: &str) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(32)
            .tcp_nodelay(true)
            .build()
            .expect("the outbound HTTP client configuration is valid");
        Self { http, guard }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Sends a request and returns the response head; the body is read by
    /// the caller, within the same `timeout`.
    pub async fn send(
        &self,
        method: Method,
        url: &CheckedUrl,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<reqwest::Response, OutboundError> {
        // Literal addresses skip the resolver: check them here, every time.
        match url.as_url().host() {
            Some(Host::Ipv4(ip)) => self.guard.policy().check_ip(ip.into()),
            Some(Host::Ipv6(ip)) => self.guard.policy().check_ip(ip.into()),
            _ => Ok(()),
        }
        .map_err(|e| OutboundError::from_guard(&e))?;
        let mut request = self
            .http
            .request(method, url.as_url().clone())
            .headers(headers)
            .timeout(timeout);
        if let Some(body) = body {
            request = request.body(body);
        }
        request
            .send()
            .await
            .map_err(|e| OutboundError::from_reqwest(e, timeout))
    }
}

/// Reads at most `limit` bytes of a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyCapture {
    pub bytes: Vec<u8>,
    /// The body went on past the limit.
    pub truncated: bool,
}

impl BodyCapture {
    pub async fn read(response: reqwest::Response, limit: usize) -> Result<Self, OutboundError> {
        let mut stream = response.bytes_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                OutboundError::new(OutboundErrorClass::Body, describe(&e.without_url()))
            })?;
            let room = limit - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                return Ok(Self {
                    bytes,
                    truncated: true,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Self {
            bytes,
            truncated: false,
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// reqwest's resolver hook: resolve through the guard, hand out only the
/// addresses it checked.
struct GuardedResolver(Guard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = guard.resolve(&host).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{OutboundPolicy, resolver::tests::FixedResolver};
    use tokio::{io::AsyncWriteExt, net::TcpListener};

    /// A local server that answers every connection with `response`.
    async fn serve(response: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        port
    }

    fn outbound(allow_loopback: bool, resolver: FixedResolver) -> Outbound {
        let policy = OutboundPolicy {
            allow_http: true,
            allow_cidrs: if allow_loopback {
                vec!["127.0.0.0/8".parse().unwrap()]
            } else {
                vec![]
            },
            ..OutboundPolicy::default()
        };
        Outbound::new(Guard::new(policy, Arc::new(resolver)), "jobcall-test")
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_refused_address_is_refused_at_connect_time() {
        let port = serve("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        let client = outbound(
            false,
            FixedResolver::new(&[("rebind.example", &["127.0.0.1"])]),
        );
        // Parsing passes: the name is only resolved when connecting.
        let url = client
            .guard()
            .policy()
            .parse_url(&format!("http://rebind.example:{port}/"))
            .unwrap();
        let err = client
            .send(
                Method::POST,
                &url,
                HeaderMap::new(),
                None,
                Duration::from_secs(2),
            )
            .await
            .unwrap_err();
        assert_eq!(err.class, OutboundErrorClass::Blocked, "{err}");
    }

    #[tokio::test]
    async fn allowed_addresses_are_reached_and_redirects_are_not_followed() {
        let port = serve(
            "HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let client = outbound(
            true,
            FixedResolver::new(&[("local.example", &["127.0.0.1"])]),
        );
        let url = client
            .guard()
            .policy()
            .parse_url(&format!("http://local.example:{port}/"))
            .unwrap();
        let response = client
            .send(
                Method::GET,
                &url,
                HeaderMap::new(),
                None,
                Duration::from_secs(2),
            )
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 302);
    }

    #[tokio::test]
    async fn literal_addresses_are_checked_on_every_send() {
        let client = outbound(false, FixedResolver::new(&[]));
        let permissive = OutboundPolicy {
            allow_http: true,
            allow_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
            ..OutboundPolicy::default()
        };
        // A URL checked under another policy is still refused by this client's.
        let url = permissive.parse_url("http://127.0.0.1:9/").unwrap();
        let err = client
            .send(
                Method::GET,
                &url,
                HeaderMap::new(),
                None,
                Duration::from_secs(2),
            )
            .await
            .unwrap_err();
        assert_eq!(err.class, OutboundErrorClass::Blocked);
    }

    #[tokio::test]
    async fn bodies_are_captured_up_to_the_limit() {
        let port = serve("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789").await;
        let client = outbound(true, FixedResolver::new(&[]));
        let url = client
            .guard()
            .policy()
            .parse_url(&format!("http://127.0.0.1:{port}/"))
            .unwrap();
        let response = client
            .send(
                Method::GET,
                &url,
                HeaderMap::new(),
                None,
                Duration::from_secs(2),
            )
            .await
            .unwrap();
        let body = BodyCapture::read(response, 4).await.unwrap();
        assert_eq!(
            body,
            BodyCapture {
                bytes: b"0123".to_vec(),
                truncated: true
            }
        );
    }

    #[test]
    fn error_texts_lose_their_addresses() {
        assert_eq!(
            without_addresses("tcp connect error (10.1.2.3:443): refused, from [fd00::1]:80."),
            "tcp connect error ([address]): refused, from [address]."
        );
        assert_eq!(
            without_addresses("error trying to connect: 10.0.0.7"),
            "error trying to connect: [address]"
        );
        assert_eq!(
            without_addresses("certificate not valid for name \"example.com\""),
            "certificate not valid for name \"example.com\""
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let client = outbound(true, FixedResolver::new(&[]));
        let url = client
            .guard()
            .policy()
            .parse_url(&format!("http://127.0.0.1:{port}/"))
            .unwrap();
        let err = client
            .send(
                Method::GET,
                &url,
                HeaderMap::new(),
                None,
                Duration::from_millis(200),
            )
            .await
            .unwrap_err();
        assert_eq!(err.class, OutboundErrorClass::Timeout, "{err}");
    }
}
