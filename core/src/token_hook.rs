//! Token hooks, as Hydra calls them (`oauth2.token_hook` and `oauth2.refresh_token_hook`,
//! ory/hydra `oauth2/token_hook.go` and `oauth2/refresh_hook.go`): before the token
//! endpoint issues tokens, the operator's service is told about the grant and may
//! replace the access token's extra claims (`ext`) and the ID token's extra claims, or
//! deny the tokens.
//!
//! - When: at the token endpoint, after the grant was validated and before anything is
//!   minted or stored, so a hook that fails or denies leaves the code, device code or
//!   refresh token unused. `oauth2.refresh_token_hook` runs for `refresh_token` grants
//!   only, before `oauth2.token_hook`, which runs for every grant.
//! - The call: `POST` of Hydra's JSON, with the `api_key` header or cookie configured;
//!   30 s an attempt, at most 3 attempts (after a transport error, a 429 or a 5xx other
//!   than 501), 1 s and then 2 s apart, as Hydra's resilient client.
//! - The answer: 200 `{"session": {"access_token": {…}, "id_token": {…}}}` replaces both
//!   maps wholesale (a missing or null one clears it); 204 leaves them; 403 is
//!   `access_denied`; anything else is `server_error` and no token is issued.
//!
//! Unlike Hydra, a hook setting that does not parse stops start-up instead of
//! silently disabling the hook (a disabled hook would issue tokens it was meant to
//! deny). The hooks are the operator's own URLs, so `clients.http.disallow_private_ip_ranges`
//! (which guards the URLs clients register) does not apply to them.

use crate::access_token::Grant;
use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::grants::GrantType;
use crate::http::Params;
use crate::oidc::GrantSession;
use crate::platform::{Outbound, Platform};
use crate::service::Latch;
use crate::store::Store;
use crate::token_endpoint::lifespan;
use serde_json::{json, Map, Value};

/// Each attempt's limit (Hydra's resilient client's timeout).
const TIMEOUT_MS: u64 = 30_000;
/// Attempts in all (Hydra: `RetryMax` 2).
const ATTEMPTS: u32 = 3;
/// The pause before the second attempt; it doubles before each further one.
const FIRST_PAUSE_MS: u64 = 1_000;
/// The longest answer read. Hydra reads 5 MiB; the claims are stored with every token
/// of the grant, and a D1 row holds at most 1 MB, so Latch stops at 1 MiB.
const MAX_BODY: usize = 1 << 20;
/// The token request's parameters a hook is shown (fosite's `Sanitize` allow-list:
/// nothing secret such as a code, a verifier or a client secret).
const PAYLOAD_KEYS: &[&str] = &["grant_type", "response_type", "scope", "client_id", "assertion"];

/// A configured hook: where to `POST` and how to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    /// An absolute `http` or `https` URL.
    pub url: String,
    /// Hydra's `auth: {type: api_key, config: {in, name, value}}`.
    pub api_key: Option<ApiKey>,
}

/// Where the API key goes (`auth.config.in`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPlace {
    /// A request header named `name`.
    Header,
    /// A cookie named `name`.
    Cookie,
}

/// An API key the hook's service checks.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Header or cookie.
    pub place: KeyPlace,
    /// The header's or cookie's name.
    pub name: String,
    /// The key itself (never logged).
    pub value: String,
}

/// The URL's path and query and the key may be secrets: only the URL's origin is shown.
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = url::Url::parse(&self.url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        f.debug_struct("Webhook").field("origin", &origin).field("api_key", &self.api_key).finish()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey").field("place", &self.place).field("name", &self.name).finish_non_exhaustive()
    }
}

