//! The protocol's settings, already parsed and validated by the host.
//!
//! Hosts read them from wherever they like (YAML, environment, Worker `vars`); the core
//! only sees this struct.

/// How access tokens look (Hydra's `strategies.access_token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTokenStrategy {
    /// `latch_at_<random>.<hmac>`: opaque HMAC tokens (the default).
    Opaque,
    /// Signed JWTs (RFC 9068 shape), still recorded for introspection and revocation.
    Jwt,
}

/// How a JWT access token carries its scope (Hydra's `strategies.jwt.scope_claim`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeClaim {
    /// `scp`, a list (`list`: Hydra's default).
    List,
    /// `scope`, space-separated (`string`: RFC 9068 §2.2.3).
    String,
    /// Both (`both`: Latch's default, so that RFC 9068 resource servers and Hydra's read it).
    Both,
}

impl ScopeClaim {
    /// Whether the token carries `scp`.
    pub fn list(self) -> bool {
        matches!(self, ScopeClaim::List | ScopeClaim::Both)
    }
    /// Whether the token carries `scope`.
    pub fn string(self) -> bool {
        matches!(self, ScopeClaim::String | ScopeClaim::Both)
    }
}

/// Server settings the protocol depends on.
#[derive(Clone, Debug)]
pub struct Config {
    /// The issuer identifier (`urls.self.issuer`), used as `iss`; no trailing slash is added.
    pub issuer: String,
    /// The public base URL endpoints are advertised under (defaults to the issuer).
    pub public_url: String,
    /// System secrets: the first signs and encrypts, the others still verify and decrypt.
    pub system_secrets: Vec<Vec<u8>>,
    /// Access-token lifetime in seconds (`ttl.access_token`, default 1h).
    pub access_token_ttl: i64,
    /// Refresh-token lifetime in seconds (`ttl.refresh_token`, default 720h).
    pub refresh_token_ttl: i64,
    /// ID-token lifetime in seconds (`ttl.id_token`, default 1h).
    pub id_token_ttl: i64,
    /// Authorization-code lifetime in seconds (`ttl.auth_code`, default 10m).
    pub auth_code_ttl: i64,
    /// The global access-token strategy; a client may override it.
    pub access_token_strategy: AccessTokenStrategy,
    /// The scope claim of JWT access tokens (`strategies.jwt.scope_claim`).
    pub jwt_scope_claim: ScopeClaim,
    /// PBKDF2 iterations for new client secrets (`oauth2.hashers.pbkdf2.iterations`).
    pub pbkdf2_iterations: u32,
    /// Development mode: http issuers and redirect URIs allowed, debug detail in errors.
    pub dev: bool,
    /// Show `error_debug` in error responses (`oauth2.expose_internal_errors`).
    pub expose_internal_errors: bool,
    /// The version string `/admin/version` reports.
    pub version: String,
    /// The login UI (`urls.login`); defaults to the built-in fallback page.
    pub login_url: String,
    /// The consent UI (`urls.consent`).
    pub consent_url: String,
    /// The logout UI (`urls.logout`).
    pub logout_url: String,
    /// Where errors that cannot go back to the client are shown (`urls.error`).
    pub error_url: String,
    /// Where a logout without a valid `post_logout_redirect_uri` ends (`urls.post_logout_redirect`).
    pub post_logout_redirect_url: String,
    /// How long a login/consent flow may take, in seconds (`ttl.login_consent_request`, 30m).
    pub login_consent_ttl: i64,
    /// The longest a remembered login lasts, in seconds (`ttl.authentication_session`, 720h).
    pub authentication_session_ttl: i64,
    /// How long a rotated refresh token may still be used, in seconds
    /// (`oauth2.grant.refresh_token.rotation_grace_period`, default 0).
    pub refresh_grace_period: i64,
    /// PKCE required for every client (`oauth2.pkce.enforced`).
    pub pkce_enforced: bool,
    /// PKCE required for public clients (`oauth2.pkce.enforced_for_public_clients`, default true).
    pub pkce_enforced_for_public_clients: bool,
    /// The algorithm of generated ID-token keys (`RS256` as Hydra, or `ES256`, `EdDSA`).
    pub id_token_alg: crate::keys::Alg,
    /// Cookie settings.
    pub cookies: CookieConfig,
    /// The subject identifier types offered (`oidc.subject_identifiers.supported_types`,
    /// OIDC Core §8): `public`, and `pairwise` when a salt is set.
    pub subject_types: Vec<String>,
    /// The salt of pairwise subjects (`oidc.subject_identifiers.pairwise.salt`, OIDC
    /// Core §8.1): secret, at least 8 characters when `pairwise` is offered.
    pub pairwise_salt: String,
    /// CORS on the public port (`serve.public.cors.*`).
    pub cors_public: crate::cors::CorsConfig,
    /// CORS on the admin port (`serve.admin.cors.*`).
    pub cors_admin: crate::cors::CorsConfig,
    /// The JWT-bearer grant's rules (`oauth2.grant.jwt.*`).
    pub jwt_grant: JwtGrantConfig,
    /// Outgoing calls for clients (their `jwks_uri`) reach only public addresses
    /// (`clients.http.disallow_private_ip_ranges`, default false as in Hydra).
    pub disallow_private_ip_ranges: bool,
    /// The device authorization grant's settings (RFC 8628).
    pub device: DeviceConfig,
    /// Dynamic client registration (`oidc.dynamic_client_registration.*`).
    pub registration: RegistrationConfig,
    /// Called before every grant's tokens are issued (`oauth2.token_hook`).
    pub token_hook: Option<crate::token_hook::Webhook>,
    /// Called before a refresh's tokens are issued (`oauth2.refresh_token_hook`).
    pub refresh_token_hook: Option<crate::token_hook::Webhook>,
    /// Whose sessions a logout also ends (`urls.identity_provider.*`, Ory Kratos).
    pub identity_provider: Option<crate::identity_provider::IdentityProvider>,
    /// Pushed authorization requests (RFC 9126, [`crate::par`]).
    pub par: ParConfig,
    /// DPoP (RFC 9449, [`crate::dpop`]).
    pub dpop: DpopConfig,
    /// The FAPI 2.0 Security Profile's rules hold (`oauth2.profile: fapi2`, [`crate::fapi`]).
    pub fapi2: bool,
}

