//! The OAuth 2.0 client: Hydra's JSON shape (`client/client.go` in ory/hydra) and the
//! validation rules of RFC 6749 §2, RFC 7591 §2 and OIDC Registration §2.

use crate::client_auth::AuthMethod;
use crate::error::Error;
use crate::grants::{GrantType, LifespanField};
use serde::{Deserialize, Serialize};

/// The scope a client gets when it registers none (Hydra's default client scope).
pub const DEFAULT_SCOPE: &str = "offline_access offline openid";
/// The shortest secret an administrator may choose (Hydra's rule).
pub const MIN_SECRET_LEN: usize = 6;

/// An OAuth 2.0 client as the admin API shows it and the stores keep it.
///
/// `client_secret` appears in responses only when a secret was just set; the store
/// keeps `secret_hash` (never serialized to the API).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
// Unknown members are ignored, as Hydra (Go's `encoding/json`) ignores them: SDKs and
// exports of newer Hydra versions send fields Latch does not know.
#[serde(default)]
pub struct Client {
    /// The client identifier (RFC 6749 §2.2).
    pub client_id: String,
    /// Human-readable name.
    pub client_name: String,
    /// The secret in clear: input on create/update, output only right after it was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Always 0: secrets do not expire (RFC 7591 §3.2.1).
    pub client_secret_expires_at: i64,
    /// Registered redirect URIs (RFC 6749 §3.1.2).
    pub redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Allowed response types.
    pub response_types: Vec<String>,
    /// Space-separated scopes the client may request.
    pub scope: String,
    /// Audiences the client may request.
    pub audience: Vec<String>,
    /// Owner (free text).
    pub owner: String,
    /// Policy URL.
    pub policy_uri: String,
    /// Origins allowed for CORS.
    pub allowed_cors_origins: Vec<String>,
    /// Terms of service URL.
    pub tos_uri: String,
    /// Home page URL.
    pub client_uri: String,
    /// Logo URL.
    pub logo_uri: String,
    /// Contacts.
    pub contacts: Vec<String>,
    /// `public` or `pairwise`.
    pub subject_type: String,
    /// Sector identifier URI (pairwise subjects).
    pub sector_identifier_uri: String,
    /// The client's public keys, inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// The client's public keys, by URL.
    pub jwks_uri: String,
    /// How the client authenticates at the token endpoint.
    pub token_endpoint_auth_method: String,
    /// JWS alg for `private_key_jwt` assertions.
    pub token_endpoint_auth_signing_alg: String,
    /// Pre-registered request URIs.
    pub request_uris: Vec<String>,
    /// JWS alg for request objects.
    pub request_object_signing_alg: String,
    /// `none` or `RS256`.
    pub userinfo_signed_response_alg: String,
    /// Allowed post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Front-channel logout URI.
    pub frontchannel_logout_uri: String,
    /// Whether the front-channel logout URI wants `iss` and `sid`.
    pub frontchannel_logout_session_required: bool,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: String,
    /// Whether the logout token must carry `sid`.
    pub backchannel_logout_session_required: bool,
    /// Free JSON for the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// `jwt` or `opaque`; empty means the server's strategy.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub access_token_strategy: String,
    /// Advisory: the consent UI may skip the consent screen.
    pub skip_consent: bool,
    /// Advisory: the logout UI may skip the confirmation.
    pub skip_logout_consent: bool,
    /// RFC 9126 §6: the client's authorization requests must be pushed first
    /// ([`crate::par`]). Answered only when set, so Hydra's own clients read as before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: the client's access tokens are always DPoP-bound (a token request
    /// without a proof is refused). Answered only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// Per-client lifespan of client-credentials access tokens (Go duration, e.g. "1h").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_credentials_grant_access_token_lifespan: Option<String>,
    /// Per-client lifespan of access tokens from the code grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_access_token_lifespan: Option<String>,
    /// Per-client lifespan of ID tokens from the code grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_id_token_lifespan: Option<String>,
    /// Per-client lifespan of refresh tokens from the code grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_refresh_token_lifespan: Option<String>,
    /// Per-client lifespan of access tokens from the refresh grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_access_token_lifespan: Option<String>,
    /// Per-client lifespan of ID tokens from the refresh grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_id_token_lifespan: Option<String>,
    /// Per-client lifespan of refresh tokens from the refresh grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_refresh_token_lifespan: Option<String>,
    /// Per-client lifespan of access tokens issued by the authorization endpoint
    /// (`response_type` with `token`: the implicit and hybrid flows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implicit_grant_access_token_lifespan: Option<String>,
    /// Per-client lifespan of ID tokens issued by the authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implicit_grant_id_token_lifespan: Option<String>,
    /// Hydra's lifespan for the JWT-bearer grant (RFC 7523). Latch does not offer that
    /// grant; the value is stored and returned so that clients copied from Hydra, and
    /// SDKs that send every field, are accepted unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_bearer_grant_access_token_lifespan: Option<String>,
    /// Hydra's lifespans for the device grant (RFC 8628), stored and returned for the
    /// same reason; Latch does not offer that grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_grant_access_token_lifespan: Option<String>,
    /// See `device_authorization_grant_access_token_lifespan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_grant_id_token_lifespan: Option<String>,
    /// See `device_authorization_grant_access_token_lifespan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_grant_refresh_token_lifespan: Option<String>,
    /// Creation time (RFC 3339 on the wire).
    #[serde(with = "rfc3339")]
    pub created_at: i64,
    /// Last update time (RFC 3339 on the wire).
    #[serde(with = "rfc3339")]
    pub updated_at: i64,
    /// Read-only fields Hydra shows; accepted on input so a GET can be PUT back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    /// See `registration_access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    /// The PBKDF2 hash of the secret; never on the wire.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// The storage key of the client's registration access token (RFC 7592 §3,
    /// [`crate::registration`]): serialized so that stores keep it with the client,
    /// never answered (the admin API's and the flows' views drop it) and never read
    /// from a request ([`Client::from_json`] drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token_signature: Option<String>,
    /// A `client_secret_jwt` client's secret, sealed under the system secret
    /// ([`crate::seal::Purpose::ClientSecret`]): the HMAC key its assertions are checked
    /// with, which a hash cannot give back. Kept, never shown and never read from a
    /// request, as `registration_access_token_signature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_sealed: Option<String>,
}

