//! OpenID Connect: ID tokens (OIDC Core §2, §3.1.3.6, §3.3.2.11) and the UserInfo
//! endpoint (§5.3).

use crate::access_token;
use crate::client::Client;
use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::http::{Method, Request, Response};
use crate::keys::{self, Alg};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Store, TokenKind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};

/// Claims an administrator may not set through `session.id_token` (OIDC Core §2 and
/// those Latch computes).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sid",
    "jti",
    "azp",
    "rat",
];

/// What an authorization established about the end-user session; stored with the
/// code and with every token of the grant so refreshes and userinfo can use it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GrantSession {
    /// `auth_time`.
    pub auth_time: i64,
    /// `acr`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub acr: String,
    /// `amr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The login session id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sid: String,
    /// When the authorization was requested.
    pub rat: i64,
    /// Extra ID-token / userinfo claims from consent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub id_token: Map<String, Value>,
    /// The subject as this client knows it, in its ID tokens and at userinfo, when it
    /// differs from the subject (OIDC Core §8.1 pairwise identifiers, or the login
    /// UI's `force_subject_identifier`); empty: the subject itself. Access tokens and
    /// introspection keep the real subject (introspection shows this one as
    /// `obfuscated_subject`), as Hydra.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_subject: String,
}

impl GrantSession {
    /// The `sub` of ID tokens and userinfo for a grant to `subject`.
    pub fn id_sub<'a>(&'a self, subject: &'a str) -> &'a str {
        if self.id_subject.is_empty() {
            subject
        } else {
            &self.id_subject
        }
    }
}

/// OIDC Core §8.1: the sector identifier of a pairwise client: its
/// `sector_identifier_uri` when set, else the host of its one redirect URI (with several
/// and no sector identifier, which sector they belong to is unknown). As Hydra, the
/// whole `sector_identifier_uri` is the identifier.
pub fn sector_of(client: &Client) -> Result<String, String> {
    if !client.sector_identifier_uri.is_empty() {
        return Ok(client.sector_identifier_uri.clone());
    }
    match client.redirect_uris.as_slice() {
        [one] => url::Url::parse(one).ok().and_then(|u| u.host_str().map(str::to_string)).ok_or_else(|| {
            format!(
                "The redirect URI '{one}' of pairwise client '{}' has no host; set a sector_identifier_uri.",
                client.client_id
            )
        }),
        [] => Err(format!(
            "The pairwise client '{}' has neither a sector_identifier_uri nor a redirect URI.",
            client.client_id
        )),
        _ => Err(format!(
            "The pairwise client '{}' has several redirect URIs but no sector_identifier_uri (OIDC Core §8.1).",
            client.client_id
        )),
    }
}

/// Whether `sub`, from an ID token `client` holds, names `subject`: the subject itself
/// or its computed pairwise identifier (OIDC Core §8.1). An identifier the login UI
/// forced is not recognised: the user logs in again, as in Hydra.
pub fn knows_as(config: &Config, client: &Client, subject: &str, sub: &str) -> bool {
    sub == subject || subject_for(config, client, subject, "").is_ok_and(|s| s == sub)
}

/// The subject `client` knows `subject` by (OIDC Core §8): the login UI's forced
/// identifier, or `hex(SHA-256(sector || subject || salt))` (§8.1, Hydra's algorithm,
/// so subjects carried over from Hydra stay the same) for a pairwise client; the
/// subject itself for a public one. The salt is a server secret: nothing a client sees
/// derives the identifier for another sector.
pub fn subject_for(config: &Config, client: &Client, subject: &str, forced: &str) -> Result<String, Error> {
    if client.subject_type != "pairwise" {
        return Ok(subject.to_string());
    }
    if !config.pairwise_supported() {
        return Err(Error::invalid_request(format!(
            "The OAuth 2.0 Client '{}' asks for pairwise subjects, which this server is not configured for.",
            client.client_id
        )));
    }
    if !forced.is_empty() {
        return Ok(forced.to_string());
    }
    let sector = sector_of(client).map_err(Error::invalid_request)?;
    let mut h = Sha256::new();
    h.update(sector.as_bytes());
    h.update(subject.as_bytes());
    h.update(config.pairwise_salt.as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// RFC 7515-based `at_hash`/`c_hash` (OIDC Core §3.3.2.11): the left half of the hash
/// of the value, with the hash of the signing algorithm (SHA-512 for Ed25519).
pub fn half_hash(alg: Alg, value: &str) -> String {
    let digest: Vec<u8> = match alg {
        Alg::EdDsa | Alg::Rs512 | Alg::Ps512 | Alg::Es512 => Sha512::digest(value.as_bytes()).to_vec(),
        Alg::Rs384 | Alg::Ps384 | Alg::Es384 => sha2::Sha384::digest(value.as_bytes()).to_vec(),
        Alg::Rs256 | Alg::Ps256 | Alg::Es256 => Sha256::digest(value.as_bytes()).to_vec(),
    };
    B64.encode(&digest[..digest.len() / 2])
}

/// Mints an ID token for `client_id` about `subject`.
#[allow(clippy::too_many_arguments)] // each argument is one claim source; a struct would only rename them
pub async fn mint_id_token<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    subject: &str,
    client_id: &str,
    session: &GrantSession,
    nonce: Option<&str>,
    access_token: Option<&str>,
    code: Option<&str>,
    ttl: i64,
) -> Result<String, Error> {
    let (keys, newest) = latch.signing_key(keys::ID_TOKEN_SET).await?;
    let key = &keys[newest];
    let now = latch.platform.now();
    let mut c = Map::new();
    for (k, v) in &session.id_token {
        if !RESERVED_CLAIMS.contains(&k.as_str()) {
            c.insert(k.clone(), v.clone());
        }
    }
    c.insert("iss".into(), latch.config.issuer.clone().into());
    c.insert("sub".into(), session.id_sub(subject).into());
    c.insert("aud".into(), json!([client_id]));
    c.insert("exp".into(), (now + ttl).into());
    c.insert("iat".into(), now.into());
    c.insert("auth_time".into(), session.auth_time.into());
    c.insert("rat".into(), session.rat.into());
    c.insert("jti".into(), latch.new_uuid().into());
    if let Some(n) = nonce {
        c.insert("nonce".into(), n.into());
    }
    if !session.acr.is_empty() {
        c.insert("acr".into(), session.acr.clone().into());
    }
    if !session.amr.is_empty() {
        c.insert("amr".into(), json!(session.amr));
    }
    if !session.sid.is_empty() {
        c.insert("sid".into(), session.sid.clone().into());
    }
    if let Some(at) = access_token {
        c.insert("at_hash".into(), half_hash(key.alg, at).into());
    }
    if let Some(code) = code {
        c.insert("c_hash".into(), half_hash(key.alg, code).into());
    }
    key.sign(&latch.platform, "JWT", &c).await
}

/// `GET|POST /userinfo` (OIDC Core §5.3): the subject and the consent's ID-token
/// claims for a valid access token that was granted `openid`.
pub async fn userinfo<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    // RFC 9449 §7.1: a DPoP-bound token comes with the `DPoP` scheme and a proof.
    let dpop_token = req.authorization("dpop");
    let mut bound = false;
    match userinfo_of(latch, req, dpop_token, &mut bound).await {
        // §7.1: a resource's DPoP errors are 401s with a DPoP challenge.
        Err(e) if dpop_token.is_some() || bound => Ok(crate::dpop::challenge(latch, &e)),
        answer => answer,
    }
}

