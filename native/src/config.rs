//! Server settings from the environment, with Hydra's key names (`DSN`,
//! `URLS_SELF_ISSUER`, `SECRETS_SYSTEM`, `SERVE_PUBLIC_PORT`, `TTL_ACCESS_TOKEN`,
//! `STRATEGIES_ACCESS_TOKEN`, `LOG_LEVEL`, …): the upper-cased config path with `.`
//! turned into `_`. Bad values fail start-up with a message naming the key.

use crate::Error;
use latch_core::config::Config;
use std::time::Duration;

/// The DSN used when none is given: an SQLite file in the working directory.
pub const DEFAULT_DSN: &str = "sqlite://latch.sqlite";
/// The secret `--dev` falls back to when `SECRETS_SYSTEM` is unset. Publicly known, so
/// only `--dev` accepts it.
pub const DEV_SECRET: &str = "latch-dev-mode-insecure-system-secret";

/// Everything the native server needs to start.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Protocol settings handed to the core.
    pub core: Config,
    /// Where to store.
    pub dsn: String,
    /// Public listener address.
    pub public_addr: String,
    /// Admin listener address.
    pub admin_addr: String,
    /// `LOG_LEVEL` (trace, debug, info, warn, error).
    pub log_level: String,
    /// `LOG_FORMAT`: `text` or `json`.
    pub log_format: String,
    /// `TRACING_*`: where spans go, if anywhere.
    pub tracing: Option<TracingSettings>,
    /// `SERVE_PUBLIC_TIMEOUT_*`, `SERVE_PUBLIC_MAX_CONNECTIONS`.
    pub public_listener: ListenerSettings,
    /// `SERVE_ADMIN_TIMEOUT_*`, `SERVE_ADMIN_MAX_CONNECTIONS`.
    pub admin_listener: ListenerSettings,
}

/// How long one listener waits for its clients, and how many it serves at once
/// (`serve.public.*` and `serve.admin.*`; each listener has its own, so a flood of
/// connections on the public port leaves the admin port its own connections).
///
/// Hydra has no keys for these: its listeners are Go `http.Server`s with fixed timeouts
/// (5 s to read a request's header, 5 s to read a request, 10 s to write, 120 s of
/// keep-alive idleness) and no connection cap. Latch takes those times as defaults,
/// under keys of its own in Hydra's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSettings {
    /// `SERVE_*_TIMEOUT_READ_HEADER` (`serve.*.timeout.read_header`, default 5s): from a
    /// connection's start, or from the first byte of a later request on it, to the end
    /// of the request's head. A client sending its header a byte at a time (slowloris),
    /// or nothing at all after connecting, is disconnected then.
    pub read_header_timeout: Duration,
    /// `SERVE_*_TIMEOUT_READ` (`serve.*.timeout.read`, default 5s): from the end of a
    /// request's head to the end of its body; a later body is answered 408.
    pub read_timeout: Duration,
    /// `SERVE_*_TIMEOUT_WRITE` (`serve.*.timeout.write`, default 10s): how long the
    /// writing of a response may make no progress (a client that stops reading) before
    /// the connection is closed.
    pub write_timeout: Duration,
    /// `SERVE_*_TIMEOUT_IDLE` (`serve.*.timeout.idle`, default 120s): how long a
    /// keep-alive connection may wait for the first byte of its next request.
    pub idle_timeout: Duration,
    /// `SERVE_*_MAX_CONNECTIONS` (`serve.*.max_connections`; default 4096 public, 256
    /// admin): connections served at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// `SERVE_*_TLS_*` and `SERVE_TLS_*` (`serve.tls.*`, `serve.*.tls.*`): the
    /// certificate and key when the port serves TLS (see [`crate::tls`]).
    pub tls: Option<crate::tls::TlsFiles>,
}

impl ListenerSettings {
    /// The defaults of the public listener.
    pub const PUBLIC: ListenerSettings = ListenerSettings {
        read_header_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(120),
        max_connections: 4096,
        tls: None,
    };
    /// The defaults of the admin listener.
    pub const ADMIN: ListenerSettings = ListenerSettings { max_connections: 256, ..ListenerSettings::PUBLIC };

