//! The pure router: `(port, method, path)` to a closed set of [`Endpoint`]s.
//!
//! Admin paths are matched with or without the `/admin` prefix (Hydra v2 rewrites
//! v1's un-prefixed admin paths in-process; so do we). A trailing slash is ignored.

use crate::error::{Error, ErrorCode};
use crate::http::Method;

/// Which listener a request arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// The public API (4444).
    Public,
    /// The admin API (4445).
    Admin,
}

/// Every endpoint Latch answers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is named for its route; see `pattern`
pub enum Endpoint {
    // public
    Authorize,
    Token,
    Revoke,
    DeviceAuthorization,
    DeviceVerify,
    PushedAuthorization,
    Register,
    GetRegistration(String),
    ReplaceRegistration(String),
    DeleteRegistration(String),
    Userinfo,
    Logout,
    Discovery,
    Jwks,
    Fallback(&'static str),
    // both ports
    HealthAlive,
    HealthReady,
    OpenApi,
    // admin
    Version,
    Metrics,
    ListClients,
    CreateClient,
    GetClient(String),
    ReplaceClient(String),
    PatchClient(String),
    DeleteClient(String),
    SetClientLifespans(String),
    Introspect,
    DeleteTokens,
    GetKeySet(String),
    CreateKey(String),
    ReplaceKeySet(String),
    DeleteKeySet(String),
    GetKey(String, String),
    ReplaceKey(String, String),
    DeleteKey(String, String),
    GetLoginRequest,
    AcceptLoginRequest,
    RejectLoginRequest,
    GetConsentRequest,
    AcceptConsentRequest,
    RejectConsentRequest,
    ListConsentSessions,
    RevokeConsentSessions,
    RevokeLoginSessions,
    GetLogoutRequest,
    AcceptLogoutRequest,
    RejectLogoutRequest,
    AcceptDeviceRequest,
    ListTrusts,
    CreateTrust,
    GetTrust(String),
    DeleteTrust(String),
}

impl Endpoint {
    /// The route pattern, `{param}` for path parameters: the `endpoint` label of metrics.
    pub fn pattern(&self) -> &'static str {
        use Endpoint::*;
        match self {
            Authorize => "/oauth2/auth",
            Token => "/oauth2/token",
            Userinfo => "/userinfo",
            Logout => "/oauth2/sessions/logout",
            Fallback(name) => match *name {
                "login" => "/oauth2/fallbacks/login",
                "consent" => "/oauth2/fallbacks/consent",
                "logout" => "/oauth2/fallbacks/logout",
                "logout_callback" => "/oauth2/fallbacks/logout/callback",
                "device" => "/oauth2/fallbacks/device",
                "device_done" => "/oauth2/fallbacks/device/done",
                _ => "/oauth2/fallbacks/error",
            },
            Revoke => "/oauth2/revoke",
            DeviceAuthorization => "/oauth2/device/auth",
            PushedAuthorization => crate::par::PATH,
            DeviceVerify => "/oauth2/device/verify",
            Register => "/oauth2/register",
            GetRegistration(_) | ReplaceRegistration(_) | DeleteRegistration(_) => "/oauth2/register/{id}",
            Discovery => "/.well-known/openid-configuration",
            Jwks => "/.well-known/jwks.json",
            HealthAlive => "/health/alive",
            HealthReady => "/health/ready",
            OpenApi => "/openapi.json",
            Version => "/admin/version",
            Metrics => "/admin/metrics/prometheus",
            ListClients | CreateClient => "/admin/clients",
            GetClient(_) | ReplaceClient(_) | PatchClient(_) | DeleteClient(_) => "/admin/clients/{id}",
            SetClientLifespans(_) => "/admin/clients/{id}/lifespans",
            Introspect => "/admin/oauth2/introspect",
            DeleteTokens => "/admin/oauth2/tokens",
            GetKeySet(_) | CreateKey(_) | ReplaceKeySet(_) | DeleteKeySet(_) => "/admin/keys/{set}",
            GetKey(..) | ReplaceKey(..) | DeleteKey(..) => "/admin/keys/{set}/{kid}",
            GetLoginRequest => "/admin/oauth2/auth/requests/login",
            AcceptLoginRequest => "/admin/oauth2/auth/requests/login/accept",
            RejectLoginRequest => "/admin/oauth2/auth/requests/login/reject",
            GetConsentRequest => "/admin/oauth2/auth/requests/consent",
            AcceptConsentRequest => "/admin/oauth2/auth/requests/consent/accept",
            RejectConsentRequest => "/admin/oauth2/auth/requests/consent/reject",
            ListConsentSessions | RevokeConsentSessions => "/admin/oauth2/auth/sessions/consent",
            RevokeLoginSessions => "/admin/oauth2/auth/sessions/login",
            GetLogoutRequest => "/admin/oauth2/auth/requests/logout",
            AcceptLogoutRequest => "/admin/oauth2/auth/requests/logout/accept",
            RejectLogoutRequest => "/admin/oauth2/auth/requests/logout/reject",
            AcceptDeviceRequest => "/admin/oauth2/auth/requests/device/accept",
            ListTrusts | CreateTrust => "/admin/trust/grants/jwt-bearer/issuers",
            GetTrust(_) | DeleteTrust(_) => "/admin/trust/grants/jwt-bearer/issuers/{id}",
        }
    }
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The methods a path answers, `GET` before the others, for `Allow` (RFC 9110 §10.2.1)
/// and CORS preflights; empty for a path that is not Latch's. Derived from [`endpoint`],
/// so the table is written once.
pub fn allowed_methods(port: Port, path: &str) -> Vec<Method> {
    use Method::*;
    let path = normalise(path);
    let mut methods: Vec<Method> =
        [Get, Post, Put, Patch, Delete].into_iter().filter(|m| endpoint(port, *m, path).is_some()).collect();
    if methods.contains(&Get) {
        methods.insert(1, Head);
    }
    methods
}

/// A trailing slash is ignored.
fn normalise(path: &str) -> &str {
    if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    }
}

