//! `GET /logout` and `POST /logout`: confirm a logout.
//!
//! When a user logs out (`/oauth2/sessions/logout` on Latch's public API), Latch sends the
//! browser to `/logout?logout_challenge=...`. The app asks "Do you want to log out?": "Yes"
//! accepts the request and follows `redirect_to` (Latch then ends the session and notifies
//! the clients), "No" rejects it and the user stays logged in.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};

use super::admin::{self, Kind};
use super::csrf::FIELD_NAME;
use super::{challenge_param, pages, redirect, App, AppError, FormData};

/// `GET /logout?logout_challenge=...`
pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let challenge = challenge_param(&query, "logout_challenge")?;
    // Fetching the request checks that the challenge is valid before asking anything.
    let request = app.admin.get(Kind::Logout, &challenge).await?;
    let csrf = app.csrf.token(&headers);
    let html = pages::logout(&challenge, &csrf.field, admin::text(&request, "/subject"));
    Ok((csrf.header(), Html(html)).into_response())
}

/// `POST /logout`: "Yes" or "No".
pub async fn submit(State(app): State<App>, headers: HeaderMap, body: String) -> Result<Response, AppError> {
    let form_data = FormData::parse(&body);
    app.csrf.verify(&headers, form_data.get(FIELD_NAME))?;
    let challenge = form_data.challenge()?;
    match form_data.get("submit") {
        Some("yes") => {
            let to = app.admin.accept(Kind::Logout, &challenge, None).await?;
            redirect(&to)
        }
        Some("no") => {
            app.admin.reject_logout(&challenge).await?;
            Ok(Html(pages::stayed_logged_in()).into_response())
        }
        _ => Err(AppError::BadRequest("Expected the answer yes or no.".into())),
    }
}
