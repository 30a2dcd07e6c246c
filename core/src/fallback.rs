//! The built-in pages shown when `urls.login`, `urls.consent` or `urls.error` are not
//! configured (Hydra's `/oauth2/fallbacks/*`): plain HTML that says what to configure,
//! or shows the error.

use crate::http::{PagePolicy, Request, Response};
use crate::redirect::html_escape;

/// The fallback page `name` (`login`, `consent` or `error`).
pub fn page(name: &str, req: &Request) -> Response {
    let body = match name {
        "login" | "consent" => format!(
            "<h1>The {name} UI is not configured</h1><p>Set <code>URLS_{}</code> to the {name} page of your login &amp; consent app \
             (for example <code>latch example login-consent</code> serves one on http://127.0.0.1:3000/{name}).</p>",
            name.to_ascii_uppercase()
        ),
        "logout" => "<h1>The logout UI is not configured</h1><p>Set <code>URLS_LOGOUT</code> to the logout page of your login &amp; consent app.</p>".to_string(),
        "logout_callback" => "<h1>You have been logged out</h1><p>You can close this window.</p>".to_string(),
        "device" => "<h1>The device verification UI is not configured</h1><p>Set <code>urls.device.verification</code> \
             (<code>URLS_DEVICE_VERIFICATION</code>) to the device page of your login &amp; consent app, which asks for \
             the user code (for example <code>latch example login-consent</code> serves one on http://127.0.0.1:3000/device).</p>"
            .to_string(),
        "device_done" => "<h1>Your device is signed in</h1><p>You can close this window and return to your device. \
             (Set <code>urls.device.success</code> to show your own page here.)</p>"
            .to_string(),
        _ => {
            let q = req.query_params().unwrap_or_default();
            let field = |k: &str| html_escape(q.get(k).unwrap_or(""));
            format!(
                "<h1>An error occurred</h1><p><strong>{}</strong></p><p>{}</p><p>{}</p>",
                field("error"),
                field("error_description"),
                field("error_hint")
            )
        }
    };
    Response::html(
        if name == "error" { 400 } else { 200 },
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Latch</title></head><body>{body}</body></html>"
        ),
        &PagePolicy::default(),
    )
}
