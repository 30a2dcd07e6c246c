//! The listeners: one accept loop per port, each with its own cap on connections,
//! serving HTTP/1.1 on hyper with timeouts on every way a client can hold a connection
//! without finishing a request ([`ListenerSettings`]).
//!
//! - **Connections over the cap** are closed as soon as they are accepted: the accept
//!   queue keeps moving, a flood on one port never takes the other port's connections
//!   (each listener has its own cap), and the process keeps file descriptors for its
//!   database and its other port.
//! - **The header** must arrive within `read_header_timeout`: from the connection's
//!   start for its first request, from the first byte of each later one. A client that
//!   connects and sends nothing, or sends its header a byte at a time (slowloris), is
//!   disconnected then. hyper's own header timeout starts as soon as it waits for a head,
//!   which would make a keep-alive connection's idle time the header time; the
//!   connection's [`ConnTimer`] gives hyper's timer an idle phase instead: while no byte
//!   of the next request has arrived the deadline is `idle_timeout`, and from its first
//!   byte `read_header_timeout` (Go's `http.Server`, which Hydra runs, behaves alike).
//! - **The body** must arrive within `read_timeout` of the head (see [`crate::app`]).
//! - **Writing** may make no progress for at most `write_timeout` ([`Guarded`]): a
//!   client that sends requests but never reads the answers is disconnected.
//!
//! The work per request is one counter update per read from the socket; the timers run
//! only while a connection waits.
//!
//! - **TLS** (`serve.tls.*`, see [`crate::tls`]): rustls, when the port has a
//!   certificate; the handshake must finish within `read_header_timeout`.
//!
//! HTTP/2 is not served (Hydra serves it over TLS); HTTP/1.1 is, with or without TLS.

