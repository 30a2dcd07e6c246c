//! Outgoing HTTP for the core ([`Platform::fetch`](latch_core::platform::Platform::fetch):
//! clients' `jwks_uri`) and for back-channel logouts: one reqwest client that follows
//! no redirect, with the request's timeout and body limit, and, when
//! `clients.http.disallow_private_ip_ranges` asks for public destinations only, a DNS
//! resolver that drops every non-public address. The resolver is reqwest's, so the
//! address checked is the address connected to (no window for DNS rebinding between a
//! check and the connection); an address written in the URL is checked before.

use latch_core::platform::{check_destination, is_public, Outbound, OutboundResponse};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// reqwest's DNS resolution through the system resolver, keeping public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The two clients (any destination, public only), made once: a client holds a
/// connection pool, which every call shares.
fn client(public_only: bool) -> Result<&'static reqwest::Client, String> {
    static ANY: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    static PUBLIC: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    let make = || {
        let b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5));
        let b = if public_only { b.dns_resolver(Arc::new(PublicOnly)) } else { b };
        b.build().map_err(|e| e.to_string())
    };
    let cell = if public_only { &PUBLIC } else { &ANY };
    cell.get_or_init(make).as_ref().map_err(Clone::clone)
}

/// Sends `r` and reads at most `r.max_body` bytes of the answer.
pub async fn fetch(r: &Outbound) -> Result<OutboundResponse, String> {
    let url = check_destination(&r.url, r.public_only)?;
    let method = reqwest::Method::from_bytes(r.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = client(r.public_only)?.request(method, url).timeout(Duration::from_millis(r.timeout_ms));
    for (n, v) in &r.headers {
        request = request.header(n, v);
    }
    if !r.body.is_empty() {
        request = request.body(r.body.clone());
    }
    let mut response = request.send().await.map_err(|e| format!("{}: {e}", r.url))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{}: {e}", r.url))? {
        if body.len() + chunk.len() > r.max_body {
            return Err(format!("{} answered more than {} bytes", r.url, r.max_body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(OutboundResponse { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_naming_private_addresses_are_refused_when_asked() {
        assert!(check_destination("http://127.0.0.1:8080/jwks", true).is_err());
        assert!(check_destination("http://[::1]/jwks", true).is_err());
        assert!(check_destination("http://169.254.169.254/latest", true).is_err());
        assert!(check_destination("http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(check_destination("https://rp.example/jwks", true).is_ok());
        assert!(check_destination("file:///etc/passwd", false).is_err());
    }

    /// The resolver refuses a name that resolves to loopback only.
    #[tokio::test]
    async fn a_name_of_a_private_address_is_not_reached() {
        let r = Outbound {
            method: "GET",
            url: "http://localhost:9/jwks".into(),
            headers: vec![],
            body: vec![],
            timeout_ms: 2000,
            max_body: 1024,
            public_only: true,
        };
        let e = fetch(&r).await.unwrap_err();
        assert!(e.contains("localhost"), "{e}");
    }
}