    /// Reads `SERVE_<PORT>_TIMEOUT_*` and `SERVE_<PORT>_MAX_CONNECTIONS` (`port` is
    /// `PUBLIC` or `ADMIN`) over `defaults`.
    fn read(var: &dyn Fn(&str) -> Option<String>, port: &str, defaults: &ListenerSettings) -> Result<Self, Error> {
        let duration = |what: &str, default: Duration| -> Result<Duration, Error> {
            let key = format!("SERVE_{port}_TIMEOUT_{what}");
            match var(&key) {
                None => Ok(default),
                Some(v) => match latch_core::duration::parse_seconds(&v) {
                    Some(s) if s >= 1 => Ok(Duration::from_secs(s as u64)),
                    _ => Err(Error::Config(format!("{key}: '{v}' must be a duration of at least 1s, such as 5s"))),
                },
            }
        };
        let key = format!("SERVE_{port}_MAX_CONNECTIONS");
        let max_connections = match var(&key) {
            None => defaults.max_connections,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(Error::Config(format!("{key}: '{v}' must be a positive number"))),
            },
        };
        Ok(ListenerSettings {
            read_header_timeout: duration("READ_HEADER", defaults.read_header_timeout)?,
            read_timeout: duration("READ", defaults.read_timeout)?,
            write_timeout: duration("WRITE", defaults.write_timeout)?,
            idle_timeout: duration("IDLE", defaults.idle_timeout)?,
            max_connections,
            tls: crate::tls::read(var, port)?,
        })
    }
}

/// Distributed tracing as Hydra configures it (`tracing.provider: otel`,
/// `tracing.providers.otlp.*`): spans exported with OTLP over HTTP (protobuf) to
/// `server_url`, e.g. Jaeger's or an OpenTelemetry Collector's port 4318.
#[derive(Clone, Debug, PartialEq)]
pub struct TracingSettings {
    /// `TRACING_SERVICE_NAME` (default `latch`).
    pub service_name: String,
    /// The full traces URL, e.g. `http://jaeger:4318/v1/traces`, built from
    /// `TRACING_PROVIDERS_OTLP_SERVER_URL` (`host:port` as in Hydra, or a URL) and
    /// `TRACING_PROVIDERS_OTLP_INSECURE` (http instead of https).
    pub endpoint: String,
    /// `TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO`: the share of traces kept, 0 to 1.
    pub sampling_ratio: f64,
}

/// Every setting Latch reads, by its environment name (the config path upper-cased,
/// `.` turned into `_`). A config file key outside this list fails start-up.
pub const KNOWN_KEYS: &[&str] = &[
    "DSN",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "SECRETS_SYSTEM",
    "URLS_SELF_ISSUER",
    "URLS_SELF_PUBLIC",
    "URLS_LOGIN",
    "URLS_CONSENT",
    "URLS_LOGOUT",
    "URLS_ERROR",
    "URLS_POST_LOGOUT_REDIRECT",
    "SERVE_PUBLIC_HOST",
    "SERVE_PUBLIC_PORT",
    "SERVE_ADMIN_HOST",
    "SERVE_ADMIN_PORT",
    "SERVE_PUBLIC_TIMEOUT_READ_HEADER",
    "SERVE_PUBLIC_TIMEOUT_READ",
    "SERVE_PUBLIC_TIMEOUT_WRITE",
    "SERVE_PUBLIC_TIMEOUT_IDLE",
    "SERVE_PUBLIC_MAX_CONNECTIONS",
    "SERVE_ADMIN_TIMEOUT_READ_HEADER",
    "SERVE_ADMIN_TIMEOUT_READ",
    "SERVE_ADMIN_TIMEOUT_WRITE",
    "SERVE_ADMIN_TIMEOUT_IDLE",
    "SERVE_ADMIN_MAX_CONNECTIONS",
    "SERVE_COOKIES_SAME_SITE_MODE",
    "SERVE_COOKIES_NAMES_LOGIN_CSRF",
    "SERVE_COOKIES_NAMES_CONSENT_CSRF",
    "SERVE_COOKIES_NAMES_SESSION",
    "TTL_ACCESS_TOKEN",
    "TTL_REFRESH_TOKEN",
    "TTL_ID_TOKEN",
    "TTL_AUTH_CODE",
    "TTL_LOGIN_CONSENT_REQUEST",
    "TTL_AUTHENTICATION_SESSION",
    "STRATEGIES_ACCESS_TOKEN",
    "OAUTH2_HASHERS_PBKDF2_ITERATIONS",
    "OAUTH2_EXPOSE_INTERNAL_ERRORS",
    "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD",
    "OAUTH2_PKCE_ENFORCED",
    "OAUTH2_PKCE_ENFORCED_FOR_PUBLIC_CLIENTS",
    "TRACING_PROVIDER",
    "TRACING_SERVICE_NAME",
    "TRACING_PROVIDERS_OTLP_SERVER_URL",
    "TRACING_PROVIDERS_OTLP_INSECURE",
    "TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO",
];

