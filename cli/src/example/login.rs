//! `GET /login` and `POST /login`: authenticate the user for Latch.
//!
//! Latch sends the browser to `/login?login_challenge=...`. The app reads the login request
//! from the admin API; if Latch already knows the user (`skip`: a remembered session) it
//! accepts at once (unless the app is set to [`Remembered::Ask`]), else it shows a login
//! form. The form posts back here, and the app accepts
//! the request with the user's ID as `subject` (or rejects it when the user denies), then
//! sends the browser to the `redirect_to` Latch answered with.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

use super::admin::{self, Kind};
use super::csrf::FIELD_NAME;
use super::{challenge_param, pages, redirect, App, AppError, FormData, Remembered};

/// The demo user's email, which is also its subject (user ID).
pub const DEMO_EMAIL: &str = "foo@bar.com";
/// The demo user's password.
pub const DEMO_PASSWORD: &str = "foobar";
/// The demo user's name (the `name` claim, see `consent`).
pub const DEMO_NAME: &str = "Foo Bar";

/// How long Latch remembers the login when the user ticks "remember me", in seconds.
const REMEMBER_FOR: u64 = 3600;

/// Checks the credentials and returns the user's subject. This is where a real app asks its
/// user store (and compares password hashes in constant time); the demo has one user.
fn authenticate(email: &str, password: &str) -> Option<&'static str> {
    (email == DEMO_EMAIL && password == DEMO_PASSWORD).then_some(DEMO_EMAIL)
}

/// `GET /login?login_challenge=...`
pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let challenge = challenge_param(&query, "login_challenge")?;
    let request = app.admin.get(Kind::Login, &challenge).await?;

    let remembered = request.get("skip").and_then(Value::as_bool) == Some(true);
    if remembered && app.remembered == Remembered::Accept {
        // Latch has already authenticated this user: confirm the subject it knows. (A real
        // app could refresh its own session here.)
        let body = json!({ "subject": admin::text(&request, "/subject") });
        let to = app.admin.accept(Kind::Login, &challenge, Some(&body)).await?;
        return redirect(&to);
    }

    // `login_hint` (from the authorization request) pre-fills the email; for a remembered
    // login shown anyway, the user Latch knows (Latch accepts that subject only).
    let mut hint = admin::text(&request, "/oidc_context/login_hint");
    if hint.is_empty() && remembered {
        hint = admin::text(&request, "/subject");
    }
    let hint = hint.to_owned();
    Ok(form(&app, &headers, &challenge, &request, &hint, None))
}

/// `POST /login`: the form's "Log in" or "Deny access".
pub async fn submit(State(app): State<App>, headers: HeaderMap, body: String) -> Result<Response, AppError> {
    let form_data = FormData::parse(&body);
    app.csrf.verify(&headers, form_data.get(FIELD_NAME))?;
    let challenge = form_data.challenge()?;

    if form_data.get("submit") == Some("deny") {
        // Latch redirects the browser to the client with this error.
        let body = json!({
            "error": "access_denied",
            "error_description": "The resource owner denied the request",
        });
        let to = app.admin.reject(Kind::Login, &challenge, &body).await?;
        return redirect(&to);
    }

    let email = form_data.get("email").unwrap_or_default().trim();
    let password = form_data.get("password").unwrap_or_default();
    let Some(subject) = authenticate(email, password) else {
        // Show the form again (with the client's name, so fetch the request again).
        let request = app.admin.get(Kind::Login, &challenge).await?;
        let error = "The username / password combination is not correct.";
        let mut res = form(&app, &headers, &challenge, &request, email, Some(error));
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(res);
    };

    // `remember` asks Latch to set its session cookie so the next login is skipped;
    // `acr` is the authentication context class reference put in the ID token.
    let body = json!({
        "subject": subject,
        "remember": form_data.checked("remember"),
        "remember_for": REMEMBER_FOR,
        "acr": "0",
    });
    let to = app.admin.accept(Kind::Login, &challenge, Some(&body)).await?;
    redirect(&to)
}

/// The login form, with the CSRF cookie set if the browser has none yet.
fn form(
    app: &App,
    headers: &HeaderMap,
    challenge: &str,
    request: &Value,
    email: &str,
    error: Option<&str>,
) -> Response {
    let csrf = app.csrf.token(headers);
    let html = pages::login(&pages::LoginPage {
        challenge,
        csrf: &csrf.field,
        client: &admin::client_label(request),
        email,
        error,
    });
    (csrf.header(), Html(html)).into_response()
}
