//! A minimal HTTP/1.1 client for one worker: hyper 1's low-level connection API, one
//! keep-alive connection per origin, one request at a time, no redirect following.
//!
//! A kept-alive connection the server closed meanwhile is replaced once, and the
//! request sent again on the new one.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderName, CONTENT_LENGTH, COOKIE, HOST, LOCATION, SET_COOKIE};
use hyper::{HeaderMap, Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::{Position, Url};

use crate::flow::{short, FlowError};

/// No answer within this time fails the request.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An answer, its body read in full.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The Location header, if it is there and readable.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The body as text (lossy: only for messages).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// A server's base URL, split once: where to connect and the path prefix of its endpoints.
pub struct Origin {
    host: String,
    port: u16,
    /// host[:port], for the Host header.
    authority: String,
    /// The base URL's path without its trailing slash ("" for the root).
    pub prefix: String,
}

impl Origin {
    pub fn new(base: &Url) -> Result<Self, String> {
        let t = Target::of(base)?;
        Ok(Origin {
            host: t.host.to_owned(),
            port: t.port,
            authority: t.authority.to_owned(),
            prefix: base.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// Where a request goes: the parts of an `http://` URL the connection and the request
/// line need.
pub struct Target<'a> {
    host: &'a str,
    port: u16,
    authority: &'a str,
    /// path?query, for the request line.
    pub path: &'a str,
}

impl<'a> Target<'a> {
    /// A URL the server sent (Location, redirect_to), parsed.
    pub fn of(u: &'a Url) -> Result<Self, String> {
        if u.scheme() != "http" {
            return Err(format!("{}: only http:// is supported", short(u.as_str(), 300)));
        }
        Ok(Target {
            host: u.host_str().unwrap_or(""),
            port: u.port_or_known_default().unwrap_or(80),
            authority: &u[Position::BeforeHost..Position::AfterPort],
            path: &u[Position::BeforePath..Position::AfterQuery],
        })
    }

    /// `path` (already encoded, with the origin's prefix) on a known origin: the URLs
    /// the flows build themselves need no parsing.
    pub fn on(origin: &'a Origin, path: &'a str) -> Self {
        Target { host: &origin.host, port: origin.port, authority: &origin.authority, path }
    }

    /// The path without the query (for cookie paths).
    pub fn pathname(&self) -> &'a str {
        self.path.split_once('?').map_or(self.path, |(p, _)| p)
    }
}

struct Conn {
    host: String,
    port: u16,
    sender: SendRequest<Full<Bytes>>,
}

/// One worker's connections (a handful: one per origin).
pub struct Client {
    conns: Vec<Conn>,
    trace: bool,
}

impl Client {
    pub fn new(trace: bool) -> Self {
        Client { conns: Vec::new(), trace }
    }

    /// Sends one request and reads the whole answer. `headers` come after Host;
    /// Content-Length is added for a body, and as 0 for a bodiless non-GET request.
    pub async fn request(
        &mut self,
        method: Method,
        target: &Target<'_>,
        headers: &[(HeaderName, &str)],
        body: Option<Bytes>,
    ) -> Result<Response, FlowError> {
        let res = match tokio::time::timeout(TIMEOUT, self.send(target, &method, headers, &body)).await {
            Ok(res) => res,
            Err(_) => {
                self.forget(target.host, target.port);
                Err("no answer in 30 s".to_string())
            }
        }
        .map_err(|e| FlowError(format!("{method} {}: {e}", target.pathname())))?;
        if self.trace {
            trace(&method, target.path, headers, &res);
        }
        Ok(res)
    }

    async fn send(
        &mut self,
        t: &Target<'_>,
        method: &Method,
        headers: &[(HeaderName, &str)],
        body: &Option<Bytes>,
    ) -> Result<Response, String> {
        let (i, fresh) = self.connection(t.host, t.port).await?;
        let req = build(t, method, headers, body)?;
        match exchange(&mut self.conns[i].sender, req).await {
            Ok(res) => Ok(res),
            Err(e) => {
                self.conns.swap_remove(i);
                if fresh {
                    return Err(e.to_string());
                }
                // A kept-alive connection the server closed meanwhile: retry once on a new one.
                let i = self.connect(t.host, t.port).await?;
                let res = exchange(&mut self.conns[i].sender, build(t, method, headers, body)?).await;
                res.map_err(|e| {
                    self.conns.swap_remove(i);
                    e.to_string()
                })
            }
        }
    }

    /// The index of the connection to host:port, and whether it is a new one.
    async fn connection(&mut self, host: &str, port: u16) -> Result<(usize, bool), String> {
        if let Some(i) = self.find(host, port) {
            if !self.conns[i].sender.is_closed() {
                return Ok((i, false));
            }
            self.conns.swap_remove(i);
        }
        Ok((self.connect(host, port).await?, true))
    }

    fn find(&self, host: &str, port: u16) -> Option<usize> {
        self.conns.iter().position(|c| c.port == port && c.host == host)
    }

    fn forget(&mut self, host: &str, port: u16) {
        if let Some(i) = self.find(host, port) {
            self.conns.swap_remove(i);
        }
    }

    /// Opens a new connection to host:port and returns its index.
    async fn connect(&mut self, host: &str, port: u16) -> Result<usize, String> {
        let tcp = TcpStream::connect((host, port)).await.map_err(|e| format!("connect {host}:{port}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
        // The connection's own task; its errors reach the sender's next request.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.conns.push(Conn { host: host.to_owned(), port, sender });
        Ok(self.conns.len() - 1)
    }
}

fn build(
    t: &Target<'_>,
    method: &Method,
    headers: &[(HeaderName, &str)],
    body: &Option<Bytes>,
) -> Result<Request<Full<Bytes>>, String> {
    let mut req = Request::builder().method(method.clone()).uri(t.path).header(HOST, t.authority);
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    if let Some(b) = body {
        req = req.header(CONTENT_LENGTH, b.len());
    } else if method != Method::GET {
        req = req.header(CONTENT_LENGTH, 0);
    }
    req.body(Full::new(body.clone().unwrap_or_default())).map_err(|e| format!("bad request: {e}"))
}

async fn exchange(sender: &mut SendRequest<Full<Bytes>>, req: Request<Full<Bytes>>) -> Result<Response, hyper::Error> {
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    let (parts, body) = res.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response { status: parts.status.as_u16(), headers: parts.headers, body })
}

/// FLOWS_TRACE=1: one line per request on stderr.
fn trace(method: &Method, path: &str, headers: &[(HeaderName, &str)], res: &Response) {
    let mut line = format!("[trace] {method} {}", short(path, 90));
    if let Some((_, cookie)) = headers.iter().find(|(k, _)| k == COOKIE) {
        let names: Vec<&str> = cookie.split("; ").map(cookie_name).collect();
        line += &format!(" (cookies: {})", names.join(", "));
    }
    line += &format!(" → {}", res.status);
    if let Some(loc) = res.location() {
        line += &format!(" {}", short(loc, 70));
    }
    let set: Vec<&str> = res
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| cookie_name(c.split(';').next().unwrap_or("")))
        .collect();
    if !set.is_empty() {
        line += &format!(" set-cookie: {}", set.join(", "));
    }
    eprintln!("{line}");
}

fn cookie_name(pair: &str) -> &str {
    pair.split('=').next().unwrap_or("")
}
