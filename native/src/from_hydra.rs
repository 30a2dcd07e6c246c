//! `latch migrate from-hydra`: copies what a Hydra v2 database holds that Latch can
//! use into a Latch database, through the storage traits (so every backend works), and
//! idempotently: what is present already is counted and left alone.
//!
//! What is read (Hydra's PostgreSQL schema; CockroachDB speaks the same protocol):
//! * `hydra_client`: every client, its secret hash kept as it is (Latch verifies
//!   Hydra's PBKDF2 and BCrypt hashes, see [`latch_core::secret`]); its JSON-array
//!   columns read as JSON, its lifespans (nanoseconds) as Go durations.
//! * `hydra_jwk`: every private signing key, opened with Hydra's system secret
//!   (AES-256-GCM under SHA-256 of the secret, nonce ‖ ciphertext ‖ tag in padded
//!   base64url) and sealed again under Latch's own ([`latch_core::seal`]), keeping its
//!   set, `kid` and creation time (the newest key of a set signs, as in Hydra).
//! * `hydra_oauth2_flow`: the consent sessions Hydra's admin API lists (state 5 or 6 or
//!   none, not skipped, not expired).
//! * `hydra_oauth2_authentication_session`: the remembered logins not yet expired.
//! * `hydra_oauth2_access` and `hydra_oauth2_refresh`: the active, unexpired tokens,
//!   under the storage key Latch gives Hydra's tokens
//!   ([`latch_core::token::TokenFormat::Hydra`]), so they keep working while Hydra's
//!   system secret is one of Latch's. Their session (`session_data`, plain JSON or sealed
//!   like the keys) becomes the record's: access-token claims (`extra`) and the ID-token
//!   facts a refresh needs. Tokens of a consent are filed under the consent's id, as
//!   Latch files them, so revoking the consent revokes them.
//!
//! Hydra's `nid` separates networks (tenants): the rows of one network are copied; with
//! several, [`FromHydraOptions::nid`] must choose.

use crate::platform::NativePlatform;
use crate::store::SqlStore;
use crate::Error;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::keys::SigningKey;
use latch_core::oidc::GrantSession;
use latch_core::platform::Platform;
use latch_core::seal::{self, Purpose};
use latch_core::store::{ConsentRecord, LoginSession, Store, StoredKey, TokenKind, TokenRecord};
use latch_core::token;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::Row;
use std::collections::BTreeSet;

/// What `latch migrate from-hydra` was asked for.
#[derive(Clone, Debug, Default)]
pub struct FromHydraOptions {
    /// The Hydra database (`postgres://…` or `cockroach://…`, Hydra's DSN form).
    pub hydra_dsn: String,
    /// The Latch database; Latch's migrations are applied to it first (not on a dry run).
    pub latch_dsn: String,
    /// Hydra's `secrets.system`, current first: opens its JSON Web Keys. Empty: keys are
    /// skipped.
    pub hydra_secrets: Vec<Vec<u8>>,
    /// Latch's system secrets, current first: the keys are sealed under the first.
    pub latch_secrets: Vec<Vec<u8>>,
    /// Which Hydra network to copy, when the database has several.
    pub nid: Option<String>,
    /// Read and report only; write nothing.
    pub dry_run: bool,
    /// Check clients as `latch serve --dev` does (http redirect URIs allowed).
    pub dev: bool,
}

/// What happened to the items of one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindReport {
    /// Copied (on a dry run: would be copied).
    pub copied: Vec<String>,
    /// In the Latch database already, left alone.
    pub already_present: Vec<String>,
    /// Not copied: (item, why).
    pub skipped: Vec<(String, String)>,
}

/// What `latch migrate from-hydra` did, kind by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FromHydraReport {
    /// The Hydra network copied.
    pub nid: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// `hydra_client`.
    pub clients: KindReport,
    /// `hydra_jwk` (items are `set/kid`).
    pub keys: KindReport,
    /// `hydra_oauth2_authentication_session`.
    pub login_sessions: KindReport,
    /// Consent sessions of `hydra_oauth2_flow`.
    pub consents: KindReport,
    /// `hydra_oauth2_access` (items are request ids).
    pub access_tokens: KindReport,
    /// `hydra_oauth2_refresh` (items are request ids).
    pub refresh_tokens: KindReport,
    /// Things to know that are not about one item.
    pub notes: Vec<String>,
}

