//! The token endpoint (RFC 6749 §3.2): authenticate the client, then hand the request
//! to the handler of its `grant_type`: the rows of the grant table
//! ([`grants::GrantType`]) issued by the token endpoint, one module per grant in
//! [`crate::grants`].

use crate::client_auth;
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
    grants::handle(grant, latch, &client, &params).await
}

/// A per-client lifespan (a Go duration such as `1h`) or the server's default.
pub fn lifespan(client_value: Option<&str>, default: i64) -> i64 {
    client_value.and_then(crate::duration::parse_seconds).filter(|s| *s > 0).unwrap_or(default)
}
