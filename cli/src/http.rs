//! The HTTP side of the client commands: one [`Api`] per command, built from the shared
//! connection flags, plus the pure helpers around it (custom headers, HTTP Basic client
//! credentials, error bodies, `Link` header pagination).

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LINK};
use reqwest::{Method, RequestBuilder, StatusCode};
use url::Url;

use crate::args::ConnectionArgs;
use crate::endpoint::{self, ApiKind, Env};
use crate::error::{error_chain, CliError, Result};

/// A configured connection to one of the two APIs.
#[derive(Debug)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    headers: HeaderMap,
    bearer: Option<String>,
}

/// A successful (2xx) answer, fully read.
#[derive(Debug)]
pub struct Reply {
    /// All `Link` header values, for pagination.
    pub links: Vec<String>,
    /// The body as text.
    pub body: String,
}

impl Api {
    /// Builds the connection from the shared flags: endpoint (flag or environment),
    /// `--skip-tls-verify`, `-H` headers and, for the admin API, `--admin-token`.
    pub fn connect(conn: &ConnectionArgs, kind: ApiKind, env: Env<'_>) -> Result<Self> {
        let base = endpoint::resolve_endpoint(conn.endpoint.as_deref(), kind, env)?;
        Self::connect_to(conn, kind, base)
    }

    /// Like [`Api::connect`], with the base URL already resolved (`conn.endpoint` is ignored).
    pub fn connect_to(conn: &ConnectionArgs, kind: ApiKind, base: Url) -> Result<Self> {
        let mut headers = HeaderMap::new();
        for raw in &conn.http_headers {
            let (name, value) = parse_header(raw)?;
            headers.append(name, value);
        }
        let bearer = match kind {
            ApiKind::Admin => conn.admin_token.clone().filter(|t| !t.is_empty()),
            ApiKind::Public => None,
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("latch/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(conn.skip_tls_verify)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::Usage(format!("cannot set up HTTP: {}", error_chain(&e))))?;
        Ok(Api { http, base, headers, bearer })
    }

    /// Whether admin calls carry an admin credential (`--admin-token`, `LATCH_ADMIN_TOKEN`).
    pub fn has_admin_credential(&self) -> bool {
        self.bearer.is_some()
    }

    /// The endpoint joined with `segments` (each percent-encoded).
    pub fn url(&self, segments: &[&str]) -> Result<Url> {
        endpoint::join(&self.base, segments)
    }

    /// Starts a request, carrying the admin token on admin API calls. Headers given with `-H`
    /// are applied last, in [`Api::send`], so they replace anything set here or by the caller
    /// (a `-H "Authorization: ..."` wins over the admin token and client credentials).
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let mut req = self.http.request(method, url);
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        req
    }

    /// Sends the request (after applying the `-H` headers, which replace any header of the
    /// same name) and reads the answer; statuses outside 2xx become [`CliError::Server`].
    pub async fn send(&self, req: RequestBuilder) -> Result<Reply> {
        let (status, reply) = self.exchange(req).await?;
        if !status.is_success() {
            return Err(CliError::Server { status: status.as_u16(), detail: describe_error_body(&reply.body) });
        }
        Ok(reply)
    }

    /// Like [`Api::send`], but any status is an answer: for callers that act on error bodies
    /// (a `410 Gone` carrying `redirect_to`, an error page showing `error_description`).
    /// Only transport failures are errors.
    pub async fn exchange(&self, req: RequestBuilder) -> Result<(StatusCode, Reply)> {
        let req = req
            .headers(self.headers.clone())
            .build()
            .map_err(|e| CliError::Usage(format!("cannot build request: {}", error_chain(&e))))?;
        let url = redact(req.url());
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| CliError::Transport { url: url.clone(), detail: error_chain(&e) })?;
        let status = resp.status();
        let links = resp.headers().get_all(LINK).iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect();
        let body = resp.text().await.map_err(|e| CliError::Transport { url, detail: error_chain(&e) })?;
        Ok((status, Reply { links, body }))
    }
}

/// The URL without userinfo, for error messages.
fn redact(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

/// Parses a `-H "Name: value"` flag.
pub fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue)> {
    let bad = |why: &str| CliError::Usage(format!("-H {raw:?}: {why} (expected \"Name: value\")"));
    let (name, value) = raw.split_once(':').ok_or_else(|| bad("missing ':'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("invalid header name"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad("invalid header value"))?;
    Ok((name, value))
}

/// `Authorization` value for `client_secret_basic`: RFC 6749 §2.3.1 says the client ID and
/// secret are form-urlencoded before being joined with `:` and base64-encoded.
pub fn basic_auth_value(client_id: &str, client_secret: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String = url::form_urlencoded::byte_serialize(client_secret.as_bytes()).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    format!("Basic {encoded}")
}

/// Turns an error body into one line: `error: error_description` for OAuth 2.0 style
/// errors, `message: reason` for `{"error": {...}}` style, else the (trimmed) text.
pub fn describe_error_body(body: &str) -> String {
    let text = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(body) {
        let (head, tail) = match obj.get("error") {
            Some(serde_json::Value::Object(inner)) => {
                (text(inner.get("message")).or_else(|| text(inner.get("status"))), text(inner.get("reason")))
            }
            other => (text(other), text(obj.get("error_description")).or_else(|| text(obj.get("error_hint")))),
        };
        let parts: Vec<String> = head.into_iter().chain(tail).collect();
        if !parts.is_empty() {
            return parts.join(": ");
        }
    }
    const MAX: usize = 500;
    let trimmed = body.trim();
    match trimmed.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

/// One entry of a `Link` header: the target and its parameters (names lower-cased).
#[derive(Debug, PartialEq, Eq)]
struct Link {
    target: String,
    params: Vec<(String, String)>,
}

/// Parses RFC 8288 `Link` header values (`<uri>; rel="next", <uri>; rel="first"`), tolerating
/// commas inside `<...>` and quoted strings.
fn parse_links(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(after_lt) = rest.strip_prefix('<') else {
            break;
        };
        let Some(end) = after_lt.find('>') else {
            break;
        };
        let target = after_lt[..end].to_owned();
        rest = &after_lt[end + 1..];
        // Parameters run until a comma outside quotes.
        let mut in_quotes = false;
        let mut stop = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    stop = i;
                    break;
                }
                _ => {}
            }
        }
        let params = rest[..stop]
            .split(';')
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
            })
            .collect();
        links.push(Link { target, params });
        rest = &rest[stop..];
    }
    links
}

