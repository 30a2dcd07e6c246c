//! Redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7.3) and authorization responses in each
//! response mode (OAuth 2.0 Multiple Response Types §2.1, Form Post Response Mode §2).

pub use crate::client::redirect_target_allowed;
use crate::client::Client;
use crate::config::Config;
use crate::error::Error;
use crate::http::{PagePolicy, Response};

/// RFC 6749 §3.1.2.3: the presented URI must match a registered one exactly, except
/// that for http loopback IP redirects the port may differ (RFC 8252 §7.3).
///
/// Both are compared as the text they are (RFC 9700 §2.1: simple string comparison),
/// never as a URL parser rewrites them: a parser strips tabs and newlines, reads
/// userinfo, numeric IPs and dot-segments, so a normalised comparison accepts text that
/// means something else to a browser (or cannot be sent in a header at all).
pub fn matches_registered(client: &Client, presented: &str) -> bool {
    client.redirect_uris.iter().any(|r| r == presented || loopback_equal(r, presented))
}

/// RFC 8252 §7.3: `http://127.0.0.1[:port]…` and `http://[::1][:port]…` match whatever
/// the port, with the rest of the text identical.
fn loopback_equal(registered: &str, presented: &str) -> bool {
    match (split_loopback_port(registered), split_loopback_port(presented)) {
        (Some((rh, _, rr)), Some((ph, _, pr))) => rh == ph && rr == pr,
        _ => false,
    }
}

/// `http://127.0.0.1:8080/cb?x` as (`http://127.0.0.1`, `8080`, `/cb?x`): the loopback
/// IP literal, the port (possibly none) and the rest, which must start a path or a
/// query (so `http://127.0.0.1.evil.example/` or `http://127.0.0.1:1@evil.example/`
/// are not loopback). `None` for anything else.
fn split_loopback_port(uri: &str) -> Option<(&str, &str, &str)> {
    let host_end = ["http://127.0.0.1", "http://[::1]"].iter().find(|p| uri.starts_with(**p))?.len();
    let (host, after) = uri.split_at(host_end);
    let (port, rest) = match after.strip_prefix(':') {
        Some(p) => {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            let port = &p[..digits];
            if port.is_empty() || port.len() > 5 || port.parse::<u32>().ok()? > 65535 {
                return None;
            }
            (port, &p[digits..])
        }
        None => ("", after),
    };
    (rest.is_empty() || rest.starts_with(['/', '?'])).then_some((host, port, rest))
}

/// The script of the form_post page, allowed by its hash in the page's
/// Content-Security-Policy.
pub const FORM_POST_SCRIPT: &str = "document.forms[0].submit()";

/// An authorization response carrying `params` to `redirect_uri` in `mode`.
///
/// `redirect_uri` has been matched against the client's registration; it is checked
/// again here, so a browser is never sent (nor a form posted) anywhere but to an http(s)
/// URL or a native app's private-use scheme, even for a client stored before
/// registration refused the others.
pub fn respond(redirect_uri: &str, mode: &str, params: &[(&str, String)]) -> Response {
    if !redirect_target_allowed(redirect_uri) {
        return Response::error(
            &Error::invalid_request(
                "The client's redirect URI is not one a browser may be sent to (http, https or a private-use scheme).",
            ),
            false,
        );
    }
    render(redirect_uri, mode, params)
}

/// [`respond`] without the check: for the operator's own error page.
fn render(redirect_uri: &str, mode: &str, params: &[(&str, String)]) -> Response {
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
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Submit This Form</title></head><body><form method=\"post\" action=\"{}\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form><script>{FORM_POST_SCRIPT}</script></body></html>",
            html_escape(redirect_uri)
        );
        return Response::html(
            200,
            body,
            &PagePolicy { scripts: &[FORM_POST_SCRIPT], submits_form: true, ..Default::default() },
        );
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

/// An error sent back to the client's redirect URI (RFC 6749 §4.1.2.1), naming the
/// `issuer` (RFC 9207 §2: in error responses too).
pub fn error_to_client(
    issuer: &str,
    redirect_uri: &str,
    mode: &str,
    e: &Error,
    state: Option<&str>,
    expose_debug: bool,
) -> Response {
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
            ("iss", issuer.to_string()),
        ],
    )
}

