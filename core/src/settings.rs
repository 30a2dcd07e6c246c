//! Every key of Hydra's configuration schema (`spec/config.json`, with the listener,
//! CORS, TLS and tracing parts it takes from ory/x), and what Latch does with each: it
//! reads it with Hydra's meaning ([`Status::Read`]), accepts it with a start-up warning
//! that it has no effect ([`Status::NoEffect`], only where ignoring it cannot weaken
//! security), or refuses to start when it asks for what Latch does not do
//! ([`Status::Refused`]). Both hosts check their settings against this one table
//! ([`check`]), so a config file's key and its environment variable behave the same.
//!
//! Keys are Hydra's paths (`serve.public.cors.enabled`); a key's environment name is
//! the path upper-cased with `.` and `-` turned into `_` ([`env_name`]).

/// What Latch does with one of Hydra's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Latch implements the key with Hydra's meaning (the host or the core reads it).
    Read,
    /// Accepted, with a start-up warning naming the key; `note` (possibly empty) says
    /// what Latch does instead.
    NoEffect {
        /// What Latch does instead, or why ignoring the key is safe.
        note: &'static str,
    },
    /// Start-up fails when the key is set to anything but one of `allowed` (compared
    /// without regard to case; an empty list refuses every value). The message says
    /// `why`.
    Refused {
        /// The values that ask for nothing Latch lacks (Hydra's default, in effect).
        allowed: &'static [&'static str],
        /// Why another value is refused, and what to do instead.
        why: &'static str,
    },
}

/// One key of Hydra's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Hydra's path, e.g. `oauth2.hashers.algorithm`.
    pub path: &'static str,
    /// What Latch does with it.
    pub status: Status,
}

impl Key {
    /// The environment name of the key (`OAUTH2_HASHERS_ALGORITHM`).
    pub fn env_name(&self) -> String {
        env_name(self.path)
    }
}

/// The environment name of a config path: upper-cased, `.` and `-` turned into `_`.
pub fn env_name(path: &str) -> String {
    path.to_ascii_uppercase().replace(['.', '-'], "_")
}

/// The spellings of false that a refused switch may be set to.
const FALSE: &[&str] = &["false", "0", "no", "off"];
/// The spellings of true.
const TRUE: &[&str] = &["true", "1", "yes", "on"];
/// No value at all (every value is refused).
const NONE: &[&str] = &[];

const TLS_PEERS: &str = "Latch does not restrict which addresses may connect: let only your TLS-terminating proxy reach the port (firewall or network policy)";
const CORS_PREFLIGHT: &str = "Latch answers every CORS preflight itself, as Hydra does without passthrough";
const CORS_DEBUG: &str = "Latch does not log CORS decisions";
const WEBFINGER: &str = "discovery advertises Latch's own endpoints";
const HSM_OFF: &str = "only used with hsm.enabled, which Latch refuses";
const SOCKET: &str = "Latch listens on TCP only";
const HEALTH_LOG: &str = "";
const BASE_URL: &str = "endpoints are advertised under urls.self.public (or the issuer)";
const OTHER_TRACERS: &str = "Latch exports spans with OTLP only (tracing.provider: otel)";