/// DPoP (RFC 9449): Latch's own keys, Hydra has none.
#[derive(Clone, Debug, Default)]
pub struct DpopConfig {
    /// Every proof must carry a server nonce (`oauth2.dpop.require_nonce`, default
    /// false; §8): a proof cannot be made ahead of time.
    pub require_nonce: bool,
}

/// Pushed authorization requests (RFC 9126): Latch's own keys, Hydra has none.
#[derive(Clone, Debug)]
pub struct ParConfig {
    /// Every authorization request must be pushed first
    /// (`oauth2.pushed_authorization_requests.required`, default false; a client's
    /// `require_pushed_authorization_requests` asks it of that client alone).
    pub required: bool,
    /// How long a pushed request's `request_uri` may be used, in seconds
    /// (`ttl.pushed_authorization_request`, default 60s; RFC 9126 §2.2).
    pub ttl: i64,
}

/// Dynamic client registration (RFC 7591, [`crate::registration`]).
#[derive(Clone, Debug)]
pub struct RegistrationConfig {
    /// `POST /oauth2/register` and RFC 7592's management are answered
    /// (`oidc.dynamic_client_registration.enabled`, default false).
    pub enabled: bool,
    /// The scope of a client registered without one (`…default_scope`; Hydra's
    /// default `offline_access offline openid`).
    pub default_scope: Vec<String>,
}

/// The device authorization grant's settings (`oauth2.device_authorization.*`,
/// `ttl.device_user_code`, `urls.device.*`).
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// How long the device and user codes live, in seconds (`ttl.device_user_code`, 10m).
    pub user_code_ttl: i64,
    /// The polling interval the device is told, in seconds (`token_polling_interval`, 5s).
    pub polling_interval: i64,
    /// User codes' length (`user_code.length`, or the entropy preset's).
    pub user_code_length: usize,
    /// User codes' characters (`user_code.character_set`, or the entropy preset's).
    pub user_code_characters: Vec<char>,
    /// The operator's page that asks for the user code (`urls.device.verification`);
    /// empty: the fallback page.
    pub verification_url: String,
    /// Where the browser lands once the device is authorized (`urls.device.success`);
    /// empty: the fallback page.
    pub success_url: String,
}

/// Hydra's default preset, `high`.
const HIGH_USER_CODES: (usize, &str) = (8, "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679");

