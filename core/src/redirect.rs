//! Redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7.3) and authorization responses in each
//! response mode (OAuth 2.0 Multiple Response Types §2.1, Form Post Response Mode §2).

use crate::client::Client;
use crate::config::Config;
use crate::error::Error;
use crate::http::Response;

/// RFC 6749 §3.1.2.3: the presented URI must match a registered one exactly, except
/// that for http loopback IP redirects the port may differ (RFC 8252 §7.3).
pub fn matches_registered(client: &Client, presented: &str) -> bool {
    client.redirect_uris.iter().any(|r| r == presented || loopback_equal(r, presented))
}

fn loopback_equal(registered: &str, presented: &str) -> bool {
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else { return false };
    let loopback_ip = |u: &url::Url| matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]"));
    r.scheme() == "http"
        && p.scheme() == "http"
        && loopback_ip(&r)
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
}

/// An authorization response carrying `params` to `redirect_uri` in `mode`.
pub fn respond(redirect_uri: &str, mode: &str, params: &[(&str, String)]) -> Response {
    let pairs = || params.iter().filter(|(_, v)| !v.is_empty());
    if mode == "form_post" {
        // Form Post Response Mode §2: an auto-submitting HTML form.
        let mut inputs = String::new();
        for (k, v) in pairs() {
            inputs.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
                html_escape(k),
                html_escape(v)
            ));
        }
        let body = format!(
            "<!DOCTYPE html><html><head><title>Submit This Form</title></head><body onload=\"javascript:document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>",
            html_escape(redirect_uri)
        );
        return Response {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: body.into_bytes(),
        };
    }
    let encoded =
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs().map(|(k, v)| (*k, v.as_str()))).finish();
    let location = if mode == "fragment" {
        format!("{redirect_uri}#{encoded}")
    } else {
        let sep = if redirect_uri.contains('?') { '&' } else { '?' };
        format!("{redirect_uri}{sep}{encoded}")
    };
    found(&location)
}

/// An error sent back to the client's redirect URI (RFC 6749 §4.1.2.1).
pub fn error_to_client(redirect_uri: &str, mode: &str, e: &Error, state: Option<&str>, expose_debug: bool) -> Response {
    let j = e.to_json(expose_debug);
    let field = |k: &str| j.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    respond(
        redirect_uri,
        mode,
        &[
            ("error", field("error")),
            ("error_description", field("error_description")),
            ("error_hint", field("error_hint")),
            ("error_debug", field("error_debug")),
            ("state", state.unwrap_or("").to_string()),
        ],
    )
}

/// An error that cannot go to the client (no trusted redirect URI): to `urls.error`.
pub fn error_page(config: &Config, e: &Error) -> Response {
    let url = config.ui_url(&config.error_url, "/oauth2/fallbacks/error");
    respond(&url, "query", &error_params(config, e))
}

fn error_params(config: &Config, e: &Error) -> Vec<(&'static str, String)> {
    let j = e.to_json(config.expose_debug());
    let field = |k: &str| j.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    vec![
        ("error", field("error")),
        ("error_description", field("error_description")),
        ("error_hint", field("error_hint")),
        ("error_debug", field("error_debug")),
    ]
}

/// `url` with one more query parameter, form-encoded.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut out = String::with_capacity(url.len() + name.len() + value.len() + 2);
    out.push_str(url);
    out.push(sep);
    out.push_str(name);
    out.push('=');
    // Challenges, verifiers and codes are base64url, which form encoding leaves as it is.
    // `byte_serialize` finds that out with a data-dependent branch per byte, which
    // mispredicts on random text and showed as ≈ 4 % of the server's CPU in a flow
    // (bench/README.md, "Smaller changes, and what was not kept"); one table lookup per
    // byte decides the common case, and anything else still goes through the library.
    if value.bytes().all(|b| FORM_UNCHANGED[b as usize]) {
        out.push_str(value);
    } else {
        out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
    out
}

/// The bytes `application/x-www-form-urlencoded` serialization leaves unchanged: ASCII
/// alphanumerics, `*`, `-`, `.` and `_` (the URL Standard, "urlencoded serializing").
static FORM_UNCHANGED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
        b += 1;
    }
    t
};

/// A 302 to `location`.
pub fn found(location: &str) -> Response {
    Response {
        status: 302,
        headers: vec![("location".into(), location.to_string()), ("cache-control".into(), "no-store".into())],
        body: Vec::new(),
    }
}

/// Escapes text for HTML bodies and attributes.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_param_encodes_as_the_form_serializer_does() {
        let every_byte: String = (1u8..=127).map(char::from).collect();
        for value in ["", "abcXYZ019-_.*", "a b&c=d", "é/ü?#%+", every_byte.as_str()] {
            let expected: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            assert_eq!(with_param("https://a.example/cb", "p", value), format!("https://a.example/cb?p={expected}"));
            assert_eq!(
                with_param("https://a.example/cb?x=1", "p", value),
                format!("https://a.example/cb?x=1&p={expected}")
            );
        }
    }

    #[test]
    fn redirect_uri_matching_table() {
        let c = Client {
            redirect_uris: vec![
                "https://app.example/cb".into(),
                "http://127.0.0.1:5555/callback".into(),
                "http://localhost:3000/cb".into(),
            ],
            ..Default::default()
        };
        for (uri, ok) in [
            ("https://app.example/cb", true),
            ("https://app.example/cb/", false),
            ("https://app.example/cb?x=1", false),
            ("http://127.0.0.1:5555/callback", true),
            ("http://127.0.0.1:61234/callback", true),
            ("http://127.0.0.1:61234/other", false),
            ("http://localhost:3001/cb", false),
            ("https://evil.example/cb", false),
        ] {
            assert_eq!(matches_registered(&c, uri), ok, "{uri}");
        }
    }

    #[test]
    fn response_modes() {
        let q = respond("https://a.example/cb?x=1", "query", &[("code", "c d".into()), ("state", "".into())]);
        assert_eq!(q.headers[0].1, "https://a.example/cb?x=1&code=c+d");
        let f = respond("https://a.example/cb", "fragment", &[("id_token", "t".into())]);
        assert_eq!(f.headers[0].1, "https://a.example/cb#id_token=t");
        let p = respond("https://a.example/cb", "form_post", &[("code", "<x>".into())]);
        let body = String::from_utf8(p.body).unwrap();
        assert!(body.contains("value=\"&lt;x&gt;\""));
    }
}
