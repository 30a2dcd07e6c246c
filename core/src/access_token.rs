//! Issuing access tokens in either strategy, and reading them back.
//!
//! * Opaque (default): `latch_at_…` HMAC tokens (see [`crate::token`]).
//! * JWT (RFC 9068 shape): signed by the newest key of [`keys::ACCESS_TOKEN_SET`].
//!
//! Both are recorded (keyed by a hash of the signature) so that introspection and
//! revocation work the same for either.

use crate::client::Client;
use crate::config::AccessTokenStrategy;
use crate::error::Error;
use crate::keys;
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Store, TokenKind, TokenRecord};
use crate::token;
use serde_json::{Map, Value};

/// What a grant decided to issue.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The grant id shared by every token of this authorization.
    pub request_id: String,
    /// The subject.
    pub subject: String,
    /// Granted scope.
    pub scope: Vec<String>,
    /// Granted audience.
    pub audience: Vec<String>,
    /// Extra claims for the access token (`ext` in introspection).
    pub ext: Map<String, Value>,
    /// The DPoP key the tokens are bound to (RFC 9449 §6: `cnf.jkt`), if a proof came.
    pub jkt: Option<String>,
    /// Who acts for the subject (RFC 8693 §4.1 `act`), in an exchanged token.
    pub act: Option<Value>,
}

/// A token ready to hand out, and the record to store for it.
pub struct Issued {
    /// The token string.
    pub token: String,
    /// Its record.
    pub record: TokenRecord,
}

/// The `token_type` of a grant's access token (RFC 6749 §7.1; RFC 9449 §5.1).
pub fn token_type(grant: &Grant) -> &'static str {
    if grant.jkt.is_some() {
        crate::dpop::TOKEN_TYPE
    } else {
        "bearer"
    }
}

/// The strategy a client's tokens use.
pub fn strategy_for(config_strategy: AccessTokenStrategy, client: &Client) -> AccessTokenStrategy {
    match client.access_token_strategy.as_str() {
        "jwt" => AccessTokenStrategy::Jwt,
        "opaque" => AccessTokenStrategy::Opaque,
        _ => config_strategy,
    }
}

/// Mints an access token for `grant` (not yet stored: the caller stores all of a
/// grant's records in one write).
pub async fn mint<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    grant: &Grant,
    ttl: i64,
) -> Result<Issued, Error> {
    let now = latch.platform.now();
    let expires_at = now + ttl;
    let (tok, signature) = match strategy_for(latch.config.access_token_strategy, client) {
        AccessTokenStrategy::Opaque => {
            let m = token::mint(&latch.platform, &latch.config.system_secrets, token::ACCESS_TOKEN_PREFIX);
            (m.token, m.signature)
        }
        AccessTokenStrategy::Jwt => {
            let (keys, newest) = latch.signing_key(keys::ACCESS_TOKEN_SET).await?;
            let mut claims = Map::new();
            claims.insert("iss".into(), latch.config.issuer.clone().into());
            claims.insert("sub".into(), grant.subject.clone().into());
            claims.insert("aud".into(), grant.audience.clone().into());
            claims.insert("exp".into(), expires_at.into());
            claims.insert("iat".into(), now.into());
            claims.insert("nbf".into(), now.into());
            claims.insert("jti".into(), latch.new_uuid().into());
            claims.insert("client_id".into(), client.client_id.clone().into());
            // RFC 9068 §2.2.3 `scope`; Hydra's `scp` list (`strategies.jwt.scope_claim`).
            if latch.config.jwt_scope_claim.list() {
                claims.insert("scp".into(), grant.scope.clone().into());
            }
            if latch.config.jwt_scope_claim.string() {
                claims.insert("scope".into(), grant.scope.join(" ").into());
            }
            if !grant.ext.is_empty() {
                claims.insert("ext".into(), Value::Object(grant.ext.clone()));
            }
            if let Some(jkt) = &grant.jkt {
                claims.insert("cnf".into(), crate::dpop::cnf(jkt));
            }
            if let Some(act) = &grant.act {
                claims.insert("act".into(), act.clone());
            }
            let jws = keys[newest].sign(&latch.platform, "at+jwt", &claims).await?;
            let sig = jws.rsplit('.').next().unwrap_or_default();
            let signature = token::signature_hash(sig);
            (jws, signature)
        }
    };
    let mut data = Map::new();
    if !grant.ext.is_empty() {
        data.insert("ext".into(), Value::Object(grant.ext.clone()));
    }
    if let Some(jkt) = &grant.jkt {
        data.insert("cnf".into(), crate::dpop::cnf(jkt));
    }
    if let Some(act) = &grant.act {
        data.insert("act".into(), act.clone());
    }
    Ok(Issued {
        token: tok,
        record: TokenRecord {
            signature,
            kind: TokenKind::AccessToken,
            request_id: grant.request_id.clone(),
            client_id: client.client_id.clone(),
            subject: grant.subject.clone(),
            scope: grant.scope.clone(),
            audience: grant.audience.clone(),
            issued_at: now,
            expires_at,
            active: true,
            used_at: None,
            data: Value::Object(data),
        },
    })
}

/// The storage key of a presented access token, if it is one of ours: an opaque token
/// with a valid MAC (Latch's, or one Hydra issued: see [`token::TokenFormat`]), or a JWT whose signature verifies against the access-token keys.
/// Forgeries are rejected here, before any token lookup.
pub async fn signature_of<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    presented: &str,
) -> Result<Option<String>, Error> {
    if presented.starts_with(token::ACCESS_TOKEN_PREFIX) || presented.starts_with(token::HYDRA_ACCESS_TOKEN_PREFIX) {
        return Ok(token::verify(&latch.config.system_secrets, token::ACCESS_TOKEN_PREFIX, presented));
    }
    if presented.split('.').count() != 3 {
        return Ok(None);
    }
    let keys = latch.key_set(keys::ACCESS_TOKEN_SET).await?;
    let verified = keys.iter().any(|k| keys::verify_jws(&k.public_jwk(), presented).is_some());
    Ok(verified.then(|| token::signature_hash(presented.rsplit('.').next().unwrap_or_default())))
}
