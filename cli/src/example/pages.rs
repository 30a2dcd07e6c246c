//! The app's HTML: pure functions from what a page shows to a document. Every value is
//! escaped; forms post to the app's own paths with the hidden `challenge` and CSRF fields.

use super::csrf::FIELD_NAME;
use super::login::{DEMO_EMAIL, DEMO_PASSWORD};
use crate::html::{escape, page};

/// The hidden fields every form carries.
fn hidden_fields(challenge: &str, csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{FIELD_NAME}\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"challenge\" value=\"{}\">\n",
        escape(csrf),
        escape(challenge)
    )
}

/// `GET /`: what the app is and how to point Latch at it. `host` is the request's `Host`.
pub fn index(host: &str) -> String {
    let base = format!("http://{host}");
    page(
        "Latch example login & consent app",
        &format!(
            "<h1>Login &amp; consent app</h1>\n\
             <p>This is an example of the login, consent and logout screens Latch sends users to. \
             It talks to Latch only through the admin API. Point Latch at it with:</p>\n\
             <pre>urls.login:   {base}/login\nurls.consent: {base}/consent\nurls.logout:  {base}/logout\n\
             urls.device.verification: {base}/device\nurls.device.success:      {base}/device/done</pre>\n\
             <p>(or the environment variables <code>URLS_LOGIN</code>, <code>URLS_CONSENT</code> and \
             <code>URLS_LOGOUT</code>), then start a flow, for example with \
             <code>latch perform authorization-code</code>.</p>\n\
             <p>Log in as <code>{email}</code> with password <code>{password}</code>.</p>",
            base = escape(&base),
            email = DEMO_EMAIL,
            password = DEMO_PASSWORD,
        ),
    )
}

/// What the login page shows.
pub struct LoginPage<'a> {
    /// The login challenge.
    pub challenge: &'a str,
    /// The CSRF form token.
    pub csrf: &'a str,
    /// The client's name.
    pub client: &'a str,
    /// The email to pre-fill (login hint, or what was typed).
    pub email: &'a str,
    /// An error to show (wrong credentials).
    pub error: Option<&'a str>,
}

/// The login form.
pub fn login(p: &LoginPage<'_>) -> String {
    let error = p.error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e))).unwrap_or_default();
    page(
        "Log in",
        &format!(
            "<h1>Log in</h1>\n<p class=\"muted\">to continue to <strong>{client}</strong></p>\n{error}\
             <form method=\"post\" action=\"/login\">\n{hidden}\
             <label for=\"email\">Email</label>\n\
             <input type=\"email\" id=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required autofocus>\n\
             <label for=\"password\">Password</label>\n\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
             <label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"1\"> Remember me</label>\n\
             <div class=\"actions\">\n\
             <button type=\"submit\" name=\"submit\" value=\"login\">Log in</button>\n\
             <button type=\"submit\" name=\"submit\" value=\"deny\" class=\"secondary\" formnovalidate>Deny access</button>\n\
             </div>\n</form>\n\
             <p class=\"muted\">Demo account: {demo_email} / {demo_password}</p>",
            client = escape(p.client),
            hidden = hidden_fields(p.challenge, p.csrf),
            email = escape(p.email),
            demo_email = DEMO_EMAIL,
            demo_password = DEMO_PASSWORD,
        ),
    )
}

/// What the consent page shows.
pub struct ConsentPage<'a> {
    /// The consent challenge.
    pub challenge: &'a str,
    /// The CSRF form token.
    pub csrf: &'a str,
    /// The client's name.
    pub client: &'a str,
    /// Who is logged in.
    pub subject: &'a str,
    /// The requested scopes, one checkbox each (ticked).
    pub scopes: &'a [String],
    /// The requested access token audiences (granted as requested).
    pub audience: &'a [String],
    /// The client's privacy policy URL, if any.
    pub policy_uri: &'a str,
    /// The client's terms of service URL, if any.
    pub tos_uri: &'a str,
}

/// Links to the client's policy and terms, when they are http(s) URLs.
fn client_links(p: &ConsentPage<'_>) -> String {
    let links: Vec<String> = [(p.policy_uri, "Privacy policy"), (p.tos_uri, "Terms of service")]
        .into_iter()
        .filter(|(uri, _)| uri.starts_with("https://") || uri.starts_with("http://"))
        .map(|(uri, label)| format!("<a href=\"{}\" rel=\"noopener\">{label}</a>", escape(uri)))
        .collect();
    if links.is_empty() {
        String::new()
    } else {
        format!("<p class=\"muted\">{}</p>\n", links.join(" · "))
    }
}

