//! The token endpoint (RFC 6749 §3.2): authenticate the client, then hand the request
//! to the handler of its `grant_type`: the rows of the grant table
//! ([`grants::GrantType`]) issued by the token endpoint, one module per grant in
//! [`crate::grants`].

use crate::client_auth;
use crate::dpop;
use crate::error::{Error, ErrorCode};
use crate::grants::{self, GrantType, IssuedBy};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;

/// `POST /oauth2/token`.
pub async fn handle<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = req.form_params()?;
    let wire = params.require("grant_type")?;
    // RFC 6749 §5.2 unsupported_grant_type, before the client authenticates.
    let grant = GrantType::parse(wire)
        .filter(|g| g.issued_by() == IssuedBy::TokenEndpoint)
        .ok_or_else(|| grants::unsupported(wire))?;
    let client = client_auth::authenticate(latch, req, &params).await?;
    // RFC 6749 §5.2 unauthorized_client: the client is not allowed this grant type.
    if !client.has_grant(grant.as_str()) {
        return Err(Error::new(ErrorCode::UnauthorizedClient)
            .with_hint(format!("The client is not allowed to request grant type '{}'.", grant.as_str())));
    }
    // RFC 9449 §5: a proof binds the tokens to its key. Checked before the grant runs,
    // so a refused proof (or a nonce challenge) uses up no code or refresh token.
    let expected = dpop::Expected { method: "POST", path: PATH, access_token: None };
    let proof = dpop::check(latch, req, &expected).await?;
    // RFC 9449 §5.2 `dpop_bound_access_tokens`: such a client never gets a bearer token.
    if proof.is_none() && (client.dpop_bound_access_tokens || latch.config.fapi2) {
        return Err(Error::new(ErrorCode::InvalidDpopProof)
            .with_hint("The client's access tokens must be DPoP-bound: send a DPoP proof."));
    }
    let answer = grants::handle(grant, latch, &client, &params, proof.as_ref()).await?;
    Ok(match proof {
        // §8.1: a fresh nonce with every answer, while nonces are required.
        Some(_) if latch.config.dpop.require_nonce => {
            answer.with_header(dpop::NONCE_HEADER, dpop::nonce(latch, latch.platform.now()))
        }
        _ => answer,
    })
}

/// The endpoint's path.
pub const PATH: &str = "/oauth2/token";

/// A per-client lifespan (a Go duration such as `1h`) or the server's default.
pub fn lifespan(client_value: Option<&str>, default: i64) -> i64 {
    client_value.and_then(crate::duration::parse_seconds).filter(|s| *s > 0).unwrap_or(default)
}