use crate::app::{self, Server};
use crate::config::ListenerSettings;
use hyper::rt::{Sleep, Timer};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use latch_core::Port;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// How long the accept loop rests after an error that is not about one connection
/// (e.g. out of file descriptors), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// At most one warning this often about refused connections or accept errors.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Serves `port`'s API on `listener` until `shutdown` completes, then stops accepting,
/// lets the requests in flight finish and returns when every connection has closed.
/// `latch serve` and the test harness both serve through here.
pub async fn serve(
    listener: TcpListener,
    server: Server,
    port: Port,
    limits: ListenerSettings,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let router = app::router(server, port, &limits);
    // TLS when the port has a certificate (checked at start-up: see `crate::tls`).
    let tls = match &limits.tls {
        Some(files) => Some(tokio_rustls::TlsAcceptor::from(
            crate::tls::server_config(files).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?,
        )),
        None => None,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut refused: u64 = 0;
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok((stream, addr)) => (stream, Peer(addr.ip())),
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                if due(&mut last_warning) {
                    tracing::warn!(?port, error = %e, "cannot accept connections");
                }
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Over the cap: closed at once (dropping the stream closes it).
            drop(stream);
            refused += 1;
            if due(&mut last_warning) {
                tracing::warn!(
                    ?port,
                    max_connections = limits.max_connections,
                    refused,
                    "connections refused: the listener serves its maximum"
                );
            }
            continue;
        };
        let reads = Arc::new(AtomicU64::new(0));
        let guarded = Guarded::new(stream, reads.clone(), limits.write_timeout);
        let timer = ConnTimer {
            reads,
            header: limits.read_header_timeout,
            idle: limits.idle_timeout,
            heads: AtomicU64::new(0),
        };
        let http = {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(timer).header_read_timeout(limits.read_header_timeout);
            b
        };
        // Each request carries its connection's peer address (the core limits dynamic
        // registrations by it).
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            router.clone(),
            move |mut r: axum::http::Request<hyper::body::Incoming>| {
                r.extensions_mut().insert(peer);
                r
            },
        ));
        match &tls {
            None => {
                let conn = graceful.watch(http.serve_connection(TokioIo::new(guarded), service));
                tokio::spawn(async move {
                    // A connection's end (a timeout, a reset, a malformed request) is the
                    // client's business; hyper has answered what could be answered.
                    let _ = conn.await;
                    drop(permit);
                });
            }
            Some(acceptor) => {
                let (acceptor, watcher) = (acceptor.clone(), graceful.watcher());
                let handshake_timeout = limits.read_header_timeout;
                tokio::spawn(async move {
                    // The handshake is part of the head: it has the header's time to finish.
                    if let Ok(Ok(stream)) = tokio::time::timeout(handshake_timeout, acceptor.accept(guarded)).await {
                        let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
                    }
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The TCP peer's address of the connection a request came on.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub std::net::IpAddr);

/// Whether an accept error concerns only the connection being accepted.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// True at most once every [`WARN_EVERY`].
fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

/// A connection's socket, counting its reads (for [`ConnTimer`]) and closing it when
/// writing makes no progress for `write_timeout`.
struct Guarded {
    stream: TcpStream,
    /// Reads that returned bytes; only this connection's task updates it.
    reads: Arc<AtomicU64>,
    write_timeout: Duration,
    /// Armed while a write waits for the client to read.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    stalled: bool,
}

impl Guarded {
    fn new(stream: TcpStream, reads: Arc<AtomicU64>, write_timeout: Duration) -> Guarded {
        Guarded { stream, reads, write_timeout, stall: None, stalled: false }
    }

    /// Tracks a write's outcome: progress disarms the stall timer, waiting arms it, and
    /// waiting past `write_timeout` is an error that closes the connection.
    fn track<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = false;
            return polled;
        }
        let deadline = tokio::time::Instant::now() + self.write_timeout;
        let stall = match &mut self.stall {
            Some(stall) => {
                if !self.stalled {
                    stall.as_mut().reset(deadline);
                }
                stall
            }
            None => self.stall.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.stalled = true;
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing of the response within the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            // One task updates it: a load and a store, no read-modify-write.
            this.reads.store(this.reads.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.track(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.track(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.track(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.track(cx, polled)
    }
}

/// hyper's timer for one connection. hyper's HTTP/1 server uses its timer only for the
/// header read timeout, asking for one deadline per request head it waits for. The
/// first head's deadline is hyper's own (the connection's start plus
/// `read_header_timeout`); every later one starts with an idle phase: `idle` from now,
/// until a byte arrives, and then `header` from that byte.
struct ConnTimer {
    reads: Arc<AtomicU64>,
    header: Duration,
    idle: Duration,
    /// How many head deadlines hyper asked for.
    heads: AtomicU64,
}

impl Timer for ConnTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(HeadDeadline::fixed(tokio::time::Instant::now() + duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        if self.heads.fetch_add(1, Ordering::Relaxed) == 0 {
            return Box::pin(HeadDeadline::fixed(tokio::time::Instant::from_std(deadline)));
        }
        let idle_until = tokio::time::Instant::now() + self.idle;
        Box::pin(HeadDeadline {
            sleep: Box::pin(tokio::time::sleep_until(idle_until)),
            idle: Some((self.reads.clone(), self.reads.load(Ordering::Relaxed))),
            header: self.header,
        })
    }
}

/// One head's deadline (see [`ConnTimer`]).
struct HeadDeadline {
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// In the idle phase: the connection's read counter and its value when the phase began.
    idle: Option<(Arc<AtomicU64>, u64)>,
    header: Duration,
}

impl HeadDeadline {
    fn fixed(deadline: tokio::time::Instant) -> HeadDeadline {
        HeadDeadline { sleep: Box::pin(tokio::time::sleep_until(deadline)), idle: None, header: Duration::ZERO }
    }
}

impl Sleep for HeadDeadline {}

impl Future for HeadDeadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some((reads, at_start)) = &this.idle {
            if reads.load(Ordering::Relaxed) != *at_start {
                // The next request's first bytes are in: its head has `header` from now.
                this.idle = None;
                this.sleep.as_mut().reset(tokio::time::Instant::now() + this.header);
            }
        }
        this.sleep.as_mut().poll(cx)
    }
}

/// Raises the soft limit on open files to the hard limit (as Go's runtime does for
/// Hydra), so the connection caps, not the default soft limit of 1024, bound what a
/// flood of connections can take. Returns the soft limit now in force, if known.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                lim = raised;
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is u64 on Linux, not everywhere
        Some(u64::from(lim.rlim_cur))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