impl FromHydraReport {
    /// The kinds with their names, in the order they are copied.
    pub fn kinds(&self) -> [(&'static str, &KindReport); 6] {
        [
            ("clients", &self.clients),
            ("JSON Web Keys", &self.keys),
            ("login sessions", &self.login_sessions),
            ("consent sessions", &self.consents),
            ("access tokens", &self.access_tokens),
            ("refresh tokens", &self.refresh_tokens),
        ]
    }
}

/// Copies a Hydra v2 database into a Latch database; see the module doc.
pub async fn migrate_from_hydra(opts: &FromHydraOptions) -> Result<FromHydraReport, Error> {
    let hydra = connect_hydra(&opts.hydra_dsn).await?;
    // Which network, before anything else is opened.
    network(&hydra, opts.nid.as_deref()).await?;
    let store = SqlStore::connect(&opts.latch_dsn).await?;
    let checkable = if opts.dry_run {
        store.pending_migrations().await? == 0
    } else {
        store.migrate().await?;
        true
    };
    let result = copy(&hydra, &store, opts, checkable).await;
    hydra.close().await;
    store.close().await;
    result
}

/// The Hydra DSN as sqlx reads it: Hydra's `cockroach://` is PostgreSQL's protocol, and
/// Hydra's pool settings in the query (`max_conns`, …) are dropped.
pub fn hydra_pg_url(dsn: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::Config(format!("the Hydra DSN: {why}"));
    let dsn = match dsn.split_once("://") {
        Some(("postgres" | "postgresql", _)) => dsn.to_string(),
        Some(("cockroach" | "cockroachdb", rest)) => format!("postgres://{rest}"),
        Some((scheme, _)) => {
            return Err(bad(&format!(
            "'{scheme}://' is not read; `latch migrate from-hydra` reads Hydra's PostgreSQL (or CockroachDB) database"
        )))
        }
        None => return Err(bad("expected postgres://user:password@host:port/database")),
    };
    let mut url = url::Url::parse(&dsn).map_err(|e| bad(&e.to_string()))?;
    let hydra_only = ["max_conns", "max_idle_conns", "max_conn_lifetime", "max_idle_conn_time"];
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !hydra_only.contains(&k.as_ref()))
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(url.to_string())
}

async fn connect_hydra(dsn: &str) -> Result<PgPool, Error> {
    let url = hydra_pg_url(dsn)?;
    PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .map_err(|e| Error::Config(format!("cannot connect to the Hydra database: {e}")))
}

fn hydra_err(what: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |e| Error::Config(format!("reading {what} from the Hydra database: {e}"))
}

