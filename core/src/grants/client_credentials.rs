//! The client credentials grant (RFC 6749 §4.4).
use super::GrantType;
use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::http::{Params, Response};
use crate::platform::Platform;
use crate::scope::scope_allowed;
use crate::service::Latch;
use crate::store::Store;

/// Issues an access token to the client itself: no refresh token (§4.4.3: "A
/// refresh token SHOULD NOT be included").
pub async fn handle<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    dpop: Option<&crate::dpop::Proof>,
) -> Result<Response, Error> {
    // §4.4: "The client credentials grant type MUST only be used by confidential clients."
    if client.is_public() {
        return Err(Error::new(ErrorCode::InvalidGrant)
            .with_hint("The client is public and thus not allowed to use grant type 'client_credentials'."));
    }
    let scope = params.list("scope");
    // §3.3: the requested scope must be within what the client registered.
    for s in &scope {
        if !scope_allowed(client.scopes(), s) {
            return Err(Error::new(ErrorCode::InvalidScope)
                .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'.")));
        }
    }
    // RFC 8707 §2 / Hydra: each requested audience must be allow-listed by the client.
    let audience = crate::scope::requested_audience(&client.audience, params)?;
    let of = super::TokenOf { subject: client.client_id.clone(), scope, audience, ..Default::default() };
    let body = super::access_token_only(latch, client, params, GrantType::ClientCredentials, of, dpop).await?;
    Ok(Response::json(200, &body))
}
