//! flowgen: the load generator of complete OAuth 2.0 authorization-code flows.
//!
//! One flow is eight HTTP requests: the authorization request (PKCE S256, state, nonce),
//! the login read and acceptance, the return to the authorization endpoint with the
//! browser's cookies, the consent read and acceptance, the return that redirects to the
//! client with the code, and the token exchange. A flow counts only when every step
//! answered as expected and the token response holds an access token, a refresh token and
//! an ID token with the flow's nonce, audience and subject (see flow.rs).
//!
//! `--kind par` pushes each flow's authorization request first (RFC 9126: `POST
//! /oauth2/par` on Latch, `/request` on node-oidc-provider, client_secret_basic as at the
//! token endpoint, 201 with a `request_uri`) and sends the browser with `client_id` and
//! that `request_uri` only: nine requests. `--kind dpop` gives each worker an ES256 key,
//! made before its first flow, and each flow's token request a fresh DPoP proof of it
//! (RFC 9449: new `jti`, current `iat`, `htm` POST, `htu` the token endpoint); the answer
//! must then also say `token_type` DPoP (see dpop.rs). A worker is one client instance
//! (which keeps its key, as DPoP clients do), each of its flows a new browser (a cookie
//! jar of its own); a key per flow would only add a key generation per flow to this
//! process's CPU, since neither server keeps anything per key.
//!
//! It shares the benchmark machine's cores with the server under test, so it is built to
//! cost little CPU: one thread by default (a tokio current_thread runtime) with hyper's
//! low-level HTTP/1.1 client, one keep-alive connection per worker and origin, no
//! redirect following. `--threads N` spreads the workers over N threads.
//!
//! Usage:
//!   flowgen latch --public URL --admin URL [mode] [options]
//!       Hydra's login & consent protocol; the login & consent app is scripted through
//!       the admin API (the login and consent URLs are never fetched).
//!   flowgen node --url URL [mode] [options]
//!       node-oidc-provider with bench/node/flows-server.mjs (scope "openid
//!       offline_access", prompt=consent).
//! Modes:
//!   --workers N --duration S [--warmup W]   N concurrent workers (default 16), each running
//!                                           flows back to back for S seconds (default 10),
//!                                           after a warm-up of W seconds
//!   --sequential N                          N flows one after the other
//! Options: --kind plain (or par, dpop) --threads 1 --client-id flow --client-secret
//!   flow-secret --redirect-uri http://127.0.0.1:9/cb --subject foo@bar.com --subjects 1
//!   (N > 1: the flows take turns among user0@bar.com … user{N-1}@bar.com) --json (no
//!   summary on stderr).
//! FLOWS_TRACE=1 in the environment prints every request and answer on stderr.
//!
//! Prints a human summary on stderr and, as the last line on stdout, one JSON object:
//!   {"mode":"load","target":…,"kind":…,"workers":…,"flows":…,"errors":…,"duration_s":…,
//!    "flows_per_s":…,"p50_ms":…,"p99_ms":…,"steps_ms":{…},"error_samples":[…],
//!    "client_cpu":…}
//! client_cpu is this process's CPU time (user + system, from getrusage(RUSAGE_SELF)
//! through the libc crate) over the wall time of the run, in cores.
//! Exit status: 0 when every flow succeeded, 1 when any failed, 2 on a usage error.

mod dpop;
mod flow;
mod http;
mod jar;
mod stats;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use url::Url;

use dpop::DpopKey;
use flow::{Config, Kind, Laps, Server};
use http::{Client, Origin};
use stats::{Report, Stats, Summary};

#[derive(Parser)]
#[command(name = "flowgen", about = "Complete authorization-code flows as load")]
struct Cli {
    #[command(subcommand)]
    target: TargetArgs,
}

#[derive(Subcommand)]
enum TargetArgs {
    /// Latch or Hydra: the login & consent protocol through the admin API.
    Latch {
        /// The public API's base URL.
        #[arg(long, value_parser = base_url)]
        public: Url,
        /// The admin API's base URL.
        #[arg(long, value_parser = base_url)]
        admin: Url,
        #[command(flatten)]
        opts: Opts,
    },
    /// node-oidc-provider with bench/node/flows-server.mjs.
    Node {
        /// The provider's base URL.
        #[arg(long, value_parser = base_url)]
        url: Url,
        #[command(flatten)]
        opts: Opts,
    },
}

