//! Storage traits: small, named by intent, with the atomic operations spelled out.
//!
//! Every backend (the in-memory [`crate::memory::MemoryStore`], SQLite, PostgreSQL,
//! MySQL in `native`, D1 in `edge`) implements these and passes the one conformance
//! suite in `tests/`. Single-use and rotation are **compare-and-set** operations of the
//! store ([`TokenStore::consume_code`], [`TokenStore::rotate_refresh_token`],
//! [`TokenStore::reissue_within_grace`], [`TokenStore::revoke_token`]): a backend
//! implements each as one conditional statement or one transaction, never as a read
//! followed by a write.
//!
//! **Revocation is final.** Once [`TokenStore::revoke_grant`],
//! [`ConsentStore::revoke_consent`], [`ConsentStore::revoke_consents`] or
//! [`ClientStore::delete_client`] has returned, no token of the grants it reached is
//! active, and no later or concurrent rotation or grace re-issue makes one active again
//! (RFC 7009 §2.1, RFC 9700 §4.14.2). A backend whose isolation lets a statement miss
//! rows committed while it ran (PostgreSQL's READ COMMITTED) must close that gap, e.g. by
//! revoking under REPEATABLE READ and retrying on a serialization failure.
//!
//! No trait has a `Send` bound (Worker futures are `!Send`); the native server names
//! its concrete store type, so its futures are `Send` by inference.

use crate::client::Client;
use crate::error::StoreError;
use serde::{Deserialize, Serialize};

/// What a token record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// An access token (RFC 6749 §1.4).
    AccessToken,
    /// A refresh token (RFC 6749 §1.5).
    RefreshToken,
    /// An authorization code (RFC 6749 §4.1.2).
    AuthorizationCode,
    /// A pending device authorization (RFC 8628 §3.2), stored under the device code's
    /// signature: what the device asked for; `used_at` is its last poll (§3.5).
    DeviceRequest,
    /// A device authorization's user code (RFC 8628 §3.2), stored under its HMAC
    /// ([`crate::device::user_code_signature`]), naming the request it belongs to.
    UserCode,
    /// A device authorization the user approved (or denied), stored under
    /// [`crate::device::approval_signature`] of the device code's signature: what the
    /// device code is exchanged for, once ([`TokenStore::consume_device_code`]).
    DeviceCode,
}

impl TokenKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "access_token",
            TokenKind::RefreshToken => "refresh_token",
            TokenKind::AuthorizationCode => "authorization_code",
            TokenKind::DeviceRequest => "device_request",
            TokenKind::UserCode => "user_code",
            TokenKind::DeviceCode => "device_code",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<TokenKind> {
        Some(match s {
            "access_token" => TokenKind::AccessToken,
            "refresh_token" => TokenKind::RefreshToken,
            "authorization_code" => TokenKind::AuthorizationCode,
            "device_request" => TokenKind::DeviceRequest,
            "user_code" => TokenKind::UserCode,
            "device_code" => TokenKind::DeviceCode,
            _ => return None,
        })
    }
}

/// One issued token, code or refresh token. The token itself is never stored: the
/// key is derived from a hash of its signature part (see [`crate::token`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Hex SHA-256 of the token's signature; the primary key.
    pub signature: String,
    /// What the record is.
    pub kind: TokenKind,
    /// The grant this token belongs to: every token issued from one authorization
    /// (code, its access and refresh tokens, their rotations) shares it, so a grant can
    /// be revoked as a whole.
    pub request_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The subject (the client id for client credentials).
    pub subject: String,
    /// Granted scope.
    pub scope: Vec<String>,
    /// Granted audience.
    pub audience: Vec<String>,
    /// Issue time (Unix seconds).
    pub issued_at: i64,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// False once revoked, consumed or rotated.
    pub active: bool,
    /// When a code was consumed or a refresh token rotated (Unix seconds).
    pub used_at: Option<i64>,
    /// Grant-specific data: session claims (`ext`), PKCE challenge, nonce, redirect URI…
    pub data: serde_json::Value,
}

/// What [`TokenStore::consume_code`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Consumed {
    /// This call consumed the code; it is the record as it was.
    Consumed(TokenRecord),
    /// The code exists but was consumed (or revoked) before: a replay.
    AlreadyUsed(TokenRecord),
    /// No such code.
    Missing,
}