/// (De)serializes Unix seconds as RFC 3339, accepting both on input.
mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        let dt = chrono::DateTime::from_timestamp(*t, 0).unwrap_or_default();
        s.serialize_str(&dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum T {
            S(String),
            N(i64),
        }
        Ok(match T::deserialize(d)? {
            T::N(n) => n,
            T::S(s) if s.is_empty() => 0,
            T::S(s) => chrono::DateTime::parse_from_rfc3339(&s)
                .map_err(|e| serde::de::Error::custom(format!("invalid timestamp {s:?}: {e}")))?
                .timestamp(),
        })
    }
}

/// The client fields that are token lifespans (`PUT /admin/clients/{id}/lifespans`):
/// those of the grant table's rows.
pub fn lifespan_fields() -> impl Iterator<Item = LifespanField> {
    GrantType::all_lifespan_fields()
}

/// The stored fields that no API shows and no request sets.
pub const HIDDEN_FIELDS: &[&str] = &["registration_access_token_signature", "client_secret_sealed"];

impl Client {
    /// Reads a client as Hydra (Go's `encoding/json`) reads one: unknown members are
    /// ignored and a `null` member reads as left out (apps written for Hydra send them).
    /// Only an object: serde would otherwise read an array positionally into the fields.
    pub fn from_json(v: serde_json::Value) -> Result<Client, String> {
        let serde_json::Value::Object(mut obj) = v else {
            return Err("the body must be a JSON object".into());
        };
        obj.retain(|k, v| !v.is_null() && !HIDDEN_FIELDS.contains(&k.as_str()));
        serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| e.to_string())
    }

    /// The client's scopes as a list.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }
    /// Whether the client registered this grant type.
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
    /// Whether this is a public client (no secret, RFC 6749 §2.1).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None.as_str()
    }
    /// The client as the API shows it: without a secret (it is shown only once).
    pub fn public_view(&self) -> Client {
        Client {
            client_secret: None,
            registration_access_token_signature: None,
            client_secret_sealed: None,
            ..self.clone()
        }
    }

    /// Fills defaults and checks every field, as Hydra's validator does.
    ///
    /// `dev` relaxes the https requirement on redirect URIs (as `--dev` does in Hydra).
    pub fn validate(&mut self, dev: bool) -> Result<(), Error> {
        let bad = |field: &str, why: &str| {
            Error::invalid_request(format!("Field '{field}' {why}"))
                .with_description("The request was invalid or contained invalid client metadata.")
        };
        type Field = fn(&mut Client) -> &mut Option<String>;
        // Hydra's lifespans of grants Latch does not offer: checked the same way.
        let stored_only: [(&str, Field); 4] = [
            ("jwt_bearer_grant_access_token_lifespan", |c| &mut c.jwt_bearer_grant_access_token_lifespan),
            ("device_authorization_grant_access_token_lifespan", |c| {
                &mut c.device_authorization_grant_access_token_lifespan
            }),
            ("device_authorization_grant_id_token_lifespan", |c| &mut c.device_authorization_grant_id_token_lifespan),
            ("device_authorization_grant_refresh_token_lifespan", |c| {
                &mut c.device_authorization_grant_refresh_token_lifespan
            }),
        ];
        for (name, get_mut) in lifespan_fields().map(|f| (f.name, f.get_mut)).chain(stored_only) {
            // Hydra's lifespans: Go durations (absent or null: the server's default),
            // answered as Go writes them ("90m" is shown as "1h30m0s").
            let value = get_mut(self);
            if let Some(v) = value.as_deref() {
                let secs = crate::duration::parse_seconds(v)
                    .ok_or_else(|| bad(name, "must be a duration such as 1h, 30m or 90s."))?;
                *value = Some(crate::duration::format_go(secs));
            }
        }
        if self.client_id.len() > 255 {
            return Err(bad("client_id", "must be at most 255 characters."));
        }
        if self.token_endpoint_auth_method.is_empty() {
            self.token_endpoint_auth_method = AuthMethod::ClientSecretBasic.as_str().into();
        }
        if AuthMethod::parse(&self.token_endpoint_auth_method).is_none() {
            let all: Vec<&str> = AuthMethod::ALL.into_iter().map(AuthMethod::as_str).collect();
            return Err(bad("token_endpoint_auth_method", &format!("must be one of {}.", all.join(", "))));
        }
        if self.grant_types.is_empty() {
            self.grant_types = vec![GrantType::AuthorizationCode.as_str().into()];
        }
        for g in &self.grant_types {
            if GrantType::parse(g).is_none() {
                return Err(bad("grant_types", &format!("contains unknown grant type '{g}'.")));
            }
        }
        if self.response_types.is_empty() {
            self.response_types = vec!["code".into()];
        }
        for rt in &self.response_types {
            if !rt.split(' ').all(|p| matches!(p, "code" | "token" | "id_token" | "none")) {
                return Err(bad("response_types", &format!("contains unknown response type '{rt}'.")));
            }
        }
        if self.scope.trim().is_empty() {
            self.scope = DEFAULT_SCOPE.into();
        }
        if self.subject_type.is_empty() {
            self.subject_type = "public".into();
        }
        if !matches!(self.subject_type.as_str(), "public" | "pairwise") {
            return Err(bad("subject_type", "must be 'public' or 'pairwise'."));
        }
        if !matches!(self.access_token_strategy.as_str(), "" | "jwt" | "opaque") {
            return Err(bad("access_token_strategy", "must be 'jwt' or 'opaque'."));
        }
        if !matches!(self.userinfo_signed_response_alg.as_str(), "" | "none" | "RS256") {
            return Err(bad("userinfo_signed_response_alg", "must be 'none' or 'RS256'."));
        }
        if self.userinfo_signed_response_alg.is_empty() {
            self.userinfo_signed_response_alg = "none".into();
        }
        // RFC 7591 §2: `jwks` is a JWK Set (RFC 7517 §5): an object whose `keys` are
        // JWKs, each naming its `kty` (§4.1). JSON null reads as absent.
        if self.jwks.as_ref().is_some_and(serde_json::Value::is_null) {
            self.jwks = None;
        }
        if let Some(set) = &self.jwks {
            let is_jwk = |k: &serde_json::Value| k.get("kty").is_some_and(serde_json::Value::is_string);
            let ok = set.get("keys").and_then(serde_json::Value::as_array).is_some_and(|ks| ks.iter().all(is_jwk));
            if !ok {
                return Err(bad(
                    "jwks",
                    "must be a JSON Web Key Set: an object whose 'keys' are JWKs, each with a 'kty'.",
                ));
            }
        }
        if self.jwks.is_some() && !self.jwks_uri.is_empty() {
            return Err(bad("jwks", "and 'jwks_uri' cannot both be set."));
        }
        if self.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt.as_str()
            && self.jwks.is_none()
            && self.jwks_uri.is_empty()
        {
            return Err(bad("jwks", "or 'jwks_uri' must be set when token_endpoint_auth_method is 'private_key_jwt'."));
        }
        if self.token_endpoint_auth_method == AuthMethod::PrivateKeyJwt.as_str()
            && self.token_endpoint_auth_signing_alg.is_empty()
        {
            self.token_endpoint_auth_signing_alg = "RS256".into();
        }
        // OIDC Registration §2: a request object's algorithm Latch verifies (never `none`).
        if !self.request_object_signing_alg.is_empty()
            && !crate::jwt_assertion::ASYMMETRIC_ALGS.contains(&self.request_object_signing_alg.as_str())
        {
            return Err(bad(
                "request_object_signing_alg",
                &format!("must be one of {}.", crate::jwt_assertion::ASYMMETRIC_ALGS.join(", ")),
            ));
        }
        // OIDC Registration §2: an algorithm the token endpoint verifies for the method:
        // HMAC with the secret for `client_secret_jwt` (HS256 by default), asymmetric for
        // the others (`none` never; an HMAC would be no proof of a private key).
        let secret_jwt = self.token_endpoint_auth_method == AuthMethod::ClientSecretJwt.as_str();
        if secret_jwt && self.token_endpoint_auth_signing_alg.is_empty() {
            self.token_endpoint_auth_signing_alg = "HS256".into();
        }
        let algs = if secret_jwt { crate::client_auth::HMAC_ALGS } else { crate::jwt_assertion::ASYMMETRIC_ALGS };
        if !self.token_endpoint_auth_signing_alg.is_empty()
            && !algs.contains(&self.token_endpoint_auth_signing_alg.as_str())
        {
            return Err(bad("token_endpoint_auth_signing_alg", &format!("must be one of {}.", algs.join(", "))));
        }
        // Every URL a browser may be sent to or shown (RFC 6749 §3.1.2, OIDC Registration
        // §2): web URLs only, as raw URI text (see `check_web_uri`).
        for (field, value) in [
            ("policy_uri", &self.policy_uri),
            ("tos_uri", &self.tos_uri),
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
            ("jwks_uri", &self.jwks_uri),
            ("backchannel_logout_uri", &self.backchannel_logout_uri),
            ("frontchannel_logout_uri", &self.frontchannel_logout_uri),
            ("sector_identifier_uri", &self.sector_identifier_uri),
        ] {
            if !value.is_empty() {
                check_web_uri(value).map_err(|why| bad(field, &why))?;
            }
        }
        for uri in &self.request_uris {
            check_web_uri(uri).map_err(|why| bad("request_uris", &why))?;
        }
        for uri in &self.redirect_uris {
            check_redirect_uri(uri, dev).map_err(|why| bad("redirect_uris", &why))?;
        }
        for o in &self.allowed_cors_origins {
            match url::Url::parse(o) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.path() == "/"
                        && u.query().is_none()
                        && u.fragment().is_none()
                        && u.username().is_empty()
                        && !o.ends_with('/') => {}
                _ => {
                    return Err(bad(
                        "allowed_cors_origins",
                        &format!("entry '{o}' is not an origin (scheme://host[:port])."),
                    ))
                }
            }
        }
        for p in &self.post_logout_redirect_uris {
            check_redirect_uri(p, dev).map_err(|why| bad("post_logout_redirect_uris", &why))?;
            let pu = url::Url::parse(p).map_err(|_| bad("post_logout_redirect_uris", "must contain absolute URLs."))?;
            let shares_origin = self.redirect_uris.iter().filter_map(|r| url::Url::parse(r).ok()).any(|r| {
                r.scheme() == pu.scheme()
                    && r.host_str() == pu.host_str()
                    && r.port_or_known_default() == pu.port_or_known_default()
            });
            if !shares_origin {
                return Err(bad(
                    "post_logout_redirect_uris",
                    &format!("entry '{p}' must share scheme, host and port with one of the redirect_uris."),
                ));
            }
        }
        if let Some(s) = &self.client_secret {
            if s.is_empty() {
                self.client_secret = None;
            } else if s.len() < MIN_SECRET_LEN {
                return Err(bad("client_secret", &format!("must be at least {MIN_SECRET_LEN} characters long.")));
            }
        }
        if self.is_public() {
            self.client_secret = None;
        }
        Ok(())
    }
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment; https unless it is a loopback
/// or `localhost` address or a private-use scheme (RFC 8252 §7.1), or in dev mode.
/// Only schemes a browser may safely be sent to (see [`redirect_target_allowed`]).
pub fn check_redirect_uri(uri: &str, dev: bool) -> Result<(), String> {
    check_uri_text(uri)?;
    if !redirect_target_allowed(uri) {
        return Err(format!(
            "entry '{uri}' must use http, https or a private-use scheme named after a reversed domain name such as 'com.example.app:/callback' (RFC 8252 §7.1)."
        ));
    }
    let u = url::Url::parse(uri).map_err(|_| format!("entry '{uri}' is not an absolute URI."))?;
    if u.fragment().is_some() {
        return Err(format!("entry '{uri}' must not contain a fragment."));
    }
    if u.scheme() == "http" && !dev && !is_loopback_host(u.host_str().unwrap_or("")) {
        return Err(format!("entry '{uri}' must use https (http is allowed only for loopback addresses)."));
    }
    Ok(())
}