/// The consent form.
pub fn consent(p: &ConsentPage<'_>) -> String {
    let scopes: String = p
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"grant_scope\" value=\"{0}\" checked> \
                 <code>{0}</code></label>\n",
                escape(s)
            )
        })
        .collect();
    let scopes = if scopes.is_empty() { "<p class=\"muted\">(no scopes)</p>\n".to_owned() } else { scopes };
    let audience = if p.audience.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = p.audience.iter().map(|a| format!("<code>{}</code>", escape(a))).collect();
        format!("<p class=\"muted\">Its access tokens will be valid for: {}</p>\n", list.join(", "))
    };
    page(
        "Authorize application",
        &format!(
            "<h1>Authorize {client}</h1>\n\
             <p>Hi {subject}, <strong>{client}</strong> wants to access resources on your behalf and to:</p>\n\
             <form method=\"post\" action=\"/consent\">\n{hidden}{scopes}{audience}{links}\
             <label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"1\"> \
             Remember this decision</label>\n\
             <div class=\"actions\">\n\
             <button type=\"submit\" name=\"submit\" value=\"allow\">Allow access</button>\n\
             <button type=\"submit\" name=\"submit\" value=\"deny\" class=\"secondary\">Deny access</button>\n\
             </div>\n</form>",
            client = escape(p.client),
            subject = escape(p.subject),
            hidden = hidden_fields(p.challenge, p.csrf),
            links = client_links(p),
        ),
    )
}

/// The logout confirmation.
pub fn logout(challenge: &str, csrf: &str, subject: &str) -> String {
    let who = if subject.is_empty() { String::new() } else { format!(" <strong>{}</strong>", escape(subject)) };
    page(
        "Log out",
        &format!(
            "<h1>Log out</h1>\n<p>Do you want to log out{who}?</p>\n\
             <form method=\"post\" action=\"/logout\">\n{hidden}\
             <div class=\"actions\">\n\
             <button type=\"submit\" name=\"submit\" value=\"yes\">Yes</button>\n\
             <button type=\"submit\" name=\"submit\" value=\"no\" class=\"secondary\">No</button>\n\
             </div>\n</form>",
            hidden = hidden_fields(challenge, csrf),
        ),
    )
}

/// The device page: the user types the code the device shows (pre-filled when the device
/// showed a link with it).
pub fn device(challenge: &str, csrf: &str, user_code: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e))).unwrap_or_default();
    page(
        "Sign in a device",
        &format!(
            "<h1>Sign in a device</h1>\n<p>Enter the code your device shows.</p>\n{error}\
             <form method=\"post\" action=\"/device\">\n{hidden}\
             <label for=\"user_code\">Code</label>\n\
             <input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{code}\" autocomplete=\"off\" autofocus required>\n\
             <div class=\"actions\">\n<button type=\"submit\">Continue</button>\n</div>\n</form>",
            hidden = hidden_fields(challenge, csrf),
            code = escape(user_code),
        ),
    )
}

/// `urls.device.success`: the device is signed in.
pub fn device_done() -> String {
    page(
        "Device signed in",
        "<h1>Your device is signed in</h1>\n<p>You can close this page and go back to your device.</p>",
    )
}

/// After "No" on the logout page.
pub fn stayed_logged_in() -> String {
    page(
        "Logout cancelled",
        "<h1>You stayed logged in</h1>\n<p>Your session is still active. You can close this page.</p>",
    )
}

/// An error page: a title, a message and `label: value` details (empty ones left out).
pub fn error(title: &str, message: &str, details: &[(&str, &str)]) -> String {
    let message =
        if message.is_empty() { String::new() } else { format!("<p class=\"error\">{}</p>\n", escape(message)) };
    let rows: String = details
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>\n", escape(k), escape(v)))
        .collect();
    let rows = if rows.is_empty() { String::new() } else { format!("<dl>\n{rows}</dl>\n") };
    page(title, &format!("<h1>{}</h1>\n{message}{rows}", escape(title)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_page_escapes_and_carries_hidden_fields() {
        let html = login(&LoginPage {
            challenge: "ch\"1",
            csrf: "tok",
            client: "<App>",
            email: "a@b.c",
            error: Some("bad & wrong"),
        });
        assert!(html.contains("name=\"_csrf\" value=\"tok\""), "{html}");
        assert!(html.contains("name=\"challenge\" value=\"ch&quot;1\""), "{html}");
        assert!(html.contains("<strong>&lt;App&gt;</strong>"), "{html}");
        assert!(html.contains("value=\"a@b.c\""), "{html}");
        assert!(html.contains("bad &amp; wrong"), "{html}");
    }

    #[test]
    fn consent_page_lists_scopes_and_safe_links() {
        let scopes = vec!["openid".to_owned(), "email".to_owned()];
        let html = consent(&ConsentPage {
            challenge: "c",
            csrf: "t",
            client: "App",
            subject: "foo@bar.com",
            scopes: &scopes,
            audience: &[],
            policy_uri: "javascript:alert(1)",
            tos_uri: "https://app.example/tos",
        });
        assert!(html.contains("name=\"grant_scope\" value=\"openid\" checked"), "{html}");
        assert!(html.contains("name=\"grant_scope\" value=\"email\" checked"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://app.example/tos\""), "{html}");
        assert!(!html.contains("valid for"), "{html}");
    }
}
