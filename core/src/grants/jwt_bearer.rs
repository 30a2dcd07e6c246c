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
    let trusted = verify_trusted(latch, assertion).await?.map_err(invalid_grant)?;
    let (issuer, subject) = (&trusted.issuer, &trusted.subject);
    // RFC 6749 §3.3: every requested scope must be within the client's and within the
    // relationship's.
    let scope = params.list("scope");
    for s in &scope {
        if !scope_allowed(client.scopes(), s) {
            return Err(Error::new(ErrorCode::InvalidScope)
                .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'.")));
        }
        if !scope_allowed(trusted.scope.iter().map(String::as_str), s) {
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
    if !latch.config.jwt_grant.omit_assertion_audience {
        for a in &trusted.audience {
            if !audience.contains(a) {
                audience.push(a.clone());
            }
        }
    }
    trusted.use_once(latch).await?.map_err(invalid_grant)?;
    let of = super::TokenOf { subject: subject.to_string(), scope, audience, ..Default::default() };
    let body = super::access_token_only(latch, client, params, GrantType::JwtBearer, of, dpop).await?;
    Ok(Response::json(200, &body))
}

/// What a JWT signed by a trusted issuer (a trust relationship) says.
pub(crate) struct Trusted {
    /// Its `iss`.
    pub issuer: String,
    /// Its `sub`.
    pub subject: String,
    /// The scope the relationship allows.
    pub scope: Vec<String>,
    /// Its `aud` values.
    pub audience: Vec<String>,
    /// Its `jti` (see [`Trusted::use_once`]).
    jti: Option<String>,
    /// Its `exp`.
    expires_at: i64,
}

impl Trusted {
    /// §3 item 7: its `jti` is used once, remembered until it expires. Called once every
    /// other check passed, so that a refused request does not use it up. `Err` is the
    /// hint of the refusal.
    pub(crate) async fn use_once<S: Store, P: Platform>(
        &self,
        latch: &Latch<S, P>,
    ) -> Result<Result<(), String>, Error> {
        let Some(jti) = &self.jti else { return Ok(Ok(())) };
        let key = jwt_assertion::jti_key(&self.issuer, jti);
        Ok(match latch.store.use_jti(&key, self.expires_at, latch.platform.now()).await? {
            true => Ok(()),
            false => Err("The JWT's 'jti' was used before: a JWT is accepted once.".into()),
        })
    }
}

/// RFC 7523 §3: a JWT of a trusted issuer about a subject, signed with the
/// relationship's key, addressed to this server, unexpired (the JWT
/// of the JWT-bearer grant, and of a token exchange, RFC 8693); its `jti` is not used
/// yet ([`Trusted::use_once`]). `Err` is the hint of the refusal; the outer `Err`, a
/// failing store.
pub(crate) async fn verify_trusted<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    jwt_text: &str,
) -> Result<Result<Trusted, String>, Error> {
    macro_rules! refuse {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(hint) => return Ok(Err(hint)),
            }
        };
    }
    let jwt = refuse!(Unverified::read(jwt_text)
        .ok_or_else(|| "The JWT is not a compact JWS with a JSON header and claims.".to_string()));
    // §3 items 1 and 2: the issuer and the subject name the trust relationship.
    let (Some(issuer), Some(subject)) = (jwt.claim("iss"), jwt.claim("sub")) else {
        return Ok(Err("The JWT must carry the 'iss' and 'sub' claims.".into()));
    };
    let now = latch.platform.now();
    let trusts = latch.store.trusts_for(issuer, subject, jwt.kid(), now).await?;
    // §3 item 9: "The JWT MUST be digitally signed".
    let (trust, claims) = refuse!(trusts
        .iter()
        .find_map(
            |t| jwt_assertion::verify(jwt_text, jwt.alg(), jwt.kid(), std::slice::from_ref(&t.jwk)).map(|c| (t, c))
        )
        .ok_or_else(|| {
            format!("No public JWK was registered for issuer '{issuer}' and subject '{subject}' that verifies the JWT.")
        }));
    let settings = &latch.config.jwt_grant;
    let audiences = latch.config.token_audiences();
    let rules = Rules {
        audiences: &audiences,
        now,
        iat_required: !settings.iat_optional,
        jti_required: !settings.jti_optional,
        max_ttl: Some(settings.max_ttl),
    };
    let checked = refuse!(jwt_assertion::check(&claims, &rules));
    Ok(Ok(Trusted {
        issuer: issuer.to_string(),
        subject: subject.to_string(),
        scope: trust.scope.clone(),
        audience: checked.audience,
        jti: checked.jti,
        expires_at: checked.expires_at,
    }))
}