/// What [`TokenStore::rotate_refresh_token`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Rotated {
    /// This call retired the old token and stored its successors.
    Rotated(TokenRecord),
    /// The old token was already inactive: a reuse. Nothing was stored.
    AlreadyUsed(TokenRecord),
    /// No such refresh token.
    Missing,
}

/// How to page through clients (keyset pagination by id, as Hydra v2 does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientQuery {
    /// Only clients whose id sorts after this one.
    pub after_id: Option<String>,
    /// At most this many.
    pub limit: u32,
    /// Only clients with this exact `client_name`.
    pub client_name: Option<String>,
    /// Only clients with this exact `owner`.
    pub owner: Option<String>,
}

/// A stored signing key: its private JWK sealed under the system secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// The key set (`hydra.openid.id-token`, `hydra.jwt.access-token`, or any name).
    pub set: String,
    /// The key id, unique within the set.
    pub kid: String,
    /// The JWS algorithm (`RS256`, `ES256`, `EdDSA`).
    pub alg: String,
    /// `sig` or `enc`.
    pub use_: String,
    /// Creation time (Unix seconds); the newest key of a set signs.
    pub created_at: i64,
    /// The private JWK, sealed (see [`crate::seal`]).
    pub sealed: String,
}

/// OAuth 2.0 clients.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait ClientStore {
    /// Stores a new client; [`StoreError::Conflict`] when the id is taken.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    /// The client with this id.
    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// Replaces a client; false when there is none with that id.
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
    /// Replaces a client only while its stored `updated_at` is still
    /// `expected_updated_at` (a compare-and-set: of concurrent replacements made from
    /// one read, exactly one succeeds); false when it changed meanwhile or is gone.
    async fn update_client_if_unchanged(&self, client: &Client, expected_updated_at: i64) -> Result<bool, StoreError>;
    /// Deletes a client and, in the same atomic step, everything issued to it: every
    /// token, code and refresh token whose `client_id` is `id`, and every consent given
    /// to it (as Hydra's foreign keys cascade), so that nothing of it stays usable and a
    /// client created later with the same id inherits nothing. False when there was no
    /// client (its tokens and consents, if any, are deleted all the same).
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;
    /// A page of clients ordered by id.
    async fn list_clients(&self, query: &ClientQuery) -> Result<Vec<Client>, StoreError>;
}

