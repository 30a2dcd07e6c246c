//! Server settings from the environment, with Hydra's key names (`DSN`,
//! `URLS_SELF_ISSUER`, `SECRETS_SYSTEM`, `SERVE_PUBLIC_PORT`, `TTL_ACCESS_TOKEN`,
//! `STRATEGIES_ACCESS_TOKEN`, `LOG_LEVEL`, …): the upper-cased config path with `.`
//! turned into `_`. Bad values fail start-up with a message naming the key.

use crate::Error;
use latch_core::config::Config;
use latch_core::settings::{self, Status};
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
    /// One line for each key of Hydra's that is set but has no effect in Latch
    /// ([`latch_core::settings::check`]), to log at start-up.
    pub warnings: Vec<String>,
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

/// Whether Latch reads the setting of this environment name: one of Hydra's keys that
/// Latch implements, or one of Latch's own (the listeners' limits). The other keys of
/// Hydra's schema are accepted or refused by [`latch_core::settings::check`].
pub fn is_read(name: &str) -> bool {
    settings::HYDRA_KEYS.iter().any(|k| k.status == Status::Read && k.env_name() == name)
        || settings::LATCH_KEYS.iter().any(|p| settings::env_name(p) == name)
}

/// Reads the YAML config files `paths` in order with [`read_file`], a later file's
/// setting replacing an earlier one's (`serve -c base.yml -c prod.yml`, as in Hydra).
pub fn read_files(paths: &[std::path::PathBuf]) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let mut merged = std::collections::BTreeMap::new();
    for path in paths {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::Config(format!("--config {}: {e}", path.display())))?;
        merged.extend(read_file(&text, &path.display().to_string())?);
    }
    Ok(merged)
}

/// Reads a YAML config file in Hydra's shape (`urls: {self: {issuer: …}}`,
/// `secrets: {system: [...]}`) into environment-style names (`URLS_SELF_ISSUER`,
/// `SECRETS_SYSTEM`; lists joined with commas). Every key of Hydra's schema is accepted
/// here ([`latch_core::settings::check`] then decides on its value), and Latch's own;
/// any other key is an error naming it. A key Latch reads must have a scalar or a list
/// of scalars; the value of any other Hydra key is taken whole in whatever shape Hydra
/// allows (a map, an object, `null` for unset).
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
    let known = !path.is_empty() && settings::is_known(path);
    match v {
        Value::Object(m) if !known => {
            for (k, child) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                flatten(child, &p, origin, out)?;
            }
            Ok(())
        }
        _ if !known => Err(Error::Config(format!("{origin}: unknown key '{path}'"))),
        _ => {
            let name = settings::env_name(path);
            let read = settings::hydra_key(path).is_none_or(|k| k.status == Status::Read);
            let list = |items: &Vec<Value>| items.iter().map(scalar).collect::<Option<Vec<_>>>().map(|l| l.join(","));
            let value = match v {
                Value::Null if !read => return Ok(()),
                Value::Array(items) => match list(items) {
                    Some(l) => l,
                    None if !read => v.to_string(),
                    None => return Err(Error::Config(format!("{origin}: key '{path}' must list plain values"))),
                },
                Value::Object(_) if !read || settings::OBJECT_KEYS.contains(&path) => v.to_string(),
                other => scalar(other).ok_or_else(|| Error::Config(format!("{origin}: key '{path}' has no value")))?,
            };
            out.insert(name, value);
            Ok(())
        }
    }
}