impl Webhook {
    /// The hook of `key` (an environment name: `OAUTH2_TOKEN_HOOK`) through `var`: the
    /// key's value, a URL or (from a config file) the JSON object, with each field's
    /// own variable (`OAUTH2_TOKEN_HOOK_URL`, `…_AUTH_TYPE`, `…_AUTH_CONFIG_IN`,
    /// `…_NAME`, `…_VALUE`) over it. `None` when nothing is set. Errors name the
    /// variable, never its value (a URL or a key may be a secret).
    pub fn from_settings(key: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Webhook>, String> {
        let bad = |k: &str, why: &str| format!("{k}: {why}");
        let whole = var(key).map(|v| v.trim().to_string());
        let object = match whole.as_deref() {
            Some(v) if v.starts_with('{') => Some(
                serde_json::from_str::<Value>(v)
                    .ok()
                    .filter(Value::is_object)
                    .ok_or_else(|| bad(key, "is neither a URL nor a webhook object {url, auth}"))?,
            ),
            _ => None,
        };
        let from_object = |path: &[&str]| -> Option<String> {
            let mut v = object.as_ref()?;
            for p in path {
                v = v.get(p)?;
            }
            v.as_str().map(str::to_string)
        };
        let field = |suffix: &str, path: &[&str]| var(&format!("{key}_{suffix}")).or_else(|| from_object(path));
        let url = field("URL", &["url"]).or_else(|| whole.clone().filter(|_| object.is_none()));
        let auth_type = field("AUTH_TYPE", &["auth", "type"]);
        let place = field("AUTH_CONFIG_IN", &["auth", "config", "in"]);
        let name = field("AUTH_CONFIG_NAME", &["auth", "config", "name"]);
        let value = field("AUTH_CONFIG_VALUE", &["auth", "config", "value"]);
        let auth_given = auth_type.is_some() || place.is_some() || name.is_some() || value.is_some();
        let Some(url) = url else {
            return match (object.is_some(), auth_given) {
                (false, false) => Ok(None),
                _ => Err(bad(&format!("{key}_URL"), "the hook has no url")),
            };
        };
        let parsed = url::Url::parse(&url).map_err(|_| bad(key, "the hook's url is not an absolute URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(bad(key, "the hook's url must be an http or https URL with a host"));
        }
        let api_key = if auth_given {
            // Hydra's schema: `api_key` is the one auth type.
            if auth_type.as_deref() != Some("api_key") {
                return Err(bad(&format!("{key}_AUTH_TYPE"), "must be api_key"));
            }
            // `in` may be left out: a header then, as in Hydra's own examples.
            let place = match place.as_deref() {
                None | Some("header") => KeyPlace::Header,
                Some("cookie") => KeyPlace::Cookie,
                _ => return Err(bad(&format!("{key}_AUTH_CONFIG_IN"), "must be header or cookie")),
            };
            // RFC 9110 §5.6.2 token characters (a header name and a cookie name alike).
            let token = |s: &str| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            };
            let name = name
                .filter(|n| token(n))
                .ok_or_else(|| bad(&format!("{key}_AUTH_CONFIG_NAME"), "must be a header or cookie name"))?;
            // A value with a control character would split the header (or the cookie).
            let value = value
                .filter(|v| {
                    !v.is_empty() && !v.chars().any(char::is_control) && (place == KeyPlace::Header || !v.contains(';'))
                })
                .ok_or_else(|| {
                    bad(&format!("{key}_AUTH_CONFIG_VALUE"), "must be a non-empty value without control characters")
                })?;
            Some(ApiKey { place, name, value })
        } else {
            None
        };
        Ok(Some(Webhook { url, api_key }))
    }
}

/// Runs the hooks configured for a token request of `grant_type` by `client` (its form
/// `params`), replacing `grant.ext` and `session.id_token` as they answer. The caller
/// mints the tokens of the grant as it stands afterwards.
pub async fn run<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    grant_type: GrantType,
    params: &Params,
    grant: &mut Grant,
    session: &mut GrantSession,
    nonce: Option<&str>,
) -> Result<(), Error> {
    if grant_type == GrantType::RefreshToken {
        if let Some(hook) = &latch.config.refresh_token_hook {
            let body = json!({
                "subject": grant.subject,
                "session": hydra_session(latch, client, grant_type, grant, session, nonce),
                "requester": {
                    "client_id": client.client_id,
                    "granted_scopes": grant.scope,
                    "granted_audience": grant.audience,
                    "grant_types": [grant_type.as_str()],
                },
                "client_id": client.client_id,
                "granted_scopes": grant.scope,
                "granted_audience": grant.audience,
            });
            apply(call(latch, hook, &body).await?, grant, session);
        }
    }
    if let Some(hook) = &latch.config.token_hook {
        let payload: Map<String, Value> =
            PAYLOAD_KEYS.iter().filter_map(|k| params.get(k).map(|v| (k.to_string(), json!([v])))).collect();
        let body = json!({
            "session": hydra_session(latch, client, grant_type, grant, session, nonce),
            "request": {
                "client_id": client.client_id,
                "requested_scopes": params.list("scope"),
                "granted_scopes": grant.scope,
                "granted_audience": grant.audience,
                "grant_types": [grant_type.as_str()],
                "payload": payload,
            },
        });
        apply(call(latch, hook, &body).await?, grant, session);
    }
    Ok(())
}

/// What a 200 answer puts in place of the two claim maps.
struct Replacement {
    access_token: Map<String, Value>,
    id_token: Map<String, Value>,
}

fn apply(replacement: Option<Replacement>, grant: &mut Grant, session: &mut GrantSession) {
    if let Some(r) = replacement {
        grant.ext = r.access_token;
        session.id_token = r.id_token;
    }
}