/// Hydra's user-code entropy presets (`oauth2.device_authorization.user_code.entropy_preset`):
/// `high`, 8 of 49 letters and digits that are hard to confuse (about 45 bits); `medium`,
/// 8 capital letters (about 37 bits); `low`, 9 digits (about 30 bits).
pub fn user_code_preset(name: &str) -> Option<(usize, &'static str)> {
    Some(match name {
        "high" => HIGH_USER_CODES,
        "medium" => (8, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        "low" => (9, "0123456789"),
        _ => return None,
    })
}

/// The JWT-bearer grant's rules (`oauth2.grant.jwt.*`, RFC 7523 §3); client assertions
/// (`private_key_jwt`) always require `jti` and have no `max_ttl`, as in Hydra.
#[derive(Clone, Debug)]
pub struct JwtGrantConfig {
    /// An assertion without `jti` is accepted (`jti_optional`, default false).
    pub jti_optional: bool,
    /// An assertion without `iat` is accepted (`iat_optional`, default false).
    pub iat_optional: bool,
    /// The longest `exp` minus `iat` (or now) accepted, in seconds (`max_ttl`, 720h).
    pub max_ttl: i64,
    /// The assertion's `aud` is not granted as the token's audience
    /// (`omit_assertion_audience`, default true).
    pub omit_assertion_audience: bool,
}

/// How Latch's cookies are named and flagged (`serve.cookies.*`).
#[derive(Clone, Debug)]
pub struct CookieConfig {
    /// `SameSite` attribute: `Lax`, `Strict` or `None`.
    pub same_site: String,
    /// Whether cookies carry `Secure` (off only in dev mode).
    pub secure: bool,
    /// Name prefix of the login CSRF cookie (a client-specific suffix is appended).
    pub login_csrf: String,
    /// Name prefix of the consent CSRF cookie.
    pub consent_csrf: String,
    /// Name of the logout CSRF cookie.
    pub logout_csrf: String,
    /// Name of the device flow's CSRF cookie (`serve.cookies.names.device_csrf`).
    pub device_csrf: String,
    /// Name of the remembered-login cookie.
    pub session: String,
}

impl Config {
    /// Settings with Hydra's defaults for the given issuer and secret.
    pub fn new(issuer: &str, system_secret: &[u8]) -> Config {
        let issuer = issuer.to_string();
        Config {
            public_url: issuer.clone(),
            issuer,
            system_secrets: vec![system_secret.to_vec()],
            access_token_ttl: 3600,
            refresh_token_ttl: 720 * 3600,
            id_token_ttl: 3600,
            auth_code_ttl: 600,
            access_token_strategy: AccessTokenStrategy::Opaque,
            jwt_scope_claim: ScopeClaim::Both,
            pbkdf2_iterations: 25_000,
            dev: false,
            expose_internal_errors: false,
            version: env!("CARGO_PKG_VERSION").to_string(),
            login_url: String::new(),
            consent_url: String::new(),
            logout_url: String::new(),
            error_url: String::new(),
            post_logout_redirect_url: String::new(),
            login_consent_ttl: 1800,
            authentication_session_ttl: 720 * 3600,
            refresh_grace_period: 0,
            pkce_enforced: false,
            pkce_enforced_for_public_clients: true,
            id_token_alg: crate::keys::Alg::Rs256,
            cookies: CookieConfig {
                same_site: "Lax".into(),
                secure: true,
                login_csrf: "latch_login_csrf".into(),
                consent_csrf: "latch_consent_csrf".into(),
                logout_csrf: "latch_logout_csrf".into(),
                device_csrf: "latch_device_csrf".into(),
                session: "latch_session".into(),
            },
            subject_types: vec!["public".into()],
            pairwise_salt: String::new(),
            cors_public: Default::default(),
            cors_admin: Default::default(),
            jwt_grant: JwtGrantConfig {
                jti_optional: false,
                iat_optional: false,
                max_ttl: 720 * 3600,
                omit_assertion_audience: true,
            },
            disallow_private_ip_ranges: false,
            device: DeviceConfig {
                user_code_ttl: 600,
                polling_interval: 5,
                user_code_length: HIGH_USER_CODES.0,
                user_code_characters: HIGH_USER_CODES.1.chars().collect(),
                verification_url: String::new(),
                success_url: String::new(),
            },
            registration: RegistrationConfig {
                enabled: false,
                default_scope: ["offline_access", "offline", "openid"].map(String::from).to_vec(),
            },
            token_hook: None,
            refresh_token_hook: None,
            identity_provider: None,
            par: ParConfig { required: false, ttl: 60 },
            dpop: DpopConfig::default(),
            fapi2: false,
        }
    }

    /// What a JWT presented to the token endpoint may name as its `aud` (RFC 7523 §3
    /// item 3): the token endpoint's URL, as the public URL and as the issuer's, and the
    /// issuer itself (as RFC 7523 allows and OpenID Connect's `private_key_jwt` clients
    /// send).
    pub fn token_audiences(&self) -> Vec<String> {
        let mut out = vec![self.public_endpoint("/oauth2/token")];
        // RFC 9126 §2: a push's client assertion may name the endpoint it is sent to.
        for a in [
            format!("{}/oauth2/token", self.issuer.trim_end_matches('/')),
            self.issuer.clone(),
            self.public_endpoint(crate::par::PATH),
        ] {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// The CORS settings of a port.
    pub fn cors(&self, port: crate::router::Port) -> &crate::cors::CorsConfig {
        match port {
            crate::router::Port::Public => &self.cors_public,
            crate::router::Port::Admin => &self.cors_admin,
        }
    }

    /// Whether pairwise subjects are offered (OIDC Core §8.1).
    pub fn pairwise_supported(&self) -> bool {
        self.subject_types.iter().any(|t| t == "pairwise")
    }

    /// A URL under the public base, without doubling the slash.
    pub fn public_endpoint(&self, path: &str) -> String {
        format!("{}{}", self.public_url.trim_end_matches('/'), path)
    }

    /// A UI URL, or the built-in fallback page when unset.
    pub fn ui_url(&self, configured: &str, fallback: &str) -> String {
        if configured.is_empty() {
            self.public_endpoint(fallback)
        } else {
            configured.to_string()
        }
    }

    /// Whether `error_debug` may be shown.
    pub fn expose_debug(&self) -> bool {
        self.dev || self.expose_internal_errors
    }
}

/// The least length of a system secret (`SECRETS_SYSTEM`), on every host.
pub const MIN_SYSTEM_SECRET_LEN: usize = 16;

/// The start-up rule for the issuer (`URLS_SELF_ISSUER`), on every host: a URL, and
/// https unless `dev` or a loopback host (OIDC Discovery 1.0 §3 and RFC 8414 §2: the
/// issuer "is a URL that uses the https scheme"). `dev_rule` says how this host waives
/// it ("outside --dev", "unless LATCH_DEV=true"). The error is `"KEY: why"`.
pub fn check_issuer(issuer: &str, dev: bool, dev_rule: &str) -> Result<(), String> {
    let bad = |why: String| format!("URLS_SELF_ISSUER: {why}");
    let url = url::Url::parse(issuer).map_err(|e| bad(format!("'{issuer}' is not a URL: {e}")))?;
    if !dev && url.scheme() != "https" && !crate::client::is_loopback_host(url.host_str().unwrap_or("")) {
        return Err(bad(format!("must use https {dev_rule} (http is allowed only for loopback addresses)")));
    }
    Ok(())
}

/// The system secrets of `SECRETS_SYSTEM` (comma-separated, the first in use), on every
/// host: at least one, each at least [`MIN_SYSTEM_SECRET_LEN`] long. The error is
/// `"KEY: why"` and never quotes a secret.
pub fn parse_system_secrets(raw: &str) -> Result<Vec<Vec<u8>>, String> {
    let secrets: Vec<Vec<u8>> =
        raw.split(',').map(|x| x.trim().as_bytes().to_vec()).filter(|x| !x.is_empty()).collect();
    if secrets.is_empty() || secrets.iter().any(|s| s.len() < MIN_SYSTEM_SECRET_LEN) {
        return Err(format!("SECRETS_SYSTEM: every secret must be at least {MIN_SYSTEM_SECRET_LEN} characters long"));
    }
    Ok(secrets)
}

impl Config {
    /// A host's settings at start-up: `issuer` and `secrets` checked by [`check_issuer`]
    /// and [`parse_system_secrets`], then [`Config::apply_settings`] through `get`;
    /// cookies are `Secure` outside `dev`.
    pub fn for_host(
        issuer: &str,
        secrets: Vec<Vec<u8>>,
        dev: bool,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let mut core = Config::new(issuer, secrets.first().map_or(&[][..], Vec::as_slice));
        core.system_secrets = secrets;
        core.dev = dev;
        core.apply_settings(get)?;
        core.cookies.secure = !dev;
        Ok(core)
    }
}

impl Config {
    /// Applies the protocol settings both hosts read by Hydra's environment names
    /// (`URLS_SELF_PUBLIC`, `TTL_*`, `STRATEGIES_ACCESS_TOKEN`, `URLS_LOGIN`…,
    /// `OAUTH2_*`, `SERVE_COOKIES_*`) through `get`. A bad value is an error
    /// `"KEY: why"`. The issuer, secrets, `dev` and cookie `Secure` are the host's to set.
    pub fn apply_settings(&mut self, get: &dyn Fn(&str) -> Option<String>) -> Result<(), String> {
        use crate::duration::parse_seconds;
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let bad = |k: &str, why: &str| format!("{k}: {why}");
        let flag = |k: &str| -> Result<Option<bool>, String> {
            match var(k) {
                None => Ok(None),
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(Some(true)),
                    "0" | "false" | "no" | "off" => Ok(Some(false)),
                    _ => Err(bad(k, "must be true or false")),
                },
            }
        };
        if let Some(p) = var("URLS_SELF_PUBLIC") {
            self.public_url = p;
        }
        let ttl = |k: &str, default: i64| -> Result<i64, String> {
            match var(k) {
                None => Ok(default),
                Some(v) => parse_seconds(&v)
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad(k, &format!("'{v}' is not a duration like 1h or 30m"))),
            }
        };
        self.access_token_ttl = ttl("TTL_ACCESS_TOKEN", self.access_token_ttl)?;
        self.refresh_token_ttl = ttl("TTL_REFRESH_TOKEN", self.refresh_token_ttl)?;
        self.id_token_ttl = ttl("TTL_ID_TOKEN", self.id_token_ttl)?;
        self.auth_code_ttl = ttl("TTL_AUTH_CODE", self.auth_code_ttl)?;
        self.login_consent_ttl = ttl("TTL_LOGIN_CONSENT_REQUEST", self.login_consent_ttl)?;
        self.authentication_session_ttl = ttl("TTL_AUTHENTICATION_SESSION", self.authentication_session_ttl)?;
        self.access_token_strategy = match var("STRATEGIES_ACCESS_TOKEN").as_deref() {
            None | Some("opaque") => AccessTokenStrategy::Opaque,
            Some("jwt") => AccessTokenStrategy::Jwt,
            Some(v) => return Err(bad("STRATEGIES_ACCESS_TOKEN", &format!("'{v}' must be 'opaque' or 'jwt'"))),
        };
        if let Some(v) = var("STRATEGIES_JWT_SCOPE_CLAIM") {
            self.jwt_scope_claim = match v.trim().to_ascii_lowercase().as_str() {
                "list" => ScopeClaim::List,
                "string" => ScopeClaim::String,
                "both" => ScopeClaim::Both,
                _ => {
                    return Err(bad("STRATEGIES_JWT_SCOPE_CLAIM", &format!("'{v}' must be 'list', 'string' or 'both'")))
                }
            };
        }
        if let Some(v) = var("OAUTH2_HASHERS_PBKDF2_ITERATIONS") {
            self.pbkdf2_iterations =
                v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad("OAUTH2_HASHERS_PBKDF2_ITERATIONS", &format!("'{v}' is not a positive integer"))
                })?;
        }
        for (key, field) in [
            ("URLS_LOGIN", &mut self.login_url),
            ("URLS_CONSENT", &mut self.consent_url),
            ("URLS_LOGOUT", &mut self.logout_url),
            ("URLS_ERROR", &mut self.error_url),
            ("URLS_POST_LOGOUT_REDIRECT", &mut self.post_logout_redirect_url),
            ("URLS_DEVICE_VERIFICATION", &mut self.device.verification_url),
            ("URLS_DEVICE_SUCCESS", &mut self.device.success_url),
        ] {
            if let Some(v) = var(key) {
                url::Url::parse(&v).map_err(|e| bad(key, &format!("'{v}' is not an absolute URL: {e}")))?;
                *field = v;
            }
        }
        if let Some(v) = var("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD") {
            self.refresh_grace_period = parse_seconds(&v).filter(|s| *s <= 300).ok_or_else(|| {
                bad(
                    "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD",
                    &format!("'{v}' must be a duration of at most 5m"),
                )
            })?;
        }
        for (key, field) in [
            ("OAUTH2_GRANT_JWT_JTI_OPTIONAL", &mut self.jwt_grant.jti_optional),
            ("OAUTH2_GRANT_JWT_IAT_OPTIONAL", &mut self.jwt_grant.iat_optional),
            ("OAUTH2_GRANT_JWT_OMIT_ASSERTION_AUDIENCE", &mut self.jwt_grant.omit_assertion_audience),
        ] {
            if let Some(v) = flag(key)? {
                *field = v;
            }
        }
        self.jwt_grant.max_ttl = ttl("OAUTH2_GRANT_JWT_MAX_TTL", self.jwt_grant.max_ttl)?;
        self.device.user_code_ttl = ttl("TTL_DEVICE_USER_CODE", self.device.user_code_ttl)?;
        self.device.polling_interval =
            ttl("OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL", self.device.polling_interval)?;
        const PRESET: &str = "OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET";
        if let Some(v) = var(PRESET) {
            let (length, characters) =
                user_code_preset(&v).ok_or_else(|| bad(PRESET, &format!("'{v}' must be high, medium or low")))?;
            self.device.user_code_length = length;
            self.device.user_code_characters = characters.chars().collect();
        }
        // Hydra's schema: a length and a character set replace the preset together
        // (length at least 6, at least 8 distinct characters).
        const LENGTH: &str = "OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH";
        const CHARACTERS: &str = "OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET";
        match (var(LENGTH), var(CHARACTERS)) {
            (None, None) => {}
            (Some(length), Some(characters)) => {
                let length: usize = length
                    .parse()
                    .ok()
                    .filter(|n| (6..=64).contains(n))
                    .ok_or_else(|| bad(LENGTH, &format!("'{length}' must be a number from 6 to 64")))?;
                // Distinct, in the order given.
                let mut set: Vec<char> = Vec::new();
                for c in characters.chars() {
                    if !set.contains(&c) {
                        set.push(c);
                    }
                }
                if set.len() < 8 || set.iter().any(|c| !c.is_ascii_graphic()) {
                    return Err(bad(CHARACTERS, "must have at least 8 distinct printable ASCII characters"));
                }
                self.device.user_code_length = length;
                self.device.user_code_characters = set;
            }
            (Some(_), None) => return Err(bad(LENGTH, &format!("needs {CHARACTERS} too"))),
            (None, Some(_)) => return Err(bad(CHARACTERS, &format!("needs {LENGTH} too"))),
        }
        self.token_hook = crate::token_hook::Webhook::from_settings("OAUTH2_TOKEN_HOOK", &var)?;
        self.refresh_token_hook = crate::token_hook::Webhook::from_settings("OAUTH2_REFRESH_TOKEN_HOOK", &var)?;
        self.identity_provider = crate::identity_provider::IdentityProvider::from_settings(&var)?;
        if let Some(v) = flag("OAUTH2_PUSHED_AUTHORIZATION_REQUESTS_REQUIRED")? {
            self.par.required = v;
        }
        self.par.ttl = ttl("TTL_PUSHED_AUTHORIZATION_REQUEST", self.par.ttl)?;
        if let Some(v) = flag("OAUTH2_DPOP_REQUIRE_NONCE")? {
            self.dpop.require_nonce = v;
        }
        if let Some(v) = flag("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED")? {
            self.registration.enabled = v;
        }
        const DEFAULT_SCOPE: &str = "OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE";
        if let Some(v) = var(DEFAULT_SCOPE) {
            let scope: Vec<String> =
                v.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            if scope.iter().any(|s| !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')) {
                return Err(bad(DEFAULT_SCOPE, "must list scope tokens (RFC 6749 §3.3)"));
            }
            self.registration.default_scope = scope;
        }
        if let Some(v) = flag("CLIENTS_HTTP_DISALLOW_PRIVATE_IP_RANGES")? {
            self.disallow_private_ip_ranges = v;
        }
        if let Some(v) = flag("OAUTH2_PKCE_ENFORCED")? {
            self.pkce_enforced = v;
        }
        if let Some(v) = flag("OAUTH2_PKCE_ENFORCED_FOR_PUBLIC_CLIENTS")? {
            self.pkce_enforced_for_public_clients = v;
        }
        if let Some(v) = flag("OAUTH2_EXPOSE_INTERNAL_ERRORS")? {
            self.expose_internal_errors = v;
        }
        if let Some(v) = var("SERVE_COOKIES_SAME_SITE_MODE") {
            if !matches!(v.as_str(), "Lax" | "Strict" | "None") {
                return Err(bad("SERVE_COOKIES_SAME_SITE_MODE", &format!("'{v}' must be Lax, Strict or None")));
            }
            self.cookies.same_site = v;
        }
        for (key, field) in [
            ("SERVE_COOKIES_NAMES_LOGIN_CSRF", &mut self.cookies.login_csrf),
            ("SERVE_COOKIES_NAMES_CONSENT_CSRF", &mut self.cookies.consent_csrf),
            ("SERVE_COOKIES_NAMES_DEVICE_CSRF", &mut self.cookies.device_csrf),
            ("SERVE_COOKIES_NAMES_SESSION", &mut self.cookies.session),
        ] {
            if let Some(v) = var(key) {
                if !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
                    return Err(bad(key, &format!("'{v}' is not a valid cookie name")));
                }
                *field = v;
            }
        }
        let list =
            |k: &str| var(k).map(|v| v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect());
        for (prefix, cors) in
            [("SERVE_PUBLIC_CORS_", &mut self.cors_public), ("SERVE_ADMIN_CORS_", &mut self.cors_admin)]
        {
            let key = |k: &str| format!("{prefix}{k}");
            if let Some(v) = flag(&key("ENABLED"))? {
                cors.enabled = v;
            }
            if let Some(origins) = list(&key("ALLOWED_ORIGINS")) {
                let origins: Vec<String> = origins;
                if let Some(o) = origins.iter().find(|o| !crate::cors::valid_origin_pattern(o)) {
                    return Err(bad(
                        &key("ALLOWED_ORIGINS"),
                        &format!("'{o}' is not an origin (scheme://host[:port]) or a pattern with one '*' label"),
                    ));
                }
                cors.allowed_origins = origins;
            }
            for (k, field) in [
                ("ALLOWED_METHODS", &mut cors.allowed_methods),
                ("ALLOWED_HEADERS", &mut cors.allowed_headers),
                ("EXPOSED_HEADERS", &mut cors.exposed_headers),
            ] {
                if let Some(v) = list(&key(k)) {
                    *field = v;
                }
            }
            if let Some(v) = flag(&key("ALLOW_CREDENTIALS"))? {
                cors.allow_credentials = v;
            }
            if let Some(v) = var(&key("MAX_AGE")) {
                cors.max_age =
                    v.parse().map_err(|_| bad(&key("MAX_AGE"), &format!("'{v}' is not a number of seconds")))?;
            }
        }
        // The admin API authenticates nobody (natively): CORS there would let any page an
        // operator visits drive it from the operator's browser. Hydra reads an empty list
        // as every origin; Latch asks for the origins by name on this port.
        let admin = &self.cors_admin;
        if admin.enabled && (admin.allowed_origins.is_empty() || admin.allowed_origins.iter().any(|o| o.contains('*')))
        {
            return Err(bad(
                "SERVE_ADMIN_CORS_ALLOWED_ORIGINS",
                "the admin API authenticates nobody: with CORS enabled on it, name each origin that may call it (no '*', not empty)",
            ));
        }
        if let Some(v) = var("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT") {
            self.pairwise_salt = v;
        }
        if let Some(v) = var("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES") {
            const KEY: &str = "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES";
            let types: Vec<String> = v.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
            if let Some(t) = types.iter().find(|t| !matches!(t.as_str(), "public" | "pairwise")) {
                return Err(bad(KEY, &format!("'{t}' must be 'public' or 'pairwise'")));
            }
            self.subject_types = types;
            if self.subject_types.is_empty() {
                self.subject_types.push("public".into());
            }
        }
        if self.pairwise_supported() {
            // Hydra's rule: a pairwise subject is only as unguessable as its salt.
            if self.pairwise_salt.len() < 8 {
                return Err(bad(
                    "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT",
                    "must be a random string of at least 8 characters when 'pairwise' is a supported subject type",
                ));
            }
            // A JWT access token names the real subject to the client that holds it,
            // which would defeat pairwise identifiers (Hydra disables pairwise then).
            if self.access_token_strategy == AccessTokenStrategy::Jwt {
                return Err(bad(
                    "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES",
                    "'pairwise' needs opaque access tokens (STRATEGIES_ACCESS_TOKEN=opaque): a JWT access token shows the client the real subject",
                ));
            }
        }
        // Last: the profile tightens what the settings above chose.
        match var("OAUTH2_PROFILE").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("none") => {}
            Some("fapi2") => {
                self.fapi2 = true;
                crate::fapi::apply(self);
            }
            Some(v) => return Err(bad("OAUTH2_PROFILE", &format!("'{v}' must be 'fapi2' or 'none'"))),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start-up rules both hosts apply, with each host's wording of its dev switch.
    #[test]
    fn start_up_rules_for_issuer_and_secrets() {
        for (issuer, dev, ok) in [
            ("https://auth.example", false, true),
            ("http://auth.example", false, false),
            ("http://auth.example", true, true),
            ("http://127.0.0.1:4444", false, true),
            ("http://localhost:4444", false, true),
            ("not a url", true, false),
        ] {
            assert_eq!(check_issuer(issuer, dev, "outside --dev").is_ok(), ok, "{issuer} dev={dev}");
        }
        let e = check_issuer("http://auth.example", false, "unless LATCH_DEV=true").unwrap_err();
        assert!(e.starts_with("URLS_SELF_ISSUER: must use https unless LATCH_DEV=true"), "{e}");
        let two = parse_system_secrets(" 0123456789abcdef , fedcba9876543210,").expect("two secrets");
        assert_eq!(two, [b"0123456789abcdef".to_vec(), b"fedcba9876543210".to_vec()]);
        for bad in ["", " , ", "0123456789abcdef,short", "0123456789abcde"] {
            let e = parse_system_secrets(bad).unwrap_err();
            assert!(e.starts_with("SECRETS_SYSTEM: ") && !e.contains("short"), "{bad:?}: {e}");
        }
        let pairwise = |vars: &[(&str, &str)]| {
            let vars: std::collections::HashMap<String, String> =
                vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Config::for_host("https://auth.example", vec![b"0123456789abcdef".to_vec()], false, &|k| {
                vars.get(k).cloned()
            })
        };
        let on = pairwise(&[
            ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "public,pairwise"),
            ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "a-long-salt"),
        ])
        .expect("pairwise");
        assert!(on.pairwise_supported());
        for (vars, key) in [
            (&[("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "pairwise")][..], "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT"),
            (
                &[
                    ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "pairwise"),
                    ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "short"),
                ],
                "OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT",
            ),
            (
                &[("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "public,secret")],
                "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES",
            ),
            (
                &[
                    ("OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES", "pairwise"),
                    ("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "a-long-salt"),
                    ("STRATEGIES_ACCESS_TOKEN", "jwt"),
                ],
                "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES",
            ),
        ] {
            let e = pairwise(vars).unwrap_err();
            assert!(e.starts_with(key) && !e.contains("a-long-salt"), "{vars:?}: {e}");
        }
        // CORS on the admin port needs its origins named: an empty list (every origin, for
        // Hydra) or a wildcard would open the unauthenticated admin API to any page.
        for origins in ["", "*", "https://*.example.com"] {
            let e = pairwise(&[("SERVE_ADMIN_CORS_ENABLED", "true"), ("SERVE_ADMIN_CORS_ALLOWED_ORIGINS", origins)])
                .unwrap_err();
            assert!(e.starts_with("SERVE_ADMIN_CORS_ALLOWED_ORIGINS: "), "{origins:?}: {e}");
        }
        let named = pairwise(&[
            ("SERVE_ADMIN_CORS_ENABLED", "true"),
            ("SERVE_ADMIN_CORS_ALLOWED_ORIGINS", "https://ops.example"),
        ]);
        assert!(named.is_ok_and(|c| c.cors_admin.enabled));
        assert!(pairwise(&[("SERVE_PUBLIC_CORS_ENABLED", "true")]).is_ok(), "the public port keeps Hydra's meaning");
        let c = Config::for_host("https://auth.example", two, false, &|_| None).expect("settings");
        assert!(!c.pairwise_supported());
        assert_eq!((c.system_secrets.len(), c.dev, c.cookies.secure), (2, false, true));
    }
}