/// Picks the network: the only one, or the one asked for.
async fn network(hydra: &PgPool, wanted: Option<&str>) -> Result<String, Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT nid::text FROM (SELECT nid FROM hydra_client UNION SELECT nid FROM hydra_jwk \
         UNION SELECT nid FROM hydra_oauth2_flow UNION SELECT nid FROM hydra_oauth2_authentication_session) n \
         ORDER BY 1",
    )
    .fetch_all(hydra)
    .await
    .map_err(hydra_err("the networks (nid)"))?;
    let nids: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
    match (wanted, nids.as_slice()) {
        (Some(w), _) => {
            let w = w.trim().to_ascii_lowercase();
            if nids.contains(&w) {
                Ok(w)
            } else {
                Err(Error::Config(format!(
                    "--nid {w}: the Hydra database has no rows of that network (it has: {})",
                    list(&nids)
                )))
            }
        }
        (None, [one]) => Ok(one.clone()),
        (None, []) => Ok(String::new()),
        (None, several) => Err(Error::Config(format!(
            "the Hydra database holds {} networks ({}); choose one with --nid",
            several.len(),
            list(several)
        ))),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Copies the rows of Hydra's network into `store`. With `checkable` false (a dry run on
/// a Latch database not migrated yet) nothing is looked up in the store.
pub async fn copy<S: Store>(
    hydra: &PgPool,
    store: &S,
    opts: &FromHydraOptions,
    checkable: bool,
) -> Result<FromHydraReport, Error> {
    let nid = network(hydra, opts.nid.as_deref()).await?;
    let mut report = FromHydraReport { nid: nid.clone(), dry_run: opts.dry_run, ..Default::default() };
    if nid.is_empty() {
        report.notes.push("the Hydra database holds no clients, keys or sessions".into());
        return Ok(report);
    }
    if !checkable {
        report.notes.push(
            "the Latch database has pending migrations, so nothing was looked up in it: \
             every item is counted as to be copied"
                .into(),
        );
    }
    let write = !opts.dry_run;
    let clients = copy_clients(hydra, store, opts, &nid, checkable, write, &mut report).await?;
    copy_keys(hydra, store, opts, &nid, checkable, write, &mut report).await?;
    copy_login_sessions(hydra, store, &nid, checkable, write, &mut report).await?;
    copy_consents(hydra, store, &nid, &clients, checkable, write, &mut report).await?;
    for kind in [TokenKind::AccessToken, TokenKind::RefreshToken] {
        copy_tokens(hydra, store, opts, &nid, kind, &clients, checkable, write, &mut report).await?;
    }
    Ok(report)
}

const CLIENT_TEXT: [&str; 17] = [
    "client_name",
    "scope",
    "owner",
    "policy_uri",
    "tos_uri",
    "client_uri",
    "logo_uri",
    "sector_identifier_uri",
    "jwks_uri",
    "token_endpoint_auth_method",
    "request_object_signing_alg",
    "userinfo_signed_response_alg",
    "subject_type",
    "frontchannel_logout_uri",
    "backchannel_logout_uri",
    "token_endpoint_auth_signing_alg",
    "access_token_strategy",
];
const CLIENT_BOOL: [&str; 3] =
    ["frontchannel_logout_session_required", "backchannel_logout_session_required", "skip_consent"];
const CLIENT_ARRAYS: [&str; 8] = [
    "redirect_uris",
    "grant_types",
    "response_types",
    "audience",
    "allowed_cors_origins",
    "contacts",
    "request_uris",
    "post_logout_redirect_uris",
];
/// Hydra's lifespan columns Latch knows (bigint nanoseconds; null is the default).
const CLIENT_LIFESPANS: [&str; 13] = [
    "authorization_code_grant_access_token_lifespan",
    "authorization_code_grant_id_token_lifespan",
    "authorization_code_grant_refresh_token_lifespan",
    "client_credentials_grant_access_token_lifespan",
    "implicit_grant_access_token_lifespan",
    "implicit_grant_id_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan",
    "refresh_token_grant_id_token_lifespan",
    "refresh_token_grant_access_token_lifespan",
    "refresh_token_grant_refresh_token_lifespan",
    "device_authorization_grant_id_token_lifespan",
    "device_authorization_grant_access_token_lifespan",
    "device_authorization_grant_refresh_token_lifespan",
];

/// A Hydra client row as the Hydra admin API would show it, and its secret hash.
fn client_from_row(row: &PgRow) -> Result<(Client, String), String> {
    let mut m = Map::new();
    m.insert("client_id".into(), row.get::<String, _>("id").into());
    for c in CLIENT_TEXT {
        m.insert(c.into(), row.get::<String, _>(c).into());
    }
    for c in CLIENT_BOOL {
        m.insert(c.into(), row.get::<bool, _>(c).into());
    }
    m.insert("skip_logout_consent".into(), row.get::<Option<bool>, _>("skip_logout_consent").unwrap_or(false).into());
    for c in CLIENT_ARRAYS {
        let text: String = row.get(c);
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{c} is not JSON: {e}"))?;
        m.insert(c.into(), if v.is_null() { json!([]) } else { v });
    }
    for c in CLIENT_LIFESPANS {
        if let Some(ns) = row.get::<Option<i64>, _>(c) {
            m.insert(c.into(), latch_core::duration::format_go(ns / 1_000_000_000).into());
        }
    }
    for (c, empty) in [("jwks", "{}"), ("metadata", "")] {
        let text: String = row.get(c);
        let text = text.trim();
        if !text.is_empty() && text != empty && text != "null" {
            let v: Value = serde_json::from_str(text).map_err(|e| format!("{c} is not JSON: {e}"))?;
            // Hydra stores an empty key set as `{}` or `{"keys":null}`.
            let empty_set = c == "jwks" && v.get("keys").is_none_or(|k| k.is_null());
            if !empty_set {
                m.insert(c.into(), v);
            }
        }
    }
    m.insert("created_at".into(), row.get::<i64, _>("created").into());
    m.insert("updated_at".into(), row.get::<i64, _>("updated").into());
    let client: Client = serde_json::from_value(Value::Object(m)).map_err(|e| e.to_string())?;
    Ok((client, row.get("client_secret")))
}

async fn copy_clients<S: Store>(
    hydra: &PgPool,
    store: &S,
    opts: &FromHydraOptions,
    nid: &str,
    checkable: bool,
    write: bool,
    report: &mut FromHydraReport,
) -> Result<BTreeSet<String>, Error> {
    let mut cols: Vec<String> = ["id", "client_secret", "skip_logout_consent"].map(String::from).to_vec();
    cols.extend(CLIENT_TEXT.iter().chain(&CLIENT_BOOL).chain(&CLIENT_LIFESPANS).map(|c| c.to_string()));
    cols.extend(["jwks", "metadata"].map(String::from));
    cols.extend(CLIENT_ARRAYS.iter().map(|c| format!("{c}::text AS {c}")));
    cols.push("COALESCE(jsonb_array_length(rotated_secrets), 0)::bigint AS rotated".into());
    cols.push("EXTRACT(EPOCH FROM created_at)::bigint AS created".into());
    cols.push("EXTRACT(EPOCH FROM updated_at)::bigint AS updated".into());
    let sql = format!("SELECT {} FROM hydra_client WHERE nid = $1::uuid ORDER BY id", cols.join(", "));
    let rows = sqlx::query(&sql).bind(nid).fetch_all(hydra).await.map_err(hydra_err("clients"))?;
    // Clients a consent may refer to: copied, or present already.
    let mut usable = BTreeSet::new();
    for row in &rows {
        let id: String = row.get("id");
        let (mut client, hash) = match client_from_row(row) {
            Ok(c) => c,
            Err(why) => {
                report.clients.skipped.push((id, format!("unreadable row: {why}")));
                continue;
            }
        };
        if let Err(e) = client.validate(opts.dev) {
            let why = e.hint.clone().or(e.description.clone()).unwrap_or_else(|| e.to_string());
            report.clients.skipped.push((id, format!("Latch does not accept it: {why}")));
            continue;
        }
        if !client.is_public() {
            if latch_core::secret::parse_hash(&hash).is_none() {
                let kind = if hash.starts_with("$argon2") { "Argon2, which Latch does not verify" } else { "unknown" };
                report
                    .clients
                    .skipped
                    .push((id, format!("its secret hash is {kind}: create it in Latch with a new secret")));
                continue;
            }
            client.secret_hash = Some(hash);
        }
        if row.get::<i64, _>("rotated") > 0 {
            report
                .notes
                .push(format!("client {id}: its rotated (previous) secrets are not copied; the current one is"));
        }
        if checkable && store.get_client(&id).await?.is_some() {
            report.clients.already_present.push(id.clone());
            usable.insert(id);
            continue;
        }
        if write && !added(store.create_client(&client).await)? {
            report.clients.already_present.push(id.clone());
            usable.insert(id);
            continue;
        }
        report.clients.copied.push(id.clone());
        usable.insert(id);
    }
    Ok(usable)
}

/// Opens a `hydra_jwk.keydata` value with any of Hydra's system secrets.
pub fn open_hydra_jwk(secrets: &[Vec<u8>], keydata: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    let raw = URL_SAFE.decode(keydata.trim()).or_else(|_| URL_SAFE_NO_PAD.decode(keydata.trim())).ok()?;
    if raw.len() < 12 + 16 {
        return None;
    }
    let (nonce, ct) = raw.split_at(12);
    secrets.iter().find_map(|s| {
        let key = Sha256::digest(s);
        Aes256Gcm::new_from_slice(&key).ok()?.decrypt(Nonce::from_slice(nonce), ct).ok()
    })
}

async fn copy_keys<S: Store>(
    hydra: &PgPool,
    store: &S,
    opts: &FromHydraOptions,
    nid: &str,
    checkable: bool,
    write: bool,
    report: &mut FromHydraReport,
) -> Result<(), Error> {
    let rows = sqlx::query(
        "SELECT sid, kid, keydata, EXTRACT(EPOCH FROM created_at)::bigint AS created FROM hydra_jwk \
         WHERE nid = $1::uuid ORDER BY sid, created_at, kid",
    )
    .bind(nid)
    .fetch_all(hydra)
    .await
    .map_err(hydra_err("JSON Web Keys"))?;
    for row in &rows {
        let (set, kid, keydata, created): (String, String, String, i64) =
            (row.get("sid"), row.get("kid"), row.get("keydata"), row.get("created"));
        let name = format!("{set}/{kid}");
        let skip = |report: &mut FromHydraReport, why: &str| report.keys.skipped.push((name.clone(), why.to_string()));
        if opts.hydra_secrets.is_empty() {
            skip(report, "no Hydra system secret given (--hydra-secret) to open it");
            continue;
        }
        let Some(plain) = open_hydra_jwk(&opts.hydra_secrets, &keydata) else {
            skip(report, "none of the Hydra system secrets given opens it");
            continue;
        };
        let Ok(jwk) = serde_json::from_slice::<Value>(&plain) else {
            skip(report, "it does not hold a JSON Web Key");
            continue;
        };
        if jwk.get("use").and_then(Value::as_str) == Some("enc") {
            skip(report, "an encryption key (use=enc): Latch keeps signing keys only");
            continue;
        }
        if jwk.get("d").is_none() {
            skip(report, "a public key only (a trust relationship's key): Latch does not offer the JWT-bearer grant");
            continue;
        }
        let mut key = match SigningKey::from_jwk(&jwk) {
            Ok(k) => k,
            Err(e) => {
                let alg = jwk.get("alg").and_then(Value::as_str).unwrap_or("none");
                let why = e.hint.clone().or(e.description.clone()).unwrap_or_else(|| e.to_string());
                skip(report, &format!("alg {alg}: {why}"));
                continue;
            }
        };
        if key.kid.is_empty() {
            key.kid = kid.clone();
        }
        if checkable && store.get_key_set(&set).await?.iter().any(|k| k.kid == key.kid) {
            report.keys.already_present.push(name);
            continue;
        }
        if write {
            let sealed = seal::seal(
                &NativePlatform,
                &opts.latch_secrets,
                Purpose::PrivateKey,
                key.private_jwk().to_string().as_bytes(),
            );
            let stored = StoredKey {
                set: set.clone(),
                kid: key.kid.clone(),
                alg: key.alg.as_str().into(),
                use_: "sig".into(),
                created_at: created,
                sealed,
            };
            if !added(store.add_key(&stored).await)? {
                report.keys.already_present.push(name);
                continue;
            }
        }
        report.keys.copied.push(name);
    }
    Ok(())
}

async fn copy_login_sessions<S: Store>(
    hydra: &PgPool,
    store: &S,
    nid: &str,
    checkable: bool,
    write: bool,
    report: &mut FromHydraReport,
) -> Result<(), Error> {
    let rows = sqlx::query(
        "SELECT id, subject, EXTRACT(EPOCH FROM authenticated_at)::bigint AS authenticated, \
         EXTRACT(EPOCH FROM expires_at)::bigint AS expires, identity_provider_session_id \
         FROM hydra_oauth2_authentication_session WHERE nid = $1::uuid ORDER BY id",
    )
    .bind(nid)
    .fetch_all(hydra)
    .await
    .map_err(hydra_err("login sessions"))?;
    let now = NativePlatform.now();
    for row in &rows {
        let id: String = row.get("id");
        let Some(expires_at) = row.get::<Option<i64>, _>("expires") else {
            report.login_sessions.skipped.push((id, "no expiry: the login was not remembered".into()));
            continue;
        };
        if expires_at <= now {
            report.login_sessions.skipped.push((id, "expired".into()));
            continue;
        }
        let session = LoginSession {
            id: id.clone(),
            subject: row.get("subject"),
            authenticated_at: row.get::<Option<i64>, _>("authenticated").unwrap_or(0),
            expires_at,
            acr: String::new(),
            amr: Vec::new(),
            identity_provider_session_id: row
                .get::<Option<String>, _>("identity_provider_session_id")
                .unwrap_or_default(),
        };
        if checkable && store.get_login_session(&id).await?.is_some() {
            report.login_sessions.already_present.push(id);
            continue;
        }
        if write && !added(store.create_login_session(&session).await)? {
            report.login_sessions.already_present.push(id);
            continue;
        }
        report.login_sessions.copied.push(id);
    }
    Ok(())
}

/// Whether a write added its row: `false` when the row was there already (a conflict),
/// which a re-run reports as already present rather than as a failure.
fn added(written: Result<(), StoreError>) -> Result<bool, Error> {
    match written {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn json_col(row: &PgRow, c: &str) -> Value {
    row.get::<Option<String>, _>(c).and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null)
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
}

async fn copy_consents<S: Store>(
    hydra: &PgPool,
    store: &S,
    nid: &str,
    clients: &BTreeSet<String>,
    checkable: bool,
    write: bool,
    report: &mut FromHydraReport,
) -> Result<(), Error> {
    // The consent sessions Hydra's admin API lists (persister_consent.go,
    // FindSubjectsGrantedConsentRequests): handled or used, never skipped.
    let rows = sqlx::query(
        "SELECT consent_challenge_id, login_challenge, client_id, subject, login_session_id, request_url, \
         acr, forced_subject_identifier, consent_remember, \
         granted_scope::text AS granted_scope, granted_at_audience::text AS granted_at_audience, \
         requested_scope::text AS requested_scope, requested_at_audience::text AS requested_at_audience, \
         session_access_token::text AS session_access_token, session_id_token::text AS session_id_token, \
         context::text AS context, amr::text AS amr, oidc_context::text AS oidc_context, \
         EXTRACT(EPOCH FROM requested_at)::bigint AS requested, \
         EXTRACT(EPOCH FROM consent_handled_at)::bigint AS handled, \
         EXTRACT(EPOCH FROM expires_at)::bigint AS expires \
         FROM hydra_oauth2_flow WHERE nid = $1::uuid AND consent_challenge_id IS NOT NULL \
         AND (state IN (5, 6) OR state IS NULL) AND consent_skip = FALSE \
         ORDER BY requested_at, consent_challenge_id",
    )
    .bind(nid)
    .fetch_all(hydra)
    .await
    .map_err(hydra_err("consent sessions"))?;
    let now = NativePlatform.now();
    for row in &rows {
        let id: String = row.get("consent_challenge_id");
        let client_id: String = row.get::<Option<String>, _>("client_id").unwrap_or_default();
        let subject: String = row.get::<Option<String>, _>("subject").unwrap_or_default();
        let expires = row.get::<Option<i64>, _>("expires");
        if expires.is_some_and(|e| e <= now) {
            report.consents.skipped.push((id, "expired".into()));
            continue;
        }
        if !clients.contains(&client_id) {
            report.consents.skipped.push((id, format!("its client {client_id} was not copied")));
            continue;
        }
        let login_session_id = row.get::<Option<String>, _>("login_session_id").filter(|s| !s.is_empty());
        let requested: i64 = row.get("requested");
        let text = |c: &str| row.get::<Option<String>, _>(c).unwrap_or_default();
        let or_object = |v: Value| if v.is_object() { v } else { json!({}) };
        let mut data = json!({
            "session": {
                "access_token": or_object(json_col(row, "session_access_token")),
                "id_token": or_object(json_col(row, "session_id_token")),
            },
            "context": json_col(row, "context"),
            "consent_request": {
                "challenge": "",
                "consent_request_id": id,
                "requested_scope": string_list(&json_col(row, "requested_scope")),
                "requested_access_token_audience": string_list(&json_col(row, "requested_at_audience")),
                "skip": false,
                "subject": subject,
                "oidc_context": or_object(json_col(row, "oidc_context")),
                "client": {"client_id": client_id},
                "request_url": text("request_url"),
                "login_challenge": text("login_challenge"),
                "login_session_id": login_session_id.clone().unwrap_or_default(),
                "acr": text("acr"),
                "amr": string_list(&json_col(row, "amr")),
                "context": json_col(row, "context"),
            },
        });
        let forced = text("forced_subject_identifier");
        if !forced.is_empty() {
            data["id_subject"] = forced.into();
        }
        let consent = ConsentRecord {
            id: id.clone(),
            client_id,
            subject: subject.clone(),
            login_session_id,
            granted_scope: string_list(&json_col(row, "granted_scope")),
            granted_audience: string_list(&json_col(row, "granted_at_audience")),
            remember: row.get::<Option<bool>, _>("consent_remember").unwrap_or(false),
            // Hydra's expiry (requested_at + remember_for), or none: forever.
            remember_until: expires,
            handled_at: row.get::<Option<i64>, _>("handled").unwrap_or(requested),
            data,
        };
        if checkable && store.list_consents(&subject, None).await?.iter().any(|c| c.id == id) {
            report.consents.already_present.push(id);
            continue;
        }
        if write && !added(store.complete_consent(&consent, &[]).await)? {
            report.consents.already_present.push(id);
            continue;
        }
        report.consents.copied.push(id);
    }
    Ok(())
}

/// A Go `time.Time` in JSON (RFC 3339) as Unix seconds; Go's zero time is 0.
fn go_time(v: &Value) -> i64 {
    v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map_or(0, |t| t.timestamp()).max(0)
}

/// A Hydra token's `session_data` (`oauth2.Session`) as the data of Latch's record:
/// the access-token claims (`extra`) as `ext`, and, for a user's grant, the session an ID
/// token minted on refresh is made from.
pub fn token_data(session: &Value, subject: &str, from_consent: bool) -> Value {
    let mut data = Map::new();
    if let Some(extra) = session.get("extra").and_then(Value::as_object).filter(|m| !m.is_empty()) {
        data.insert("ext".into(), Value::Object(extra.clone()));
    }
    if from_consent {
        let claims = &session["id_token"]["id_token_claims"];
        let mut id_token = claims.get("ext").and_then(Value::as_object).cloned().unwrap_or_default();
        // Hydra adds the login session id to the ID token's extra claims.
        let sid = id_token.remove("sid").and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let id_sub = claims.get("sub").and_then(Value::as_str).unwrap_or_default();
        let grant = GrantSession {
            auth_time: go_time(&claims["auth_time"]),
            acr: claims.get("acr").and_then(Value::as_str).unwrap_or_default().into(),
            amr: string_list(&claims["amr"]),
            sid,
            rat: go_time(&claims["rat"]),
            id_token,
            id_subject: if id_sub.is_empty() || id_sub == subject { String::new() } else { id_sub.into() },
        };
        data.insert("session".into(), serde_json::to_value(grant).unwrap_or_default());
    }
    Value::Object(data)
}

fn pipe_list(text: Option<String>) -> Vec<String> {
    text.unwrap_or_default().split('|').filter(|s| !s.is_empty()).map(String::from).collect()
}

#[allow(clippy::too_many_arguments)] // one copy step among others of the same shape
async fn copy_tokens<S: Store>(
    hydra: &PgPool,
    store: &S,
    opts: &FromHydraOptions,
    nid: &str,
    kind: TokenKind,
    clients: &BTreeSet<String>,
    checkable: bool,
    write: bool,
    report: &mut FromHydraReport,
) -> Result<(), Error> {
    let (table, what) = match kind {
        TokenKind::AccessToken => ("hydra_oauth2_access", "access tokens"),
        _ => ("hydra_oauth2_refresh", "refresh tokens"),
    };
    // Inactive (revoked, rotated) and expired tokens are gone for Hydra too.
    let sql = format!(
        "SELECT signature, request_id, client_id, granted_scope, granted_audience, session_data, subject, \
         challenge_id, EXTRACT(EPOCH FROM requested_at)::bigint AS requested, \
         EXTRACT(EPOCH FROM expires_at)::bigint AS expires FROM {table} \
         WHERE nid = $1::uuid AND active AND expires_at > (now() AT TIME ZONE 'UTC') ORDER BY requested_at, signature"
    );
    let rows = sqlx::query(&sql).bind(nid).fetch_all(hydra).await.map_err(hydra_err(what))?;
    for row in &rows {
        let signature: String = row.get("signature");
        let challenge = row.get::<Option<String>, _>("challenge_id").filter(|c| !c.is_empty());
        // Latch files a consent's tokens under the consent's id; other grants keep Hydra's.
        let request_id = challenge.clone().unwrap_or_else(|| row.get("request_id"));
        let out = match kind {
            TokenKind::AccessToken => &mut report.access_tokens,
            _ => &mut report.refresh_tokens,
        };
        let client_id: String = row.get("client_id");
        if !clients.contains(&client_id) {
            out.skipped.push((request_id, format!("its client {client_id} was not copied")));
            continue;
        }
        let text: String = row.get("session_data");
        let session = serde_json::from_str::<Value>(&text).ok().or_else(|| {
            open_hydra_jwk(&opts.hydra_secrets, &text).and_then(|plain| serde_json::from_slice(&plain).ok())
        });
        let Some(session) = session else {
            out.skipped.push((request_id, "its session is sealed and no Hydra system secret given opens it".into()));
            continue;
        };
        // Access tokens are stored under the SHA-384 hex of their signature (older rows:
        // the signature itself); refresh tokens under the signature.
        let hashed =
            kind == TokenKind::AccessToken && signature.len() == 96 && signature.bytes().all(|b| b.is_ascii_hexdigit());
        let sha384 = if hashed { signature.to_ascii_lowercase() } else { token::hydra_signature_hash(&signature) };
        let subject: String = row.get("subject");
        let record = TokenRecord {
            signature: token::hydra_storage_key(&sha384),
            kind,
            request_id: request_id.clone(),
            client_id,
            subject: subject.clone(),
            scope: pipe_list(row.get("granted_scope")),
            audience: pipe_list(row.get("granted_audience")),
            issued_at: row.get("requested"),
            expires_at: row.get("expires"),
            active: true,
            used_at: None,
            data: token_data(&session, &subject, challenge.is_some()),
        };
        if checkable && store.get_token(kind, &record.signature).await?.is_some() {
            out.already_present.push(request_id);
            continue;
        }
        if write && !added(store.insert_tokens(std::slice::from_ref(&record)).await)? {
            out.already_present.push(request_id);
            continue;
        }
        out.copied.push(request_id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hydra_dsns_become_postgres_urls() {
        assert_eq!(
            hydra_pg_url("postgres://hydra:pw@db:5432/hydra?sslmode=disable&max_conns=20&max_idle_conns=4").unwrap(),
            "postgres://hydra:pw@db:5432/hydra?sslmode=disable"
        );
        assert_eq!(
            hydra_pg_url("cockroach://root@crdb:26257/hydra?max_conns=3").unwrap(),
            "postgres://root@crdb:26257/hydra"
        );
        for bad in ["mysql://root@tcp(db:3306)/hydra", "sqlite:///var/lib/hydra.db", "memory", ""] {
            assert!(matches!(hydra_pg_url(bad), Err(Error::Config(_))), "{bad}");
        }
    }

    #[test]
    fn hydra_sessions_become_record_data() {
        let session = json!({
            "id_token": {"id_token_claims": {"sub": "pairwise-alice", "auth_time": "2026-01-02T03:04:05Z",
                "rat": "0001-01-01T00:00:00Z", "acr": "gold", "amr": ["pwd", "otp"],
                "ext": {"sid": "ls-1", "email": "a@example.com"}}},
            "extra": {"team": "blue"},
        });
        let data = token_data(&session, "alice", true);
        assert_eq!(data["ext"], json!({"team": "blue"}));
        let grant: GrantSession = serde_json::from_value(data["session"].clone()).unwrap();
        assert_eq!(grant.auth_time, 1_767_323_045);
        assert_eq!(grant.rat, 0, "Go's zero time");
        assert_eq!(
            (grant.acr.as_str(), grant.sid.as_str(), grant.id_subject.as_str()),
            ("gold", "ls-1", "pairwise-alice")
        );
        assert_eq!(grant.amr, ["pwd", "otp"]);
        assert_eq!(Value::Object(grant.id_token), json!({"email": "a@example.com"}), "the sid is no extra claim");
        // A client's own grant (client credentials) has no user session; an empty
        // `extra` is no `ext`.
        assert_eq!(token_data(&json!({"extra": {}}), "client", false), json!({}));
        assert_eq!(pipe_list(Some("read|offline||".into())), ["read", "offline"]);
        assert!(pipe_list(None).is_empty());
    }

    #[test]
    fn hydra_jwks_open_with_any_of_its_secrets() {
        // Sealed as Hydra seals: AES-256-GCM under SHA-256(secret), nonce ‖ ct ‖ tag, padded base64url.
        let secret = b"hydra-system-secret-0123".to_vec();
        let cipher = Aes256Gcm::new_from_slice(&Sha256::digest(&secret)).unwrap();
        let nonce = [9u8; 12];
        let mut raw = nonce.to_vec();
        raw.extend(cipher.encrypt(Nonce::from_slice(&nonce), &b"{\"kid\":\"k\"}"[..]).unwrap());
        let keydata = base64::engine::general_purpose::URL_SAFE.encode(&raw);
        let other = b"another-secret-0123456".to_vec();
        assert_eq!(
            open_hydra_jwk(&[other.clone(), secret.clone()], &keydata).as_deref(),
            Some(&b"{\"kid\":\"k\"}"[..])
        );
        assert_eq!(open_hydra_jwk(&[other], &keydata), None);
        assert_eq!(open_hydra_jwk(&[secret], "AAAA"), None);
    }
}