/// An error that cannot go to the client (no trusted redirect URI): to `urls.error`.
pub fn error_page(config: &Config, e: &Error) -> Response {
    let url = config.ui_url(&config.error_url, "/oauth2/fallbacks/error");
    render(&url, "query", &error_params(config, e))
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
    // mispredicts on random text, on the hot path of every redirect; one table lookup per
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
        effects: Vec::new(),
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
                "http://[::1]/cb".into(),
                "com.example.app:/oauth2redirect".into(),
            ],
            ..Default::default()
        };
        for (uri, ok) in [
            ("https://app.example/cb", true),
            ("https://app.example/cb/", false),
            ("https://app.example/cb?x=1", false),
            ("https://APP.example/cb", false),
            ("https://app.example:443/cb", false),
            ("https://app.example/./cb", false),
            ("https://app.example/x/../cb", false),
            ("https://user@app.example/cb", false),
            ("https://app.example/c\tb", false),
            ("https://app.example/cb\n", false),
            ("\thttps://app.example/cb", false),
            (" https://app.example/cb", false),
            ("http://127.0.0.1:5555/callback", true),
            ("http://127.0.0.1:61234/callback", true),
            ("http://127.0.0.1/callback", true),
            ("http://127.0.0.1:61234/other", false),
            ("http://127.0.0.1:61234/callback/", false),
            ("http://127.0.0.1:61234/callback?x=1", false),
            ("http://127.0.0.1:61234/callback#x", false),
            ("http://127.0.0.1:61234/call\nback", false),
            ("http://127.0.0.1:61234/call\tback", false),
            ("http://127.0.0.1:61234/x/../callback", false),
            ("http://127.0.0.1:61234/./callback", false),
            ("http://127.0.0.1:61234/%63allback", false),
            ("http://user@127.0.0.1:5555/callback", false),
            ("http://127.0.0.1:1@evil.example/callback", false),
            ("http://127.0.0.1.evil.example:5555/callback", false),
            ("http://2130706433:5555/callback", false),
            ("http://127.1:5555/callback", false),
            ("http://0x7f.0.0.1:5555/callback", false),
            ("http://127.000.000.001:5555/callback", false),
            ("http://127.0.0.1:99999/callback", false),
            ("http://127.0.0.1:/callback", false),
            ("http://127.0.0.1:05555x/callback", false),
            ("HTTP://127.0.0.1:5556/callback", false),
            ("https://127.0.0.1:5555/callback", false),
            ("http://[::1]:8080/cb", true),
            ("http://[::1]/cb", true),
            ("http://[0:0:0:0:0:0:0:1]:8080/cb", false),
            ("http://localhost:3000/cb", true),
            ("http://localhost:3001/cb", false),
            ("com.example.app:/oauth2redirect", true),
            ("com.example.app:/oauth2redirect/", false),
            ("COM.example.app:/oauth2redirect", false),
            ("https://evil.example/cb", false),
        ] {
            assert_eq!(matches_registered(&c, uri), ok, "{uri:?}");
        }
    }

    #[test]
    fn responses_never_send_a_browser_to_a_script_scheme() {
        for uri in
            ["javascript:alert(1)", " javascript:alert(1)", "data:text/html,x", "vbscript:x", "file:///etc/passwd"]
        {
            for mode in ["query", "fragment", "form_post"] {
                let r = respond(uri, mode, &[("code", "c".into())]);
                assert_eq!(r.status, 400, "{uri} {mode}");
                assert!(r.headers.iter().all(|(n, v)| n != "location" && !v.contains("javascript")), "{uri} {mode}");
                assert!(!String::from_utf8_lossy(&r.body).contains("<form"), "{uri} {mode}");
            }
        }
        let ok = respond("com.example.app:/cb", "query", &[("code", "c".into())]);
        assert_eq!(ok.headers[0], ("location".into(), "com.example.app:/cb?code=c".into()));
    }

    #[test]
    fn the_form_post_page_runs_only_its_own_script() {
        let p = respond("https://a.example/cb", "form_post", &[("code", "\"><script>x</script>".into())]);
        let header = |n: &str| p.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
        let body = String::from_utf8(p.body.clone()).unwrap();
        assert!(!body.contains("<script>x"), "{body}");
        assert!(body.contains(&format!("<script>{FORM_POST_SCRIPT}</script>")), "{body}");
        assert!(!body.contains("onload"), "{body}");
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(FORM_POST_SCRIPT.as_bytes()));
        let csp = header("content-security-policy");
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(csp.contains(&format!("script-src 'sha256-{hash}'")), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("cache-control"), "no-store");
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
