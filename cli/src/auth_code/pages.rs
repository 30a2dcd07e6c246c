//! The pages of the example client: home (with the authorization link), the tokens, and
//! errors. Pure functions returning HTML; every value from outside is escaped.

use crate::html::{escape, page};

/// The home page: what this is, and the "Authorize application" link.
pub fn home(auth_url: &str, client_id: &str, redirect_uri: &str, scope: &str) -> String {
    page(
        "Example OAuth 2.0 client",
        &format!(
            "<h1>Example OAuth 2.0 client</h1>\n\
             <p>This page stands in for an application that signs its users in with OAuth 2.0 and OpenID \
             Connect. It runs the authorization code flow with PKCE against Latch and shows the tokens it \
             gets.</p>\n\
             <dl>\n<dt>Client ID</dt><dd><code>{client_id}</code></dd>\n\
             <dt>Redirect URI</dt><dd><code>{redirect_uri}</code></dd>\n\
             <dt>Scope</dt><dd><code>{scope}</code></dd>\n</dl>\n\
             <p class=\"actions\"><a class=\"button\" id=\"authorize\" href=\"{auth_url}\">Authorize application</a></p>",
            client_id = escape(client_id),
            redirect_uri = escape(redirect_uri),
            scope = escape(scope),
            auth_url = escape(auth_url),
        ),
    )
}

/// What the tokens page shows.
#[derive(Debug, Default)]
pub struct TokenView<'a> {
    /// `access_token`.
    pub access_token: &'a str,
    /// `refresh_token` (empty when none was issued).
    pub refresh_token: &'a str,
    /// `id_token` (empty when none was issued).
    pub id_token: &'a str,
    /// Expiry of the access token, RFC 3339 (empty when unknown).
    pub expires: &'a str,
    /// The ID token's decoded header and claims as pretty JSON, or why they could not be
    /// decoded.
    pub id_token_decoded: Option<Result<(String, String), String>>,
    /// A warning to show above everything (nonce mismatch).
    pub warning: Option<String>,
    /// Link back to the home page, when the server keeps running (`--no-shutdown`).
    pub back: Option<&'a str>,
}

fn or_none(value: &str) -> String {
    if value.is_empty() {
        "<span class=\"muted\">(none)</span>".to_owned()
    } else {
        format!("<pre>{}</pre>", escape(value))
    }
}

/// The page shown after a successful code exchange.
pub fn tokens(v: &TokenView<'_>) -> String {
    let mut body = String::from("<h1>Tokens received</h1>\n");
    if let Some(w) = &v.warning {
        body.push_str(&format!("<p class=\"warning\"><strong>Warning:</strong> {}</p>\n", escape(w)));
    }
    body.push_str(&format!(
        "<dl>\n<dt>Access Token</dt><dd>{}</dd>\n<dt>Refresh Token</dt><dd>{}</dd>\n\
         <dt>ID Token</dt><dd>{}</dd>\n<dt>Expires</dt><dd>{}</dd>\n</dl>\n",
        or_none(v.access_token),
        or_none(v.refresh_token),
        or_none(v.id_token),
        or_none(v.expires),
    ));
    match &v.id_token_decoded {
        Some(Ok((header, claims))) => body.push_str(&format!(
            "<h2>ID token (decoded, not verified)</h2>\n<dl>\n<dt>Header</dt><dd><pre>{}</pre></dd>\n\
             <dt>Claims</dt><dd><pre>{}</pre></dd>\n</dl>\n",
            escape(header),
            escape(claims)
        )),
        Some(Err(why)) => {
            body.push_str(&format!("<p class=\"warning\">The ID token could not be decoded: {}</p>\n", escape(why)))
        }
        None => {}
    }
    body.push_str(&back_link(v.back));
    page("Tokens received", &body)
}

/// An error page: a title and `label: value` details (empty values are left out).
pub fn error(title: &str, details: &[(&str, &str)], back: Option<&str>) -> String {
    let mut body = format!("<h1>An error occurred</h1>\n<p class=\"error\">{}</p>\n", escape(title));
    let rows: String = details
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(label, value)| format!("<dt>{}</dt><dd>{}</dd>\n", escape(label), escape(value)))
        .collect();
    if !rows.is_empty() {
        body.push_str(&format!("<dl>\n{rows}</dl>\n"));
    }
    body.push_str(&back_link(back));
    page("Error", &body)
}

fn back_link(back: Option<&str>) -> String {
    back.map(|url| format!("<p><a href=\"{}\">Back to the start page</a></p>\n", escape(url))).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_escapes_the_link() {
        let html = home("http://as/auth?a=1&b=<2>", "c\"1", "http://127.0.0.1:1/callback", "openid");
        assert!(html.contains("href=\"http://as/auth?a=1&amp;b=&lt;2&gt;\""), "{html}");
        assert!(html.contains("<code>c&quot;1</code>"), "{html}");
        assert!(html.contains(">Authorize application</a>"), "{html}");
    }

    #[test]
    fn tokens_page_shows_values_warning_and_claims() {
        let html = tokens(&TokenView {
            access_token: "at<1>",
            refresh_token: "",
            id_token: "a.b.c",
            expires: "2030-01-01T00:00:00Z",
            id_token_decoded: Some(Ok(("{\"alg\": \"RS256\"}".into(), "{\"sub\": \"x\"}".into()))),
            warning: Some("nonce <bad>".into()),
            back: None,
        });
        assert!(html.contains("<pre>at&lt;1&gt;</pre>"), "{html}");
        assert!(html.contains("<dt>Refresh Token</dt><dd><span class=\"muted\">(none)</span>"), "{html}");
        assert!(html.contains("nonce &lt;bad&gt;"), "{html}");
        assert!(html.contains("&quot;sub&quot;: &quot;x&quot;"), "{html}");
        assert!(!html.contains("Back to the start page"), "{html}");
    }

    #[test]
    fn error_page_skips_empty_details() {
        let html = error("access_denied", &[("Description", "denied"), ("Hint", "")], Some("http://127.0.0.1:1/"));
        assert!(html.contains("<dt>Description</dt><dd>denied</dd>"), "{html}");
        assert!(!html.contains("<dt>Hint</dt>"), "{html}");
        assert!(html.contains("href=\"http://127.0.0.1:1/\""), "{html}");
    }
}