#[derive(Args)]
struct Opts {
    /// The kind of flow: plain, par (the request pushed first, RFC 9126) or dpop (a
    /// DPoP-bound token request, RFC 9449).
    #[arg(long, value_enum, default_value_t = Kind::Plain)]
    kind: Kind,
    /// Concurrent workers, each running flows back to back.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Threads the workers run on (1: a current-thread runtime, like Node's event loop).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    duration: f64,
    /// Seconds of warm-up load before it (its result is shown instead when a flow failed).
    #[arg(long, default_value_t = 0.0, value_parser = seconds)]
    warmup: f64,
    /// Run N flows one after the other instead.
    #[arg(long, default_value_t = 0)]
    sequential: u64,
    /// The client's ID (a confidential client with the code and refresh grants).
    #[arg(long, default_value = "flow")]
    client_id: String,
    /// The client's secret (client_secret_basic at the token endpoint).
    #[arg(long, default_value = "flow-secret")]
    client_secret: String,
    /// The client's redirect URI (never fetched: the code is read from the Location).
    #[arg(long, default_value = "http://127.0.0.1:9/cb", value_parser = absolute_url)]
    redirect_uri: String,
    /// The end-user of every flow.
    #[arg(long, default_value = "foo@bar.com")]
    subject: String,
    /// N > 1: the flows take turns among user0@bar.com … user{N-1}@bar.com.
    #[arg(long, default_value_t = 1)]
    subjects: u64,
    /// No summary on stderr, only the JSON line on stdout.
    #[arg(long)]
    json: bool,
}

/// An http:// base URL, without its trailing slash.
fn base_url(s: &str) -> Result<Url, String> {
    let u = Url::parse(s.strip_suffix('/').unwrap_or(s)).map_err(|e| e.to_string())?;
    Origin::new(&u)?;
    Ok(u)
}

/// Any absolute URL, kept as written (it goes into requests as is).
fn absolute_url(s: &str) -> Result<String, String> {
    Url::parse(s).map_err(|e| e.to_string())?;
    Ok(s.to_owned())
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("needs a non-negative number".into()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (base, server, opts, name) = match cli.target {
        TargetArgs::Latch { public, admin, opts } => {
            let server = Server::Latch { public: origin(&public), admin: origin(&admin) };
            (public, server, opts, "latch")
        }
        TargetArgs::Node { url, opts } => (url.clone(), Server::Node { url: origin(&url) }, opts, "node"),
    };
    if opts.sequential == 0 && (opts.workers < 1 || opts.duration <= 0.0) {
        Cli::command().error(ErrorKind::ValueValidation, "--workers ≥ 1 and --duration > 0").exit();
    }
    let cfg = Arc::new(config(base, server, &opts));
    let runtime = if opts.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(opts.threads).enable_all().build()
    }
    .expect("a tokio runtime");
    let report = runtime.block_on(run(cfg, name, &opts));
    let summary = &report.summary;
    if !opts.json {
        eprintln!(
            "[flowgen] {} flows, {} failed, {} flows/s, p50 {} ms, p99 {} ms, client CPU {} cores",
            summary.flows, summary.errors, summary.flows_per_s, summary.p50_ms, summary.p99_ms, summary.client_cpu
        );
        for e in &summary.error_samples {
            eprintln!("[flowgen] error: {e}");
        }
    }
    let line = serde_json::to_string(&report).expect("the report serializes");
    let mut out = std::io::stdout().lock();
    // A closed stdout leaves only the exit status to tell; nothing better to do.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    ExitCode::from(u8::from(summary.errors > 0))
}

fn origin(base: &Url) -> Origin {
    // `base_url` has checked it.
    Origin::new(base).expect("an http:// base URL")
}