const fn read(path: &'static str) -> Key {
    Key { path, status: Status::Read }
}
const fn no_effect(path: &'static str, note: &'static str) -> Key {
    Key { path, status: Status::NoEffect { note } }
}
const fn refused(path: &'static str, allowed: &'static [&'static str], why: &'static str) -> Key {
    Key { path, status: Status::Refused { allowed, why } }
}

/// Every leaf key of Hydra's configuration schema, in the schema's order. A key whose
/// value may be a list, a map or an object (`serve.public.cors.allowed_origins`,
/// `urls.identity_provider.headers`, `oauth2.token_hook`) is one key, its value taken
/// whole.
pub const HYDRA_KEYS: &[Key] = &[
    no_effect("db.ignore_unknown_table_columns", "Latch reads only its own columns"),
    read("log.level"),
    no_effect("log.leak_sensitive_values", "Latch never logs tokens, secrets or cookies"),
    no_effect("log.redaction_text", ""),
    read("log.format"),
    // serve.public: ory/x's listener, TLS and CORS settings.
    no_effect("serve.public.request_log.disable_for_health", HEALTH_LOG),
    no_effect("serve.public.base_url", BASE_URL),
    read("serve.public.host"),
    read("serve.public.port"),
    no_effect("serve.public.socket.owner", SOCKET),
    no_effect("serve.public.socket.group", SOCKET),
    no_effect("serve.public.socket.mode", SOCKET),
    read("serve.public.tls.enabled"),
    read("serve.public.tls.key.path"),
    read("serve.public.tls.key.base64"),
    read("serve.public.tls.cert.path"),
    read("serve.public.tls.cert.base64"),
    refused("serve.public.tls.allow_termination_from", NONE, TLS_PEERS),
    read("serve.public.cors.enabled"),
    read("serve.public.cors.allowed_origins"),
    read("serve.public.cors.allowed_methods"),
    read("serve.public.cors.allowed_headers"),
    read("serve.public.cors.exposed_headers"),
    read("serve.public.cors.allow_credentials"),
    no_effect("serve.public.cors.options_passthrough", CORS_PREFLIGHT),
    read("serve.public.cors.max_age"),
    no_effect("serve.public.cors.debug", CORS_DEBUG),
    // serve.admin: the same.
    no_effect("serve.admin.request_log.disable_for_health", HEALTH_LOG),
    no_effect("serve.admin.base_url", BASE_URL),
    read("serve.admin.host"),
    read("serve.admin.port"),
    no_effect("serve.admin.socket.owner", SOCKET),
    no_effect("serve.admin.socket.group", SOCKET),
    no_effect("serve.admin.socket.mode", SOCKET),
    read("serve.admin.tls.enabled"),
    read("serve.admin.tls.key.path"),
    read("serve.admin.tls.key.base64"),
    read("serve.admin.tls.cert.path"),
    read("serve.admin.tls.cert.base64"),
    refused("serve.admin.tls.allow_termination_from", NONE, TLS_PEERS),
    read("serve.admin.cors.enabled"),
    read("serve.admin.cors.allowed_origins"),
    read("serve.admin.cors.allowed_methods"),
    read("serve.admin.cors.allowed_headers"),
    read("serve.admin.cors.exposed_headers"),
    read("serve.admin.cors.allow_credentials"),
    no_effect("serve.admin.cors.options_passthrough", CORS_PREFLIGHT),
    read("serve.admin.cors.max_age"),
    no_effect("serve.admin.cors.debug", CORS_DEBUG),
    // serve.tls: both listeners' TLS.
    read("serve.tls.enabled"),
    read("serve.tls.key.path"),
    read("serve.tls.key.base64"),
    read("serve.tls.cert.path"),
    read("serve.tls.cert.base64"),
    refused("serve.tls.allow_termination_from", NONE, TLS_PEERS),
    read("serve.cookies.same_site_mode"),
    no_effect("serve.cookies.same_site_legacy_workaround", ""),
    refused(
        "serve.cookies.domain",
        NONE,
        "Latch's cookies are host-only (a Domain attribute, which would widen them to other hosts, is not implemented)",
    ),
    no_effect("serve.cookies.secure", "Latch marks its cookies Secure unless it runs with --dev"),
    read("serve.cookies.names.device_csrf"),
    read("serve.cookies.names.login_csrf"),
    read("serve.cookies.names.consent_csrf"),
    read("serve.cookies.names.session"),
    refused("serve.cookies.paths.session", &["/"], "Latch's remembered-login cookie has Path=/"),
    read("dsn"),
    read("clients.http.disallow_private_ip_ranges"),
    no_effect(
        "clients.http.private_ip_exception_urls",
        "Latch makes no exceptions to clients.http.disallow_private_ip_ranges (stricter, never weaker)",
    ),
    refused(
        "hsm.enabled",
        FALSE,
        "hardware security modules are not supported: Latch keeps its signing keys in the database, sealed under secrets.system",
    ),
    no_effect("hsm.library", HSM_OFF),
    no_effect("hsm.pin", HSM_OFF),
    no_effect("hsm.slot", HSM_OFF),
    no_effect("hsm.token_label", HSM_OFF),
    no_effect("hsm.key_set_prefix", HSM_OFF),
    no_effect("webfinger.jwks.broadcast_keys", "/.well-known/jwks.json lists the ID-token signing keys"),
    no_effect("webfinger.oidc_discovery.jwks_url", WEBFINGER),
    no_effect("webfinger.oidc_discovery.token_url", WEBFINGER),
    no_effect("webfinger.oidc_discovery.auth_url", WEBFINGER),
    no_effect("webfinger.oidc_discovery.device_authorization_url", WEBFINGER),
    no_effect("webfinger.oidc_discovery.client_registration_url", WEBFINGER),
    no_effect("webfinger.oidc_discovery.supported_claims", WEBFINGER),
    no_effect("webfinger.oidc_discovery.supported_scope", WEBFINGER),
    no_effect("webfinger.oidc_discovery.userinfo_url", WEBFINGER),
    read("oidc.subject_identifiers.supported_types"),
    read("oidc.subject_identifiers.pairwise.salt"),
    read("oidc.dynamic_client_registration.enabled"),
    read("oidc.dynamic_client_registration.default_scope"),
    read("urls.self.issuer"),
    read("urls.self.public"),
    no_effect("urls.self.admin", ""),
    read("urls.login"),
    no_effect("urls.registration", ""),
    read("urls.consent"),
    read("urls.logout"),
    read("urls.device.verification"),
    read("urls.device.success"),
    read("urls.error"),
    read("urls.post_logout_redirect"),
    read("urls.identity_provider.url"),
    no_effect(
        "urls.identity_provider.publicUrl",
        "Hydra uses it for the resource owner password grant through Kratos, which Latch does not offer",
    ),
    read("urls.identity_provider.headers"),
    refused(
        "strategies.scope",
        &["wildcard"],
        "Latch matches scopes with Hydra's wildcard strategy only (a client allowed 'a.*' may request 'a.b')",
    ),
    read("strategies.access_token"),
    read("strategies.jwt.scope_claim"),
    read("ttl.login_consent_request"),
    read("ttl.authentication_session"),
    read("ttl.access_token"),
    read("ttl.refresh_token"),
    read("ttl.id_token"),
    read("ttl.auth_code"),
    read("ttl.device_user_code"),
    read("oauth2.expose_internal_errors"),
    refused(
        "oauth2.session.encrypt_at_rest",
        FALSE,
        "Latch stores the custom claims of its token sessions (ext) unencrypted; set it to false to acknowledge",
    ),
    no_effect("oauth2.exclude_not_before_claim", "Latch's JWT access tokens always carry nbf"),
    refused(
        "oauth2.allowed_top_level_claims",
        NONE,
        "Latch keeps custom claims under 'ext' in JWT access tokens and does not copy them to the top level",
    ),
    refused(
        "oauth2.mirror_top_level_claims",
        TRUE,
        "Latch always puts custom claims under 'ext' in JWT access tokens",
    ),
    no_effect("oauth2.preserve_ext_claims", "custom claims always stay under 'ext'"),
    refused("oauth2.hashers.algorithm", &["pbkdf2"], "client secrets are hashed with PBKDF2 only"),
    no_effect("oauth2.hashers.bcrypt.cost", "client secrets are hashed with PBKDF2"),
    read("oauth2.hashers.pbkdf2.iterations"),
    read("oauth2.pkce.enforced"),
    read("oauth2.pkce.enforced_for_public_clients"),
    refused(
        "oauth2.client_credentials.default_grant_allowed_scope",
        FALSE,
        "a client_credentials token gets only the scope the client requests",
    ),
    read("oauth2.grant.refresh_token.rotation_grace_period"),
    refused(
        "oauth2.grant.refresh_token.rotation_grace_reuse_count",
        &["0"],
        "Latch's grace period (oauth2.grant.refresh_token.rotation_grace_period) allows any number of reuses within it; it cannot count them",
    ),
    read("oauth2.grant.jwt.jti_optional"),
    read("oauth2.grant.jwt.iat_optional"),
    read("oauth2.grant.jwt.max_ttl"),
    read("oauth2.grant.jwt.omit_assertion_audience"),
    read("oauth2.refresh_token_hook"),
    read("oauth2.device_authorization.token_polling_interval"),
    read("oauth2.device_authorization.user_code.entropy_preset"),
    read("oauth2.device_authorization.user_code.length"),
    read("oauth2.device_authorization.user_code.character_set"),
    read("oauth2.token_hook"),
    read("secrets.system"),
    no_effect(
        "secrets.cookie",
        "Latch seals its remembered-login cookie under secrets.system, so cookies stay sealed",
    ),
    no_effect("secrets.pagination", "Latch's page tokens carry no secret (they name where the next page starts)"),
    no_effect("profiling", ""),
    // tracing: ory/x's OpenTelemetry settings.
    read("tracing.provider"),
    read("tracing.service_name"),
    no_effect("tracing.deployment_environment", ""),
    no_effect("tracing.providers.jaeger.local_agent_address", OTHER_TRACERS),
    no_effect("tracing.providers.jaeger.sampling.server_url", OTHER_TRACERS),
    no_effect("tracing.providers.jaeger.sampling.trace_id_ratio", OTHER_TRACERS),
    no_effect("tracing.providers.zipkin.server_url", OTHER_TRACERS),
    no_effect("tracing.providers.zipkin.sampling.sampling_ratio", OTHER_TRACERS),
    read("tracing.providers.otlp.server_url"),
    read("tracing.providers.otlp.insecure"),
    read("tracing.providers.otlp.sampling.sampling_ratio"),
    no_effect("tracing.providers.otlp.authorization_header", "spans are exported without an Authorization header"),
    no_effect("sqa.opt_out", "Latch sends no usage statistics"),
    no_effect("version", ""),
    no_effect("cgroups.v1.auto_max_procs_enabled", ""),
    no_effect("dev", "development mode is the --dev flag"),
    no_effect("feature_flags.legacy_allow_insecure_origins", "Latch never matches a wildcard that is not a whole DNS label"),
];

/// Latch's own keys in Hydra's shape, for what Hydra has no key for (each listener's
/// timeouts and connection cap, see `latch_native::config::ListenerSettings`; what
/// goes beyond Hydra, read by [`crate::config::Config::apply_settings`]).
pub const LATCH_KEYS: &[&str] = &[
    "serve.public.timeout.read_header",
    "serve.public.timeout.read",
    "serve.public.timeout.write",
    "serve.public.timeout.idle",
    "serve.public.max_connections",
    "serve.admin.timeout.read_header",
    "serve.admin.timeout.read",
    "serve.admin.timeout.write",
    "serve.admin.timeout.idle",
    "serve.admin.max_connections",
    // RFC 9126 (crate::par).
    "oauth2.pushed_authorization_requests.required",
    "ttl.pushed_authorization_request",
    // RFC 9449 (crate::dpop).
    "oauth2.dpop.require_nonce",
    // The FAPI 2.0 Security Profile (crate::fapi).
    "oauth2.profile",
];

/// The keys Latch reads whose value may be an object: Hydra's webhooks (`url`, `auth`),
/// which a config file gives whole (its JSON is the value) and the environment whole
/// or field by field (`OAUTH2_TOKEN_HOOK_URL`; see [`crate::token_hook::Webhook`]).
pub const OBJECT_KEYS: &[&str] = &["oauth2.token_hook", "oauth2.refresh_token_hook", "urls.identity_provider.headers"];

/// The value of `key` through `get`, by its environment name.
fn value_of(key: &Key, get: &dyn Fn(&str) -> Option<String>) -> Option<(String, String)> {
    let name = key.env_name();
    get(&name).filter(|v| !v.trim().is_empty()).map(|v| (name, v))
}

/// The row of a Hydra path.
pub fn hydra_key(path: &str) -> Option<&'static Key> {
    HYDRA_KEYS.iter().find(|k| k.path == path)
}