/// Reads a variable through `get` (the process environment over the config files in
/// production, a map in tests). Every key of Hydra's schema is checked first
/// ([`latch_core::settings::check`]): a refused one fails, one without effect is a
/// warning in [`ServerSettings::warnings`].
pub fn from_env(
    get: &dyn Fn(&str) -> Option<String>,
    dev: bool,
    dsn_flag: Option<&str>,
) -> Result<ServerSettings, Error> {
    let warnings = settings::check(get).map_err(Error::Config)?;
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
        warnings,
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
        let e = read_file("webfinger:\n  jwks:\n    broadcast_key: [a]\n", "latch.yml").unwrap_err().to_string();
        assert!(e.contains("unknown key 'webfinger.jwks.broadcast_key'"), "{e}");
        let e = read_file("serve:\n  public:\n    cors:\n      enabled: false\n      origins: [a]\n", "l.yml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key 'serve.public.cors.origins'"), "a typo under a key Latch does not read: {e}");
        assert!(read_file("", "empty.yml").unwrap().is_empty());
    }

    /// A typical Hydra config file: Latch starts on it, with one warning for each key
    /// that has no effect, whatever shape its value has (a list, a map).
    const HYDRA_CONFIG: &str = include_str!("../tests/hydra-config.yml");

    fn from_file_and_env(text: &str, env: &[(&str, &str)]) -> Result<ServerSettings, Error> {
        let file = read_file(text, "hydra.yml")?;
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        from_env(&|k| env.get(k).cloned().or_else(|| file.get(k).cloned()), false, None)
    }

    #[test]
    fn a_typical_hydra_config_starts_latch_with_a_warning_per_key_without_effect() {
        let s = from_file_and_env(HYDRA_CONFIG, &[]).unwrap();
        assert_eq!(s.core.issuer, "https://auth.example.com");
        assert_eq!(s.core.pbkdf2_iterations, 10000);
        assert_eq!(s.core.refresh_grace_period, 10);
        assert_eq!(s.core.cookies.session, "hydra_session");
        assert_eq!(s.log_format, "json");
        assert_eq!(s.tracing.unwrap().endpoint, "http://otel-collector:4318/v1/traces");
        // CORS is read as Hydra's (off in this file, its lists kept for when it is on).
        assert!(!s.core.cors_public.enabled);
        assert_eq!(s.core.cors_public.allowed_origins, ["https://app.example.com", "https://*.example.com"]);
        assert!(!s.core.registration.enabled);
        assert_eq!(s.core.registration.default_scope, ["openid", "offline", "offline_access"]);
        let warned: Vec<&str> = s.warnings.iter().map(|w| w.split(' ').next().unwrap()).collect();
        assert_eq!(
            warned,
            [
                "LOG_LEAK_SENSITIVE_VALUES",
                "LOG_REDACTION_TEXT",
                "SERVE_PUBLIC_REQUEST_LOG_DISABLE_FOR_HEALTH",
                "SERVE_COOKIES_SECURE",
                "WEBFINGER_JWKS_BROADCAST_KEYS",
                "WEBFINGER_OIDC_DISCOVERY_SUPPORTED_CLAIMS",
                "WEBFINGER_OIDC_DISCOVERY_SUPPORTED_SCOPE",
                "URLS_SELF_ADMIN",
                "SECRETS_COOKIE",
                "TRACING_DEPLOYMENT_ENVIRONMENT",
                "SQA_OPT_OUT",
                "VERSION",
            ],
            "{:#?}",
            s.warnings
        );
        let cookie = s.warnings.iter().find(|w| w.starts_with("SECRETS_COOKIE")).unwrap();
        assert!(
            cookie.contains("(secrets.cookie)") && cookie.contains("no effect") && cookie.contains("secrets.system")
        );
        assert!(!cookie.contains("youReallyNeedToChangeThisToo"), "{cookie}");
        // The same keys as environment variables warn the same; other variables are ignored.
        let file = read_file(HYDRA_CONFIG, "hydra.yml").unwrap();
        let env: Vec<(&str, &str)> = file.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let from_env_only = from_file_and_env("", &[env.as_slice(), &[("HOME", "/root"), ("PATH", "/bin")]].concat());
        assert_eq!(from_env_only.unwrap().warnings, s.warnings);
    }

    #[test]
    fn refused_keys_fail_start_up_by_name_from_a_file_or_the_environment() {
        for (from, to, key, says) in [
            ("algorithm: pbkdf2", "algorithm: bcrypt", "OAUTH2_HASHERS_ALGORITHM", "oauth2.hashers.algorithm=bcrypt"),
            ("scope: wildcard", "scope: exact", "STRATEGIES_SCOPE", "strategies.scope=exact"),
            (
                "rotation_grace_reuse_count: 0",
                "rotation_grace_reuse_count: 2",
                "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT",
                "=2",
            ),
        ] {
            assert!(HYDRA_CONFIG.contains(from), "{from}");
            let e = from_file_and_env(&HYDRA_CONFIG.replacen(from, to, 1), &[]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("configuration error: {key}: ")) && e.contains(says), "{e}");
            let value = to.rsplit(": ").next().unwrap().split('\n').next().unwrap();
            let e = from_file_and_env(HYDRA_CONFIG, &[(key, value)]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("configuration error: {key}: ")) && e.contains(says), "env {key}: {e}");
            // The environment wins over the file here too.
            let harmless = from.rsplit(": ").next().unwrap().split('\n').next().unwrap();
            from_file_and_env(&HYDRA_CONFIG.replacen(from, to, 1), &[(key, harmless)]).unwrap();
        }
        // Hooks in either of the shapes Hydra takes.
        for (hook, key) in [
            ("  token_hook: https://hooks.example/token?key=s3cret\n", None),
            (
                "  token_hook:\n    url: https://hooks.example/token?key=s3cret\n    auth:\n      type: api_key\n      config: {name: X-Key, value: s3cret}\n",
                Some("s3cret"),
            ),
        ] {
            let text = HYDRA_CONFIG.replacen("oauth2:\n", &format!("oauth2:\n{hook}"), 1);
            let s = from_file_and_env(&text, &[]).unwrap();
            let got = s.core.token_hook.expect("the hook is read");
            assert_eq!(got.url, "https://hooks.example/token?key=s3cret");
            assert_eq!(got.api_key.map(|k| k.value).as_deref(), key);
        }
        // A hook that cannot work stops start-up, without quoting it.
        let text = HYDRA_CONFIG.replacen("oauth2:\n", "oauth2:\n  token_hook: {url: 'no url s3cret'}\n", 1);
        let e = from_file_and_env(&text, &[]).unwrap_err().to_string();
        assert!(e.contains("OAUTH2_TOKEN_HOOK") && !e.contains("s3cret"), "{e}");
    }

    #[test]
    fn config_files_merge_in_order_the_later_winning() {
        let dir = std::env::temp_dir().join(format!("latch-config-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.yml"), dir.join("b.yml"));
        std::fs::write(&a, "ttl:\n  access_token: 30m\n  id_token: 2h\nserve:\n  public:\n    port: 9000\n").unwrap();
        std::fs::write(&b, "ttl:\n  access_token: 5m\n").unwrap();
        let merged = read_files(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(merged["TTL_ACCESS_TOKEN"], "5m", "the later file wins");
        assert_eq!(merged["TTL_ID_TOKEN"], "2h");
        assert_eq!(merged["SERVE_PUBLIC_PORT"], "9000");
        assert_eq!(read_files(&[b.clone(), a.clone()]).unwrap()["TTL_ACCESS_TOKEN"], "30m");
        let e = read_files(&[a, dir.join("missing.yml")]).unwrap_err().to_string();
        assert!(e.contains("missing.yml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
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