/// Calls `hook` with `body`; `None` for 204 (issue unchanged).
async fn call<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    hook: &Webhook,
    body: &Value,
) -> Result<Option<Replacement>, Error> {
    let mut headers = vec![("content-type".to_string(), "application/json; charset=UTF-8".to_string())];
    match &hook.api_key {
        Some(ApiKey { place: KeyPlace::Header, name, value }) => headers.push((name.clone(), value.clone())),
        Some(ApiKey { place: KeyPlace::Cookie, name, value }) => {
            headers.push(("cookie".into(), format!("{name}={value}")))
        }
        None => {}
    }
    let request = Outbound {
        method: "POST",
        url: hook.url.clone(),
        headers,
        body: serde_json::to_vec(body).map_err(|e| Error::server(e.to_string()))?,
        timeout_ms: TIMEOUT_MS,
        max_body: MAX_BODY,
        public_only: false,
    };
    let mut pause = FIRST_PAUSE_MS;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            latch.platform.sleep_ms(pause).await;
            pause *= 2;
        }
        match latch.platform.fetch(&request).await {
            // go-retryablehttp's default policy: retry 429 and 5xx other than 501.
            Ok(r) if r.status == 429 || (r.status >= 500 && r.status != 501) => {
                last = format!("the token hook answered HTTP {}", r.status);
            }
            Ok(r) => return answer(r.status, &r.body),
            Err(e) => last = format!("the token hook could not be reached: {e}"),
        }
    }
    Err(failed(last))
}

/// Reads a final (not retried) answer of the hook.
fn answer(status: u16, body: &[u8]) -> Result<Option<Replacement>, Error> {
    match status {
        200 => {
            let v: Value = serde_json::from_slice(body)
                .map_err(|e| failed(format!("the token hook's answer is not JSON: {e}")))?;
            let map = |name: &str| -> Result<Map<String, Value>, Error> {
                match v.get("session").and_then(|s| s.get(name)) {
                    None | Some(Value::Null) => Ok(Map::new()),
                    Some(Value::Object(m)) => Ok(m.clone()),
                    Some(_) => Err(failed(format!("the token hook's session.{name} is not an object"))),
                }
            };
            if !(v.is_object() && v.get("session").is_none_or(|s| s.is_object() || s.is_null())) {
                return Err(failed("the token hook's answer is not {\"session\": {…}}".into()));
            }
            Ok(Some(Replacement { access_token: map("access_token")?, id_token: map("id_token")? }))
        }
        204 => Ok(None),
        403 => Err(Error::new(ErrorCode::AccessDenied).with_hint("The token hook target responded with HTTP 403.")),
        other => Err(failed(format!("the token hook answered HTTP {other}"))),
    }
}

/// `server_error` with the reason in the debug detail (shown in dev mode only).
fn failed(debug: String) -> Error {
    Error::server(debug).with_hint("An error occurred while executing the token hook.")
}

/// RFC 3339 seconds in UTC; 0 as Go's zero time, as Hydra's JSON shows an unset time.
fn rfc3339(t: i64) -> Value {
    if t == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .map_or(Value::Null, Value::String)
}

