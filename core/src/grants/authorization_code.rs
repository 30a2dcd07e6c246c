//! The authorization code grant's token request (RFC 6749 §4.1.3) with PKCE (RFC 7636
//! §4.5–4.6) and OpenID Connect's ID token (OIDC Core §3.1.3).

use super::{ext_of, invalid_grant, mint_tokens, session_of, store_while_signing, GrantType, Minted};
use crate::access_token::Grant;
use crate::client::Client;
use crate::dpop::Proof;
use crate::error::{Error, ErrorCode};
use crate::flow::CodeBinding;
use crate::http::{Params, Response};
use crate::pkce;
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Consumed, Store, TokenKind};
use crate::token;

/// Redeems a code. §4.1.2: "If an authorization code is used more than once, the
/// authorization server MUST deny the request and SHOULD revoke (when possible) all
/// tokens previously issued based on that authorization code." The request is checked
/// against the stored code, the tokens are minted, and then the code is consumed and
/// the tokens stored in one compare-and-set: of concurrent redemptions exactly one
/// gets tokens, and a losing replay's revocation finds them already stored.
pub async fn handle<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    dpop: Option<&Proof>,
) -> Result<Response, Error> {
    let code = params.require("code")?;
    let sig = token::verify(&latch.config.system_secrets, token::AUTH_CODE_PREFIX, code)
        .ok_or_else(|| invalid_grant("The authorization code is malformed or was not issued by this server."))?;
    let now = latch.platform.now();
    let record = latch
        .store
        .get_token(TokenKind::AuthorizationCode, &sig)
        .await?
        .ok_or_else(|| invalid_grant("The authorization code is unknown."))?;
    if !record.active {
        return Err(replayed(latch, &record.request_id).await);
    }
    if record.client_id != client.client_id {
        return Err(invalid_grant("The authorization code was issued to another client."));
    }
    // Bound to the client instance (see the refresh grant).
    if record.issued_at < client.created_at {
        return Err(invalid_grant("The authorization code was issued to an earlier client with this id."));
    }
    if record.expires_at <= now {
        return Err(invalid_grant("The authorization code has expired."));
    }
    let binding = CodeBinding::from_record_data(&record.data)
        .ok_or_else(|| invalid_grant("The authorization code's stored request is unreadable."))?;
    // §4.1.3: redirect_uri is required, and must match, if the authorization request had it.
    match params.get("redirect_uri") {
        Some(u) if u != binding.redirect_uri => {
            return Err(invalid_grant("The 'redirect_uri' does not match the one used in the authorization request."))
        }
        None if binding.redirect_uri_given => {
            return Err(invalid_grant("The 'redirect_uri' from the authorization request is missing."))
        }
        _ => {}
    }
    // RFC 7636 §4.6.
    match (binding.code_challenge.as_deref(), params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !pkce::verify_s256(challenge, verifier) {
                return Err(invalid_grant("The PKCE code challenge did not match the code verifier."));
            }
        }
        (Some(_), None) => return Err(invalid_grant("The PKCE code verifier must be included in the token request.")),
        (None, Some(_)) => {
            return Err(invalid_grant(
                "A code verifier was sent, but the authorization request carried no code challenge.",
            ))
        }
        (None, None) => {}
    }
    // RFC 9449 §10: a code bound to a DPoP key is redeemed only with a proof of it.
    if let Some(jkt) = &binding.dpop_jkt {
        if dpop.map(|p| &p.jkt) != Some(jkt) {
            return Err(Error::new(ErrorCode::InvalidDpopProof)
                .with_hint("The authorization code is bound to another DPoP key ('dpop_jkt')."));
        }
    }
    let grant = Grant {
        request_id: record.request_id.clone(),
        subject: record.subject.clone(),
        scope: record.scope.clone(),
        audience: record.audience.clone(),
        ext: ext_of(&record),
        jkt: dpop.map(|p| p.jkt.clone()),
        act: None,
    };
    let Minted { mut body, records, id_token } = mint_tokens(
        latch,
        client,
        params,
        grant,
        session_of(&record),
        binding.nonce.as_deref(),
        GrantType::AuthorizationCode,
    )
    .await?;
    // The compare-and-set: consume the code and store its tokens in one atomic step
    // (while the ID token is signed).
    let consume = latch.store.consume_code(&sig, now, &records);
    match store_while_signing(latch, &mut body, id_token.as_ref(), consume).await? {
        Consumed::Consumed(_) => Ok(Response::json(200, &body)),
        Consumed::AlreadyUsed(r) => Err(replayed(latch, &r.request_id).await),
        Consumed::Missing => Err(invalid_grant("The authorization code is unknown.")),
    }
}

/// §4.1.2: a replayed code revokes every token issued with it.
async fn replayed<S: Store, P: Platform>(latch: &Latch<S, P>, request_id: &str) -> Error {
    if let Err(e) = latch.store.revoke_grant(request_id).await {
        return e.into();
    }
    invalid_grant("The authorization code has already been used; the tokens issued with it were revoked.")
}
