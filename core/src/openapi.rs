//! The OpenAPI 3.0.3 description of both APIs, `core/openapi.json`, served as it is
//! committed at `GET /openapi.json` on both ports and at `GET /admin/openapi.json` on
//! the admin port.
//!
//! The tests below hold the document and the router to each other: every documented
//! operation routes to an endpoint on its port, and every endpoint has a documented
//! operation, so a route added without documentation fails them.

use crate::http::Response;

/// The document, exactly as committed in `core/openapi.json`.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /openapi.json` (and `/admin/openapi.json`).
pub fn document() -> Response {
    Response {
        status: 200,
        headers: vec![
            ("content-type".into(), "application/json; charset=utf-8".into()),
            ("cache-control".into(), "public, max-age=300".into()),
        ],
        body: DOCUMENT.as_bytes().to_vec(),
        effects: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use crate::http::Method;
    use crate::router::{route, Endpoint, Port};
    use openapiv3::{OpenAPI, PathItem, ReferenceOr};
    use std::collections::BTreeSet;

    fn spec() -> OpenAPI {
        serde_json::from_str(DOCUMENT).expect("core/openapi.json is a valid OpenAPI 3.0 document")
    }

    /// Documented paths under `/admin/` are the admin API's; every other path is the
    /// public API's.
    fn port_of(path: &str) -> Port {
        if path.starts_with("/admin/") {
            Port::Admin
        } else {
            Port::Public
        }
    }

    /// A documented path with each `{param}` replaced by a sample value.
    fn concrete(path: &str) -> String {
        let mut out = String::new();
        let mut rest = path;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').map(|e| start + e).expect("a '{' in a path is closed");
            out.push_str("sample-");
            out.push_str(&rest[start + 1..end]);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn operations(item: &PathItem) -> Vec<Method> {
        let mut m = Vec::new();
        for (present, method) in [
            (item.get.is_some(), Method::Get),
            (item.post.is_some(), Method::Post),
            (item.put.is_some(), Method::Put),
            (item.patch.is_some(), Method::Patch),
            (item.delete.is_some(), Method::Delete),
            (item.head.is_some(), Method::Head),
            (item.options.is_some(), Method::Options),
            (item.trace.is_some(), Method::Other),
        ] {
            if present {
                m.push(method);
            }
        }
        m
    }

    /// Every (port, method, path) the document describes, paths as written.
    fn documented() -> Vec<(Port, Method, String)> {
        let mut out = Vec::new();
        for (path, item) in &spec().paths.paths {
            let ReferenceOr::Item(item) = item else { panic!("{path}: path items are written inline") };
            for m in operations(item) {
                out.push((port_of(path), m, path.clone()));
            }
        }
        out
    }

    #[test]
    fn document_parses_as_openapi_3_0() {
        let s = spec();
        assert_eq!(s.openapi, "3.0.3");
        assert!(!s.paths.paths.is_empty());
        // Every operation has a unique id, a summary and at least one response.
        let mut ids = BTreeSet::new();
        for (path, item) in &s.paths.paths {
            let ReferenceOr::Item(item) = item else { panic!("{path}: path items are written inline") };
            for (method, op) in item.iter() {
                let id = op.operation_id.clone().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
                assert!(ids.insert(id.clone()), "{method} {path}: operationId {id} is used twice");
                assert!(op.summary.is_some(), "{method} {path}: no summary");
                assert!(!op.responses.responses.is_empty(), "{method} {path}: no responses");
            }
        }
        // Every local reference points at a component that exists.
        let components = s.components.expect("the document has components");
        let value: serde_json::Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
        let mut refs = Vec::new();
        collect_refs(&value, &mut refs);
        for r in refs {
            let found = if let Some(name) = r.strip_prefix("#/components/schemas/") {
                components.schemas.contains_key(name)
            } else if let Some(name) = r.strip_prefix("#/components/responses/") {
                components.responses.contains_key(name)
            } else if let Some(name) = r.strip_prefix("#/components/parameters/") {
                components.parameters.contains_key(name)
            } else {
                false
            };
            assert!(found, "dangling reference {r}");
        }
    }

    fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| collect_refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_documented_operation_is_routed() {
        for (port, method, path) in documented() {
            let p = concrete(&path);
            let endpoint = route(port, method, &p)
                .unwrap_or_else(|e| panic!("{} {path} is documented but {port:?} answers {e}", method.as_str()));
            // A path parameter must reach the endpoint, not be matched as a literal.
            if path.contains('{') {
                let debug = format!("{endpoint:?}");
                assert!(debug.contains("sample-"), "{} {path} routes to {debug}", method.as_str());
            }
        }
    }

    #[test]
    fn undocumented_methods_are_not_routed() {
        let documented = documented();
        for (port, _, path) in &documented {
            for method in [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete] {
                if documented.iter().any(|(p, m, d)| p == port && *m == method && d == path) {
                    continue;
                }
                assert!(
                    route(*port, method, &concrete(path)).is_err(),
                    "{} {path} is routed on {port:?} but not documented",
                    method.as_str()
                );
            }
        }
    }

    /// One number per `Endpoint` variant. The match has no wildcard: a new variant does
    /// not compile until it is numbered here, and then needs a sample below.
    fn variant(e: &Endpoint) -> usize {
        use Endpoint::*;
        match e {
            Authorize => 0,
            Token => 1,
            Revoke => 2,
            Userinfo => 3,
            Logout => 4,
            Discovery => 5,
            Jwks => 6,
            Fallback(_) => 7,
            HealthAlive => 8,
            HealthReady => 9,
            OpenApi => 10,
            Version => 11,
            Metrics => 12,
            ListClients => 13,
            CreateClient => 14,
            GetClient(_) => 15,
            ReplaceClient(_) => 16,
            PatchClient(_) => 17,
            DeleteClient(_) => 18,
            Introspect => 19,
            DeleteTokens => 20,
            GetKeySet(_) => 21,
            CreateKey(_) => 22,
            DeleteKeySet(_) => 23,
            GetKey(..) => 24,
            DeleteKey(..) => 25,
            GetLoginRequest => 26,
            AcceptLoginRequest => 27,
            RejectLoginRequest => 28,
            GetConsentRequest => 29,
            AcceptConsentRequest => 30,
            RejectConsentRequest => 31,
            ListConsentSessions => 32,
            RevokeConsentSessions => 33,
            RevokeLoginSessions => 34,
            GetLogoutRequest => 35,
            AcceptLogoutRequest => 36,
            RejectLogoutRequest => 37,
            ReplaceKeySet(_) => 38,
            ReplaceKey(..) => 39,
            SetClientLifespans(_) => 40,
            DeviceAuthorization => 41,
            ListTrusts => 42,
            CreateTrust => 43,
            GetTrust(_) => 44,
            DeleteTrust(_) => 45,
            DeviceVerify => 46,
            AcceptDeviceRequest => 47,
            Register => 48,
            GetRegistration(_) => 49,
            ReplaceRegistration(_) => 50,
            DeleteRegistration(_) => 51,
            PushedAuthorization => 52,
        }
    }
    const VARIANTS: usize = 53;

    /// Every route the router answers, as (port, method, documented path). The admin
    /// API's un-prefixed v1 aliases are left out: the document names them only in its
    /// description.
    const ROUTES: &[(Port, Method, &str)] = &[
        (Port::Public, Method::Get, "/oauth2/auth"),
        (Port::Public, Method::Post, "/oauth2/auth"),
        (Port::Public, Method::Post, "/oauth2/token"),
        (Port::Public, Method::Post, "/oauth2/revoke"),
        (Port::Public, Method::Post, "/oauth2/device/auth"),
        (Port::Public, Method::Post, "/oauth2/par"),
        (Port::Public, Method::Get, "/oauth2/device/verify"),
        (Port::Public, Method::Post, "/oauth2/register"),
        (Port::Public, Method::Get, "/oauth2/register/{id}"),
        (Port::Public, Method::Put, "/oauth2/register/{id}"),
        (Port::Public, Method::Delete, "/oauth2/register/{id}"),
        (Port::Public, Method::Get, "/oauth2/fallbacks/device"),
        (Port::Public, Method::Get, "/oauth2/fallbacks/device/done"),
        (Port::Public, Method::Get, "/userinfo"),
        (Port::Public, Method::Post, "/userinfo"),
        (Port::Public, Method::Get, "/oauth2/sessions/logout"),
        (Port::Public, Method::Post, "/oauth2/sessions/logout"),
        (Port::Public, Method::Get, "/oauth2/fallbacks/login"),
        (Port::Public, Method::Get, "/oauth2/fallbacks/consent"),
        (Port::Public, Method::Get, "/oauth2/fallbacks/logout"),
        (Port::Public, Method::Get, "/oauth2/fallbacks/logout/callback"),
        (Port::Public, Method::Get, "/oauth2/fallbacks/error"),
        (Port::Public, Method::Get, "/.well-known/openid-configuration"),
        (Port::Public, Method::Get, "/.well-known/oauth-authorization-server"),
        (Port::Public, Method::Get, "/.well-known/jwks.json"),
        (Port::Public, Method::Get, "/health/alive"),
        (Port::Public, Method::Get, "/health/ready"),
        (Port::Public, Method::Get, "/openapi.json"),
        (Port::Admin, Method::Get, "/admin/health/alive"),
        (Port::Admin, Method::Get, "/admin/health/ready"),
        (Port::Admin, Method::Get, "/admin/openapi.json"),
        (Port::Admin, Method::Get, "/admin/version"),
        (Port::Admin, Method::Get, "/admin/metrics/prometheus"),
        (Port::Admin, Method::Get, "/admin/clients"),
        (Port::Admin, Method::Post, "/admin/clients"),
        (Port::Admin, Method::Get, "/admin/clients/{id}"),
        (Port::Admin, Method::Put, "/admin/clients/{id}"),
        (Port::Admin, Method::Patch, "/admin/clients/{id}"),
        (Port::Admin, Method::Delete, "/admin/clients/{id}"),
        (Port::Admin, Method::Put, "/admin/clients/{id}/lifespans"),
        (Port::Admin, Method::Post, "/admin/oauth2/introspect"),
        (Port::Admin, Method::Delete, "/admin/oauth2/tokens"),
        (Port::Admin, Method::Get, "/admin/keys/{set}"),
        (Port::Admin, Method::Post, "/admin/keys/{set}"),
        (Port::Admin, Method::Put, "/admin/keys/{set}"),
        (Port::Admin, Method::Delete, "/admin/keys/{set}"),
        (Port::Admin, Method::Get, "/admin/keys/{set}/{kid}"),
        (Port::Admin, Method::Put, "/admin/keys/{set}/{kid}"),
        (Port::Admin, Method::Delete, "/admin/keys/{set}/{kid}"),
        (Port::Admin, Method::Get, "/admin/oauth2/auth/requests/login"),
        (Port::Admin, Method::Put, "/admin/oauth2/auth/requests/login/accept"),
        (Port::Admin, Method::Put, "/admin/oauth2/auth/requests/login/reject"),
        (Port::Admin, Method::Get, "/admin/oauth2/auth/requests/consent"),
        (Port::Admin, Method::Put, "/admin/oauth2/auth/requests/consent/accept"),
        (Port::Admin, Method::Put, "/admin/oauth2/auth/requests/consent/reject"),
        (Port::Admin, Method::Get, "/admin/oauth2/auth/sessions/consent"),
        (Port::Admin, Method::Delete, "/admin/oauth2/auth/sessions/consent"),
        (Port::Admin, Method::Delete, "/admin/oauth2/auth/sessions/login"),
        (Port::Admin, Method::Get, "/admin/oauth2/auth/requests/logout"),
        (Port::Admin, Method::Put, "/admin/oauth2/auth/requests/logout/accept"),
        (Port::Admin, Method::Put, "/admin/oauth2/auth/requests/logout/reject"),
        (Port::Admin, Method::Put, "/admin/oauth2/auth/requests/device/accept"),
        (Port::Admin, Method::Get, "/admin/trust/grants/jwt-bearer/issuers"),
        (Port::Admin, Method::Post, "/admin/trust/grants/jwt-bearer/issuers"),
        (Port::Admin, Method::Get, "/admin/trust/grants/jwt-bearer/issuers/{id}"),
        (Port::Admin, Method::Delete, "/admin/trust/grants/jwt-bearer/issuers/{id}"),
    ];

    #[test]
    fn every_endpoint_is_documented() {
        let documented = documented();
        let mut seen = [false; VARIANTS];
        for (port, method, path) in ROUTES {
            let endpoint = route(*port, *method, &concrete(path))
                .unwrap_or_else(|e| panic!("sample {} {path} does not route: {e}", method.as_str()));
            seen[variant(&endpoint)] = true;
            assert!(
                documented.iter().any(|(p, m, d)| p == port && m == method && d == path),
                "{} {path} ({endpoint:?}) on {port:?} is not in core/openapi.json",
                method.as_str()
            );
        }
        for (i, s) in seen.iter().enumerate() {
            assert!(s, "Endpoint variant #{i} has no sample route in ROUTES");
        }
        // Nothing documented beyond the routes: the two lists are the same set.
        assert_eq!(documented.len(), ROUTES.len(), "core/openapi.json documents operations ROUTES does not list");
    }
}