/// Reads a YAML config file in Hydra's shape (`urls: {self: {issuer: …}}`,
/// `secrets: {system: [...]}`) into environment-style names (`URLS_SELF_ISSUER`,
/// `SECRETS_SYSTEM`; lists joined with commas). An unknown key or a value that is not a
/// scalar or a list of scalars is an error naming the key.
pub fn read_file(text: &str, origin: &str) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let doc: serde_json::Value =
        serde_norway::from_str(text).map_err(|e| Error::Config(format!("{origin}: not valid YAML: {e}")))?;
    let mut out = std::collections::BTreeMap::new();
    if !doc.is_null() {
        flatten(&doc, "", origin, &mut out)?;
    }
    Ok(out)
}

fn flatten(
    v: &serde_json::Value,
    path: &str,
    origin: &str,
    out: &mut std::collections::BTreeMap<String, String>,
) -> Result<(), Error> {
    use serde_json::Value;
    let scalar = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    match v {
        Value::Object(m) => {
            if path.is_empty() && m.is_empty() {
                return Ok(());
            }
            for (k, child) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                flatten(child, &p, origin, out)?;
            }
            Ok(())
        }
        _ => {
            let name = path.to_ascii_uppercase().replace(['.', '-'], "_");
            if !KNOWN_KEYS.contains(&name.as_str()) {
                return Err(Error::Config(format!("{origin}: unknown key '{path}'")));
            }
            let value = match v {
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        scalar(i).ok_or_else(|| Error::Config(format!("{origin}: key '{path}' must list plain values")))
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(","),
                other => scalar(other).ok_or_else(|| Error::Config(format!("{origin}: key '{path}' has no value")))?,
            };
            out.insert(name, value);
            Ok(())
        }
    }
}

/// Reads a variable through `get` (the process environment in production, a map in
/// tests).
pub fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
    dev: bool,
    dsn_flag: Option<&str>,
) -> Result<ServerSettings, Error> {
    let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let bad = |k: &str, why: &str| Error::Config(format!("{k}: {why}"));

    let public_host = var("SERVE_PUBLIC_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let admin_host = var("SERVE_ADMIN_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port = |k: &str, default: u16| -> Result<u16, Error> {
        match var(k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| bad(k, &format!("'{v}' is not a port number"))),
        }
    };
    let public_port = port("SERVE_PUBLIC_PORT", 4444)?;
    let admin_port = port("SERVE_ADMIN_PORT", 4445)?;

    let issuer = match var("URLS_SELF_ISSUER") {
        Some(i) => i,
        None if dev => format!("http://127.0.0.1:{public_port}"),
        None => return Err(bad("URLS_SELF_ISSUER", "must be set (or start with --dev)")),
    };
    latch_core::config::check_issuer(&issuer, dev, "outside --dev").map_err(Error::Config)?;
    let secrets = match var("SECRETS_SYSTEM") {
        Some(s) => s,
        None if dev => DEV_SECRET.to_string(),
        None => return Err(bad("SECRETS_SYSTEM", "must be set outside --dev (at least 16 characters)")),
    };
    let secrets = latch_core::config::parse_system_secrets(&secrets).map_err(Error::Config)?;
    let core = Config::for_host(&issuer, secrets, dev, get).map_err(Error::Config)?;
    let log_level = var("LOG_LEVEL").unwrap_or_else(|| "info".into());
    if !matches!(log_level.as_str(), "trace" | "debug" | "info" | "warn" | "warning" | "error" | "fatal" | "panic") {
        return Err(bad("LOG_LEVEL", &format!("'{log_level}' must be one of trace, debug, info, warn, error")));
    }
    let log_format = var("LOG_FORMAT").unwrap_or_else(|| "text".into());
    if !matches!(log_format.as_str(), "text" | "json" | "json_pretty") {
        return Err(bad("LOG_FORMAT", &format!("'{log_format}' must be text or json")));
    }
    let tracing = tracing_settings(&var)?;
    let public_listener = ListenerSettings::read(&var, "PUBLIC", &ListenerSettings::PUBLIC)?;
    let admin_listener = ListenerSettings::read(&var, "ADMIN", &ListenerSettings::ADMIN)?;
    let dsn = dsn_flag.map(str::to_string).or_else(|| var("DSN")).unwrap_or_else(|| DEFAULT_DSN.to_string());
    Ok(ServerSettings {
        core,
        dsn,
        public_addr: format!("{public_host}:{public_port}"),
        admin_addr: format!("{admin_host}:{admin_port}"),
        log_level,
        log_format,
        tracing,
        public_listener,
        admin_listener,
    })
}