async fn userinfo_of<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    dpop_token: Option<&str>,
    bound: &mut bool,
) -> Result<Response, Error> {
    // RFC 6750 §2.1 (header) and §2.2 (form body on POST).
    let from_body;
    let token = match dpop_token.or(req.bearer_token()) {
        Some(t) => t,
        None if req.method == Method::Post => {
            from_body = req.form_params()?.get("access_token").map(str::to_string);
            from_body.as_deref().ok_or_else(invalid_token)?
        }
        None => return Err(invalid_token().with_hint("No bearer token was presented.")),
    };
    let sig = access_token::signature_of(latch, token).await?.ok_or_else(invalid_token)?;
    let record = latch.store.get_token(TokenKind::AccessToken, &sig).await?.ok_or_else(invalid_token)?;
    if !record.active || record.expires_at <= latch.platform.now() {
        return Err(invalid_token().with_hint("The token is expired or revoked."));
    }
    // RFC 9449 §7.1: a bound token only with a proof of its key, never as a bearer
    // token; an unbound one never with the DPoP scheme.
    let jkt = crate::dpop::bound_to(&record.data);
    *bound = jkt.is_some();
    match (jkt, dpop_token) {
        (Some(jkt), Some(_)) => {
            let expected =
                crate::dpop::Expected { method: req.method.as_str(), path: "/userinfo", access_token: Some(token) };
            let proof = crate::dpop::check(latch, req, &expected)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::InvalidDpopProof).with_hint("No DPoP proof was sent."))?;
            if proof.jkt != jkt {
                return Err(Error::new(ErrorCode::InvalidDpopProof)
                    .with_hint("The DPoP proof is not made with the key the token is bound to."));
            }
        }
        (Some(_), None) => {
            return Err(invalid_token().with_hint("The access token is DPoP-bound: use the DPoP scheme and a proof."))
        }
        (None, Some(_)) => return Err(invalid_token().with_hint("The access token is not DPoP-bound.")),
        (None, None) => {}
    }
    if !record.scope.iter().any(|s| s == "openid") {
        return Err(Error::new(ErrorCode::InvalidToken)
            .with_description("The request requires higher privileges than provided by the access token.")
            .with_hint("The access token was not granted the 'openid' scope."));
    }
    let session: GrantSession =
        record.data.get("session").cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    let mut claims = Map::new();
    for (k, v) in &session.id_token {
        if !RESERVED_CLAIMS.contains(&k.as_str()) {
            claims.insert(k.clone(), v.clone());
        }
    }
    claims.insert("sub".into(), session.id_sub(&record.subject).into());
    if !session.acr.is_empty() {
        claims.insert("acr".into(), session.acr.clone().into());
    }
    if !session.amr.is_empty() {
        claims.insert("amr".into(), json!(session.amr));
    }
    claims.insert("auth_time".into(), session.auth_time.into());
    // As Hydra's userinfo, which answers the ID token's claims without the per-token
    // ones (nonce, hashes, exp, jti, sid): `iat` is when the grant's tokens were issued,
    // `rat` when the authorization was requested.
    claims.insert("iat".into(), record.issued_at.into());
    if session.rat > 0 {
        claims.insert("rat".into(), session.rat.into());
    }
    claims.insert("aud".into(), json!([record.client_id]));
    claims.insert("iss".into(), latch.config.issuer.clone().into());
    // The client's settings through the hot-path cache, as at the token endpoint.
    let client = latch.client(&record.client_id).await?;
    if client.is_some_and(|c| c.userinfo_signed_response_alg == "RS256") {
        let (keys, newest) = latch.signing_key(keys::ID_TOKEN_SET).await?;
        let jwt = keys[newest].sign(&latch.platform, "JWT", &claims).await?;
        return Ok(Response {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/jwt".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: jwt.into_bytes(),
            effects: Vec::new(),
        });
    }
    Ok(Response::json(200, &Value::Object(claims)))
}

fn invalid_token() -> Error {
    Error::new(ErrorCode::InvalidToken)
}