/// Whether a config file may hold `path`: one of Hydra's keys or Latch's own.
pub fn is_known(path: &str) -> bool {
    hydra_key(path).is_some() || LATCH_KEYS.contains(&path)
}

/// Checks every key of Hydra's schema that is set through `get` (by its environment
/// name; a host's `get` reads its environment over its config files): a
/// [`Status::Refused`] key set to a value it does not allow is the error `"KEY: why"`;
/// each [`Status::NoEffect`] key that is set gives one warning naming it, for the host to
/// log at start-up. An empty value counts as unset. Refused values are quoted only for
/// keys with a list of allowed values (never a hook's URL or an HSM PIN).
pub fn check(get: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for key in HYDRA_KEYS {
        let Some((name, value)) = value_of(key, get) else { continue };
        match key.status {
            Status::Read => {}
            Status::NoEffect { note } => {
                let note = if note.is_empty() { String::new() } else { format!(" ({note})") };
                warnings.push(format!(
                    "{name} ({}): accepted for Hydra compatibility, has no effect in Latch{note}",
                    key.path
                ));
            }
            Status::Refused { allowed, why } => {
                let value = value.trim();
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                    continue;
                }
                let what = match allowed.first() {
                    Some(only) => format!("{}={value} is not supported by Latch (only {only})", key.path),
                    None => format!("{} is not supported by Latch", key.path),
                };
                return Err(format!("{name}: {what}: {why}"));
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn count(f: impl Fn(&Status) -> bool) -> usize {
        HYDRA_KEYS.iter().filter(|k| f(&k.status)).count()
    }

    /// The table is Hydra's schema: as many leaf keys (counted from `spec/config.json`
    /// with ory/x's serve, CORS, TLS and tracing schemas it refers to), each once, under
    /// distinct environment names, none of them Latch's own.
    #[test]
    fn the_table_has_each_of_hydras_keys_once() {
        assert_eq!(HYDRA_KEYS.len(), 155);
        let paths: std::collections::BTreeSet<_> = HYDRA_KEYS.iter().map(|k| k.path).collect();
        assert_eq!(paths.len(), HYDRA_KEYS.len(), "a path twice");
        let names: std::collections::BTreeSet<_> = HYDRA_KEYS.iter().map(Key::env_name).collect();
        assert_eq!(names.len(), HYDRA_KEYS.len(), "two paths with one environment name");
        assert!(LATCH_KEYS.iter().all(|k| hydra_key(k).is_none()));
        // No key is a prefix of another: a file's value at a key is taken whole.
        for k in HYDRA_KEYS.iter().map(|k| k.path).chain(LATCH_KEYS.iter().copied()) {
            assert!(!paths.iter().any(|p| p.starts_with(&format!("{k}."))), "{k} is also a section");
        }
        let read = count(|s| matches!(s, Status::Read));
        let no_effect = count(|s| matches!(s, Status::NoEffect { .. }));
        let refused = count(|s| matches!(s, Status::Refused { .. }));
        assert_eq!((read, no_effect, refused), (87, 55, 13));
        for (path, env) in [
            ("serve.public.cors.enabled", "SERVE_PUBLIC_CORS_ENABLED"),
            ("oidc.subject_identifiers.supported_types", "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES"),
            ("oidc.subject_identifiers.pairwise.salt", "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT"),
            ("urls.identity_provider.publicUrl", "URLS_IDENTITY_PROVIDER_PUBLICURL"),
            ("dsn", "DSN"),
        ] {
            assert_eq!(hydra_key(path).map(Key::env_name).as_deref(), Some(env), "{path}");
        }
        assert_eq!(hydra_key("oidc.subject_identifiers.pairwise.salt").unwrap().status, Status::Read);
        assert!(matches!(hydra_key("secrets.cookie").unwrap().status, Status::NoEffect { .. }));
        assert!(matches!(hydra_key("oauth2.hashers.algorithm").unwrap().status, Status::Refused { .. }));
        assert!(hydra_key("serve.public.timeout.read").is_none() && is_known("serve.public.timeout.read"));
        assert!(!is_known("urls.self.isuer"));
    }

    fn check_vars(vars: &[(&str, &str)]) -> Result<Vec<String>, String> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        check(&|k| m.get(k).cloned())
    }

    #[test]
    fn refused_keys_fail_unless_harmless_and_no_effect_keys_warn() {
        assert_eq!(check_vars(&[]), Ok(vec![]));
        for (k, v) in [
            ("OAUTH2_HASHERS_ALGORITHM", "pbkdf2"),
            ("OAUTH2_HASHERS_ALGORITHM", "PBKDF2"),
            ("STRATEGIES_SCOPE", "wildcard"),
            ("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT", "0"),
            ("SERVE_PUBLIC_CORS_ENABLED", "true"),
            ("SERVE_TLS_ENABLED", "0"),
            ("SERVE_PUBLIC_TLS_CERT_PATH", "/etc/tls.crt"),
            ("OAUTH2_MIRROR_TOP_LEVEL_CLAIMS", "true"),
            ("SERVE_COOKIES_DOMAIN", ""),
            ("OAUTH2_TOKEN_HOOK", " "),
            ("URLS_SELF_ISSUER", "anything: read by the hosts"),
            ("NOT_A_HYDRA_KEY", "ignored"),
        ] {
            assert_eq!(check_vars(&[(k, v)]), Ok(vec![]), "{k}={v}");
        }
        for (k, v, says) in [
            ("OAUTH2_HASHERS_ALGORITHM", "bcrypt", "oauth2.hashers.algorithm=bcrypt is not supported by Latch"),
            ("STRATEGIES_SCOPE", "exact", "strategies.scope=exact"),
            ("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT", "2", "any number of reuses"),
            ("SERVE_TLS_ALLOW_TERMINATION_FROM", "10.0.0.0/8", "TLS-terminating proxy"),
            ("SERVE_COOKIES_DOMAIN", "example.com", "host-only"),
            ("HSM_ENABLED", "true", "hardware security modules"),
        ] {
            let e = check_vars(&[(k, v)]).unwrap_err();
            assert!(e.starts_with(&format!("{k}: ")) && e.contains(says), "{k}={v}: {e}");
        }
        let e = check_vars(&[("SERVE_TLS_ALLOW_TERMINATION_FROM", "10.9.8.0/24")]).unwrap_err();
        assert!(!e.contains("10.9.8.0"), "a value without allowed ones is not quoted: {e}");
        // The hooks are read: the core parses them (token_hook.rs tests the refusals).
        assert_eq!(check_vars(&[("OAUTH2_TOKEN_HOOK", "https://hook.example/x")]), Ok(vec![]));
        assert!(OBJECT_KEYS.iter().all(|k| hydra_key(k).is_some_and(|k| k.status == Status::Read)));
        let w =
            check_vars(&[("SECRETS_COOKIE", "a-cookie-secret-0123"), ("LOG_LEAK_SENSITIVE_VALUES", "true")]).unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("LOG_LEAK_SENSITIVE_VALUES (log.leak_sensitive_values): "), "{w:?}");
        assert!(w[1].contains("secrets.cookie") && w[1].contains("has no effect") && w[1].contains("secrets.system"));
        assert!(!w[1].contains("a-cookie-secret"), "values are never quoted in warnings");
    }
}