/// An absolute `http` or `https` URL written as a URI: for the client's pages, logout
/// URIs and key set URL.
pub fn check_web_uri(uri: &str) -> Result<(), String> {
    check_uri_text(uri)?;
    let web =
        web_scheme(uri).is_some() && url::Url::parse(uri).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()));
    if !web {
        return Err(format!("entry '{uri}' must be an absolute http or https URL."));
    }
    Ok(())
}

/// The characters RFC 3986 allows in a URI (unreserved, reserved and `%`): no spaces,
/// control characters, quotes, angle brackets, backslashes or non-ASCII. A URL parser
/// silently strips or rewrites some of those (tabs and newlines, leading spaces,
/// backslashes), so a URI that passes here means to a browser what its text says, and
/// fits in a `Location` header on every host.
fn check_uri_text(uri: &str) -> Result<(), String> {
    let ok =
        !uri.is_empty() && uri.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "entry {uri:?} must be a URI (RFC 3986): ASCII without spaces or control characters; percent-encode anything else."
        ))
    }
}

/// `http` or `https` when `uri` starts with `http://` or `https://` (any case) and then
/// a host (a URL parser would skip further slashes: `https:///evil.example`).
fn web_scheme(uri: &str) -> Option<&'static str> {
    let lower = |n: usize| uri.get(..n).map(str::to_ascii_lowercase);
    let (scheme, rest) = if lower(8).as_deref() == Some("https://") {
        ("https", &uri[8..])
    } else if lower(7).as_deref() == Some("http://") {
        ("http", &uri[7..])
    } else {
        return None;
    };
    (!rest.is_empty() && !rest.starts_with('/')).then_some(scheme)
}