fn config(base: Url, server: Server, opts: &Opts) -> Config {
    let token_htu = format!("{}{}", base.as_str().trim_end_matches('/'), server.token_path());
    Config {
        base,
        server,
        kind: opts.kind,
        token_htu,
        client_id: opts.client_id.clone(),
        redirect_uri: opts.redirect_uri.clone(),
        // `absolute_url` has checked it.
        redirect: Url::parse(&opts.redirect_uri).expect("an absolute redirect URI"),
        basic: Config::basic_auth(&opts.client_id, &opts.client_secret),
        subject: opts.subject.clone(),
        subjects: opts.subjects,
        trace: std::env::var_os("FLOWS_TRACE").is_some_and(|v| !v.is_empty()),
        counter: AtomicU64::new(0),
    }
}

/// The run the options ask for: sequential flows, or load (after the warm-up).
async fn run<'a>(cfg: Arc<Config>, name: &'a str, opts: &Opts) -> Report<'a> {
    let info = |msg: String| {
        if !opts.json {
            eprintln!("[flowgen] {msg}");
        }
    };
    let workers = opts.workers;
    let kind = opts.kind.as_str();
    if opts.sequential > 0 {
        info(format!("{name}: {} sequential {kind} flows", opts.sequential));
        let summary = sequential(cfg, opts.sequential).await;
        return report("sequential", name, kind, None, summary);
    }
    if opts.warmup > 0.0 {
        info(format!("{name}: warm-up, {workers} workers of {kind} flows for {} s", opts.warmup));
        let summary = load(cfg.clone(), workers, opts.warmup).await;
        if summary.errors > 0 {
            return report("warmup", name, kind, Some(workers), summary);
        }
    }
    info(format!("{name}: {workers} workers of {kind} flows for {} s", opts.duration));
    let summary = load(cfg, workers, opts.duration).await;
    report("load", name, kind, Some(workers), summary)
}

fn report<'a>(mode: &'a str, target: &'a str, kind: &'a str, workers: Option<usize>, summary: Summary) -> Report<'a> {
    Report { mode, target, kind, workers, summary }
}

/// `workers` tasks running flows back to back until `seconds` have passed.
async fn load(cfg: Arc<Config>, workers: usize, seconds: f64) -> Summary {
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..workers).map(|_| tokio::spawn(worker(cfg.clone(), deadline))).collect();
    let mut stats = Stats::default();
    for task in tasks {
        // A worker only fails to join when it panicked, which is a bug here.
        stats.merge(task.await.expect("a worker panicked"));
    }
    stats.summary(cfg.kind, t0.elapsed(), cpu_seconds() - cpu0)
}

async fn worker(cfg: Arc<Config>, deadline: Instant) -> Stats {
    let mut http = Client::new(cfg.trace);
    let mut stats = Stats::default();
    let key = dpop_key(&cfg);
    while Instant::now() < deadline {
        one_flow(&cfg, &mut http, &mut stats, key.as_ref()).await;
    }
    stats
}

/// A worker's DPoP key (one client instance's), in a DPoP run.
fn dpop_key(cfg: &Config) -> Option<DpopKey> {
    (cfg.kind == Kind::Dpop).then(DpopKey::generate)
}

/// `n` flows one after the other.
async fn sequential(cfg: Arc<Config>, n: u64) -> Summary {
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut http = Client::new(cfg.trace);
    let mut stats = Stats::default();
    let key = dpop_key(&cfg);
    for _ in 0..n {
        one_flow(&cfg, &mut http, &mut stats, key.as_ref()).await;
    }
    stats.summary(cfg.kind, t0.elapsed(), cpu_seconds() - cpu0)
}

async fn one_flow(cfg: &Config, http: &mut Client, stats: &mut Stats, dpop: Option<&DpopKey>) {
    let t0 = Instant::now();
    let mut laps = Laps::new(t0);
    match flow::run(cfg, http, &mut laps, dpop).await {
        Ok(()) => stats.succeeded(t0.elapsed().as_secs_f64() * 1e3, &laps.ms),
        Err(e) => stats.failed(e.0),
    }
}

/// This process's CPU time so far (user + system, all threads), in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which is ours and
    // zero-initialised (all-zero is a valid `rusage`).
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
            return 0.0;
        }
        ru
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}