/// Routes a request. Unknown paths are `not_found`; known paths with another method
/// are `method_not_allowed`, with the methods they allow (RFC 9110 §15.5.6).
pub fn route(port: Port, method: Method, path: &str) -> Result<Endpoint, Error> {
    let m = if method == Method::Head { Method::Get } else { method };
    if let Some(found) = endpoint(port, m, normalise(path)) {
        return Ok(found);
    }
    let allowed = allowed_methods(port, path);
    if allowed.is_empty() {
        let which = if port == Port::Public { "public" } else { "admin" };
        return Err(Error::not_found(format!("No {which} endpoint at {}.", normalise(path))));
    }
    let allow: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    Err(Error::new(ErrorCode::MethodNotAllowed)
        .with_hint(format!("{} is not allowed on {}; use {}.", method.as_str(), normalise(path), allow.join(", ")))
        .with_allow(allow.join(", ")))
}

/// The routing table: the endpoint at `(port, method, path)` (`HEAD` is asked as `GET`).
fn endpoint(port: Port, m: Method, path: &str) -> Option<Endpoint> {
    use Endpoint::*;
    use Method::*;
    let found = match port {
        Port::Public if path.starts_with("/oauth2/register/") => {
            let id = &path["/oauth2/register/".len()..];
            if id.is_empty() || id.contains('/') {
                return None;
            }
            match m {
                Get => GetRegistration(decode(id)),
                Put => ReplaceRegistration(decode(id)),
                Delete => DeleteRegistration(decode(id)),
                _ => return None,
            }
        }
        Port::Public => match (m, path) {
            (Get | Post, "/oauth2/auth") => Authorize,
            (Get | Post, "/userinfo") => Userinfo,
            (Get | Post, "/oauth2/sessions/logout") => Logout,
            (Get, "/oauth2/fallbacks/logout") => Fallback("logout"),
            (Get, "/oauth2/fallbacks/logout/callback") => Fallback("logout_callback"),
            (Get, "/oauth2/fallbacks/login") => Fallback("login"),
            (Get, "/oauth2/fallbacks/consent") => Fallback("consent"),
            (Get, "/oauth2/fallbacks/error") => Fallback("error"),
            (Get, "/oauth2/fallbacks/device") => Fallback("device"),
            (Get, "/oauth2/fallbacks/device/done") => Fallback("device_done"),
            (Get, "/oauth2/device/verify") => DeviceVerify,
            (Post, "/oauth2/token") => Token,
            (Post, "/oauth2/revoke") => Revoke,
            (Post, "/oauth2/device/auth") => DeviceAuthorization,
            (Post, "/oauth2/par") => PushedAuthorization,
            (Post, "/oauth2/register") => Register,
            (Get, "/.well-known/openid-configuration") | (Get, "/.well-known/oauth-authorization-server") => Discovery,
            (Get, "/.well-known/jwks.json") => Jwks,
            (Get, "/health/alive") => HealthAlive,
            (Get, "/health/ready") => HealthReady,
            (Get, "/openapi.json") => OpenApi,
            _ => return None,
        },
        Port::Admin => {
            let rest = path.strip_prefix("/admin").filter(|r| r.is_empty() || r.starts_with('/')).unwrap_or(path);
            let segs: Vec<&str> = rest.split('/').skip(1).collect();
            match (m, segs.as_slice()) {
                (Get, ["health", "alive"]) => HealthAlive,
                (Get, ["health", "ready"]) => HealthReady,
                (Get, ["openapi.json"]) => OpenApi,
                (Get, ["version"]) => Version,
                (Get, ["metrics", "prometheus"]) => Metrics,
                (Get, ["clients"]) => ListClients,
                (Post, ["clients"]) => CreateClient,
                (Get, ["clients", id]) => GetClient(decode(id)),
                (Put, ["clients", id]) => ReplaceClient(decode(id)),
                (Patch, ["clients", id]) => PatchClient(decode(id)),
                (Delete, ["clients", id]) => DeleteClient(decode(id)),
                (Put, ["clients", id, "lifespans"]) => SetClientLifespans(decode(id)),
                (Post, ["oauth2", "introspect"]) => Introspect,
                (Delete, ["oauth2", "tokens"]) => DeleteTokens,
                (Get, ["keys", set]) => GetKeySet(decode(set)),
                (Post, ["keys", set]) => CreateKey(decode(set)),
                (Put, ["keys", set]) => ReplaceKeySet(decode(set)),
                (Delete, ["keys", set]) => DeleteKeySet(decode(set)),
                (Get, ["keys", set, kid]) => GetKey(decode(set), decode(kid)),
                (Put, ["keys", set, kid]) => ReplaceKey(decode(set), decode(kid)),
                (Delete, ["keys", set, kid]) => DeleteKey(decode(set), decode(kid)),
                (Get, ["oauth2", "auth", "requests", "login"]) => GetLoginRequest,
                (Put, ["oauth2", "auth", "requests", "login", "accept"]) => AcceptLoginRequest,
                (Put, ["oauth2", "auth", "requests", "login", "reject"]) => RejectLoginRequest,
                (Get, ["oauth2", "auth", "requests", "consent"]) => GetConsentRequest,
                (Put, ["oauth2", "auth", "requests", "consent", "accept"]) => AcceptConsentRequest,
                (Put, ["oauth2", "auth", "requests", "consent", "reject"]) => RejectConsentRequest,
                (Get, ["oauth2", "auth", "sessions", "consent"]) => ListConsentSessions,
                (Delete, ["oauth2", "auth", "sessions", "consent"]) => RevokeConsentSessions,
                (Delete, ["oauth2", "auth", "sessions", "login"]) => RevokeLoginSessions,
                (Get, ["oauth2", "auth", "requests", "logout"]) => GetLogoutRequest,
                (Put, ["oauth2", "auth", "requests", "logout", "accept"]) => AcceptLogoutRequest,
                (Put, ["oauth2", "auth", "requests", "logout", "reject"]) => RejectLogoutRequest,
                (Put, ["oauth2", "auth", "requests", "device", "accept"]) => AcceptDeviceRequest,
                (Get, ["trust", "grants", "jwt-bearer", "issuers"]) => ListTrusts,
                (Post, ["trust", "grants", "jwt-bearer", "issuers"]) => CreateTrust,
                (Get, ["trust", "grants", "jwt-bearer", "issuers", id]) => GetTrust(decode(id)),
                (Delete, ["trust", "grants", "jwt-bearer", "issuers", id]) => DeleteTrust(decode(id)),
                _ => return None,
            }
        }
    };
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Endpoint::*;

    #[test]
    fn routing_table() {
        let ok = [
            (Port::Public, Method::Post, "/oauth2/token", Token),
            (Port::Public, Method::Get, "/.well-known/oauth-authorization-server", Discovery),
            (Port::Public, Method::Get, "/health/ready/", HealthReady),
            (Port::Admin, Method::Get, "/admin/clients", ListClients),
            (Port::Admin, Method::Get, "/clients", ListClients),
            (Port::Admin, Method::Get, "/admin/clients/my%20client", GetClient("my client".into())),
            (Port::Admin, Method::Patch, "/clients/x", PatchClient("x".into())),
            (Port::Admin, Method::Put, "/admin/clients/x/lifespans", SetClientLifespans("x".into())),
            (Port::Admin, Method::Put, "/clients/x/lifespans", SetClientLifespans("x".into())),
            (Port::Admin, Method::Post, "/oauth2/introspect", Introspect),
            (Port::Admin, Method::Post, "/admin/oauth2/introspect", Introspect),
            (Port::Admin, Method::Delete, "/admin/keys/s/k", DeleteKey("s".into(), "k".into())),
            (Port::Admin, Method::Put, "/admin/keys/s/k", ReplaceKey("s".into(), "k".into())),
            (Port::Admin, Method::Put, "/keys/s", ReplaceKeySet("s".into())),
            (Port::Admin, Method::Get, "/metrics/prometheus", Metrics),
            (Port::Admin, Method::Head, "/admin/health/alive", HealthAlive),
            (Port::Public, Method::Get, "/openapi.json", OpenApi),
            (Port::Admin, Method::Get, "/admin/openapi.json", OpenApi),
            (Port::Admin, Method::Get, "/openapi.json", OpenApi),
        ];
        for (port, m, path, want) in ok {
            assert_eq!(route(port, m, path).unwrap(), want, "{path}");
        }
    }

    #[test]
    fn wrong_method_and_unknown_path() {
        // Every path answers 405 with `Allow` for a method it lacks (RFC 9110 §15.5.6),
        // the flows' and fallbacks' paths too.
        for (port, m, path, allow) in [
            (Port::Public, Method::Get, "/oauth2/token", "POST"),
            (Port::Public, Method::Delete, "/oauth2/auth", "GET, HEAD, POST"),
            (Port::Public, Method::Post, "/oauth2/fallbacks/error", "GET, HEAD"),
            (Port::Admin, Method::Post, "/admin/clients/x", "GET, HEAD, PUT, PATCH, DELETE"),
            (Port::Admin, Method::Get, "/admin/oauth2/auth/requests/login/accept", "PUT"),
            (Port::Admin, Method::Post, "/oauth2/auth/sessions/consent/", "GET, HEAD, DELETE"),
            (Port::Admin, Method::Other, "/admin/keys/a/b", "GET, HEAD, PUT, DELETE"),
        ] {
            let e = route(port, m, path).unwrap_err();
            assert_eq!(e.code, ErrorCode::MethodNotAllowed, "{path}");
            assert_eq!(e.header.as_deref(), Some(&("allow", allow.to_string())), "{path}");
        }
        assert_eq!(route(Port::Public, Method::Get, "/oauth2/token").unwrap_err().code, ErrorCode::MethodNotAllowed);
        assert_eq!(route(Port::Admin, Method::Post, "/admin/clients/x").unwrap_err().code, ErrorCode::MethodNotAllowed);
        assert_eq!(route(Port::Public, Method::Get, "/admin/clients").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(route(Port::Admin, Method::Post, "/oauth2/token").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(route(Port::Admin, Method::Get, "/administrator").unwrap_err().code, ErrorCode::NotFound);
    }
}