/// The `page_token` of the `rel="next"` link, if the server announced a next page.
pub fn next_page_token(link_values: &[String]) -> Option<String> {
    link_values
        .iter()
        .flat_map(|v| parse_links(v))
        .find(|l| l.params.iter().any(|(k, v)| k == "rel" && v.split_whitespace().any(|r| r == "next")))
        .and_then(|l| {
            let query = l.target.split_once('?')?.1;
            let query = query.split('#').next().unwrap_or_default();
            url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "page_token").map(|(_, v)| v.into_owned())
        })
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_flag_parsing() {
        let (n, v) = parse_header("X-Forwarded-Proto: https").unwrap();
        assert_eq!(n.as_str(), "x-forwarded-proto");
        assert_eq!(v.to_str().unwrap(), "https");
        let (n, v) = parse_header("Authorization:Bearer a:b").unwrap();
        assert_eq!(n.as_str(), "authorization");
        assert_eq!(v.to_str().unwrap(), "Bearer a:b");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header(": x").is_err());
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        // "my-client:secret"
        assert_eq!(basic_auth_value("my-client", "secret"), "Basic bXktY2xpZW50OnNlY3JldA==");
        // "a%3Ab+c:p%26ss%2F" : ':' '&' '/' are encoded, space becomes '+'.
        let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("a%3Ab+c:p%26ss%2F"));
        assert_eq!(basic_auth_value("a:b c", "p&ss/"), expected);
    }

    #[test]
    fn oauth_error_body() {
        let body =
            r#"{"error":"invalid_client","error_description":"Client authentication failed.","status_code":401}"#;
        assert_eq!(describe_error_body(body), "invalid_client: Client authentication failed.");
        assert_eq!(describe_error_body(r#"{"error":"not_found"}"#), "not_found");
    }

    #[test]
    fn nested_error_body() {
        let body = r#"{"error":{"code":404,"status":"Not Found","message":"Unable to locate the resource","reason":"no client my-client"}}"#;
        assert_eq!(describe_error_body(body), "Unable to locate the resource: no client my-client");
    }

    #[test]
    fn non_json_error_body() {
        assert_eq!(describe_error_body("  Bad Gateway\n"), "Bad Gateway");
        assert_eq!(describe_error_body(""), "");
        let long = "x".repeat(600);
        assert_eq!(describe_error_body(&long), format!("{}...", "x".repeat(500)));
    }

    #[test]
    fn next_link_token() {
        let link = r#"</admin/clients?page_size=2&page_token=eyJwYWdlIjoiMiJ9>; rel="next",</admin/clients?page_size=2&page_token=>; rel="first""#;
        assert_eq!(next_page_token(&[link.to_owned()]), Some("eyJwYWdlIjoiMiJ9".to_owned()));
    }

    #[test]
    fn next_link_across_headers_and_percent_encoding() {
        let values = vec![
            r#"<http://h/admin/clients?page_token=a%2Cb%3D&page_size=10>; rel="first""#.to_owned(),
            r#"<http://h/admin/clients?page_token=c%2Cd%3D&page_size=10>; rel=next"#.to_owned(),
        ];
        assert_eq!(next_page_token(&values), Some("c,d=".to_owned()));
    }

    #[test]
    fn no_next_link() {
        let link = r#"</admin/clients?page_size=2&page_token=abc>; rel="first""#;
        assert_eq!(next_page_token(&[link.to_owned()]), None);
        assert_eq!(next_page_token(&[]), None);
        assert_eq!(next_page_token(&["garbage".to_owned()]), None);
    }

    #[test]
    fn link_parser_handles_commas_in_targets() {
        let links = parse_links(r#"<http://h/x?a=1,2>; rel="next"; title="a, b", <http://h/y>; rel=first"#);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].target, "http://h/x?a=1,2");
        assert_eq!(
            links[0].params,
            vec![("rel".to_owned(), "next".to_owned()), ("title".to_owned(), "a, b".to_owned())]
        );
        assert_eq!(links[1].target, "http://h/y");
    }
}