/// Schemes that run script, show local files or stay inside the browser: never a
/// redirect target, whatever their case (WHATWG URL: schemes are ASCII case-insensitive).
const BROWSER_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "filesystem",
    "about",
    "view-source",
    "jar",
    "mhtml",
    "ms-its",
    "intent",
    "chrome",
    "resource",
];

/// Whether a browser may be sent to `uri` (a redirect, a form's action, a link):
/// its text is a URI ([`check_uri_text`]) and it is `http://…`, `https://…`, or uses a
/// private-use scheme for a native app, named after a reversed domain name so it has
/// a `.` in it (RFC 8252 §7.1: `com.example.app:/oauth2redirect`). Everything else
/// (`javascript:`, `data:`, `vbscript:`, `file:`, …) is refused, at registration and
/// again whenever a response would send a browser there.
pub fn redirect_target_allowed(uri: &str) -> bool {
    if check_uri_text(uri).is_err() {
        return false;
    }
    if web_scheme(uri).is_some() {
        return true;
    }
    let Some((scheme, _)) = uri.split_once(':') else { return false };
    let scheme = scheme.to_ascii_lowercase();
    let syntax = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    syntax
        && scheme.contains('.')
        && !scheme.starts_with('.')
        && !scheme.ends_with('.')
        && !scheme.contains("..")
        && !matches!(scheme.as_str(), "http" | "https")
        && !BROWSER_SCHEMES.contains(&scheme.as_str())
}