/// Tokens, codes and refresh tokens.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait TokenStore {
    /// Stores new records (one grant's tokens) all or nothing.
    async fn insert_tokens(&self, records: &[TokenRecord]) -> Result<(), StoreError>;
    /// The record of this kind with this signature hash.
    async fn get_token(&self, kind: TokenKind, signature: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Marks one token inactive. True when this call changed it (compare-and-set).
    async fn revoke_token(&self, kind: TokenKind, signature: &str) -> Result<bool, StoreError>;
    /// Marks every token of a grant inactive; returns how many changed. Final: atomic
    /// against a concurrent [`TokenStore::rotate_refresh_token`],
    /// [`TokenStore::consume_code`] or [`TokenStore::reissue_within_grace`] of the grant,
    /// so once it has returned nothing of the grant is active or becomes active again.
    async fn revoke_grant(&self, request_id: &str) -> Result<u64, StoreError>;
    /// Deletes every access token issued to a client; returns how many.
    async fn delete_client_access_tokens(&self, client_id: &str) -> Result<u64, StoreError>;
    /// Consumes an authorization code and, when this call consumed it, stores `tokens`
    /// (what the code is exchanged for) in the same atomic step: exactly one of any
    /// number of concurrent calls gets [`Consumed::Consumed`] (RFC 6749 §4.1.2: "The
    /// client MUST NOT use the authorization code more than once"), and a replay that
    /// loses sees the winner's tokens already stored, so revoking the grant reaches them.
    async fn consume_code(&self, signature: &str, now: i64, tokens: &[TokenRecord]) -> Result<Consumed, StoreError>;
    /// [`TokenStore::consume_code`] for an approved device authorization (a record of
    /// kind [`TokenKind::DeviceCode`]; RFC 8628 §3.5): exactly one of any number of
    /// concurrent exchanges gets [`Consumed::Consumed`], and its tokens are stored in the
    /// same atomic step. An approval whose consent was revoked is inactive: it is
    /// [`Consumed::AlreadyUsed`], and nothing is stored.
    async fn consume_device_code(
        &self,
        signature: &str,
        now: i64,
        tokens: &[TokenRecord],
    ) -> Result<Consumed, StoreError>;
    /// A device's poll (RFC 8628 §3.4) in one read: the records stored under the
    /// pending request's signature and under its approval's, whichever exist (of any kind).
    async fn get_device_records(
        &self,
        request_signature: &str,
        approval_signature: &str,
    ) -> Result<Vec<TokenRecord>, StoreError>;
    /// Records a poll of the pending device request `signature` at `now`, only if it is
    /// active and was last polled at or before `polled_by` (or never): the polling
    /// interval's compare-and-set (RFC 8628 §3.5 `slow_down`). True when this call
    /// recorded it; of concurrent polls with the same `now` and `polled_by`, exactly one.
    async fn record_device_poll(&self, signature: &str, now: i64, polled_by: i64) -> Result<bool, StoreError>;
    /// Retires a refresh token and stores its successors in one atomic step: exactly
    /// one of any number of concurrent calls gets [`Rotated::Rotated`]. The winner also
    /// marks inactive every access token of the grant issued before (as fosite's refresh
    /// handler revokes the grant's access tokens by request id), in the same step and
    /// before the successors are stored: after a refresh only the new access token is
    /// active. Losers change nothing.
    async fn rotate_refresh_token(
        &self,
        signature: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<Rotated, StoreError>;
    /// The grace period's re-issue (`oauth2.grant.refresh_token.rotation_grace_period`):
    /// a refresh token already rotated is presented again, and `successors` (of grant
    /// `request_id`) are stored only if the grant is still live, that is, if some refresh
    /// token of the grant is active and unexpired at `now` (the rotation's successor, or
    /// an earlier re-issue's). In the same atomic step the grant's active access tokens
    /// are marked inactive, as in a rotation. True when the successors were stored;
    /// false, storing and changing nothing, when the grant was revoked (or its refresh
    /// tokens expired).
    ///
    /// Compare-and-set against revocation: of this call and a concurrent
    /// [`TokenStore::revoke_grant`], [`ConsentStore::revoke_consent`],
    /// [`ConsentStore::revoke_consents`] or [`ClientStore::delete_client`] reaching the
    /// grant, either this one stores nothing, or the revocation also reaches what it
    /// stored. Revoked stays revoked.
    async fn reissue_within_grace(
        &self,
        request_id: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<bool, StoreError>;
    /// Stores `records`, tokens derived from the token `kind`/`signature` (an exchanged
    /// token, RFC 8693, of that token's grant), only while that token is active and
    /// unexpired at `now`. True when they were stored; false, storing nothing, when it
    /// was not.
    ///
    /// Compare-and-set against revocation, as [`TokenStore::reissue_within_grace`]: of
    /// this call and a concurrent revocation reaching the token's grant, either this one
    /// stores nothing, or the revocation also reaches what it stored (the records carry
    /// the grant's `request_id`).
    async fn insert_tokens_while_active(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        records: &[TokenRecord],
    ) -> Result<bool, StoreError>;
    /// Deletes at most `limit` records that expired before `before`; returns how many.
    async fn delete_expired_tokens(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
}

/// Signing keys.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait KeyStore {
    /// Adds a key; [`StoreError::Conflict`] when the set has that kid.
    async fn add_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    /// The keys of a set, oldest first.
    async fn get_key_set(&self, set: &str) -> Result<Vec<StoredKey>, StoreError>;
    /// Deletes a set; returns how many keys went.
    async fn delete_key_set(&self, set: &str) -> Result<u64, StoreError>;
    /// Deletes one key; false when there was none.
    async fn delete_key(&self, set: &str, kid: &str) -> Result<bool, StoreError>;
    /// Every key of every set, ordered by set, then oldest first (start-up re-sealing
    /// after a system-secret rotation, see [`crate::Latch::reseal_keys`]).
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Replaces the sealed private key of `set`/`kid` with `new_sealed`, only if it is
    /// still `old_sealed` (compare-and-set: one conditional statement). True when this
    /// call changed it; false when the key is gone or was changed meanwhile (another
    /// instance re-sealed or replaced it).
    async fn reseal_key(&self, set: &str, kid: &str, old_sealed: &str, new_sealed: &str) -> Result<bool, StoreError>;
}

/// A trust relationship of the JWT-bearer grant (RFC 7523 §3, Hydra's trusted JWT
/// issuers): assertions that `issuer` signs with `jwk`, about `subject` (or any subject),
/// may be exchanged for tokens with at most `scope`, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustGrant {
    /// The grant's id (a UUID).
    pub id: String,
    /// The assertion's `iss`.
    pub issuer: String,
    /// The assertion's `sub`; empty when `allow_any_subject`.
    pub subject: String,
    /// Whether the issuer may assert any subject.
    pub allow_any_subject: bool,
    /// The scope the assertions may be granted.
    pub scope: Vec<String>,
    /// The `kid` of `jwk`.
    pub key_id: String,
    /// The issuer's public key (a JWK).
    pub jwk: serde_json::Value,
    /// When the grant was created (Unix seconds).
    pub created_at: i64,
    /// When the grant stops applying (Unix seconds).
    pub expires_at: i64,
}

impl TrustGrant {
    /// What makes a grant unique besides its id, as one fixed-length key (hex SHA-256 of
    /// the length-prefixed issuer, subject and key id): a unique index on it works on
    /// every backend whatever the lengths of the three.
    pub fn natural_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [&self.issuer, &self.subject, &self.key_id] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// How to page through trust grants (keyset pagination by id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustQuery {
    /// Only grants of this issuer.
    pub issuer: Option<String>,
    /// Only grants whose id sorts after this one.
    pub after_id: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// At most this many grants answer one assertion (Hydra's limit when the assertion
/// names no key).
pub const MAX_TRUSTS_PER_ASSERTION: u32 = 100;

/// The JWT-bearer grant's trust relationships.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait TrustStore {
    /// Stores a grant; [`StoreError::Conflict`] when its id, or a grant with the same
    /// issuer, subject and key id, exists.
    async fn create_trust(&self, grant: &TrustGrant) -> Result<(), StoreError>;
    /// The grant with this id.
    async fn get_trust(&self, id: &str) -> Result<Option<TrustGrant>, StoreError>;
    /// A page of grants ordered by id.
    async fn list_trusts(&self, query: &TrustQuery) -> Result<Vec<TrustGrant>, StoreError>;
    /// Deletes a grant (its key goes with it); false when there was none.
    async fn delete_trust(&self, id: &str) -> Result<bool, StoreError>;
    /// The grants that let `issuer` assert `subject` at `now`: for that subject or any
    /// subject, unexpired, only those of key `key_id` when given; newest first, at most
    /// [`MAX_TRUSTS_PER_ASSERTION`].
    async fn trusts_for(
        &self,
        issuer: &str,
        subject: &str,
        key_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<TrustGrant>, StoreError>;
}

/// The JWT ids already used (RFC 7523 §3 item 7: the replay of a client assertion or a
/// JWT-bearer grant's assertion is refused), remembered until the JWT expires.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait ReplayStore {
    /// Records the use of the JWT id hashed as `jti_hash` until `expires_at`. True when
    /// this call recorded it; false when a record of it is still live at `now` (a
    /// replay). Compare-and-set: of any number of concurrent calls with one id, exactly
    /// one gets true (a unique key, never a read followed by a write).
    async fn use_jti(&self, jti_hash: &str, expires_at: i64, now: i64) -> Result<bool, StoreError>;
    /// Deletes at most `limit` records that expired before `before`; returns how many.
    async fn delete_expired_jtis(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
}

/// Everything a Latch server stores.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait Store:
    ClientStore + TokenStore + KeyStore + LoginSessionStore + ConsentStore + TrustStore + ReplayStore
{
    /// Checks that the backend answers (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A remembered login ("remember me"): lets the next authorization request skip the
/// login UI (`skip: true` in the login request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSession {
    /// The session id (`sid` in ID tokens and logout tokens).
    pub id: String,
    /// The authenticated subject.
    pub subject: String,
    /// When the user authenticated (Unix seconds; `auth_time`).
    pub authenticated_at: i64,
    /// When the session stops being usable (Unix seconds).
    pub expires_at: i64,
    /// The authentication context class reference given at login.
    pub acr: String,
    /// The authentication methods given at login.
    pub amr: Vec<String>,
    /// The identity provider's session this login came from (login accept's
    /// `identity_provider_session_id`), ended with it ([`crate::identity_provider`]);
    /// empty when none was given.
    pub identity_provider_session_id: String,
}

/// A completed consent: what a subject granted a client in one authorization. Its id
/// is the `request_id` of every token issued from that authorization, so revoking the
/// consent revokes those tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The consent request id (one per authorization flow; inserting it twice is a
    /// replayed consent verifier).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The subject.
    pub subject: String,
    /// The login session the consent happened in (for logout), if any.
    pub login_session_id: Option<String>,
    /// Granted scope.
    pub granted_scope: Vec<String>,
    /// Granted access-token audience.
    pub granted_audience: Vec<String>,
    /// Whether later requests covered by this grant may skip the consent UI.
    pub remember: bool,
    /// Until when a remembered consent applies (Unix seconds); `None` is forever.
    pub remember_until: Option<i64>,
    /// When consent was given (Unix seconds).
    pub handled_at: i64,
    /// The rest of the consent, as the admin API lists it: the accepted `session`
    /// (`access_token` and `id_token` claims), `context`, and the consent request.
    pub data: serde_json::Value,
}

/// Remembered logins.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait LoginSessionStore {
    /// Stores a session; [`StoreError::Conflict`] when the id exists.
    async fn create_login_session(&self, session: &LoginSession) -> Result<(), StoreError>;
    /// The session with this id (expired ones included: the caller checks).
    async fn get_login_session(&self, id: &str) -> Result<Option<LoginSession>, StoreError>;
    /// Ends one session: it expires at its `authenticated_at` and its row stays until
    /// the janitor, so that the login verifier that created it cannot create it again
    /// ([`StoreError::Conflict`] on the id). True only for the call that ended it.
    async fn end_login_session(&self, id: &str) -> Result<bool, StoreError>;
    /// Moves the expiry of session `id` of `subject` to `expires_at`, only if it is still
    /// live at `now` (Hydra's `extend_session_lifespan`; compare-and-set: a session that
    /// was ended meanwhile stays ended). True when this call moved it.
    async fn extend_login_session(
        &self,
        id: &str,
        subject: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Ends every live session of a subject as [`Self::end_login_session`]; returns how many.
    async fn end_login_sessions_of_subject(&self, subject: &str) -> Result<u64, StoreError>;
    /// Deletes at most `limit` sessions that expired before `before`; returns how many.
    async fn delete_expired_login_sessions(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
}

/// Completed consents and the tokens that hang off them.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait ConsentStore {
    /// Completes an authorization: stores the consent and the tokens (or code) it
    /// yields, all or nothing. [`StoreError::Conflict`] when a consent with this id
    /// exists, live or revoked: exactly one of any number of concurrent completions of
    /// one flow wins, and a revoked consent is not given again by its verifier.
    async fn complete_consent(&self, consent: &ConsentRecord, tokens: &[TokenRecord]) -> Result<(), StoreError>;
    /// Remembered, unrevoked consents of `subject` for `client_id` still in force at
    /// `now`, newest first.
    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<ConsentRecord>, StoreError>;
    /// Every unrevoked consent of `subject` (optionally only those given in one login
    /// session), newest first.
    async fn list_consents(
        &self,
        subject: &str,
        login_session_id: Option<&str>,
    ) -> Result<Vec<ConsentRecord>, StoreError>;
    /// Revokes the consents of `subject` (all, or only those of `client_id`) and marks
    /// every token issued under them inactive, in one atomic step; returns how many
    /// consents this call revoked. A revoked consent is no longer listed, remembered or
    /// revoked again, but its row stays (see [`Self::complete_consent`]) until
    /// [`Self::delete_revoked_consents`].
    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64, StoreError>;
    /// Revokes the consent with id `id` (Hydra's `consent_request_id`) as
    /// [`Self::revoke_consents`] does; whether this call revoked it. Tokens of a grant
    /// that is no consent (client credentials) are never touched.
    async fn revoke_consent(&self, id: &str) -> Result<bool, StoreError>;
    /// Deletes at most `limit` revoked consents handled before `before` (the janitor:
    /// once their verifiers expired); returns how many.
    async fn delete_revoked_consents(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
}
