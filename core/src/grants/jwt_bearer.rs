//! The JWT-bearer authorization grant (RFC 7523 §2.1) with Hydra's trust relationships
//! ([`crate::admin::trust`]): a JWT signed by a trusted issuer about a subject is
//! exchanged for an access token of that subject, within the scope the relationship
//! allows. No refresh token and no ID token (as Hydra).

use super::{invalid_grant, GrantType};
use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::http::{Params, Response};
use crate::jwt_assertion::{self, Rules, Unverified};
use crate::platform::Platform;
use crate::scope::{audience_allowed, scope_allowed};
use crate::service::Latch;
use crate::store::Store;

/// Exchanges the `assertion` for an access token.
pub async fn handle<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    dpop: Option<&crate::dpop::Proof>,
) -> Result<Response, Error> {
    // §2.1: "The value of the "assertion" parameter MUST contain a single JWT."
    let assertion = params.require("assertion")?;
    let jwt = Unverified::read(assertion)
        .ok_or_else(|| invalid_grant("The assertion is not a JWT (a compact JWS with a JSON header and claims)."))?;
    // §3 items 1 and 2: the issuer and the subject name the trust relationship.
    let (Some(issuer), Some(subject)) = (jwt.claim("iss"), jwt.claim("sub")) else {
        return Err(invalid_grant("The assertion must carry the 'iss' and 'sub' claims."));
    };
    let now = latch.platform.now();
    let trusts = latch.store.trusts_for(issuer, subject, jwt.kid(), now).await?;
    let no_key = || {
        invalid_grant(format!(
            "No public JWK was registered for issuer '{issuer}' and subject '{subject}' that verifies the assertion."
        ))
    };
    // §3 item 9: "The JWT MUST be digitally signed".
    let (trust, claims) = trusts
        .iter()
        .find_map(|t| {
            jwt_assertion::verify(assertion, jwt.alg(), jwt.kid(), std::slice::from_ref(&t.jwk)).map(|c| (t, c))
        })
        .ok_or_else(no_key)?;
    let settings = &latch.config.jwt_grant;
    let audiences = latch.config.token_audiences();
    let rules = Rules {
        audiences: &audiences,
        now,
        iat_required: !settings.iat_optional,
        jti_required: !settings.jti_optional,
        max_ttl: Some(settings.max_ttl),
    };
    let checked = jwt_assertion::check(&claims, &rules).map_err(invalid_grant)?;
    // RFC 6749 §3.3: every requested scope must be within the client's and within the
    // relationship's.
    let scope = params.list("scope");
    for s in &scope {
        if !scope_allowed(client.scopes(), s) {
            return Err(Error::new(ErrorCode::InvalidScope)
                .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'.")));
        }
        if !scope_allowed(trust.scope.iter().map(String::as_str), s) {
            return Err(Error::new(ErrorCode::InvalidScope)
                .with_hint(format!("The trust relationship of issuer '{issuer}' does not allow scope '{s}'.")));
        }
    }
    // RFC 8707 §2 / Hydra: each requested audience must be allow-listed by the client.
    let mut audience = params.list("audience");
    for a in &audience {
        if !audience_allowed(&client.audience, a) {
            return Err(Error::invalid_request(format!(
                "Requested audience '{a}' has not been whitelisted by the OAuth 2.0 Client."
            )));
        }
    }
    if !settings.omit_assertion_audience {
        for a in checked.audience {
            if !audience.contains(&a) {
                audience.push(a);
            }
        }
    }
    // §3 item 7: a `jti` is used once; remembered until the assertion expires.
    if let Some(jti) = &checked.jti {
        if !latch.store.use_jti(&jwt_assertion::jti_key(issuer, jti), checked.expires_at, now).await? {
            return Err(invalid_grant("The assertion's 'jti' was used before: an assertion is accepted once."));
        }
    }
    let of = super::TokenOf { subject: subject.to_string(), scope, audience };
    super::access_token_only(latch, client, params, GrantType::JwtBearer, of, dpop).await
}
