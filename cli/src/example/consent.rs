//! `GET /consent` and `POST /consent`: let the user grant the client what it asked for.
//!
//! After login Latch sends the browser to `/consent?consent_challenge=...`. The app reads the
//! consent request; if Latch says the user already agreed to these scopes (`skip`) or the
//! client is marked `skip_consent` (a first-party client; Latch only stores the flag, the app
//! decides), it grants everything requested at once, unless the app is set to
//! [`Remembered::Ask`]. Otherwise it lists the requested scopes as checkboxes. Accepting tells Latch which scopes and audiences to grant, and which extra
//! claims to put in the tokens (`session`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::admin::{self, Kind};
use super::csrf::FIELD_NAME;
use super::login::{DEMO_EMAIL, DEMO_NAME};
use super::{challenge_param, pages, redirect, App, AppError, FormData, Remembered};

/// How long Latch remembers the decision when the user ticks "remember", in seconds.
const REMEMBER_FOR: u64 = 3600;

/// The claims of the tokens for `subject` given the granted scopes: the ID token gets the
/// demo user's `email` / `email_verified` with scope `email` and `name` with `profile`
/// (OpenID Connect Core §5.4). Put your own user store's profile here; access token claims
/// (`session.access_token`) show up in introspection.
fn session(subject: &str, granted: &[String]) -> Value {
    let has = |scope: &str| granted.iter().any(|s| s == scope);
    let mut id_token = Map::new();
    if subject == DEMO_EMAIL {
        if has("email") {
            id_token.insert("email".into(), json!(DEMO_EMAIL));
            id_token.insert("email_verified".into(), json!(true));
        }
        if has("profile") {
            id_token.insert("name".into(), json!(DEMO_NAME));
        }
    }
    json!({ "access_token": {}, "id_token": id_token })
}

/// `GET /consent?consent_challenge=...`
pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let challenge = challenge_param(&query, "consent_challenge")?;
    let request = app.admin.get(Kind::Consent, &challenge).await?;
    let requested = admin::strings(&request, "requested_scope");
    let audience = admin::strings(&request, "requested_access_token_audience");

    let skip = request.get("skip").and_then(Value::as_bool) == Some(true);
    let skip_consent = request.pointer("/client/skip_consent").and_then(Value::as_bool) == Some(true);
    if (skip || skip_consent) && app.remembered == Remembered::Accept {
        // Latch already checked that the scopes and audiences are allowed for the client,
        // so everything requested can be granted as is.
        let body = json!({
            "grant_scope": requested,
            "grant_access_token_audience": audience,
            "session": session(admin::text(&request, "/subject"), &requested),
        });
        let to = app.admin.accept(Kind::Consent, &challenge, Some(&body)).await?;
        return redirect(&to);
    }

    let csrf = app.csrf.token(&headers);
    let html = pages::consent(&pages::ConsentPage {
        challenge: &challenge,
        csrf: &csrf.field,
        client: &admin::client_label(&request),
        subject: admin::text(&request, "/subject"),
        scopes: &requested,
        audience: &audience,
        policy_uri: admin::text(&request, "/client/policy_uri"),
        tos_uri: admin::text(&request, "/client/tos_uri"),
    });
    Ok((csrf.header(), Html(html)).into_response())
}

/// `POST /consent`: "Allow access" with the ticked scopes, or "Deny access".
pub async fn submit(State(app): State<App>, headers: HeaderMap, body: String) -> Result<Response, AppError> {
    let form_data = FormData::parse(&body);
    app.csrf.verify(&headers, form_data.get(FIELD_NAME))?;
    let challenge = form_data.challenge()?;

    if form_data.get("submit") == Some("deny") {
        let body = json!({
            "error": "access_denied",
            "error_description": "The resource owner denied the request",
        });
        let to = app.admin.reject(Kind::Consent, &challenge, &body).await?;
        return redirect(&to);
    }

    // Read the request again: the form only says which boxes were ticked; what may be
    // granted (and the audiences) comes from Latch. Scopes that were not requested are
    // ignored, whatever the form says.
    let request = app.admin.get(Kind::Consent, &challenge).await?;
    let ticked: Vec<&str> = form_data.all("grant_scope").collect();
    let granted: Vec<String> =
        admin::strings(&request, "requested_scope").into_iter().filter(|s| ticked.contains(&s.as_str())).collect();

    let body = json!({
        "grant_scope": granted,
        "grant_access_token_audience": admin::strings(&request, "requested_access_token_audience"),
        "remember": form_data.checked("remember"),
        "remember_for": REMEMBER_FOR,
        "session": session(admin::text(&request, "/subject"), &granted),
    });
    let to = app.admin.accept(Kind::Consent, &challenge, Some(&body)).await?;
    redirect(&to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn profile_claims_follow_granted_scopes() {
        assert_eq!(session(DEMO_EMAIL, &scopes(&["openid"])), json!({"access_token": {}, "id_token": {}}));
        assert_eq!(
            session(DEMO_EMAIL, &scopes(&["openid", "email"]))["id_token"],
            json!({"email": "foo@bar.com", "email_verified": true})
        );
        assert_eq!(session(DEMO_EMAIL, &scopes(&["profile"]))["id_token"], json!({"name": "Foo Bar"}));
        // Another subject (logged in elsewhere) gets no demo profile.
        assert_eq!(session("alice", &scopes(&["email", "profile"]))["id_token"], json!({}));
    }
}
