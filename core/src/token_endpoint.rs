//! The token endpoint (RFC 6749 §3.2): authenticate the client, then hand the request
//! to the handler of its `grant_type`, one module per grant in [`crate::grants`].
//!
//! | grant_type           | handler                                      | spec            |
//! |----------------------|----------------------------------------------|-----------------|
//! | `client_credentials` | [`grants::client_credentials::handle`]       | RFC 6749 §4.4   |
//! | `authorization_code` | [`grants::authorization_code::handle`]       | RFC 6749 §4.1.3 |
//! | `refresh_token`      | [`grants::refresh_token::handle`]            | RFC 6749 §6     |

use crate::client_auth;
use crate::error::{Error, ErrorCode};
use crate::grants;
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;

/// `POST /oauth2/token`.
pub async fn handle<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = req.form_params()?;
    let grant_type = params.require("grant_type")?.to_string();
    if !matches!(grant_type.as_str(), "client_credentials" | "authorization_code" | "refresh_token") {
        return Err(Error::new(ErrorCode::UnsupportedGrantType)
            .with_hint(format!("The grant type '{grant_type}' is not supported.")));
    }
    let client = client_auth::authenticate(latch, req, &params).await?;
    // RFC 6749 §5.2 unauthorized_client: the client is not allowed this grant type.
    if !client.has_grant(&grant_type) {
        return Err(Error::new(ErrorCode::UnauthorizedClient)
            .with_hint(format!("The client is not allowed to request grant type '{grant_type}'.")));
    }
    match grant_type.as_str() {
        "client_credentials" => grants::client_credentials::handle(latch, &client, &params).await,
        "authorization_code" => grants::authorization_code::handle(latch, &client, &params).await,
        _ => grants::refresh_token::handle(latch, &client, &params).await,
    }
}

/// A per-client lifespan (a Go duration such as `1h`) or the server's default.
pub fn lifespan(client_value: Option<&str>, default: i64) -> i64 {
    client_value.and_then(crate::duration::parse_seconds).filter(|s| *s > 0).unwrap_or(default)
}
