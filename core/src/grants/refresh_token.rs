//! The refresh token grant (RFC 6749 §6), with rotation on every use and reuse
//! detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
//!
//! As fosite's refresh handler: the client must still be allowed the `refresh_token`
//! grant (checked by the token endpoint, `unauthorized_client`), every scope of the new
//! tokens must still be allowed by the client's current `scope` (`invalid_scope`) and the
//! grant's audience by its current `audience` (`invalid_request`), and the grant's
//! earlier access tokens are revoked with the rotation.

use super::{ext_of, invalid_grant, mint_tokens, session_of, store_while_signing, GrantType, Minted};
use crate::access_token::Grant;
use crate::client::Client;
use crate::dpop::Proof;
use crate::error::{Error, ErrorCode};
use crate::http::{Params, Response};
use crate::platform::Platform;
use crate::scope::{audience_allowed, scope_allowed};
use crate::service::Latch;
use crate::store::{Rotated, Store, TokenKind};
use crate::token;

/// Exchanges a refresh token for a new access token and a new refresh token.
///
/// The old token is retired, the grant's access tokens revoked and the successors
/// stored in one compare-and-set ([`crate::store::TokenStore::rotate_refresh_token`]).
/// Presenting a retired token after the grace period
/// (`oauth2.grant.refresh_token.rotation_grace_period`), or a revoked one at any time, is
/// a reuse: the whole grant is revoked. Within the grace period a rotated token is
/// honoured again only while the grant is live, in one more compare-and-set
/// ([`crate::store::TokenStore::reissue_within_grace`]): revocation is final.
pub async fn handle<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    dpop: Option<&Proof>,
) -> Result<Response, Error> {
    let presented = params.require("refresh_token")?;
    let sig = token::verify(&latch.config.system_secrets, token::REFRESH_TOKEN_PREFIX, presented)
        .ok_or_else(|| invalid_grant("The refresh token is malformed or was not issued by this server."))?;
    let now = latch.platform.now();
    let old = latch
        .store
        .get_token(TokenKind::RefreshToken, &sig)
        .await?
        .ok_or_else(|| invalid_grant("The refresh token is unknown."))?;
    if old.client_id != client.client_id {
        return Err(invalid_grant("The refresh token was issued to another client."));
    }
    // Bound to the client instance: a client deleted and created again with the same id
    // (its `created_at` is later than anything issued to the one before) refreshes
    // nothing of its predecessor's.
    if old.issued_at < client.created_at {
        return Err(invalid_grant("The refresh token was issued to an earlier client with this id."));
    }
    if old.expires_at <= now {
        return Err(invalid_grant("The refresh token has expired."));
    }
    // RFC 9449 §5: a bound refresh token (a public client's) is used only with a proof
    // of its key.
    if let Some(jkt) = crate::dpop::bound_to(&old.data) {
        if dpop.map(|p| p.jkt.as_str()) != Some(jkt) {
            return Err(Error::new(ErrorCode::InvalidDpopProof)
                .with_hint("The refresh token is bound to a DPoP key; send a proof of that key."));
        }
    }
    // §6: the new scope may only narrow the original grant.
    let requested = params.list("scope");
    for s in &requested {
        if !old.scope.contains(s) {
            return Err(Error::new(ErrorCode::InvalidScope)
                .with_hint(format!("The requested scope '{s}' was not granted by the resource owner.")));
        }
    }
    let scope = if requested.is_empty() { old.scope.clone() } else { requested };
    // fosite: what the client may no longer request, a refresh does not issue.
    for s in &scope {
        if !scope_allowed(client.scopes(), s) {
            return Err(Error::new(ErrorCode::InvalidScope)
                .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'.")));
        }
    }
    for a in &old.audience {
        if !audience_allowed(&client.audience, a) {
            return Err(Error::invalid_request(format!(
                "Requested audience '{a}' has not been whitelisted by the OAuth 2.0 Client."
            )));
        }
    }
    // The successors keep the original grant's scope (the refresh token) and carry the
    // narrowed scope in the access token only; a scope the client lost since is dropped
    // from the refresh token too, so no new token carries it.
    let grant = Grant {
        request_id: old.request_id.clone(),
        subject: old.subject.clone(),
        scope: old.scope.iter().filter(|s| scope_allowed(client.scopes(), s)).cloned().collect(),
        audience: old.audience.clone(),
        ext: ext_of(&old),
        jkt: dpop.map(|p| p.jkt.clone()),
        act: None,
    };
    let Minted { mut body, mut records, id_token } =
        mint_tokens(latch, client, params, grant, session_of(&old), None, GrantType::RefreshToken).await?;
    if let Some(at) = records.first_mut() {
        at.scope = scope.clone();
    }
    body["scope"] = scope.join(" ").into();
    let rotate = latch.store.rotate_refresh_token(&sig, now, &records);
    match store_while_signing(latch, &mut body, id_token.as_ref(), rotate).await? {
        Rotated::Rotated(_) => {}
        Rotated::AlreadyUsed(prev) => {
            // Only a rotation sets `used_at`; a token revoked without one never qualifies.
            let within_grace = prev.used_at.is_some_and(|u| now - u <= latch.config.refresh_grace_period)
                && latch.config.refresh_grace_period > 0;
            if !within_grace {
                latch.store.revoke_grant(&prev.request_id).await?;
                return Err(invalid_grant(
                    "The refresh token was already used or revoked: all tokens of this grant were revoked.",
                ));
            }
            // The grace period covers a rotation whose grant is still live, never a
            // revoked one (RFC 7009 §2.1, RFC 9700 §4.14.2).
            if !latch.store.reissue_within_grace(&prev.request_id, now, &records).await? {
                return Err(invalid_grant("The refresh token was revoked."));
            }
        }
        Rotated::Missing => return Err(invalid_grant("The refresh token is unknown.")),
    }
    Ok(Response::json(200, &body))
}
