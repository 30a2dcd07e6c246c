//! The device authorization grant's token request (RFC 8628 §3.4–3.5): the device
//! polls with its device code until the user has decided.
//!
//! A poll costs one read (the pending request and its approval, one statement) and at
//! most one conditional write: while pending, the poll's own record (the interval's
//! compare-and-set, answering `slow_down` to a device that polls too fast); once
//! approved, the exchange (the approval consumed and the tokens stored in one atomic
//! step, as a code's).

use super::{ext_of, invalid_grant, mint_tokens, session_of, store_while_signing, GrantType, Minted};
use crate::access_token::Grant;
use crate::client::Client;
use crate::device::approval_signature;
use crate::error::{Error, ErrorCode};
use crate::http::{Params, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Consumed, Store, TokenKind};
use crate::token;

/// A poll may come this much sooner than the interval without `slow_down`: times are
/// whole seconds, and a device that waits exactly the interval can be a second early
/// by the clock.
const POLL_SLACK: i64 = 1;

/// Answers a device's poll.
pub async fn handle<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    dpop: Option<&crate::dpop::Proof>,
) -> Result<Response, Error> {
    let code = params.require("device_code")?;
    let sig = token::verify(&latch.config.system_secrets, token::DEVICE_CODE_PREFIX, code)
        .ok_or_else(|| invalid_grant("The device code is malformed or was not issued by this server."))?;
    let approval_sig = approval_signature(&sig);
    let now = latch.platform.now();
    let records = latch.store.get_device_records(&sig, &approval_sig).await?;
    let request = records
        .iter()
        .find(|r| r.kind == TokenKind::DeviceRequest && r.signature == sig)
        .ok_or_else(|| invalid_grant("The device code is unknown."))?;
    if request.client_id != client.client_id {
        return Err(invalid_grant("The device code was issued to another client."));
    }
    // Bound to the client instance (see the refresh grant).
    if request.issued_at < client.created_at {
        return Err(invalid_grant("The device code was issued to an earlier client with this id."));
    }
    let decided = records.iter().find(|r| r.kind == TokenKind::DeviceCode && r.signature == approval_sig);
    let Some(approval) = decided else {
        // §3.5: pending until the user decides; expired after `expires_in`.
        if !request.active {
            return Err(invalid_grant("The device authorization was revoked."));
        }
        if request.expires_at <= now {
            return Err(Error::new(ErrorCode::ExpiredToken).with_hint("The device code has expired."));
        }
        let interval = latch.config.device.polling_interval;
        let polled_by = now - (interval - POLL_SLACK).max(0);
        if !latch.store.record_device_poll(&sig, now, polled_by).await? {
            return Err(Error::new(ErrorCode::SlowDown)
                .with_hint(format!("Poll at most every {interval} seconds, plus 5 for every slow_down.")));
        }
        return Err(Error::new(ErrorCode::AuthorizationPending)
            .with_hint("The user has not yet completed the device authorization."));
    };
    if let Some(denied) = approval.data.get("denied") {
        let mut e = Error::new(ErrorCode::AccessDenied).with_hint("The user denied the device authorization.");
        if let Some(d) = denied.get("error_description").and_then(|d| d.as_str()).filter(|d| !d.is_empty()) {
            e = e.with_description(d.to_string());
        }
        return Err(e);
    }
    if !approval.active {
        // Exchanged before (a replay: revoke what it yielded, as for a code, RFC 6749
        // §4.1.2), or revoked with its consent.
        if approval.used_at.is_some() {
            return Err(replayed(latch, &approval.request_id).await);
        }
        return Err(invalid_grant("The device authorization was revoked."));
    }
    if approval.expires_at <= now {
        return Err(Error::new(ErrorCode::ExpiredToken).with_hint("The device code has expired."));
    }
    let grant = Grant {
        request_id: approval.request_id.clone(),
        subject: approval.subject.clone(),
        scope: approval.scope.clone(),
        audience: approval.audience.clone(),
        ext: ext_of(approval),
        jkt: dpop.map(|p| p.jkt.clone()),
        act: None,
    };
    let Minted { mut body, records, id_token } =
        mint_tokens(latch, client, params, grant, session_of(approval), None, GrantType::DeviceCode).await?;
    let consume = latch.store.consume_device_code(&approval_sig, now, &records);
    match store_while_signing(latch, &mut body, id_token.as_ref(), consume).await? {
        Consumed::Consumed(_) => Ok(Response::json(200, &body)),
        Consumed::AlreadyUsed(r) if r.used_at.is_some() => Err(replayed(latch, &r.request_id).await),
        Consumed::AlreadyUsed(_) => Err(invalid_grant("The device authorization was revoked.")),
        Consumed::Missing => Err(invalid_grant("The device code is unknown.")),
    }
}

/// A device code exchanged twice revokes every token issued with it.
async fn replayed<S: Store, P: Platform>(latch: &Latch<S, P>, request_id: &str) -> Error {
    if let Err(e) = latch.store.revoke_grant(request_id).await {
        return e.into();
    }
    invalid_grant("The device code has already been used; the tokens issued with it were revoked.")
}
