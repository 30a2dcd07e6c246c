//! Token revocation (RFC 7009).

use crate::access_token;
use crate::client_auth;
use crate::error::{Error, ErrorCode};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Store, TokenKind};
use crate::token;

/// `POST /oauth2/revoke`.
///
/// RFC 7009 §2.1: the client authenticates; a token issued to another client is
/// refused (`unauthorized_client`). Revoking either token revokes its whole grant, the
/// refresh and access tokens of the same authorization, as fosite's revocation handler
/// does (it revokes by request id): "the authorization server SHOULD also invalidate all
/// access tokens based on the same authorization grant", and the grace period of a
/// rotation cannot bring any of them back. §2.2: an invalid or unknown token is answered
/// with 200 all the same.
pub async fn handle<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = req.form_params()?;
    let client = client_auth::authenticate(latch, req, &params).await?;
    let presented = params.require("token")?;
    let (kind, signature) =
        if let Some(sig) = token::verify(&latch.config.system_secrets, token::REFRESH_TOKEN_PREFIX, presented) {
            (TokenKind::RefreshToken, sig)
        } else if let Some(sig) = access_token::signature_of(latch, presented).await? {
            (TokenKind::AccessToken, sig)
        } else {
            return Ok(Response::empty(200));
        };
    let Some(record) = latch.store.get_token(kind, &signature).await? else { return Ok(Response::empty(200)) };
    if record.client_id != client.client_id {
        return Err(Error::new(ErrorCode::UnauthorizedClient)
            .with_hint("The token was not issued to the client making the revocation request."));
    }
    latch.store.revoke_grant(&record.request_id).await?;
    Ok(Response::empty(200))
}