/// `localhost`, `*.localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host.parse::<std::net::Ipv4Addr>().map(|a| a.is_loopback()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(v: serde_json::Value) -> Result<Client, Error> {
        let mut c: Client = serde_json::from_value(v).map_err(|e| Error::invalid_request(e.to_string()))?;
        c.validate(false)?;
        Ok(c)
    }

    #[test]
    fn defaults_are_hydras() {
        let c = client(json!({"client_id": "a"})).unwrap();
        assert_eq!(c.grant_types, vec!["authorization_code"]);
        assert_eq!(c.response_types, vec!["code"]);
        assert_eq!(c.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(c.scope, DEFAULT_SCOPE);
        assert_eq!(c.subject_type, "public");
    }

    #[test]
    fn invalid_metadata_is_rejected_with_the_field_named() {
        let cases = [
            (json!({"grant_types": ["password"]}), "grant_types"),
            (json!({"token_endpoint_auth_method": "client_secret_jwt_plus"}), "token_endpoint_auth_method"),
            (
                json!({"token_endpoint_auth_method": "client_secret_jwt", "token_endpoint_auth_signing_alg": "RS256"}),
                "token_endpoint_auth_signing_alg",
            ),
            (json!({"token_endpoint_auth_signing_alg": "HS256"}), "token_endpoint_auth_signing_alg"),
            (json!({"redirect_uris": ["https://a.example/cb#frag"]}), "redirect_uris"),
            (json!({"redirect_uris": ["http://a.example/cb"]}), "redirect_uris"),
            (json!({"redirect_uris": ["/relative"]}), "redirect_uris"),
            (json!({"client_secret": "short"}), "client_secret"),
            (json!({"subject_type": "other"}), "subject_type"),
            (json!({"token_endpoint_auth_method": "private_key_jwt"}), "jwks"),
            (json!({"allowed_cors_origins": ["https://a.example/path"]}), "allowed_cors_origins"),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "post_logout_redirect_uris": ["https://b.example/"]}),
                "post_logout_redirect_uris",
            ),
            (json!({"policy_uri": "ftp://x"}), "policy_uri"),
        ];
        for (input, field) in cases {
            let e = client(input.clone()).unwrap_err();
            assert!(e.hint.as_deref().unwrap_or("").contains(field), "{input} -> {e}");
        }
    }

    #[test]
    fn unknown_fields_are_ignored_and_read_only_fields_accepted() {
        // As Hydra: a client exported from a newer Hydra, or sent by an SDK that knows
        // more fields, is accepted; the unknown members are not kept.
        let c = client(json!({"client_id": "a", "no_such_field": 1})).unwrap();
        assert!(serde_json::to_value(&c).unwrap().get("no_such_field").is_none());
        let c = client(json!({"client_id": "a", "created_at": "2024-01-02T03:04:05Z", "client_secret_expires_at": 0}))
            .unwrap();
        assert_eq!(c.created_at, 1704164645);
        let round = serde_json::to_value(&c).unwrap();
        assert_eq!(round["created_at"], "2024-01-02T03:04:05Z");
        assert!(round.get("secret_hash").is_none());
    }

    /// Lifespans are Go durations, answered as Go writes them; `""` and malformed ones
    /// are refused (Hydra's `time.ParseDuration`); `jwks` must be a JWK Set.
    #[test]
    fn lifespans_are_normalised_and_jwks_must_be_a_key_set() {
        let lifespans =
            |v: serde_json::Value| client(json!({"client_id": "a", "refresh_token_grant_access_token_lifespan": v}));
        for (given, shown) in [("90m", "1h30m0s"), ("1.5h", "1h30m0s"), ("1h0m0s", "1h0m0s"), ("45s", "45s")] {
            assert_eq!(
                lifespans(json!(given)).unwrap().refresh_token_grant_access_token_lifespan.as_deref(),
                Some(shown)
            );
        }
        for bad in [json!(""), json!("soon"), json!("-1h")] {
            assert!(lifespans(bad.clone()).is_err(), "{bad}");
        }
        for bad in [json!([null, null]), json!(5), json!({}), json!({"keys": [null]}), json!({"keys": [{"n": "x"}]})] {
            let e = client(json!({"client_id": "a", "jwks": bad})).unwrap_err();
            assert!(e.hint.as_deref().unwrap_or("").contains("jwks"), "{bad}");
        }
        assert!(client(json!({"client_id": "a", "jwks": {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}})).is_ok());
        assert_eq!(client(json!({"client_id": "a", "jwks": null})).unwrap().jwks, None);
    }

    #[test]
    fn loopback_http_redirects_are_allowed_and_dev_allows_http() {
        assert!(check_redirect_uri("http://127.0.0.1:5555/callback", false).is_ok());
        assert!(check_redirect_uri("http://localhost/cb", false).is_ok());
        assert!(check_redirect_uri("com.example.app:/cb", false).is_ok());
        assert!(check_redirect_uri("http://app.example/cb", false).is_err());
        assert!(check_redirect_uri("http://app.example/cb", true).is_ok());
    }

    #[test]
    fn redirect_uri_schemes_table() {
        for (uri, ok) in [
            ("https://app.example/cb", true),
            ("HTTPS://app.example/cb", true),
            ("http://127.0.0.1:5555/callback", true),
            ("http://[::1]/cb", true),
            ("http://localhost/cb", true),
            ("com.example.app:/oauth2redirect", true),
            ("com.example.app://callback", true),
            ("com.example-app+dev.ios:/cb", true),
            ("javascript:alert(1)", false),
            ("JavaScript:alert(1)", false),
            ("javascript://app.example/%0aalert(1)", false),
            (" javascript:alert(1)", false),
            ("\u{1}javascript:alert(1)", false),
            ("\u{0}javascript:alert(1)", false),
            ("java\tscript:alert(1)", false),
            ("java\nscript:alert(1)", false),
            ("data:text/html,<script>alert(1)</script>", false),
            ("data:text/html;base64,PHNjcmlwdD4=", false),
            ("DATA:text/html,x", false),
            ("vbscript:msgbox(1)", false),
            ("file:///etc/passwd", false),
            ("FILE://host/share", false),
            ("blob:https://app.example/uuid", false),
            ("about:blank", false),
            ("view-source:https://app.example/", false),
            ("myapp:/cb", false),
            (".example.app:/cb", false),
            ("com..example:/cb", false),
            ("1com.example:/cb", false),
            ("https:app.example/cb", false),
            ("https:/app.example/cb", false),
            ("https:///app.example/cb", false),
            ("https://app.example\\@evil.example/cb", false),
            ("https://app.example/c b", false),
            (" https://app.example/cb", false),
            ("https://app.example/cb\n", false),
            ("https://app.example/cb\t", false),
            ("https://app.example/caf\u{e9}", false),
            ("https://app.example/\"onmouseover=x", false),
            ("https://app.example/<x>", false),
            ("https://app.example/cb#frag", false),
            ("", false),
        ] {
            assert_eq!(check_redirect_uri(uri, false).is_ok(), ok, "{uri:?}: {:?}", check_redirect_uri(uri, false));
            assert_eq!(check_redirect_uri(uri, true).is_ok(), ok, "dev {uri:?}");
        }
    }

    #[test]
    fn every_url_a_browser_is_sent_to_refuses_script_schemes() {
        let web_fields = [
            "frontchannel_logout_uri",
            "backchannel_logout_uri",
            "client_uri",
            "logo_uri",
            "policy_uri",
            "tos_uri",
            "jwks_uri",
            "sector_identifier_uri",
        ];
        for bad in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "file:///etc/passwd",
            " https://app.example/x",
            "https://app.example/x\n",
            "https:app.example/x",
            "com.example.app:/x",
        ] {
            for field in web_fields {
                let e = client(json!({"redirect_uris": ["https://app.example/cb"], field: bad})).unwrap_err();
                assert!(e.hint.as_deref().unwrap_or("").contains(field), "{field}={bad:?} -> {e}");
            }
            let e = client(json!({"request_uris": [bad]})).unwrap_err();
            assert!(e.hint.as_deref().unwrap_or("").contains("request_uris"), "{bad:?} -> {e}");
            if bad.starts_with("com.example.app:") {
                continue; // a native app's redirect URI, not a web URL
            }
            let e = client(json!({"redirect_uris": [bad]})).unwrap_err();
            assert!(e.hint.as_deref().unwrap_or("").contains("redirect_uris"), "{bad:?} -> {e}");
        }
        for bad in ["javascript:alert(1)", "https://app.example/bye\n", " https://app.example/bye", "data:,x"] {
            let e = client(json!({"redirect_uris": ["https://app.example/cb"], "post_logout_redirect_uris": [bad]}))
                .unwrap_err();
            assert!(e.hint.as_deref().unwrap_or("").contains("post_logout_redirect_uris"), "{bad:?} -> {e}");
        }
        let native = client(json!({
            "redirect_uris": ["com.example.app:/cb", "https://app.example/cb"],
            "post_logout_redirect_uris": ["com.example.app:/bye", "https://app.example/bye"],
            "frontchannel_logout_uri": "https://app.example/fc", "client_uri": "https://app.example/"
        }));
        assert!(native.is_ok(), "{native:?}");
    }

    #[test]
    fn public_clients_have_no_secret() {
        let c = client(json!({"token_endpoint_auth_method": "none", "client_secret": "whatever"})).unwrap();
        assert_eq!(c.client_secret, None);
    }
}
