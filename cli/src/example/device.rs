//! `GET /device`, `POST /device` and `GET /device/done`: sign a device in (RFC 8628).
//!
//! A user who opens the address a device shows (Latch's `/oauth2/device/verify`) is sent
//! here with a `device_challenge` (and the `user_code`, when the device showed a link with
//! it). The page asks for the code; the app sends it to Latch's admin API
//! (`PUT /admin/oauth2/auth/requests/device/accept`) and follows the `redirect_to`, which
//! leads to the login and consent pages. A code Latch does not know is shown as an error
//! on the same page, so the user can type it again.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::admin::Kind;
use super::csrf::FIELD_NAME;
use super::{challenge_param, pages, redirect, App, AppError, FormData};

/// `GET /device?device_challenge=...[&user_code=...]`
pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let challenge = challenge_param(&query, "device_challenge")?;
    let csrf = app.csrf.token(&headers);
    let code = query.get("user_code").map(String::as_str).unwrap_or("");
    Ok((csrf.header(), Html(pages::device(&challenge, &csrf.field, code, None))).into_response())
}

/// `POST /device`: the code the user typed.
pub async fn submit(State(app): State<App>, headers: HeaderMap, body: String) -> Result<Response, AppError> {
    let form_data = FormData::parse(&body);
    app.csrf.verify(&headers, form_data.get(FIELD_NAME))?;
    let challenge = form_data.challenge()?;
    let code = form_data.get("user_code").map(str::trim).unwrap_or("");
    if code.is_empty() {
        return Err(AppError::BadRequest("Enter the code your device shows.".into()));
    }
    match app.admin.accept(Kind::Device, &challenge, Some(&json!({"user_code": code}))).await {
        Ok(to) => redirect(&to),
        // Unknown, expired or used (400 invalid_request): ask again.
        Err(AppError::Admin { status: Some(400), description, .. }) => {
            let csrf = app.csrf.token(&headers);
            let message = if description.is_empty() { "That code is not valid.".to_owned() } else { description };
            Ok((csrf.header(), Html(pages::device(&challenge, &csrf.field, code, Some(&message)))).into_response())
        }
        Err(e) => Err(e),
    }
}

/// `GET /device/done`: where `urls.device.success` may point.
pub async fn done() -> Html<String> {
    Html(pages::device_done())
}