/// Reads `TRACING_*`. No provider: no tracing. `otel` is the one provider: Jaeger,
/// Zipkin-compatible collectors and every OpenTelemetry Collector accept OTLP, so the
/// older Jaeger agent and Zipkin protocols Hydra also speaks are refused by name.
fn tracing_settings(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<TracingSettings>, Error> {
    let bad = |k: &str, why: String| Error::Config(format!("{k}: {why}"));
    match var("TRACING_PROVIDER").as_deref() {
        None => return Ok(None),
        Some("otel" | "otlp") => {}
        Some(other) => {
            return Err(bad(
                "TRACING_PROVIDER",
                format!("'{other}' is not supported: use 'otel' (OTLP over HTTP, which Jaeger accepts on port 4318)"),
            ))
        }
    }
    let server = var("TRACING_PROVIDERS_OTLP_SERVER_URL")
        .ok_or_else(|| bad("TRACING_PROVIDERS_OTLP_SERVER_URL", "must be set when TRACING_PROVIDER is otel".into()))?;
    let insecure = match var("TRACING_PROVIDERS_OTLP_INSECURE").as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(v) => return Err(bad("TRACING_PROVIDERS_OTLP_INSECURE", format!("'{v}' must be true or false"))),
    };
    // Hydra takes `host:port`; a full URL (with or without the /v1/traces path) works too.
    let base = if server.contains("://") {
        server.clone()
    } else {
        format!("{}://{server}", if insecure { "http" } else { "https" })
    };
    let mut url = url::Url::parse(&base)
        .map_err(|e| bad("TRACING_PROVIDERS_OTLP_SERVER_URL", format!("'{server}' is not host:port or a URL: {e}")))?;
    if url.host_str().is_none() {
        return Err(bad("TRACING_PROVIDERS_OTLP_SERVER_URL", format!("'{server}' names no host")));
    }
    if url.path().trim_end_matches('/').is_empty() {
        url.set_path("/v1/traces");
    }
    let sampling_ratio = match var("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO") {
        None => 1.0,
        Some(v) => match v.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                return Err(bad(
                    "TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO",
                    format!("'{v}' must be a number from 0 to 1"),
                ))
            }
        },
    };
    Ok(Some(TracingSettings {
        service_name: var("TRACING_SERVICE_NAME").unwrap_or_else(|| "latch".into()),
        endpoint: url.to_string(),
        sampling_ratio,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn config_files_use_hydra_paths_and_the_environment_wins() {
        let file = read_file(
            "urls:\n  self:\n    issuer: https://auth.example\n  login: https://ui.example/login\nsecrets:\n  system:\n    - new-secret-0123456789\n    - old-secret-0123456789\nttl:\n  access_token: 30m\nserve:\n  public:\n    port: 9444\n",
            "latch.yml",
        )
        .unwrap();
        assert_eq!(file["URLS_SELF_ISSUER"], "https://auth.example");
        assert_eq!(file["SECRETS_SYSTEM"], "new-secret-0123456789,old-secret-0123456789");
        assert_eq!(file["SERVE_PUBLIC_PORT"], "9444");
        let env: HashMap<String, String> = [("TTL_ACCESS_TOKEN".to_string(), "5m".to_string())].into();
        let s = from_env(&|k| env.get(k).cloned().or_else(|| file.get(k).cloned()), false, None).unwrap();
        assert_eq!(s.core.issuer, "https://auth.example");
        assert_eq!(s.core.login_url, "https://ui.example/login");
        assert_eq!(s.core.access_token_ttl, 300, "the environment overrides the file");
        assert_eq!(s.public_addr, "127.0.0.1:9444");
        assert_eq!(s.core.system_secrets.len(), 2);
    }

    #[test]
    fn config_files_reject_unknown_keys_and_bad_yaml_by_name() {
        let e = read_file("urls:\n  self:\n    isuer: https://typo.example\n", "latch.yml").unwrap_err().to_string();
        assert!(e.contains("latch.yml") && e.contains("'urls.self.isuer'"), "{e}");
        let e = read_file("urls: [a, b", "latch.yml").unwrap_err().to_string();
        assert!(e.contains("not valid YAML"), "{e}");
        let e = read_file("dsn:\n  - {a: 1}\n", "latch.yml").unwrap_err().to_string();
        assert!(e.contains("'dsn'"), "{e}");
        assert!(read_file("", "empty.yml").unwrap().is_empty());
    }

    fn load(vars: &[(&str, &str)], dev: bool) -> Result<ServerSettings, Error> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        from_env(&|k| m.get(k).cloned(), dev, None)
    }

    #[test]
    fn dev_needs_nothing() {
        let s = load(&[], true).unwrap();
        assert_eq!(s.core.issuer, "http://127.0.0.1:4444");
        assert_eq!(s.public_addr, "127.0.0.1:4444");
        assert_eq!(s.admin_addr, "127.0.0.1:4445");
        assert_eq!(s.dsn, DEFAULT_DSN);
    }

    #[test]
    fn insecure_setups_are_refused_outside_dev_with_the_key_named() {
        let e = load(&[], false).unwrap_err().to_string();
        assert!(e.contains("URLS_SELF_ISSUER"), "{e}");
        let e = load(&[("URLS_SELF_ISSUER", "https://auth.example")], false).unwrap_err().to_string();
        assert!(e.contains("SECRETS_SYSTEM"), "{e}");
        let e = load(&[("URLS_SELF_ISSUER", "http://auth.example"), ("SECRETS_SYSTEM", "0123456789abcdef")], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("https"), "{e}");
        let e = load(&[("URLS_SELF_ISSUER", "https://a.example"), ("SECRETS_SYSTEM", "short")], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("16"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (k, v) in [
            ("SERVE_PUBLIC_PORT", "abc"),
            ("TTL_ACCESS_TOKEN", "forever"),
            ("STRATEGIES_ACCESS_TOKEN", "magic"),
            ("LOG_LEVEL", "loud"),
        ] {
            let e = load(&[(k, v)], true).unwrap_err().to_string();
            assert!(e.starts_with(&format!("configuration error: {k}")), "{e}");
        }
    }

    #[test]
    fn values_are_applied_and_secrets_rotate() {
        let s = load(
            &[
                ("TTL_ACCESS_TOKEN", "30m"),
                ("STRATEGIES_ACCESS_TOKEN", "jwt"),
                ("SECRETS_SYSTEM", "new-secret-0123456789,old-secret-0123456789"),
                ("SERVE_PUBLIC_PORT", "9000"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(s.core.access_token_ttl, 1800);
        assert_eq!(s.core.access_token_strategy, latch_core::config::AccessTokenStrategy::Jwt);
        assert_eq!(s.core.system_secrets.len(), 2);
        assert_eq!(s.core.system_secrets[0], b"new-secret-0123456789");
        assert_eq!(s.core.issuer, "http://127.0.0.1:9000");
    }

    #[test]
    fn listener_limits_default_to_hydras_timeouts_and_are_read_per_port() {
        let s = load(&[], true).unwrap();
        assert_eq!(s.public_listener, ListenerSettings::PUBLIC);
        assert_eq!(s.admin_listener, ListenerSettings::ADMIN);
        assert_eq!(s.public_listener.read_header_timeout, Duration::from_secs(5));
        assert_eq!(s.public_listener.idle_timeout, Duration::from_secs(120));
        let s = load(
            &[
                ("SERVE_PUBLIC_TIMEOUT_READ_HEADER", "2s"),
                ("SERVE_PUBLIC_TIMEOUT_IDLE", "1m"),
                ("SERVE_PUBLIC_MAX_CONNECTIONS", "100"),
                ("SERVE_ADMIN_TIMEOUT_WRITE", "3s"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(s.public_listener.read_header_timeout, Duration::from_secs(2));
        assert_eq!(s.public_listener.idle_timeout, Duration::from_secs(60));
        assert_eq!(s.public_listener.max_connections, 100);
        assert_eq!(s.admin_listener.write_timeout, Duration::from_secs(3));
        assert_eq!(s.admin_listener.read_header_timeout, Duration::from_secs(5), "the admin port's own");
        let file =
            read_file("serve:\n  admin:\n    timeout:\n      read_header: 7s\n    max_connections: 9\n", "f.yml")
                .unwrap();
        assert_eq!(file["SERVE_ADMIN_TIMEOUT_READ_HEADER"], "7s");
        assert_eq!(file["SERVE_ADMIN_MAX_CONNECTIONS"], "9");
        for (k, v) in [
            ("SERVE_PUBLIC_TIMEOUT_READ", "0s"),
            ("SERVE_ADMIN_TIMEOUT_IDLE", "soon"),
            ("SERVE_PUBLIC_MAX_CONNECTIONS", "0"),
            ("SERVE_ADMIN_MAX_CONNECTIONS", "many"),
        ] {
            let e = load(&[(k, v)], true).unwrap_err().to_string();
            assert!(e.starts_with(&format!("configuration error: {k}")), "{e}");
        }
    }

    #[test]
    fn tracing_is_off_unless_a_provider_is_named_and_otlp_urls_are_built_as_hydra_takes_them() {
        assert_eq!(load(&[], true).unwrap().tracing, None);
        let t = load(
            &[
                ("TRACING_PROVIDER", "otel"),
                ("TRACING_PROVIDERS_OTLP_SERVER_URL", "jaeger:4318"),
                ("TRACING_PROVIDERS_OTLP_INSECURE", "true"),
                ("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO", "0.25"),
            ],
            true,
        )
        .unwrap()
        .tracing
        .unwrap();
        assert_eq!(t.endpoint, "http://jaeger:4318/v1/traces");
        assert_eq!(t.sampling_ratio, 0.25);
        assert_eq!(t.service_name, "latch");
        let t = load(
            &[("TRACING_PROVIDER", "otel"), ("TRACING_PROVIDERS_OTLP_SERVER_URL", "collector.example:4318")],
            true,
        )
        .unwrap()
        .tracing
        .unwrap();
        assert_eq!(t.endpoint, "https://collector.example:4318/v1/traces", "https unless insecure");
        let t = load(
            &[("TRACING_PROVIDER", "otel"), ("TRACING_PROVIDERS_OTLP_SERVER_URL", "http://127.0.0.1:9/custom/path")],
            true,
        )
        .unwrap()
        .tracing
        .unwrap();
        assert_eq!(t.endpoint, "http://127.0.0.1:9/custom/path");
    }

    #[test]
    fn bad_tracing_settings_fail_with_the_key_named() {
        for (vars, key) in [
            (vec![("TRACING_PROVIDER", "zipkin")], "TRACING_PROVIDER"),
            (vec![("TRACING_PROVIDER", "otel")], "TRACING_PROVIDERS_OTLP_SERVER_URL"),
            (
                vec![
                    ("TRACING_PROVIDER", "otel"),
                    ("TRACING_PROVIDERS_OTLP_SERVER_URL", "a:1"),
                    ("TRACING_PROVIDERS_OTLP_INSECURE", "yes"),
                ],
                "TRACING_PROVIDERS_OTLP_INSECURE",
            ),
            (
                vec![
                    ("TRACING_PROVIDER", "otel"),
                    ("TRACING_PROVIDERS_OTLP_SERVER_URL", "a:1"),
                    ("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO", "2"),
                ],
                "TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO",
            ),
        ] {
            let e = load(&vars, true).unwrap_err().to_string();
            assert!(e.contains(key), "{vars:?}: {e}");
        }
    }
}
