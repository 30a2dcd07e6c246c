//! Ending the identity provider's session at logout, as Hydra does with Ory Kratos
//! (`urls.identity_provider.url`, `urls.identity_provider.headers`): a login accepted
//! with `identity_provider_session_id` keeps that id with the login session it made,
//! and ending that session (logout, or the admin API's revocation by `sid`) also sends
//! `DELETE {url}/admin/sessions/{id}` (Kratos' admin API, "disable session"). It goes
//! out as an [`Effect`] after the response, so a logout never waits for, or fails with,
//! the identity provider.

use crate::http::Effect;
use crate::platform::Outbound;
use serde_json::Value;

/// The longest `identity_provider_session_id` kept (Kratos' are UUIDs; MySQL's column
/// is a `VARCHAR(255)`).
pub const MAX_SESSION_ID_LEN: usize = 255;

/// The identity provider's admin API, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityProvider {
    /// `urls.identity_provider.url`: the admin API's base URL.
    pub url: url::Url,
    /// `urls.identity_provider.headers`: sent with every call (an API key, say).
    pub headers: Vec<(String, String)>,
}

impl IdentityProvider {
    /// Reads `URLS_IDENTITY_PROVIDER_URL` and `URLS_IDENTITY_PROVIDER_HEADERS` (a JSON
    /// object of header names and values) through `var`. A URL that is not http(s), or a
    /// header Latch could not send, is an error "KEY: why"; headers alone configure nothing.
    pub fn from_settings(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<IdentityProvider>, String> {
        const URL: &str = "URLS_IDENTITY_PROVIDER_URL";
        const HEADERS: &str = "URLS_IDENTITY_PROVIDER_HEADERS";
        let headers = match var(HEADERS) {
            None => Vec::new(),
            Some(v) => {
                let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&v) else {
                    return Err(format!("{HEADERS}: must be an object of header names and values"));
                };
                let mut headers = Vec::new();
                for (name, value) in map {
                    let Some(value) = value.as_str() else {
                        return Err(format!("{HEADERS}: the value of '{name}' must be a string"));
                    };
                    // RFC 9110 §5.1 (a token) and §5.5 (no control characters): a header
                    // that could not be sent, or would split the request, is refused here.
                    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
                    if name.is_empty() || !name.bytes().all(token) {
                        return Err(format!("{HEADERS}: '{name}' is not a header name"));
                    }
                    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                        return Err(format!("{HEADERS}: the value of '{name}' has control characters"));
                    }
                    headers.push((name, value.to_string()));
                }
                headers
            }
        };
        // Headers without a URL are used by nobody (Hydra's configs often carry them).
        let Some(raw) = var(URL) else { return Ok(None) };
        let url = url::Url::parse(raw.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| format!("{URL}: '{raw}' is not an http or https URL"))?;
        Ok(Some(IdentityProvider { url, headers }))
    }

    /// The call that disables the identity provider's session `session_id`: the id is
    /// one path segment, percent-encoded, whatever the login UI sent.
    pub fn end_session(&self, session_id: &str) -> Effect {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["admin", "sessions", session_id]);
        }
        Effect::Call {
            what: "identity provider session end",
            request: Outbound {
                method: "DELETE",
                url: url.into(),
                headers: self.headers.clone(),
                body: Vec::new(),
                timeout_ms: 10_000,
                max_body: 64 * 1024,
                // The operator's own service, typically on a private network (as a
                // token hook's URL): not a client's URL, so the private-address rule
                // does not apply.
                public_only: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Option<IdentityProvider>, String> {
        let vars: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        IdentityProvider::from_settings(&|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn settings_are_read_and_checked() {
        assert_eq!(read(&[]), Ok(None));
        let ip = read(&[
            ("URLS_IDENTITY_PROVIDER_URL", "http://kratos:4434/"),
            ("URLS_IDENTITY_PROVIDER_HEADERS", r#"{"Authorization": "Bearer k"}"#),
        ])
        .expect("read")
        .expect("configured");
        assert_eq!(ip.headers, [("Authorization".to_string(), "Bearer k".to_string())]);
        assert_eq!(read(&[("URLS_IDENTITY_PROVIDER_HEADERS", r#"{"X-Forwarded-Proto": "https"}"#)]), Ok(None));
        for bad in [
            vec![("URLS_IDENTITY_PROVIDER_URL", "kratos:4434")],
            vec![("URLS_IDENTITY_PROVIDER_URL", "ftp://kratos/")],
            vec![("URLS_IDENTITY_PROVIDER_URL", "http://k/"), ("URLS_IDENTITY_PROVIDER_HEADERS", "[1]")],
            vec![("URLS_IDENTITY_PROVIDER_URL", "http://k/"), ("URLS_IDENTITY_PROVIDER_HEADERS", r#"{"A B": "k"}"#)],
            vec![
                ("URLS_IDENTITY_PROVIDER_URL", "http://k/"),
                ("URLS_IDENTITY_PROVIDER_HEADERS", r#"{"X": "a\r\nB: c"}"#),
            ],
            vec![("URLS_IDENTITY_PROVIDER_URL", "http://k/"), ("URLS_IDENTITY_PROVIDER_HEADERS", r#"{"X": 1}"#)],
        ] {
            assert!(read(&bad).is_err(), "{bad:?}");
        }
    }

    /// The session id is one path segment: it cannot reach another admin route.
    #[test]
    fn the_session_id_is_one_encoded_segment() {
        for (base, id, want) in [
            ("http://kratos:4434", "3fa85f64-5717", "http://kratos:4434/admin/sessions/3fa85f64-5717"),
            ("http://kratos:4434/", "a", "http://kratos:4434/admin/sessions/a"),
            ("https://idp.example/kratos/", "a", "https://idp.example/kratos/admin/sessions/a"),
            ("http://k/", "../identities/x?y#z", "http://k/admin/sessions/..%2Fidentities%2Fx%3Fy%23z"),
        ] {
            let ip = read(&[("URLS_IDENTITY_PROVIDER_URL", base)]).expect("read").expect("configured");
            let Effect::Call { request, .. } = ip.end_session(id) else { panic!("a call") };
            assert_eq!((request.method, request.url.as_str()), ("DELETE", want), "{base} {id}");
        }
    }
}