/// The grant's session as Hydra's hooks receive it (Go's JSON of `oauth2.Session`, with
/// fosite's ID-token claims inside).
fn hydra_session<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    grant_type: GrantType,
    grant: &Grant,
    session: &GrantSession,
    nonce: Option<&str>,
) -> Value {
    let now = latch.platform.now();
    let spans = grant_type.lifespans_of(client);
    let openid = grant.scope.iter().any(|s| s == "openid");
    let mut expires_at = Map::new();
    expires_at.insert("access_token".into(), rfc3339(now + lifespan(spans.access, latch.config.access_token_ttl)));
    let id_exp = now + lifespan(spans.id, latch.config.id_token_ttl);
    if openid {
        expires_at.insert("id_token".into(), rfc3339(id_exp));
    }
    json!({
        "id_token": {
            "id_token_claims": {
                "jti": "",
                "iss": if openid { latch.config.issuer.as_str() } else { "" },
                "sub": if openid { session.id_sub(&grant.subject) } else { "" },
                "aud": if openid { vec![client.client_id.as_str()] } else { vec![] },
                "nonce": nonce.unwrap_or_default(),
                "exp": rfc3339(if openid { id_exp } else { 0 }),
                "iat": rfc3339(if openid { now } else { 0 }),
                "rat": rfc3339(session.rat),
                "auth_time": rfc3339(session.auth_time),
                "at_hash": "",
                "acr": session.acr,
                "amr": session.amr,
                "c_hash": "",
                "ext": session.id_token,
            },
            "headers": {"extra": {}},
            "expires_at": expires_at,
            "subject": grant.subject,
        },
        "extra": grant.ext,
        "kid": "",
        "client_id": client.client_id,
        "consent_challenge": "",
        "exclude_not_before_claim": false,
        "allowed_top_level_claims": [],
        "mirror_top_level_claims": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Option<Webhook>, String> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Webhook::from_settings("OAUTH2_TOKEN_HOOK", &|k| m.get(k).cloned())
    }

    #[test]
    fn a_hook_is_a_url_an_object_or_fields() {
        assert_eq!(parse(&[]), Ok(None));
        let plain = parse(&[("OAUTH2_TOKEN_HOOK", "https://hooks.example/token")]).unwrap().unwrap();
        assert_eq!((plain.url.as_str(), plain.api_key), ("https://hooks.example/token", None));
        let object = r#"{"url": "https://hooks.example/t", "auth": {"type": "api_key", "config": {"in": "header", "name": "X-Key", "value": "s3cret"}}}"#;
        let from_file = parse(&[("OAUTH2_TOKEN_HOOK", object)]).unwrap().unwrap();
        let key = ApiKey { place: KeyPlace::Header, name: "X-Key".into(), value: "s3cret".into() };
        assert_eq!(from_file, Webhook { url: "https://hooks.example/t".into(), api_key: Some(key.clone()) });
        let fields = parse(&[
            ("OAUTH2_TOKEN_HOOK_URL", "https://hooks.example/t"),
            ("OAUTH2_TOKEN_HOOK_AUTH_TYPE", "api_key"),
            ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_IN", "cookie"),
            ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME", "X-Key"),
            ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE", "s3cret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(fields.api_key, Some(ApiKey { place: KeyPlace::Cookie, ..key }));
        // A field's variable is over the object's field.
        let over = parse(&[("OAUTH2_TOKEN_HOOK", object), ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE", "other")]).unwrap();
        assert_eq!(over.unwrap().api_key.unwrap().value, "other");
        let debug = format!("{from_file:?}");
        assert!(!debug.contains("s3cret") && !debug.contains("/t"), "{debug}");
    }

    #[test]
    fn a_hook_that_cannot_work_stops_start_up_without_quoting_it() {
        for (vars, names) in [
            (vec![("OAUTH2_TOKEN_HOOK", "not a url s3cret")], "OAUTH2_TOKEN_HOOK:"),
            (vec![("OAUTH2_TOKEN_HOOK", "file:///etc/s3cret")], "http or https"),
            (vec![("OAUTH2_TOKEN_HOOK", "{\"auth\": 1, \"s3cret\": 1}")], "OAUTH2_TOKEN_HOOK_URL:"),
            (vec![("OAUTH2_TOKEN_HOOK", "{s3cret")], "neither a URL"),
            (vec![("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE", "s3cret")], "no url"),
            (
                vec![("OAUTH2_TOKEN_HOOK", "https://h.example/"), ("OAUTH2_TOKEN_HOOK_AUTH_TYPE", "basic_s3cret")],
                "must be api_key",
            ),
            (
                vec![
                    ("OAUTH2_TOKEN_HOOK", "https://h.example/"),
                    ("OAUTH2_TOKEN_HOOK_AUTH_TYPE", "api_key"),
                    ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_IN", "query"),
                ],
                "header or cookie",
            ),
            (
                vec![
                    ("OAUTH2_TOKEN_HOOK", "https://h.example/"),
                    ("OAUTH2_TOKEN_HOOK_AUTH_TYPE", "api_key"),
                    ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_IN", "header"),
                    ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME", "X-Key"),
                    ("OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE", "s3cret\r\nX-Injected: 1"),
                ],
                "control characters",
            ),
        ] {
            let e = parse(&vars).unwrap_err();
            assert!(e.contains(names) && !e.contains("s3cret"), "{vars:?}: {e}");
        }
    }

    #[test]
    fn answers_are_read_as_hydra_reads_them() {
        let r = answer(200, br#"{"session": {"access_token": {"a": 1}, "id_token": {"b": 2}}}"#).unwrap().unwrap();
        assert_eq!((r.access_token["a"].clone(), r.id_token["b"].clone()), (json!(1), json!(2)));
        // A missing or null map clears it.
        let r = answer(200, br#"{"session": {"access_token": null}}"#).unwrap().unwrap();
        assert!(r.access_token.is_empty() && r.id_token.is_empty());
        assert!(answer(200, b"{}").unwrap().is_some());
        assert!(answer(204, b"").unwrap().is_none());
        let denied = answer(403, b"").err().unwrap();
        assert_eq!((denied.code.as_str(), denied.status()), ("access_denied", 403));
        for (status, body) in [
            (200, &b"not json"[..]),
            (200, br#"{"session": {"access_token": [1]}}"#),
            (200, br#"{"session": 5}"#),
            (200, b"[]"),
            (201, b"{}"),
            (302, b""),
            (400, b"{}"),
            (501, b""),
        ] {
            let e = answer(status, body).err().unwrap_or_else(|| panic!("{status} {body:?}"));
            assert_eq!((e.code.as_str(), e.status()), ("server_error", 500), "{status}");
        }
    }
}
