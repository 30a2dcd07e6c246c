//! The storage conformance suite: every backend (the in-memory reference store, SQLite,
//! PostgreSQL, MySQL, D1) must pass it unchanged, in the style of Dex's
//! `storage/conformance`.
//!
//! [`run`] runs every case on one fresh store. The cases share the store, so each one
//! uses ids of its own (prefixed by the case) and every token and login session outside
//! the expiry cases expires far in the future. The concurrency cases issue their calls with
//! `futures::future::join_all` on the same store, so a pooled backend runs them on
//! several connections at once.

use futures::future::join_all;
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{
    ClientQuery, ConsentRecord, Consumed, LoginSession, Rotated, Store, StoredKey, TokenKind, TokenRecord, TrustGrant,
    TrustQuery,
};
use serde_json::json;
use std::collections::BTreeMap;

/// Expiry of every token outside the expiry case (2096).
const FAR: i64 = 4_000_000_000;
/// How many callers the concurrency cases race.
const RACERS: usize = 20;

/// Runs every case on `store`, which must be empty.
pub async fn run<S: Store>(store: &S) {
    macro_rules! cases {
        ($($case:ident),* $(,)?) => {$(
            eprintln!("conformance: {}", stringify!($case));
            $case(store).await;
        )*};
    }
    cases!(
        ping,
        client_crud,
        client_ids_are_case_sensitive,
        client_list_pages_filters_and_orders,
        concurrent_create_client,
        concurrent_update_client_if_unchanged,
        token_insert_and_get,
        token_insert_is_all_or_nothing,
        revoke_token_is_compare_and_set,
        revoke_grant_touches_only_that_grant,
        delete_client_access_tokens_only,
        consume_code,
        rotate_refresh_token,
        delete_expired_tokens,
        keys,
        reseal_key_is_compare_and_set,
        concurrent_consume_code,
        concurrent_rotate_refresh_token,
        concurrent_revoke_token,
        concurrent_inserts_fail_alone,
        login_session_crud,
        end_login_sessions_of_subject,
        extend_login_session_only_while_live,
        delete_expired_login_sessions,
        complete_consent_stores_consent_and_tokens,
        complete_consent_is_all_or_nothing,
        remembered_consents_filter_and_order,
        list_consents_by_login_session,
        revoke_consents_of_one_client_or_all,
        revoke_one_consent_by_id,
        revoked_consents_stay_taken_until_the_janitor,
        concurrent_complete_consent,
        rotation_retires_the_grants_access_tokens,
        reissue_within_grace_only_while_live,
        reissue_within_grace_is_all_or_nothing,
        insert_tokens_while_active_only_while_active,
        concurrent_insert_while_active_and_revoke_grant,
        delete_client_deletes_what_was_issued_to_it,
        concurrent_reissue_and_revoke_grant,
        concurrent_reissue_and_revoke_consent,
        concurrent_reissue_and_delete_client,
        concurrent_rotate_and_revoke_grant,
        trust_crud,
        trusts_for_an_assertion,
        trust_list_pages_and_filters,
        use_jti_once_until_expiry,
        concurrent_use_jti,
        delete_expired_jtis,
        device_records_and_polls,
        consume_device_code,
        concurrent_record_device_poll,
        concurrent_consume_device_code,
        concurrent_consume_device_code_and_revoke_consent,
    );
}

// ---------------------------------------------------------------------------------
// Fixtures

/// A client with most fields set to something other than their defaults.
pub fn client(id: &str, name: &str, owner: &str) -> Client {
    Client {
        client_id: id.into(),
        client_name: name.into(),
        owner: owner.into(),
        redirect_uris: vec!["https://app.example/cb".into(), "https://app.example/cb2".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        scope: "openid offline_access".into(),
        audience: vec!["https://api.example".into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        jwks: Some(
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}),
        ),
        metadata: Some(json!({"tier": "gold", "nested": {"list": [1, 2, 3], "ünïcødé": "✓"}})),
        skip_consent: true,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_100,
        secret_hash: Some(format!("$pbkdf2-sha256$i=1000$salt${id}")),
        ..Client::default()
    }
}

/// An active token that expires far in the future.
pub fn token(signature: &str, kind: TokenKind, request_id: &str, client_id: &str) -> TokenRecord {
    TokenRecord {
        signature: signature.into(),
        kind,
        request_id: request_id.into(),
        client_id: client_id.into(),
        subject: format!("user:{client_id}"),
        scope: vec!["openid".into(), "offline_access".into(), "photos:read".into()],
        audience: vec!["https://api.example".into(), "urn:other".into()],
        issued_at: 1_700_000_000,
        expires_at: FAR,
        active: true,
        used_at: None,
        data: json!({"ext": {"role": "admin", "n": 1.5}, "nonce": "n-0S6_WzA2Mj", "pkce": {"method": "S256"}}),
    }
}

/// A signing key.
pub fn key(set: &str, kid: &str, created_at: i64) -> StoredKey {
    StoredKey {
        set: set.into(),
        kid: kid.into(),
        alg: "RS256".into(),
        use_: "sig".into(),
        created_at,
        sealed: format!("v1.sealed-{set}-{kid}"),
    }
}

/// A login session of `subject` that expires far in the future.
pub fn login_session(id: &str, subject: &str) -> LoginSession {
    LoginSession {
        id: id.into(),
        subject: subject.into(),
        authenticated_at: 1_700_000_000,
        expires_at: FAR,
        acr: "urn:latch:acr:mfa".into(),
        amr: vec!["pwd".into(), "otp".into()],
        identity_provider_session_id: "kratos-session-ü".into(),
    }
}

/// A remembered consent (forever) of `subject` for `client_id`, given at `handled_at`.
pub fn consent(id: &str, client_id: &str, subject: &str, handled_at: i64) -> ConsentRecord {
    ConsentRecord {
        id: id.into(),
        client_id: client_id.into(),
        subject: subject.into(),
        login_session_id: Some(format!("sid-{subject}")),
        granted_scope: vec!["openid".into(), "offline_access".into(), "photos:read".into()],
        granted_audience: vec!["https://api.example".into(), "urn:other".into()],
        remember: true,
        remember_until: None,
        handled_at,
        data: json!({
            "session": {"access_token": {"role": "admin"}, "id_token": {"email": "ü@example.org", "n": 1.5}},
            "context": {"k": [1, 2, 3]},
        }),
    }
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{what}: expected a conflict, got {result:?}");
}

async fn get_token<S: Store>(s: &S, kind: TokenKind, signature: &str) -> Option<TokenRecord> {
    s.get_token(kind, signature).await.expect("get_token")
}

/// Counts outcomes by name (errors by message), so that a failed race shows what came
/// back without a screenful of records.
fn tally<T>(results: &[Result<T, StoreError>], name: impl Fn(&T) -> &'static str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in results {
        let key = match r {
            Ok(v) => name(v).to_owned(),
            Err(e) => format!("error: {e}"),
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// The expected tally of a race: one winner, every other caller a loser.
fn one_winner(winner: &str, loser: &str) -> BTreeMap<String, usize> {
    BTreeMap::from([(winner.to_owned(), 1), (loser.to_owned(), RACERS - 1)])
}

/// The index of the single result that `won`.
fn winner<T>(results: &[Result<T, StoreError>], won: impl Fn(&T) -> bool) -> usize {
    let winners: Vec<usize> =
        results.iter().enumerate().filter(|(_, r)| r.as_ref().is_ok_and(&won)).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "exactly one winner");
    winners[0]
}

/// Reads every record back as it was stored, before a change that the next reads must
/// see: a store that keeps what it read (SQLite's token cache) must not answer with it.
async fn read_back<S: Store>(s: &S, records: &[TokenRecord]) {
    for r in records {
        assert_eq!(get_token(s, r.kind, &r.signature).await.as_ref(), Some(r), "{} reads back", r.signature);
    }
}

/// How many of `records` are stored.
async fn present<S: Store>(s: &S, records: &[TokenRecord]) -> usize {
    let mut n = 0;
    for r in records {
        n += usize::from(get_token(s, r.kind, &r.signature).await.is_some());
    }
    n
}

/// The ids of a list of consents, in order.
fn consent_ids(consents: &[ConsentRecord]) -> Vec<&str> {
    consents.iter().map(|c| c.id.as_str()).collect()
}

async fn list_consents<S: Store>(s: &S, subject: &str, login_session_id: Option<&str>) -> Vec<ConsentRecord> {
    s.list_consents(subject, login_session_id).await.expect("list_consents")
}

async fn list<S: Store>(
    s: &S,
    after: Option<&str>,
    limit: u32,
    name: Option<&str>,
    owner: Option<&str>,
) -> Vec<String> {
    let query = ClientQuery {
        after_id: after.map(Into::into),
        limit,
        client_name: name.map(Into::into),
        owner: owner.map(Into::into),
    };
    s.list_clients(&query).await.expect("list_clients").into_iter().map(|c| c.client_id).collect()
}

// ---------------------------------------------------------------------------------
// Cases

/// The backend answers.
pub async fn ping<S: Store>(s: &S) {
    s.ping().await.expect("ping");
}

/// Create, read, conflict, update (present and missing), delete.
pub async fn client_crud<S: Store>(s: &S) {
    let c = client("crud-1", "CRUD one", "crud-owner");
    s.create_client(&c).await.expect("create");
    assert_eq!(s.get_client("crud-1").await.expect("get"), Some(c.clone()), "a client reads back as stored");
    assert_eq!(s.get_client("crud-missing").await.expect("get missing"), None);

    assert_conflict(s.create_client(&client("crud-1", "impostor", "other")).await, "create with a taken id");
    assert_eq!(s.get_client("crud-1").await.expect("get"), Some(c.clone()), "a conflict changes nothing");

    let mut changed = c.clone();
    changed.client_name = "renamed".into();
    changed.owner = "crud-new-owner".into();
    changed.secret_hash = None;
    changed.metadata = None;
    changed.redirect_uris = vec![];
    changed.created_at = 1_600_000_000;
    changed.updated_at = 1_800_000_000;
    assert!(s.update_client(&changed).await.expect("update"), "update of an existing client");
    assert_eq!(s.get_client("crud-1").await.expect("get"), Some(changed.clone()), "update replaces the whole client");
    assert!(s.update_client(&changed).await.expect("update"), "an update that changes nothing still finds the client");
    assert_eq!(list(s, None, 10, None, Some("crud-new-owner")).await, ["crud-1"], "filters follow the update");
    assert!(list(s, None, 10, None, Some("crud-owner")).await.is_empty(), "the old owner no longer matches");

    let ghost = client("crud-ghost", "ghost", "crud-owner");
    assert!(!s.update_client(&ghost).await.expect("update missing"), "update of a missing client");
    assert_eq!(s.get_client("crud-ghost").await.expect("get"), None, "update does not create");

    assert!(s.delete_client("crud-1").await.expect("delete"));
    assert_eq!(s.get_client("crud-1").await.expect("get"), None);
    assert!(!s.delete_client("crud-1").await.expect("delete again"), "second delete finds nothing");
}

/// Ids differing only in case are different clients.
pub async fn client_ids_are_case_sensitive<S: Store>(s: &S) {
    s.create_client(&client("case-abc", "lower", "case-owner")).await.expect("create lower");
    s.create_client(&client("case-ABC", "upper", "case-owner")).await.expect("create upper");
    let lower = s.get_client("case-abc").await.expect("get").expect("lower exists");
    let upper = s.get_client("case-ABC").await.expect("get").expect("upper exists");
    assert_eq!((lower.client_name.as_str(), upper.client_name.as_str()), ("lower", "upper"));
    assert!(list(s, None, 10, None, Some("CASE-OWNER")).await.is_empty(), "owner filter is case-sensitive");
    assert!(list(s, None, 10, Some("LOWER"), None).await.is_empty(), "name filter is case-sensitive");
}

/// Keyset pagination by id, limits, the client_name and owner filters, byte ordering.
pub async fn client_list_pages_filters_and_orders<S: Store>(s: &S) {
    for i in 1..=7 {
        let owner = if i % 2 == 1 { "list-odd" } else { "list-even" };
        let name = if i <= 3 { "list-small" } else { "list-large" };
        s.create_client(&client(&format!("list-0{i}"), name, owner)).await.expect("create");
    }
    // Bytewise: 'Z' (0x5a) < '_' (0x5f) < 'a' (0x61) < 'é' (0xc3 0xa9); a locale would differ.
    for id in ["list-a", "list-é", "list-Z", "list-_"] {
        s.create_client(&client(id, "list-order", "list-order")).await.expect("create");
    }

    assert_eq!(list(s, None, 2, None, Some("list-odd")).await, ["list-01", "list-03"]);
    assert_eq!(list(s, Some("list-03"), 2, None, Some("list-odd")).await, ["list-05", "list-07"]);
    assert!(list(s, Some("list-07"), 2, None, Some("list-odd")).await.is_empty(), "past the last page");
    assert_eq!(list(s, Some("list-04x"), 10, None, Some("list-even")).await, ["list-06"], "after an absent id");
    assert_eq!(list(s, None, 10, Some("list-small"), None).await, ["list-01", "list-02", "list-03"]);
    assert_eq!(
        list(s, None, 10, Some("list-large"), Some("list-odd")).await,
        ["list-05", "list-07"],
        "filters combine"
    );
    assert_eq!(list(s, None, 10, Some("list-small"), Some("list-nobody")).await, Vec::<String>::new());
    assert!(list(s, None, 0, None, Some("list-odd")).await.is_empty(), "limit 0");
    assert_eq!(
        list(s, None, 10, None, Some("list-order")).await,
        ["list-Z", "list-_", "list-a", "list-é"],
        "byte order"
    );

    let page = s
        .list_clients(&ClientQuery { limit: 1, owner: Some("list-even".into()), ..Default::default() })
        .await
        .expect("list");
    assert_eq!(page, [client("list-02", "list-small", "list-even")], "listed clients are whole");

    // Paging through everything visits each client once, in order.
    let everything = list(s, None, 1000, None, None).await;
    let mut paged = Vec::new();
    loop {
        let page = list(s, paged.last().map(String::as_str), 3, None, None).await;
        assert!(page.len() <= 3, "a page holds at most `limit` clients");
        if page.is_empty() {
            break;
        }
        paged.extend(page);
    }
    assert_eq!(paged, everything, "paging by 3 visits what one big page shows");
    assert!(paged.windows(2).all(|w| w[0] < w[1]), "ids strictly increase: {paged:?}");
    for i in 1..=7 {
        assert!(paged.contains(&format!("list-0{i}")), "list-0{i} is listed");
    }
}

/// Of concurrent creations of one id exactly one succeeds; the others conflict.
pub async fn concurrent_create_client<S: Store>(s: &S) {
    let candidates: Vec<Client> = (0..RACERS).map(|i| client("race-client", &format!("racer {i}"), "race")).collect();
    let results = join_all(candidates.iter().map(|c| s.create_client(c))).await;
    let outcomes = tally(&results, |()| "created");
    let conflicts = results.iter().filter(|r| matches!(r, Err(StoreError::Conflict(_)))).count();
    assert_eq!(
        (outcomes.get("created"), conflicts),
        (Some(&1), RACERS - 1),
        "one creates, the others conflict: {outcomes:?}"
    );
    let won = winner(&results, |()| true);
    let stored = s.get_client("race-client").await.expect("get").expect("created");
    assert_eq!(stored.client_name, format!("racer {won}"), "the winner's client is stored");
}

/// A client replaced with a compare-and-set on the `updated_at` read: stale versions
/// change nothing, and of concurrent replacements from one read exactly one wins.
pub async fn concurrent_update_client_if_unchanged<S: Store>(s: &S) {
    let mut base = client("cas-client", "v0", "cas");
    base.updated_at = 100;
    s.create_client(&base).await.expect("create");
    let mut stale = base.clone();
    (stale.client_name, stale.updated_at) = ("stale".into(), 101);
    assert!(!s.update_client_if_unchanged(&stale, 99).await.expect("update"), "another version changes nothing");
    let mut gone = stale.clone();
    gone.client_id = "cas-nobody".into();
    assert!(!s.update_client_if_unchanged(&gone, 100).await.expect("update"), "no such client");
    let candidates: Vec<Client> = (0..RACERS)
        .map(|i| {
            let mut c = base.clone();
            (c.client_name, c.updated_at) = (format!("racer {i}"), 101);
            c
        })
        .collect();
    let results = join_all(candidates.iter().map(|c| s.update_client_if_unchanged(c, 100))).await;
    let outcomes = tally(&results, |won| if *won { "won" } else { "lost" });
    assert_eq!(outcomes.get("won"), Some(&1), "one replacement wins: {outcomes:?}");
    let won = winner(&results, |won| *won);
    let stored = s.get_client("cas-client").await.expect("get").expect("kept");
    assert_eq!((stored.client_name, stored.updated_at), (format!("racer {won}"), 101), "the winner's client is stored");
}

/// Records read back whole, by kind.
pub async fn token_insert_and_get<S: Store>(s: &S) {
    let code = token("ig-code", TokenKind::AuthorizationCode, "ig-grant", "ig-client");
    let access = token("ig-access", TokenKind::AccessToken, "ig-grant", "ig-client");
    let refresh = token("ig-refresh", TokenKind::RefreshToken, "ig-grant", "ig-client");
    let mut bare = token("ig-bare", TokenKind::AccessToken, "ig-grant-2", "ig-client");
    (bare.scope, bare.audience, bare.data) = (vec![], vec![], serde_json::Value::Null);
    let mut used = token("ig-used", TokenKind::RefreshToken, "ig-grant-2", "ig-client");
    (used.active, used.used_at, used.issued_at, used.expires_at) = (false, Some(1_700_000_123), -5, FAR + 1);

    s.insert_tokens(&[code.clone(), access.clone(), refresh.clone()]).await.expect("insert a grant");
    s.insert_tokens(&[bare.clone(), used.clone()]).await.expect("insert more");
    s.insert_tokens(&[]).await.expect("inserting nothing is fine");

    for r in [&code, &access, &refresh, &bare, &used] {
        assert_eq!(get_token(s, r.kind, &r.signature).await.as_ref(), Some(r), "{} reads back", r.signature);
    }
    assert_eq!(get_token(s, TokenKind::RefreshToken, "ig-access").await, None, "the kind must match");
    assert_eq!(get_token(s, TokenKind::AccessToken, "ig-code").await, None, "the kind must match");
    assert_eq!(get_token(s, TokenKind::AccessToken, "ig-missing").await, None);
}

/// A batch with any taken signature stores nothing.
pub async fn token_insert_is_all_or_nothing<S: Store>(s: &S) {
    let a = token("aon-a", TokenKind::AccessToken, "aon-grant", "aon-client");
    s.insert_tokens(std::slice::from_ref(&a)).await.expect("insert");

    let b = token("aon-b", TokenKind::RefreshToken, "aon-grant", "aon-client");
    let mut a2 = a.clone();
    a2.subject = "someone else".into();
    assert_conflict(s.insert_tokens(&[b.clone(), a2]).await, "a batch reusing a signature");
    assert_eq!(get_token(s, TokenKind::RefreshToken, "aon-b").await, None, "nothing of a failed batch is stored");
    assert_eq!(get_token(s, TokenKind::AccessToken, "aon-a").await, Some(a.clone()), "the existing record is kept");

    let other_kind = token("aon-a", TokenKind::RefreshToken, "aon-grant", "aon-client");
    assert_conflict(s.insert_tokens(&[other_kind]).await, "a signature is unique across kinds");

    let c = token("aon-c", TokenKind::AccessToken, "aon-grant", "aon-client");
    let twin = TokenRecord { subject: "twin".into(), ..c.clone() };
    let d = token("aon-d", TokenKind::RefreshToken, "aon-grant", "aon-client");
    assert_conflict(s.insert_tokens(&[c, d, twin]).await, "a batch repeating a signature");
    assert_eq!(get_token(s, TokenKind::AccessToken, "aon-c").await, None, "nothing of a failed batch is stored");
    assert_eq!(get_token(s, TokenKind::RefreshToken, "aon-d").await, None, "nothing of a failed batch is stored");
}

/// Revoking a token succeeds once, for its own kind only.
pub async fn revoke_token_is_compare_and_set<S: Store>(s: &S) {
    let access = token("rv-access", TokenKind::AccessToken, "rv-grant", "rv-client");
    let refresh = token("rv-refresh", TokenKind::RefreshToken, "rv-grant", "rv-client");
    s.insert_tokens(&[access.clone(), refresh.clone()]).await.expect("insert");
    read_back(s, &[access.clone(), refresh.clone()]).await;

    assert!(!s.revoke_token(TokenKind::AccessToken, "rv-refresh").await.expect("revoke"), "wrong kind");
    assert_eq!(get_token(s, TokenKind::RefreshToken, "rv-refresh").await, Some(refresh), "untouched");

    assert!(s.revoke_token(TokenKind::AccessToken, "rv-access").await.expect("revoke"), "first revocation");
    let revoked = get_token(s, TokenKind::AccessToken, "rv-access").await.expect("still stored");
    assert_eq!(revoked, TokenRecord { active: false, ..access }, "only `active` changes");
    assert!(!s.revoke_token(TokenKind::AccessToken, "rv-access").await.expect("revoke"), "second revocation");
    assert!(!s.revoke_token(TokenKind::AccessToken, "rv-missing").await.expect("revoke"), "missing token");
}

/// Revoking a grant deactivates its active tokens and no others.
pub async fn revoke_grant_touches_only_that_grant<S: Store>(s: &S) {
    let mut code = token("rg-code", TokenKind::AuthorizationCode, "rg-grant-1", "rg-client");
    (code.active, code.used_at) = (false, Some(1_700_000_001));
    let mine = [
        code,
        token("rg-access", TokenKind::AccessToken, "rg-grant-1", "rg-client"),
        token("rg-refresh", TokenKind::RefreshToken, "rg-grant-1", "rg-client"),
    ];
    let theirs = [
        token("rg-access-2", TokenKind::AccessToken, "rg-grant-2", "rg-client"),
        token("rg-refresh-2", TokenKind::RefreshToken, "rg-grant-2", "rg-client"),
    ];
    s.insert_tokens(&mine).await.expect("insert");
    s.insert_tokens(&theirs).await.expect("insert");
    read_back(s, &mine).await;

    assert_eq!(s.revoke_grant("rg-grant-1").await.expect("revoke grant"), 2, "the two active tokens change");
    for r in &mine {
        let now = get_token(s, r.kind, &r.signature).await.expect("kept");
        assert_eq!(now, TokenRecord { active: false, ..r.clone() }, "{} is inactive, otherwise unchanged", r.signature);
    }
    for r in &theirs {
        assert_eq!(get_token(s, r.kind, &r.signature).await.as_ref(), Some(r), "another grant is untouched");
    }
    assert_eq!(s.revoke_grant("rg-grant-1").await.expect("again"), 0, "nothing left to revoke");
    assert_eq!(s.revoke_grant("rg-no-such-grant").await.expect("missing"), 0);
}

/// Deleting a client's access tokens leaves its other tokens and other clients' alone.
pub async fn delete_client_access_tokens_only<S: Store>(s: &S) {
    let doomed = [
        token("dc-access-1", TokenKind::AccessToken, "dc-g1", "dc-c1"),
        token("dc-access-2", TokenKind::AccessToken, "dc-g2", "dc-c1"),
    ];
    let kept = [
        token("dc-refresh", TokenKind::RefreshToken, "dc-g1", "dc-c1"),
        token("dc-code", TokenKind::AuthorizationCode, "dc-g1", "dc-c1"),
        token("dc-other", TokenKind::AccessToken, "dc-g3", "dc-c2"),
    ];
    s.insert_tokens(&doomed).await.expect("insert");
    s.insert_tokens(&kept).await.expect("insert");
    read_back(s, &doomed).await;

    assert_eq!(s.delete_client_access_tokens("dc-c1").await.expect("delete"), 2);
    for r in &doomed {
        assert_eq!(get_token(s, r.kind, &r.signature).await, None, "{} is deleted", r.signature);
    }
    for r in &kept {
        assert_eq!(get_token(s, r.kind, &r.signature).await.as_ref(), Some(r), "{} is kept", r.signature);
    }
    assert_eq!(s.delete_client_access_tokens("dc-c1").await.expect("again"), 0);
}

/// A code is consumed once; replays see it used; other kinds are not codes.
pub async fn consume_code<S: Store>(s: &S) {
    let code = token("cc-code", TokenKind::AuthorizationCode, "cc-grant", "cc-client");
    let access = token("cc-access", TokenKind::AccessToken, "cc-grant", "cc-client");
    let revoked = token("cc-revoked", TokenKind::AuthorizationCode, "cc-grant-2", "cc-client");
    s.insert_tokens(&[code.clone(), access.clone(), revoked.clone()]).await.expect("insert");
    read_back(s, &[code.clone(), revoked.clone()]).await;

    assert_eq!(
        s.consume_code("cc-code", 1_000, &[]).await.expect("consume"),
        Consumed::Consumed(code.clone()),
        "as it was"
    );
    let used = TokenRecord { active: false, used_at: Some(1_000), ..code };
    assert_eq!(get_token(s, TokenKind::AuthorizationCode, "cc-code").await.as_ref(), Some(&used), "consumed at 1000");
    assert_eq!(
        s.consume_code("cc-code", 2_000, &[]).await.expect("replay"),
        Consumed::AlreadyUsed(used.clone()),
        "replay"
    );
    assert_eq!(get_token(s, TokenKind::AuthorizationCode, "cc-code").await, Some(used), "a replay changes nothing");

    // A replay stores nothing it brought.
    let late = token("cc-late", TokenKind::AccessToken, "cc-grant", "cc-client");
    assert!(matches!(
        s.consume_code("cc-code", 2_500, std::slice::from_ref(&late)).await,
        Ok(Consumed::AlreadyUsed(_))
    ));
    assert_eq!(get_token(s, TokenKind::AccessToken, "cc-late").await, None, "a replay's tokens are not stored");
    assert_eq!(s.consume_code("cc-missing", 1_000, &[]).await.expect("missing"), Consumed::Missing);
    assert_eq!(s.consume_code("cc-access", 1_000, &[]).await.expect("wrong kind"), Consumed::Missing, "not a code");
    assert_eq!(get_token(s, TokenKind::AccessToken, "cc-access").await, Some(access), "the access token is untouched");

    assert!(s.revoke_token(TokenKind::AuthorizationCode, "cc-revoked").await.expect("revoke"));
    let inactive = TokenRecord { active: false, ..revoked };
    assert_eq!(
        s.consume_code("cc-revoked", 1_000, &[]).await.expect("consume"),
        Consumed::AlreadyUsed(inactive),
        "revoked"
    );
}

/// A refresh token rotates once, storing its successors with it; nothing else stores any.
pub async fn rotate_refresh_token<S: Store>(s: &S) {
    let old = token("rt-old", TokenKind::RefreshToken, "rt-grant", "rt-client");
    let code = token("rt-code", TokenKind::AuthorizationCode, "rt-grant", "rt-client");
    s.insert_tokens(&[old.clone(), code.clone()]).await.expect("insert");
    read_back(s, std::slice::from_ref(&old)).await;

    let first = [
        token("rt-a1", TokenKind::AccessToken, "rt-grant", "rt-client"),
        token("rt-r1", TokenKind::RefreshToken, "rt-grant", "rt-client"),
    ];
    assert_eq!(s.rotate_refresh_token("rt-old", 1_000, &first).await.expect("rotate"), Rotated::Rotated(old.clone()));
    let retired = TokenRecord { active: false, used_at: Some(1_000), ..old };
    assert_eq!(get_token(s, TokenKind::RefreshToken, "rt-old").await.as_ref(), Some(&retired), "retired at 1000");
    for r in &first {
        assert_eq!(get_token(s, r.kind, &r.signature).await.as_ref(), Some(r), "successor {} stored", r.signature);
    }

    let second = [
        token("rt-a2", TokenKind::AccessToken, "rt-grant", "rt-client"),
        token("rt-r2", TokenKind::RefreshToken, "rt-grant", "rt-client"),
    ];
    assert_eq!(
        s.rotate_refresh_token("rt-old", 2_000, &second).await.expect("reuse"),
        Rotated::AlreadyUsed(retired.clone())
    );
    for r in &second {
        assert_eq!(get_token(s, r.kind, &r.signature).await, None, "a reuse stores nothing ({})", r.signature);
    }
    assert_eq!(get_token(s, TokenKind::RefreshToken, "rt-old").await, Some(retired), "a reuse changes nothing");

    let orphan = [token("rt-a3", TokenKind::AccessToken, "rt-grant", "rt-client")];
    assert_eq!(s.rotate_refresh_token("rt-missing", 1_000, &orphan).await.expect("missing"), Rotated::Missing);
    assert_eq!(s.rotate_refresh_token("rt-code", 1_000, &orphan).await.expect("wrong kind"), Rotated::Missing);
    assert_eq!(get_token(s, TokenKind::AccessToken, "rt-a3").await, None, "no successor without a rotation");
    assert_eq!(get_token(s, TokenKind::AuthorizationCode, "rt-code").await, Some(code), "the code is untouched");

    // A successor whose signature is taken fails the whole rotation.
    let next = token("rt-next", TokenKind::RefreshToken, "rt-grant-2", "rt-client");
    s.insert_tokens(std::slice::from_ref(&next)).await.expect("insert");
    let clashing = [token("rt-a4", TokenKind::AccessToken, "rt-grant-2", "rt-client"), first[0].clone()];
    assert_conflict(s.rotate_refresh_token("rt-next", 3_000, &clashing).await, "a successor reusing a signature");
    assert_eq!(
        get_token(s, TokenKind::RefreshToken, "rt-next").await,
        Some(next.clone()),
        "the old token stays active"
    );
    assert_eq!(get_token(s, TokenKind::AccessToken, "rt-a4").await, None, "no successor is stored");

    assert_eq!(
        s.rotate_refresh_token("rt-next", 4_000, &[]).await.expect("rotate"),
        Rotated::Rotated(next),
        "no successors"
    );
}

/// The janitor deletes expired records in bounded batches and nothing else.
pub async fn delete_expired_tokens<S: Store>(s: &S) {
    let expired: Vec<TokenRecord> = (0..5)
        .map(|i| TokenRecord {
            expires_at: 100 + i,
            ..token(&format!("ex-{i}"), TokenKind::AccessToken, "ex-grant", "ex-client")
        })
        .collect();
    let edge = TokenRecord { expires_at: 1_000, ..token("ex-edge", TokenKind::RefreshToken, "ex-grant", "ex-client") };
    let live =
        TokenRecord { expires_at: 2_000, ..token("ex-live", TokenKind::AuthorizationCode, "ex-grant", "ex-client") };
    s.insert_tokens(&expired).await.expect("insert");
    s.insert_tokens(&[edge.clone(), live.clone()]).await.expect("insert");

    assert_eq!(s.delete_expired_tokens(1_000, 0).await.expect("janitor"), 0, "limit 0 deletes nothing");
    assert_eq!(present(s, &expired).await, 5);
    assert_eq!(s.delete_expired_tokens(1_000, 3).await.expect("janitor"), 3, "bounded by the limit");
    assert_eq!(present(s, &expired).await, 2);
    assert_eq!(s.delete_expired_tokens(1_000, 3).await.expect("janitor"), 2, "the rest");
    assert_eq!(present(s, &expired).await, 0);
    assert_eq!(s.delete_expired_tokens(1_000, 3).await.expect("janitor"), 0, "nothing left");
    assert_eq!(get_token(s, edge.kind, "ex-edge").await, Some(edge), "expiring at `before` is not expired before it");
    assert_eq!(get_token(s, live.kind, "ex-live").await, Some(live.clone()));
    assert_eq!(s.delete_expired_tokens(1_001, 100).await.expect("janitor"), 1, "only the edge record");
    assert_eq!(get_token(s, live.kind, "ex-live").await, Some(live), "unexpired records stay");
}

/// Key sets: add, conflict, oldest first, delete one, delete a set.
pub async fn keys<S: Store>(s: &S) {
    let (b, a, c) = (key("keys-set", "kid-b", 200), key("keys-set", "kid-a", 100), key("keys-set", "kid-c", 100));
    for k in [&b, &a, &c] {
        s.add_key(k).await.expect("add");
    }
    assert_eq!(
        s.get_key_set("keys-set").await.expect("get"),
        [a.clone(), c.clone(), b.clone()],
        "by created_at, then kid"
    );

    let impostor = StoredKey { sealed: "v1.other".into(), created_at: 1, ..a.clone() };
    assert_conflict(s.add_key(&impostor).await, "a kid taken in the set");
    let other_set = key("keys-other", "kid-a", 50);
    s.add_key(&other_set).await.expect("the same kid in another set");
    s.add_key(&key("keys-set", "KID-A", 300)).await.expect("kids are case-sensitive");
    assert_eq!(s.get_key_set("keys-set").await.expect("get").len(), 4, "the conflict stored nothing");
    assert_eq!(s.get_key_set("keys-set").await.expect("get")[0], a, "the original kid-a is kept");
    assert!(s.get_key_set("keys-none").await.expect("get").is_empty());

    assert!(s.delete_key("keys-set", "KID-A").await.expect("delete"));
    assert!(s.delete_key("keys-set", "kid-c").await.expect("delete"));
    assert!(!s.delete_key("keys-set", "kid-c").await.expect("delete again"), "already gone");
    assert!(!s.delete_key("keys-set", "kid-zzz").await.expect("delete missing"));
    assert_eq!(s.get_key_set("keys-set").await.expect("get"), [a, b]);

    assert_eq!(s.delete_key_set("keys-set").await.expect("delete set"), 2);
    assert!(s.get_key_set("keys-set").await.expect("get").is_empty());
    assert_eq!(s.get_key_set("keys-other").await.expect("get"), [other_set], "another set is untouched");
    assert_eq!(s.delete_key_set("keys-set").await.expect("delete set"), 0);
}

/// Every key of every set (by set, oldest first), and re-sealing as a compare-and-set on
/// the sealed value: of concurrent re-seals of one key exactly one wins.
pub async fn reseal_key_is_compare_and_set<S: Store>(s: &S) {
    let (a2, a1, b1) = (key("reseal-a", "k2", 20), key("reseal-a", "k1", 10), key("reseal-b", "k1", 5));
    for k in [&a2, &b1, &a1] {
        s.add_key(k).await.expect("add");
    }
    let listed =
        |all: Vec<StoredKey>| -> Vec<StoredKey> { all.into_iter().filter(|k| k.set.starts_with("reseal-")).collect() };
    assert_eq!(listed(s.list_keys().await.expect("list")), [a1.clone(), a2.clone(), b1.clone()]);

    assert!(!s.reseal_key("reseal-a", "k1", "not-the-value", "v2").await.expect("reseal"), "a stale value");
    assert!(!s.reseal_key("reseal-a", "k9", &a1.sealed, "v2").await.expect("reseal"), "no such key");
    assert!(!s.reseal_key("reseal-b", "k2", &a2.sealed, "v2").await.expect("reseal"), "another set's value");
    assert!(s.reseal_key("reseal-a", "k1", &a1.sealed, "v2").await.expect("reseal"));
    assert!(!s.reseal_key("reseal-a", "k1", &a1.sealed, "v3").await.expect("reseal"), "already re-sealed");
    let resealed = StoredKey { sealed: "v2".into(), ..a1.clone() };
    assert_eq!(s.get_key_set("reseal-a").await.expect("get"), [resealed.clone(), a2.clone()], "only k1 changed");

    let wins =
        futures::future::join_all((0..RACERS).map(|i| async move {
            s.reseal_key("reseal-a", "k2", "v1.sealed-reseal-a-k2", &format!("race-{i}")).await
        }))
        .await;
    assert_eq!(wins.iter().filter(|w| matches!(w, Ok(true))).count(), 1, "{wins:?}");
    let after = s.get_key_set("reseal-a").await.expect("get");
    assert!(after[1].sealed.starts_with("race-"), "{after:?}");
    assert_eq!(s.delete_key_set("reseal-a").await.expect("delete"), 2);
    assert_eq!(s.delete_key_set("reseal-b").await.expect("delete"), 1);
}

/// Of concurrent consumptions of one code exactly one wins, and only its tokens are stored.
pub async fn concurrent_consume_code<S: Store>(s: &S) {
    let code = token("cx-code", TokenKind::AuthorizationCode, "cx-grant", "cx-client");
    s.insert_tokens(&[code]).await.expect("insert");
    let issued: Vec<[TokenRecord; 1]> = (0..RACERS)
        .map(|i| [token(&format!("cx-issued-{i}"), TokenKind::AccessToken, "cx-grant", "cx-client")])
        .collect();
    let results =
        join_all(issued.iter().enumerate().map(|(i, t)| s.consume_code("cx-code", 5_000 + i as i64, t))).await;
    let outcomes = tally(&results, |c| match c {
        Consumed::Consumed(_) => "Consumed",
        Consumed::AlreadyUsed(_) => "AlreadyUsed",
        Consumed::Missing => "Missing",
    });
    assert_eq!(outcomes, one_winner("Consumed", "AlreadyUsed"), "exactly one consumes the code, the others replay");
    let won = winner(&results, |c| matches!(c, Consumed::Consumed(_)));
    let stored = get_token(s, TokenKind::AuthorizationCode, "cx-code").await.expect("kept");
    assert_eq!((stored.active, stored.used_at), (false, Some(5_000 + won as i64)), "the winner's write stands");
    for (i, t) in issued.iter().enumerate() {
        let found = get_token(s, TokenKind::AccessToken, &t[0].signature).await;
        assert_eq!(found.is_some(), i == won, "only the winner's tokens are stored ({})", t[0].signature);
    }
}

/// Of concurrent rotations of one refresh token exactly one wins and stores successors.
pub async fn concurrent_rotate_refresh_token<S: Store>(s: &S) {
    s.insert_tokens(&[token("cx-refresh", TokenKind::RefreshToken, "cx-grant", "cx-client")]).await.expect("insert");
    let successors: Vec<[TokenRecord; 2]> = (0..RACERS)
        .map(|i| {
            [
                token(&format!("cx-a-{i}"), TokenKind::AccessToken, "cx-grant", "cx-client"),
                token(&format!("cx-r-{i}"), TokenKind::RefreshToken, "cx-grant", "cx-client"),
            ]
        })
        .collect();
    let results = join_all(
        successors.iter().enumerate().map(|(i, next)| s.rotate_refresh_token("cx-refresh", 6_000 + i as i64, next)),
    )
    .await;
    let outcomes = tally(&results, |r| match r {
        Rotated::Rotated(_) => "Rotated",
        Rotated::AlreadyUsed(_) => "AlreadyUsed",
        Rotated::Missing => "Missing",
    });
    assert_eq!(outcomes, one_winner("Rotated", "AlreadyUsed"), "exactly one rotates, the others reuse");
    let won = winner(&results, |r| matches!(r, Rotated::Rotated(_)));
    for (i, next) in successors.iter().enumerate() {
        for r in next {
            let stored = get_token(s, r.kind, &r.signature).await;
            if i == won {
                assert_eq!(stored.as_ref(), Some(r), "the winner's successor {} is stored", r.signature);
            } else {
                assert_eq!(stored, None, "a loser's successor {} is not stored", r.signature);
            }
        }
    }
    let old = get_token(s, TokenKind::RefreshToken, "cx-refresh").await.expect("kept");
    assert_eq!((old.active, old.used_at), (false, Some(6_000 + won as i64)), "the winner's write stands");
}

/// Of concurrent revocations of one token exactly one reports the change.
pub async fn concurrent_revoke_token<S: Store>(s: &S) {
    s.insert_tokens(&[token("cx-access", TokenKind::AccessToken, "cx-grant-r", "cx-client")]).await.expect("insert");
    let results = join_all((0..RACERS).map(|_| s.revoke_token(TokenKind::AccessToken, "cx-access"))).await;
    let outcomes = tally(&results, |&changed| if changed { "changed" } else { "unchanged" });
    assert_eq!(outcomes, one_winner("changed", "unchanged"), "exactly one revocation changes the token");
    assert!(!get_token(s, TokenKind::AccessToken, "cx-access").await.expect("kept").active);
}

/// Create, read, conflict, delete.
pub async fn login_session_crud<S: Store>(s: &S) {
    let session = login_session("lsc-1", "lsc-user");
    s.create_login_session(&session).await.expect("create");
    assert_eq!(s.get_login_session("lsc-1").await.expect("get"), Some(session.clone()), "reads back as stored");
    assert_eq!(s.get_login_session("lsc-missing").await.expect("get missing"), None);
    assert_eq!(s.get_login_session("LSC-1").await.expect("get"), None, "ids are case-sensitive");

    let impostor = LoginSession { subject: "lsc-impostor".into(), amr: vec![], ..session.clone() };
    assert_conflict(s.create_login_session(&impostor).await, "create with a taken id");
    assert_eq!(s.get_login_session("lsc-1").await.expect("get"), Some(session.clone()), "a conflict changes nothing");

    // Empty and unusual values survive, and an expired session still reads back.
    let bare = LoginSession {
        acr: String::new(),
        amr: vec![],
        // Ended, it expires at 1100: after delete_expired_login_sessions' `before`.
        authenticated_at: 1_100,
        expires_at: 1_200,
        ..login_session("lsc-2", "lsc-üser ✓")
    };
    s.create_login_session(&bare).await.expect("create bare");
    assert_eq!(s.get_login_session("lsc-2").await.expect("get"), Some(bare), "an expired session is still returned");
    assert!(s.end_login_session("lsc-2").await.expect("end"), "an expired session ends too");

    // Ending a session expires it at its authentication and keeps its row: the id stays
    // taken (a replayed login verifier cannot create the session again), once only.
    assert!(s.end_login_session("lsc-1").await.expect("end"));
    let ended = LoginSession { expires_at: session.authenticated_at, ..session.clone() };
    assert_eq!(s.get_login_session("lsc-1").await.expect("get"), Some(ended.clone()));
    assert!(!s.end_login_session("lsc-1").await.expect("end again"), "the second end finds nothing live");
    assert_conflict(s.create_login_session(&session).await, "an ended session's id stays taken");
    assert_eq!(s.get_login_session("lsc-1").await.expect("get"), Some(ended), "and it stays ended");
    assert!(!s.end_login_session("lsc-missing").await.expect("end missing"));
}

/// Deleting a subject's sessions leaves other subjects' alone.
pub async fn end_login_sessions_of_subject<S: Store>(s: &S) {
    let mine: Vec<LoginSession> = (0..3).map(|i| login_session(&format!("lss-{i}"), "lss-user")).collect();
    let theirs = [login_session("lss-other", "lss-someone-else"), login_session("lss-case", "LSS-USER")];
    for session in mine.iter().chain(&theirs) {
        s.create_login_session(session).await.expect("create");
    }

    assert_eq!(s.end_login_sessions_of_subject("lss-user").await.expect("end"), 3);
    for session in &mine {
        let ended = s.get_login_session(&session.id).await.expect("get").expect("the row stays");
        assert_eq!(ended.expires_at, ended.authenticated_at, "{} is ended", session.id);
    }
    for session in &theirs {
        let kept = s.get_login_session(&session.id).await.expect("get");
        assert_eq!(kept.as_ref(), Some(session), "{} is kept (subjects are case-sensitive)", session.id);
    }
    assert_eq!(s.end_login_sessions_of_subject("lss-user").await.expect("again"), 0);
    assert_eq!(s.end_login_sessions_of_subject("lss-nobody").await.expect("nobody"), 0);
}

/// `extend_login_session` moves the expiry of a live session of the subject only.
pub async fn extend_login_session_only_while_live<S: Store>(s: &S) {
    // Authenticated at 1500 (so that, ended, it expires after the janitor case's `before`).
    let session = LoginSession { authenticated_at: 1_500, expires_at: 2_000, ..login_session("lse-1", "lse-user") };
    s.create_login_session(&session).await.expect("create");
    assert!(!s.extend_login_session("lse-1", "lse-other", 9_000, 1_000).await.expect("extend"), "another subject");
    assert!(!s.extend_login_session("lse-none", "lse-user", 9_000, 1_000).await.expect("extend"), "no such session");
    assert!(!s.extend_login_session("lse-1", "lse-user", 9_000, 2_000).await.expect("extend"), "expired at 2000");
    assert_eq!(s.get_login_session("lse-1").await.expect("get"), Some(session.clone()), "unchanged");
    assert!(s.extend_login_session("lse-1", "lse-user", 9_000, 1_999).await.expect("extend"), "live until 2000");
    let extended = LoginSession { expires_at: 9_000, ..session };
    assert_eq!(s.get_login_session("lse-1").await.expect("get"), Some(extended), "only the expiry moved");
    assert!(s.end_login_session("lse-1").await.expect("end"));
    assert!(!s.extend_login_session("lse-1", "lse-user", 9_500, 1_600).await.expect("extend"), "ended stays ended");
    assert_eq!(s.get_login_session("lse-1").await.expect("get").map(|e| e.expires_at), Some(1_500));
}

/// The janitor deletes expired sessions in bounded batches and nothing else.
pub async fn delete_expired_login_sessions<S: Store>(s: &S) {
    let expired: Vec<LoginSession> = (0..5)
        .map(|i| LoginSession { expires_at: 100 + i, ..login_session(&format!("lsx-{i}"), "lsx-user") })
        .collect();
    let edge = LoginSession { expires_at: 1_000, ..login_session("lsx-edge", "lsx-user") };
    let live = LoginSession { expires_at: 2_000, ..login_session("lsx-live", "lsx-user") };
    for session in expired.iter().chain([&edge, &live]) {
        s.create_login_session(session).await.expect("create");
    }
    let remaining = || async {
        let mut n = 0;
        for session in &expired {
            n += usize::from(s.get_login_session(&session.id).await.expect("get").is_some());
        }
        n
    };

    assert_eq!(s.delete_expired_login_sessions(1_000, 0).await.expect("janitor"), 0, "limit 0 deletes nothing");
    assert_eq!(remaining().await, 5);
    assert_eq!(s.delete_expired_login_sessions(1_000, 3).await.expect("janitor"), 3, "bounded by the limit");
    assert_eq!(remaining().await, 2);
    assert_eq!(s.delete_expired_login_sessions(1_000, 3).await.expect("janitor"), 2, "the rest");
    assert_eq!(remaining().await, 0);
    assert_eq!(s.delete_expired_login_sessions(1_000, 3).await.expect("janitor"), 0, "nothing left");
    assert_eq!(s.get_login_session("lsx-edge").await.expect("get"), Some(edge), "expiring at `before` is kept");
    assert_eq!(s.get_login_session("lsx-live").await.expect("get"), Some(live.clone()));
    assert_eq!(s.delete_expired_login_sessions(1_001, 100).await.expect("janitor"), 1, "only the edge session");
    assert_eq!(s.get_login_session("lsx-live").await.expect("get"), Some(live), "unexpired sessions stay");
}

/// A completed consent and its tokens read back whole; a second completion of the same
/// id (a replayed verifier) conflicts and stores none of its tokens.
pub async fn complete_consent_stores_consent_and_tokens<S: Store>(s: &S) {
    let full = consent("ccs-1", "ccs-client", "ccs-user", 1_000);
    let tokens = [
        token("ccs-code", TokenKind::AuthorizationCode, "ccs-1", "ccs-client"),
        token("ccs-access", TokenKind::AccessToken, "ccs-1", "ccs-client"),
    ];
    s.complete_consent(&full, &tokens).await.expect("complete");
    for r in &tokens {
        assert_eq!(get_token(s, r.kind, &r.signature).await.as_ref(), Some(r), "{} is stored", r.signature);
    }
    assert_eq!(list_consents(s, "ccs-user", None).await, std::slice::from_ref(&full), "the consent reads back whole");

    // Empty and absent values survive; a consent may come without tokens.
    let bare = ConsentRecord {
        login_session_id: None,
        granted_scope: vec![],
        granted_audience: vec![],
        remember: false,
        remember_until: Some(-7),
        data: serde_json::Value::Null,
        ..consent("ccs-2", "ccs-client", "ccs-user", 900)
    };
    s.complete_consent(&bare, &[]).await.expect("complete without tokens");
    // Scope values are kept exactly, whatever they contain.
    let odd = ConsentRecord {
        granted_scope: vec!["a b".into(), String::new(), "ü".into()],
        remember_until: Some(FAR),
        ..consent("ccs-3", "ccs-client", "ccs-user", 800)
    };
    s.complete_consent(&odd, &[]).await.expect("complete");
    assert_eq!(list_consents(s, "ccs-user", None).await, [full.clone(), bare, odd]);

    let replay = ConsentRecord { client_id: "ccs-evil".into(), handled_at: 2_000, ..full.clone() };
    let replay_tokens = [
        token("ccs-code-2", TokenKind::AuthorizationCode, "ccs-1", "ccs-evil"),
        token("ccs-access-2", TokenKind::AccessToken, "ccs-1", "ccs-evil"),
    ];
    assert_conflict(s.complete_consent(&replay, &replay_tokens).await, "a second completion of one consent");
    for r in &replay_tokens {
        assert_eq!(get_token(s, r.kind, &r.signature).await, None, "the replay's {} is not stored", r.signature);
    }
    assert_eq!(list_consents(s, "ccs-user", None).await[0], full, "the first consent is kept");
    assert_conflict(s.complete_consent(&full, &[]).await, "a replay without tokens");
}

/// A token that cannot be stored fails the completion: the consent is not stored.
pub async fn complete_consent_is_all_or_nothing<S: Store>(s: &S) {
    let taken = token("cca-taken", TokenKind::AccessToken, "cca-other-grant", "cca-client");
    s.insert_tokens(std::slice::from_ref(&taken)).await.expect("insert");

    let c = consent("cca-1", "cca-client", "cca-user", 1_000);
    let fresh = token("cca-fresh", TokenKind::AuthorizationCode, "cca-1", "cca-client");
    let clash = TokenRecord { request_id: "cca-1".into(), ..taken.clone() };
    assert_conflict(s.complete_consent(&c, &[fresh.clone(), clash]).await, "a token reusing a signature");
    assert!(list_consents(s, "cca-user", None).await.is_empty(), "the consent is not stored");
    assert_eq!(get_token(s, fresh.kind, "cca-fresh").await, None, "no token of the failed completion is stored");
    assert_eq!(get_token(s, taken.kind, "cca-taken").await, Some(taken), "the existing token is untouched");

    // Tokens repeating a signature among themselves conflict too, and store nothing.
    let twin = TokenRecord { kind: TokenKind::AccessToken, ..fresh.clone() };
    assert_conflict(s.complete_consent(&c, &[fresh.clone(), twin]).await, "a batch repeating a signature");
    assert!(list_consents(s, "cca-user", None).await.is_empty(), "the consent is not stored");
    assert_eq!(get_token(s, fresh.kind, "cca-fresh").await, None, "no token of the failed completion is stored");

    // Nothing was left behind: the same completion with good tokens goes through.
    s.complete_consent(&c, std::slice::from_ref(&fresh)).await.expect("complete");
    assert_eq!(list_consents(s, "cca-user", None).await, [c]);
    assert_eq!(get_token(s, fresh.kind, "cca-fresh").await, Some(fresh));
}

/// Only remembered consents in force, of that subject and client, newest first (ties
/// by id, bytewise).
pub async fn remembered_consents_filter_and_order<S: Store>(s: &S) {
    let (user, client) = ("rm-user", "rm-client");
    let forever = consent("rm-a", client, user, 300);
    let until_later = ConsentRecord { remember_until: Some(2_000), ..consent("rm-b", client, user, 500) };
    // Same time as rm-b: by id, and 'B' (0x42) sorts before 'b' (0x62) bytewise.
    let tie = consent("rm-B", client, user, 500);
    let newest = consent("rm-n", client, user, 700);
    let ignored = [
        ConsentRecord { remember_until: Some(1_000), ..consent("rm-until-now", client, user, 900) },
        ConsentRecord { remember_until: Some(999), ..consent("rm-expired", client, user, 900) },
        ConsentRecord { remember: false, ..consent("rm-not-remembered", client, user, 900) },
        consent("rm-other-client", "rm-client-2", user, 900),
        consent("rm-other-subject", client, "rm-someone-else", 900),
        consent("rm-case-subject", client, "RM-USER", 900),
        consent("rm-case-client", "RM-CLIENT", user, 900),
    ];
    for c in [&forever, &until_later, &tie, &newest].into_iter().chain(&ignored) {
        s.complete_consent(c, &[]).await.expect("complete");
    }

    let found = s.remembered_consents(user, client, 1_000).await.expect("remembered");
    assert_eq!(consent_ids(&found), ["rm-n", "rm-B", "rm-b", "rm-a"], "in force at 1000, newest first");
    assert_eq!(found[2], until_later, "remembered consents read back whole");
    let later = s.remembered_consents(user, client, 2_000).await.expect("remembered");
    assert_eq!(consent_ids(&later), ["rm-n", "rm-B", "rm-a"], "remember_until is exclusive");
    let earlier = s.remembered_consents(user, client, 998).await.expect("remembered");
    assert_eq!(consent_ids(&earlier), ["rm-expired", "rm-until-now", "rm-n", "rm-B", "rm-b", "rm-a"]);
    assert!(s.remembered_consents(user, "rm-nobody", 1_000).await.expect("remembered").is_empty());
    assert!(s.remembered_consents("rm-nobody", client, 1_000).await.expect("remembered").is_empty());
    let other = s.remembered_consents(user, "rm-client-2", 1_000).await.expect("remembered");
    assert_eq!(consent_ids(&other), ["rm-other-client"]);
}

/// Every consent of a subject, or those of one login session, newest first.
pub async fn list_consents_by_login_session<S: Store>(s: &S) {
    let in_session = |id: &str, sid: Option<&str>, at: i64| ConsentRecord {
        login_session_id: sid.map(Into::into),
        ..consent(id, "lc-client", "lc-user", at)
    };
    let consents = [
        in_session("lc-1", Some("lc-s1"), 100),
        in_session("lc-2", Some("lc-s2"), 200),
        ConsentRecord { remember: false, ..in_session("lc-3", Some("lc-s1"), 300) },
        in_session("lc-4", None, 400),
        ConsentRecord { client_id: "lc-client-2".into(), ..in_session("lc-5", Some("lc-s1"), 50) },
        ConsentRecord { subject: "lc-someone-else".into(), ..in_session("lc-6", Some("lc-s1"), 500) },
    ];
    for c in &consents {
        s.complete_consent(c, &[]).await.expect("complete");
    }

    let all = list_consents(s, "lc-user", None).await;
    assert_eq!(consent_ids(&all), ["lc-4", "lc-3", "lc-2", "lc-1", "lc-5"], "every client, remembered or not");
    assert_eq!(all[1], consents[2], "listed consents are whole");
    assert_eq!(consent_ids(&list_consents(s, "lc-user", Some("lc-s1")).await), ["lc-3", "lc-1", "lc-5"]);
    assert_eq!(consent_ids(&list_consents(s, "lc-user", Some("lc-s2")).await), ["lc-2"]);
    assert!(list_consents(s, "lc-user", Some("lc-none")).await.is_empty());
    assert!(list_consents(s, "lc-user", Some("LC-S1")).await.is_empty(), "session ids are case-sensitive");
    assert_eq!(consent_ids(&list_consents(s, "lc-someone-else", Some("lc-s1")).await), ["lc-6"]);
    assert!(list_consents(s, "lc-nobody", None).await.is_empty());
}

/// Revoking the consents of one client deletes them and deactivates their tokens, and
/// touches nothing else; revoking all does the same for every client.
pub async fn revoke_consents_of_one_client_or_all<S: Store>(s: &S) {
    let user = "rc-user";
    let grant = |id: &str, client: &str| {
        let mut code = token(&format!("{id}-code"), TokenKind::AuthorizationCode, id, client);
        (code.active, code.used_at) = (false, Some(1_700_000_001));
        [
            code,
            token(&format!("{id}-access"), TokenKind::AccessToken, id, client),
            token(&format!("{id}-refresh"), TokenKind::RefreshToken, id, client),
        ]
    };
    let c1 = [consent("rc-1a", "rc-c1", user, 100), consent("rc-1b", "rc-c1", user, 200)];
    let c2 = consent("rc-2", "rc-c2", user, 300);
    let other = consent("rc-o", "rc-c1", "rc-someone-else", 400);
    let (t1a, t1b, t2, to) =
        (grant("rc-1a", "rc-c1"), grant("rc-1b", "rc-c1"), grant("rc-2", "rc-c2"), grant("rc-o", "rc-c1"));
    s.complete_consent(&c1[0], &t1a).await.expect("complete");
    s.complete_consent(&c1[1], &t1b).await.expect("complete");
    s.complete_consent(&c2, &t2).await.expect("complete");
    s.complete_consent(&other, &to).await.expect("complete");
    // A token of the subject and client outside any consent.
    let loose = token("rc-loose", TokenKind::AccessToken, "rc-loose-grant", "rc-c1");
    s.insert_tokens(std::slice::from_ref(&loose)).await.expect("insert");

    let assert_revoked = |records: &[TokenRecord]| {
        let records = records.to_vec();
        async move {
            for r in &records {
                let now = get_token(s, r.kind, &r.signature).await.expect("tokens are kept");
                assert_eq!(
                    now,
                    TokenRecord { active: false, ..r.clone() },
                    "{} is inactive, otherwise unchanged",
                    r.signature
                );
            }
        }
    };
    let assert_untouched = |records: &[TokenRecord]| {
        let records = records.to_vec();
        async move {
            for r in &records {
                assert_eq!(get_token(s, r.kind, &r.signature).await.as_ref(), Some(r), "{} is untouched", r.signature);
            }
        }
    };

    assert_eq!(s.revoke_consents(user, Some("rc-c1")).await.expect("revoke"), 2, "both consents of rc-c1");
    assert_eq!(list_consents(s, user, None).await, std::slice::from_ref(&c2), "the other client's consent is kept");
    assert!(s.remembered_consents(user, "rc-c1", 0).await.expect("remembered").is_empty());
    assert_revoked(&t1a).await;
    assert_revoked(&t1b).await;
    assert_untouched(&t2).await;
    assert_untouched(&to).await;
    assert_untouched(std::slice::from_ref(&loose)).await;
    assert_eq!(
        list_consents(s, "rc-someone-else", None).await,
        std::slice::from_ref(&other),
        "another subject's consent is kept"
    );
    assert_eq!(s.revoke_consents(user, Some("rc-c1")).await.expect("again"), 0, "nothing left for rc-c1");
    assert_eq!(s.revoke_consents(user, Some("rc-nobody")).await.expect("no such client"), 0);

    assert_eq!(s.revoke_consents(user, None).await.expect("revoke all"), 1, "the rest");
    assert!(list_consents(s, user, None).await.is_empty());
    assert_revoked(&t2).await;
    assert_untouched(&to).await;
    assert_untouched(std::slice::from_ref(&loose)).await;
    assert_eq!(list_consents(s, "rc-someone-else", None).await, [other], "another subject's consent is kept");
    assert_eq!(s.revoke_consents(user, None).await.expect("again"), 0, "nothing left");
    assert_eq!(s.revoke_consents("RC-USER", None).await.expect("case"), 0);
}

/// A revoked consent is listed, remembered and revoked by nobody, but its id stays taken
/// (a consent verifier replayed after the revocation conflicts and stores nothing) until
/// the janitor deletes it, in bounded batches, once handled before `before`; the janitor
/// never deletes a consent in force.
pub async fn revoked_consents_stay_taken_until_the_janitor<S: Store>(s: &S) {
    let user = "rk-user";
    // Other cases' revoked consents were all handled before T: the janitor takes them first.
    const T: i64 = 1_800_000_000;
    s.delete_revoked_consents(T, u32::MAX).await.expect("janitor");
    let old = [consent("rk-old-1", "rk-c", user, T + 100), consent("rk-old-2", "rk-c", user, T + 200)];
    let young = consent("rk-young", "rk-d", user, T + 2_000);
    let live = consent("rk-live", "rk-e", user, T + 50);
    for c in old.iter().chain([&young, &live]) {
        s.complete_consent(c, &[]).await.expect("complete");
    }
    assert_eq!(s.revoke_consents(user, Some("rk-c")).await.expect("revoke"), 2);
    assert!(s.revoke_consent("rk-young").await.expect("revoke"));
    assert!(!s.revoke_consent("rk-young").await.expect("again"), "revoked once");
    assert_eq!(s.revoke_consents(user, Some("rk-c")).await.expect("again"), 0, "revoked once");
    assert_eq!(list_consents(s, user, None).await, std::slice::from_ref(&live), "revoked consents are not listed");
    assert!(s.remembered_consents(user, "rk-c", 0).await.expect("remembered").is_empty());
    let replay = token("rk-replay", TokenKind::AuthorizationCode, "rk-young", "rk-d");
    assert_conflict(s.complete_consent(&young, std::slice::from_ref(&replay)).await, "a revoked consent again");
    assert_eq!(get_token(s, replay.kind, "rk-replay").await, None, "the replay stores no token");

    assert_eq!(s.delete_revoked_consents(T + 1_000, 1).await.expect("janitor"), 1, "bounded by the limit");
    assert_eq!(s.delete_revoked_consents(T + 1_000, 10).await.expect("janitor"), 1, "the other old one");
    assert_eq!(s.delete_revoked_consents(T + 1_000, 10).await.expect("janitor"), 0, "young and live ones stay");
    assert_conflict(s.complete_consent(&young, &[]).await, "the young revoked consent's id is still taken");
    assert_eq!(list_consents(s, user, None).await, std::slice::from_ref(&live), "the live consent stays");
    s.complete_consent(&old[0], &[]).await.expect("a deleted revoked consent's id is free");
    assert_eq!(s.delete_revoked_consents(T + 3_000, 10).await.expect("janitor"), 1, "the young one, later");
    assert_eq!(s.revoke_consents(user, None).await.expect("revoke all"), 2);
}

/// Revoking one consent by id deletes it and deactivates its tokens only; an id that is
/// no consent's (a client-credentials grant's) revokes nothing.
pub async fn revoke_one_consent_by_id<S: Store>(s: &S) {
    let user = "rci-user";
    let a = consent("rci-a", "rci-c", user, 100);
    let b = consent("rci-b", "rci-c", user, 200);
    let ta = [token("rci-a-access", TokenKind::AccessToken, "rci-a", "rci-c")];
    let tb = [token("rci-b-access", TokenKind::AccessToken, "rci-b", "rci-c")];
    s.complete_consent(&a, &ta).await.expect("complete");
    s.complete_consent(&b, &tb).await.expect("complete");
    let loose = token("rci-cc", TokenKind::AccessToken, "rci-cc-grant", "rci-c");
    s.insert_tokens(std::slice::from_ref(&loose)).await.expect("insert");

    assert!(s.revoke_consent("rci-a").await.expect("revoke"), "rci-a existed");
    assert_eq!(list_consents(s, user, None).await, std::slice::from_ref(&b), "only rci-a went");
    let now = get_token(s, TokenKind::AccessToken, "rci-a-access").await.expect("kept");
    assert_eq!(now, TokenRecord { active: false, ..ta[0].clone() }, "rci-a's token is inactive");
    assert_eq!(get_token(s, TokenKind::AccessToken, "rci-b-access").await.as_ref(), Some(&tb[0]), "rci-b's is not");
    assert!(!s.revoke_consent("rci-a").await.expect("again"), "nothing left");
    assert!(!s.revoke_consent("rci-cc-grant").await.expect("not a consent"), "no consent with that id");
    assert_eq!(
        get_token(s, TokenKind::AccessToken, "rci-cc").await.as_ref(),
        Some(&loose),
        "a grant that is no consent"
    );
}

/// Of concurrent completions of one consent exactly one succeeds, and only its token is
/// stored.
pub async fn concurrent_complete_consent<S: Store>(s: &S) {
    let candidates: Vec<(ConsentRecord, [TokenRecord; 1])> = (0..RACERS)
        .map(|i| {
            let c =
                ConsentRecord { data: json!({"racer": i}), ..consent("cxc-consent", "cxc-client", "cxc-user", 1_000) };
            (c, [token(&format!("cxc-code-{i}"), TokenKind::AuthorizationCode, "cxc-consent", "cxc-client")])
        })
        .collect();
    let results = join_all(candidates.iter().map(|(c, t)| s.complete_consent(c, t))).await;
    let outcomes = tally(&results, |()| "completed");
    let conflicts = results.iter().filter(|r| matches!(r, Err(StoreError::Conflict(_)))).count();
    assert_eq!(
        (outcomes.get("completed"), conflicts),
        (Some(&1), RACERS - 1),
        "one completes, the others conflict: {outcomes:?}"
    );
    let won = winner(&results, |()| true);
    assert_eq!(list_consents(s, "cxc-user", None).await, [candidates[won].0.clone()], "the winner's consent is stored");
    for (i, (_, [t])) in candidates.iter().enumerate() {
        let stored = get_token(s, t.kind, &t.signature).await;
        if i == won {
            assert_eq!(stored.as_ref(), Some(t), "the winner's token {} is stored", t.signature);
        } else {
            assert_eq!(stored, None, "a loser's token {} is not stored", t.signature);
        }
    }
}

/// Concurrent inserts (which a store may commit together) succeed or fail each on its
/// own: one call whose signature collides fails alone, and the others are all stored.
pub async fn concurrent_inserts_fail_alone<S: Store>(s: &S) {
    s.insert_tokens(&[token("ci-taken", TokenKind::AccessToken, "ci-grant", "ci-client")]).await.expect("insert");
    let calls: Vec<Vec<TokenRecord>> = (0..RACERS)
        .map(|i| {
            let sig = if i == 7 { "ci-taken".to_string() } else { format!("ci-{i}") };
            vec![
                token(&sig, TokenKind::AccessToken, &format!("ci-grant-{i}"), "ci-client"),
                token(&format!("ci-r-{i}"), TokenKind::RefreshToken, &format!("ci-grant-{i}"), "ci-client"),
            ]
        })
        .collect();
    let results = join_all(calls.iter().map(|c| s.insert_tokens(c))).await;
    for (i, r) in results.iter().enumerate() {
        if i == 7 {
            assert!(matches!(r, Err(StoreError::Conflict(_))), "the colliding call conflicts: {r:?}");
            assert_eq!(get_token(s, TokenKind::RefreshToken, "ci-r-7").await, None, "and stores nothing");
        } else {
            assert_eq!(r, &Ok(()), "call {i}");
            assert!(get_token(s, TokenKind::AccessToken, &format!("ci-{i}")).await.is_some(), "call {i} stored");
            assert!(get_token(s, TokenKind::RefreshToken, &format!("ci-r-{i}")).await.is_some(), "call {i} stored");
        }
    }
    // The same with one record per call (SQLite runs those without a savepoint).
    let singles: Vec<TokenRecord> = (0..RACERS)
        .map(|i| {
            let sig = if i == 3 { "ci-taken".to_string() } else { format!("ci-one-{i}") };
            token(&sig, TokenKind::AccessToken, &format!("ci-one-grant-{i}"), "ci-client")
        })
        .collect();
    let results = join_all(singles.iter().map(|r| s.insert_tokens(std::slice::from_ref(r)))).await;
    for (i, r) in results.iter().enumerate() {
        if i == 3 {
            assert!(matches!(r, Err(StoreError::Conflict(_))), "the colliding call conflicts: {r:?}");
            let kept = get_token(s, TokenKind::AccessToken, "ci-taken").await.expect("kept");
            assert_eq!(kept.request_id, "ci-grant", "the stored record is untouched");
        } else {
            assert_eq!(r, &Ok(()), "single call {i}");
            assert_eq!(get_token(s, TokenKind::AccessToken, &format!("ci-one-{i}")).await.as_ref(), Some(&singles[i]));
        }
    }
}

/// A rotation retires the grant's earlier access tokens with the refresh token (as
/// fosite's refresh handler does), stores the successors active, and touches no other
/// grant; a losing rotation changes nothing.
pub async fn rotation_retires_the_grants_access_tokens<S: Store>(s: &S) {
    let old_at = token("rra-a0", TokenKind::AccessToken, "rra-grant", "rra-client");
    let old_rt = token("rra-r0", TokenKind::RefreshToken, "rra-grant", "rra-client");
    let other = token("rra-other", TokenKind::AccessToken, "rra-other-grant", "rra-client");
    s.insert_tokens(&[old_at.clone(), old_rt.clone(), other.clone()]).await.expect("insert");
    read_back(s, &[old_at.clone(), other.clone()]).await;
    let next = [
        token("rra-a1", TokenKind::AccessToken, "rra-grant", "rra-client"),
        token("rra-r1", TokenKind::RefreshToken, "rra-grant", "rra-client"),
    ];
    assert!(matches!(s.rotate_refresh_token("rra-r0", 1_000, &next).await.expect("rotate"), Rotated::Rotated(_)));
    assert_eq!(
        get_token(s, TokenKind::AccessToken, "rra-a0").await,
        Some(TokenRecord { active: false, ..old_at }),
        "the previous access token is retired, otherwise unchanged"
    );
    read_back(s, &next).await;
    assert_eq!(get_token(s, TokenKind::AccessToken, "rra-other").await, Some(other), "another grant is untouched");
    let reuse = [token("rra-a2", TokenKind::AccessToken, "rra-grant", "rra-client")];
    assert!(matches!(s.rotate_refresh_token("rra-r0", 2_000, &reuse).await.expect("reuse"), Rotated::AlreadyUsed(_)));
    read_back(s, &next).await;
    assert_eq!(get_token(s, TokenKind::AccessToken, "rra-a2").await, None, "a reuse stores nothing");
}

/// A grant's rotated refresh token, presented again within the grace period: the
/// re-issue stores its successors (retiring the grant's access tokens) only while a
/// refresh token of the grant is active and unexpired; after any revocation it stores
/// and changes nothing.
pub async fn reissue_within_grace_only_while_live<S: Store>(s: &S) {
    let grant = |id: &str, n: usize| -> [TokenRecord; 2] {
        [
            token(&format!("{id}-a{n}"), TokenKind::AccessToken, id, "rg-client"),
            token(&format!("{id}-r{n}"), TokenKind::RefreshToken, id, "rg-client"),
        ]
    };
    let first = grant("rg-1", 0);
    s.insert_tokens(&first).await.expect("insert");
    let rotated = grant("rg-1", 1);
    assert!(matches!(s.rotate_refresh_token("rg-1-r0", 1_000, &rotated).await.expect("rotate"), Rotated::Rotated(_)));
    let again = grant("rg-1", 2);
    assert!(s.reissue_within_grace("rg-1", 1_001, &again).await.expect("reissue"), "the grant is live");
    read_back(s, &again).await;
    assert!(!get_token(s, TokenKind::AccessToken, "rg-1-a1").await.expect("kept").active, "the access token before");
    assert!(get_token(s, TokenKind::RefreshToken, "rg-1-r1").await.expect("kept").active, "the live refresh token");

    // Revoked: nothing more, ever.
    assert!(s.revoke_grant("rg-1").await.expect("revoke") >= 3);
    let late = grant("rg-1", 3);
    assert!(!s.reissue_within_grace("rg-1", 1_002, &late).await.expect("reissue"), "a revoked grant");
    assert_eq!(present(s, &late).await, 0, "nothing stored");
    for r in rotated.iter().chain(&again) {
        assert!(!get_token(s, r.kind, &r.signature).await.expect("kept").active, "{} stays revoked", r.signature);
    }

    // A grant whose refresh tokens all expired is not live; nor is one without any.
    let mut expiring = grant("rg-2", 0);
    expiring[1].expires_at = 2_000;
    s.insert_tokens(&expiring).await.expect("insert");
    assert!(!s.reissue_within_grace("rg-2", 2_000, &grant("rg-2", 1)).await.expect("reissue"), "expired at 2000");
    assert!(get_token(s, TokenKind::AccessToken, "rg-2-a0").await.expect("kept").active, "nothing changed");
    assert!(s.reissue_within_grace("rg-2", 1_999, &grant("rg-2", 2)).await.expect("reissue"), "live until 2000");
    let access_only = [token("rg-3-a0", TokenKind::AccessToken, "rg-3", "rg-client")];
    s.insert_tokens(&access_only).await.expect("insert");
    assert!(!s.reissue_within_grace("rg-3", 1_000, &grant("rg-3", 1)).await.expect("reissue"), "no refresh token");
    assert!(!s.reissue_within_grace("rg-none", 1_000, &grant("rg-none", 1)).await.expect("reissue"), "no grant");
    assert_eq!(present(s, &grant("rg-none", 1)).await, 0);

    // Revoking the consent, or deleting the client, ends the grant as well.
    let consented = grant("rg-4", 0);
    s.complete_consent(&consent("rg-4", "rg-client-4", "rg-user", 100), &consented).await.expect("complete");
    assert!(s.revoke_consent("rg-4").await.expect("revoke consent"));
    assert!(!s.reissue_within_grace("rg-4", 1_000, &grant("rg-4", 1)).await.expect("reissue"), "consent revoked");
    assert_eq!(present(s, &grant("rg-4", 1)).await, 0);
    let consented = grant("rg-5", 0);
    s.complete_consent(&consent("rg-5", "rg-client-5", "rg-user", 100), &consented).await.expect("complete");
    assert_eq!(s.revoke_consents("rg-user", Some("rg-client-5")).await.expect("revoke consents"), 1);
    assert!(!s.reissue_within_grace("rg-5", 1_000, &grant("rg-5", 1)).await.expect("reissue"), "consents revoked");
    let of_client: Vec<TokenRecord> =
        grant("rg-6", 0).into_iter().map(|t| TokenRecord { client_id: "rg-c6".into(), ..t }).collect();
    s.create_client(&client("rg-c6", "rg", "rg")).await.expect("create");
    s.insert_tokens(&of_client).await.expect("insert");
    assert!(s.delete_client("rg-c6").await.expect("delete client"));
    assert!(!s.reissue_within_grace("rg-6", 1_000, &grant("rg-6", 1)).await.expect("reissue"), "client deleted");
    assert_eq!(present(s, &grant("rg-6", 1)).await, 0);
}

/// Tokens derived from a token (an exchanged one) are stored only while it is active and
/// unexpired, and not at all after a revocation reached its grant.
pub async fn insert_tokens_while_active_only_while_active<S: Store>(s: &S) {
    let derived = |id: &str, n: usize| [token(&format!("{id}-x{n}"), TokenKind::AccessToken, id, "xa-client")];
    let mut subject = token("xa-1-a0", TokenKind::AccessToken, "xa-1", "xa-client");
    subject.expires_at = 2_000;
    s.insert_tokens(std::slice::from_ref(&subject)).await.expect("insert");
    let first = derived("xa-1", 1);
    assert!(s.insert_tokens_while_active(TokenKind::AccessToken, "xa-1-a0", 1_000, &first).await.expect("insert"));
    read_back(s, &first).await;
    assert!(get_token(s, TokenKind::AccessToken, "xa-1-a0").await.expect("kept").active, "the token is unchanged");
    // Expired, of another kind, or unknown: nothing.
    let late = derived("xa-1", 2);
    assert!(!s.insert_tokens_while_active(TokenKind::AccessToken, "xa-1-a0", 2_000, &late).await.expect("insert"));
    assert!(!s.insert_tokens_while_active(TokenKind::RefreshToken, "xa-1-a0", 1_000, &late).await.expect("insert"));
    assert!(!s.insert_tokens_while_active(TokenKind::AccessToken, "xa-none", 1_000, &late).await.expect("insert"));
    assert_eq!(present(s, &late).await, 0, "nothing stored");
    // A revocation of the grant reaches the derived token, and nothing is derived after it.
    assert_eq!(s.revoke_grant("xa-1").await.expect("revoke"), 2);
    assert!(!get_token(s, TokenKind::AccessToken, "xa-1-x1").await.expect("kept").active);
    assert!(!s.insert_tokens_while_active(TokenKind::AccessToken, "xa-1-a0", 1_000, &late).await.expect("insert"));
    assert_eq!(present(s, &late).await, 0);
    // A derived token reusing a signature conflicts and stores nothing.
    s.insert_tokens(&[token("xa-2-a0", TokenKind::AccessToken, "xa-2", "xa-client")]).await.expect("insert");
    let clashing = [token("xa-2-x1", TokenKind::AccessToken, "xa-2", "xa-client"), subject.clone()];
    assert_conflict(
        s.insert_tokens_while_active(TokenKind::AccessToken, "xa-2-a0", 1_000, &clashing).await,
        "a derived token reusing a signature",
    );
    assert_eq!(get_token(s, TokenKind::AccessToken, "xa-2-x1").await, None);
}

/// [`RACERS`] - 1 exchanges of one token race the revocation of its grant: once the
/// revocation returned, nothing derived from the token is active.
pub async fn concurrent_insert_while_active_and_revoke_grant<S: Store>(s: &S) {
    s.insert_tokens(&[token("xr-a0", TokenKind::AccessToken, "xr", "xr-client")]).await.expect("insert");
    let derived: Vec<[TokenRecord; 1]> =
        (1..RACERS).map(|n| [token(&format!("xr-x{n}"), TokenKind::AccessToken, "xr", "xr-client")]).collect();
    let inserts = derived.iter().map(|d| s.insert_tokens_while_active(TokenKind::AccessToken, "xr-a0", 1_000, d));
    let (results, revoked) = futures::join!(join_all(inserts), s.revoke_grant("xr"));
    revoked.expect("the revocation succeeds");
    for (r, d) in results.iter().zip(&derived) {
        let stored = r.as_ref().expect("no insert failed");
        let found = get_token(s, TokenKind::AccessToken, &d[0].signature).await;
        if !stored {
            assert_eq!(found, None, "a refused insert stored {}", d[0].signature);
        }
        assert!(found.is_none_or(|f| !f.active), "{} is active after the revocation", d[0].signature);
    }
}

/// A grace re-issue whose successor's signature is taken stores nothing and retires
/// nothing.
pub async fn reissue_within_grace_is_all_or_nothing<S: Store>(s: &S) {
    let live = [
        token("rgx-a0", TokenKind::AccessToken, "rgx", "rgx-client"),
        token("rgx-r0", TokenKind::RefreshToken, "rgx", "rgx-client"),
    ];
    s.insert_tokens(&live).await.expect("insert");
    read_back(s, &live).await;
    let clashing = [token("rgx-a1", TokenKind::AccessToken, "rgx", "rgx-client"), live[1].clone()];
    assert_conflict(s.reissue_within_grace("rgx", 1_000, &clashing).await, "a successor reusing a signature");
    assert_eq!(get_token(s, TokenKind::AccessToken, "rgx-a1").await, None, "no successor is stored");
    read_back(s, &live).await;
}

/// Deleting a client deletes every token, code and consent issued to it, in one step,
/// and nothing of any other client; a client created again with the same id finds
/// nothing of its predecessor's.
pub async fn delete_client_deletes_what_was_issued_to_it<S: Store>(s: &S) {
    let mine = |sig: &str, kind: TokenKind, grant: &str| token(sig, kind, grant, "dcx-client");
    let c = client("dcx-client", "dcx", "dcx");
    s.create_client(&c).await.expect("create");
    let tokens = [
        mine("dcx-code", TokenKind::AuthorizationCode, "dcx-g1"),
        mine("dcx-access", TokenKind::AccessToken, "dcx-g1"),
        mine("dcx-refresh", TokenKind::RefreshToken, "dcx-g1"),
    ];
    s.complete_consent(&consent("dcx-g1", "dcx-client", "dcx-user", 100), &tokens).await.expect("complete");
    let cc = mine("dcx-cc", TokenKind::AccessToken, "dcx-cc-grant");
    let theirs = token("dcx-theirs", TokenKind::RefreshToken, "dcx-g2", "dcx-other");
    s.complete_consent(&consent("dcx-g2", "dcx-other", "dcx-user", 200), std::slice::from_ref(&theirs))
        .await
        .expect("complete");
    s.insert_tokens(std::slice::from_ref(&cc)).await.expect("insert");
    read_back(s, &tokens).await;
    read_back(s, &[cc.clone(), theirs.clone()]).await;

    assert!(s.delete_client("dcx-client").await.expect("delete"));
    assert_eq!(s.get_client("dcx-client").await.expect("get"), None);
    assert_eq!(present(s, &tokens).await, 0, "its code and tokens are gone");
    assert_eq!(present(s, std::slice::from_ref(&cc)).await, 0, "its client-credentials tokens are gone");
    assert_eq!(consent_ids(&list_consents(s, "dcx-user", None).await), ["dcx-g2"], "its consents are gone");
    assert!(s.remembered_consents("dcx-user", "dcx-client", 0).await.expect("remembered").is_empty());
    assert_eq!(get_token(s, theirs.kind, &theirs.signature).await, Some(theirs), "another client's are kept");

    s.create_client(&c).await.expect("the id is free again");
    assert_eq!(present(s, &tokens).await, 0, "the new client inherits nothing");
    assert!(s.remembered_consents("dcx-user", "dcx-client", 0).await.expect("remembered").is_empty());
    assert!(s.delete_client("dcx-client").await.expect("delete"));
    assert!(!s.delete_client("dcx-client").await.expect("again"), "no client left");
}

/// A grant whose refresh token `{id}-r0` was rotated to the live `{id}-r1`, and
/// [`RACERS`] - 1 grace re-issues' successors, each an access and a refresh token.
async fn grace_race_grant<S: Store>(s: &S, id: &str, client_id: &str) -> Vec<[TokenRecord; 2]> {
    let pair = |n: usize| {
        [
            token(&format!("{id}-a{n}"), TokenKind::AccessToken, id, client_id),
            token(&format!("{id}-r{n}"), TokenKind::RefreshToken, id, client_id),
        ]
    };
    s.insert_tokens(&pair(0)).await.expect("insert");
    assert!(matches!(
        s.rotate_refresh_token(&format!("{id}-r0"), 1_000, &pair(1)).await.expect("rotate"),
        Rotated::Rotated(_)
    ));
    (2..RACERS + 1).map(pair).collect()
}

/// After a revocation raced grace re-issues of the grant: the revocation returned, every
/// re-issue either stored nothing or what it stored is inactive (or gone), and a re-issue
/// after it stores nothing.
async fn assert_stays_revoked<S: Store>(
    s: &S,
    id: &str,
    results: &[Result<bool, StoreError>],
    successors: &[[TokenRecord; 2]],
) {
    let outcomes = tally(results, |&stored| if stored { "stored" } else { "refused" });
    assert!(outcomes.keys().all(|k| k == "stored" || k == "refused"), "no re-issue failed: {outcomes:?}");
    for (r, next) in results.iter().zip(successors) {
        for t in next {
            let found = get_token(s, t.kind, &t.signature).await;
            if matches!(r, Ok(false)) {
                assert_eq!(found, None, "a refused re-issue stored {}", t.signature);
            }
            assert!(found.is_none_or(|f| !f.active), "{} is active after the revocation", t.signature);
        }
    }
    for n in 0..2 {
        for kind in [TokenKind::AccessToken, TokenKind::RefreshToken] {
            let sig = format!("{id}-{}{n}", if kind == TokenKind::AccessToken { "a" } else { "r" });
            assert!(get_token(s, kind, &sig).await.is_none_or(|f| !f.active), "{sig} is active");
        }
    }
    let late = [token(&format!("{id}-late"), TokenKind::RefreshToken, id, "late")];
    assert!(!s.reissue_within_grace(id, 1_002, &late).await.expect("reissue"), "revoked stays revoked");
    assert_eq!(present(s, &late).await, 0);
}

/// [`RACERS`] - 1 grace re-issues of one grant race its revocation: revoked stays revoked.
pub async fn concurrent_reissue_and_revoke_grant<S: Store>(s: &S) {
    let successors = grace_race_grant(s, "cxg-1", "cxg-client").await;
    let reissues = successors.iter().map(|next| s.reissue_within_grace("cxg-1", 1_001, next));
    let (results, revoked) = futures::join!(join_all(reissues), s.revoke_grant("cxg-1"));
    revoked.expect("the revocation succeeds");
    assert_stays_revoked(s, "cxg-1", &results, &successors).await;
}

/// The same race against the revocation of the grant's consent.
pub async fn concurrent_reissue_and_revoke_consent<S: Store>(s: &S) {
    s.complete_consent(&consent("cxg-2", "cxg-client", "cxg-user", 100), &[]).await.expect("complete");
    let successors = grace_race_grant(s, "cxg-2", "cxg-client").await;
    let reissues = successors.iter().map(|next| s.reissue_within_grace("cxg-2", 1_001, next));
    let (results, revoked) = futures::join!(join_all(reissues), s.revoke_consents("cxg-user", None));
    assert_eq!(revoked.expect("the revocation succeeds"), 1);
    assert_stays_revoked(s, "cxg-2", &results, &successors).await;
}

/// The same race against the deletion of the grant's client.
pub async fn concurrent_reissue_and_delete_client<S: Store>(s: &S) {
    s.create_client(&client("cxg-c3", "cxg", "cxg")).await.expect("create");
    let successors = grace_race_grant(s, "cxg-3", "cxg-c3").await;
    let reissues = successors.iter().map(|next| s.reissue_within_grace("cxg-3", 1_001, next));
    let (results, deleted) = futures::join!(join_all(reissues), s.delete_client("cxg-c3"));
    assert!(deleted.expect("the deletion succeeds"));
    assert_stays_revoked(s, "cxg-3", &results, &successors).await;
}

/// Rotations of a chain of refresh tokens race the grant's revocation: at the end no token
/// of the grant is active, and at most the rotation of the live token won before it.
pub async fn concurrent_rotate_and_revoke_grant<S: Store>(s: &S) {
    let successors = grace_race_grant(s, "cxg-4", "cxg-client").await;
    // Every racer rotates the live token `cxg-4-r1`; the winner's successor would be the next live one.
    let rotations = successors.iter().map(|next| s.rotate_refresh_token("cxg-4-r1", 1_001, next));
    let (results, revoked) = futures::join!(join_all(rotations), s.revoke_grant("cxg-4"));
    revoked.expect("the revocation succeeds");
    let outcomes = tally(&results, |r| match r {
        Rotated::Rotated(_) => "Rotated",
        Rotated::AlreadyUsed(_) => "AlreadyUsed",
        Rotated::Missing => "Missing",
    });
    assert!(outcomes.get("Rotated").copied().unwrap_or(0) <= 1, "{outcomes:?}");
    assert!(outcomes.keys().all(|k| k == "Rotated" || k == "AlreadyUsed"), "{outcomes:?}");
    for next in &successors {
        for t in next {
            let found = get_token(s, t.kind, &t.signature).await;
            assert!(found.is_none_or(|f| !f.active), "{} is active after the revocation", t.signature);
        }
    }
}

// ---------------------------------------------------------------------------------
// The JWT-bearer grant's trust relationships and used JWT ids

/// A trust grant of `issuer` for `subject` (`None`: any subject) with key `kid`.
pub fn trust_grant(id: &str, issuer: &str, subject: Option<&str>, kid: &str, created_at: i64) -> TrustGrant {
    TrustGrant {
        id: id.into(),
        issuer: issuer.into(),
        subject: subject.unwrap_or_default().into(),
        allow_any_subject: subject.is_none(),
        scope: vec!["a".into(), "b".into()],
        key_id: kid.into(),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": format!("x-{id}"), "kid": kid}),
        created_at,
        expires_at: FAR,
    }
}

/// Create, read back exactly, conflict on the id and on issuer+subject+key, delete.
pub async fn trust_crud<S: Store>(s: &S) {
    let g = trust_grant("tr-1", "https://tr.example", Some("alice"), "k1", 100);
    s.create_trust(&g).await.expect("create");
    assert_eq!(s.get_trust("tr-1").await.expect("get"), Some(g.clone()));
    let same_id = TrustGrant { issuer: "https://other.example".into(), ..g.clone() };
    assert!(matches!(s.create_trust(&same_id).await, Err(StoreError::Conflict(_))), "the id is taken");
    let same_key = TrustGrant { id: "tr-2".into(), ..g.clone() };
    assert!(
        matches!(s.create_trust(&same_key).await, Err(StoreError::Conflict(_))),
        "issuer, subject and kid are taken"
    );
    // Long parts are kept whole and still unique as a whole.
    let long = "s".repeat(2000);
    let a = TrustGrant { id: "tr-long-a".into(), subject: format!("{long}a"), ..g.clone() };
    let b = TrustGrant { id: "tr-long-b".into(), subject: format!("{long}b"), ..g.clone() };
    s.create_trust(&a).await.expect("long a");
    s.create_trust(&b).await.expect("long b differs at its end");
    assert_eq!(s.get_trust("tr-long-b").await.expect("get"), Some(b));
    for id in ["tr-1", "tr-long-a", "tr-long-b"] {
        assert!(s.delete_trust(id).await.expect("delete"), "{id}");
    }
    assert!(!s.delete_trust("tr-1").await.expect("delete again"));
    assert_eq!(s.get_trust("tr-1").await.expect("get"), None);
}

/// The grants answering an assertion: the issuer's, for the subject or any subject,
/// unexpired, of one key when named; newest first.
pub async fn trusts_for_an_assertion<S: Store>(s: &S) {
    let iss = "https://tf.example";
    let grants = [
        trust_grant("tf-alice-1", iss, Some("alice"), "k1", 100),
        trust_grant("tf-alice-2", iss, Some("alice"), "k2", 300),
        trust_grant("tf-any", iss, None, "k3", 200),
        trust_grant("tf-bob", iss, Some("bob"), "k1", 400),
        trust_grant("tf-other-issuer", "https://tf-other.example", Some("alice"), "k1", 500),
        TrustGrant { expires_at: 1_000, ..trust_grant("tf-expired", iss, Some("alice"), "k4", 600) },
    ];
    for g in &grants {
        s.create_trust(g).await.expect("create");
    }
    let ids = |found: Vec<TrustGrant>| found.into_iter().map(|g| g.id).collect::<Vec<_>>();
    let now = 1_000;
    assert_eq!(ids(s.trusts_for(iss, "alice", None, now).await.expect("for")), ["tf-alice-2", "tf-any", "tf-alice-1"]);
    assert_eq!(ids(s.trusts_for(iss, "alice", Some("k1"), now).await.expect("for")), ["tf-alice-1"]);
    assert_eq!(ids(s.trusts_for(iss, "carol", None, now).await.expect("for")), ["tf-any"]);
    assert_eq!(ids(s.trusts_for(iss, "carol", Some("k1"), now).await.expect("for")), Vec::<String>::new());
    assert_eq!(ids(s.trusts_for(iss, "alice", Some("k4"), 999).await.expect("for")), ["tf-expired"]);
    assert_eq!(
        ids(s.trusts_for("https://nobody.example", "alice", None, now).await.expect("for")),
        Vec::<String>::new()
    );
    for g in &grants {
        s.delete_trust(&g.id).await.expect("delete");
    }
}

/// Keyset pages by id, optionally of one issuer.
pub async fn trust_list_pages_and_filters<S: Store>(s: &S) {
    for (id, iss) in
        [("tl-1", "https://tl-a.example"), ("tl-2", "https://tl-b.example"), ("tl-3", "https://tl-a.example")]
    {
        s.create_trust(&trust_grant(id, iss, Some("u"), id, 1)).await.expect("create");
    }
    let page = |after: Option<&str>, limit, issuer: Option<&str>| {
        let q = TrustQuery { issuer: issuer.map(Into::into), after_id: after.map(Into::into), limit };
        async move { s.list_trusts(&q).await.expect("list").into_iter().map(|g| g.id).collect::<Vec<_>>() }
    };
    // Other cases' grants are gone by now; only these three exist.
    assert_eq!(page(None, 2, None).await, ["tl-1", "tl-2"]);
    assert_eq!(page(Some("tl-2"), 2, None).await, ["tl-3"]);
    assert_eq!(page(None, 10, Some("https://tl-a.example")).await, ["tl-1", "tl-3"]);
    assert_eq!(page(Some("tl-1"), 10, Some("https://tl-a.example")).await, ["tl-3"]);
    for id in ["tl-1", "tl-2", "tl-3"] {
        s.delete_trust(id).await.expect("delete");
    }
}

/// A JWT id is used once while its record lives; once expired it may be recorded again.
pub async fn use_jti_once_until_expiry<S: Store>(s: &S) {
    assert!(s.use_jti("jti-a", 2_000, 1_000).await.expect("first"));
    assert!(!s.use_jti("jti-a", 3_000, 1_500).await.expect("replay"));
    assert!(s.use_jti("jti-b", 2_000, 1_500).await.expect("another id"));
    assert!(!s.use_jti("jti-a", 3_000, 1_999).await.expect("replay just before expiry"));
    assert!(s.use_jti("jti-a", 3_000, 2_000).await.expect("expired: recorded anew"));
    assert!(!s.use_jti("jti-a", 4_000, 2_500).await.expect("the new record holds"));
}

/// Of concurrent uses of one JWT id exactly one records it.
pub async fn concurrent_use_jti<S: Store>(s: &S) {
    let results = join_all((0..RACERS).map(|_| s.use_jti("jti-race", FAR, 1_000))).await;
    let outcomes = tally(&results, |&first| if first { "recorded" } else { "replay" });
    assert_eq!(outcomes, one_winner("recorded", "replay"), "exactly one use of a JWT id is accepted");
}

/// The janitor's bounded delete takes only expired records.
pub async fn delete_expired_jtis<S: Store>(s: &S) {
    for (k, exp) in [("jx-1", 10), ("jx-2", 20), ("jx-3", 30), ("jx-live", FAR)] {
        assert!(s.use_jti(k, exp, 0).await.expect("use"));
    }
    // jti-a, jti-b (from above) expired at 4000 and 2000; the race's lives.
    assert_eq!(s.delete_expired_jtis(25, 1).await.expect("one"), 1);
    assert_eq!(s.delete_expired_jtis(25, 10).await.expect("rest below 25"), 1);
    assert_eq!(s.delete_expired_jtis(5_000, 10).await.expect("the rest"), 3);
    assert!(!s.use_jti("jx-live", FAR, 100).await.expect("kept"));
    assert!(!s.use_jti("jti-race", FAR, 100).await.expect("kept"));
}

// ---------------------------------------------------------------------------------
// The device authorization grant (RFC 8628)

/// A device authorization's three rows: the pending request, its user code, and the
/// user's approval (of grant `grant`).
fn device_rows(prefix: &str, grant: &str) -> [TokenRecord; 3] {
    let mut request = token(&format!("{prefix}-request"), TokenKind::DeviceRequest, grant, "dv-client");
    request.subject = String::new();
    request.data = json!({});
    let code = TokenRecord {
        data: json!({"device": request.signature}),
        ..token(&format!("{prefix}-user-code"), TokenKind::UserCode, grant, "dv-client")
    };
    let approval = token(&format!("{prefix}-approval"), TokenKind::DeviceCode, grant, "dv-client");
    [request, code, approval]
}

/// `get_device_records` reads both rows, whichever exist; `record_device_poll` records
/// a poll only of an active pending request last polled by `polled_by`.
pub async fn device_records_and_polls<S: Store>(s: &S) {
    let [request, code, approval] = device_rows("dvr", "dvr-grant");
    s.insert_tokens(&[request.clone(), code.clone()]).await.expect("insert");
    let found = s.get_device_records(&request.signature, &approval.signature).await.expect("read");
    assert_eq!(found, vec![request.clone()], "only the pending request exists");
    assert_eq!(get_token(s, TokenKind::UserCode, &code.signature).await, Some(code.clone()));

    assert!(s.record_device_poll(&request.signature, 1_000, 995).await.expect("poll"), "never polled");
    assert!(!s.record_device_poll(&request.signature, 1_003, 998).await.expect("poll"), "polled at 1000 > 998");
    assert!(s.record_device_poll(&request.signature, 1_005, 1_000).await.expect("poll"), "polled at 1000 <= 1000");
    let found = s.get_device_records(&request.signature, &approval.signature).await.expect("read");
    assert_eq!(found[0].used_at, Some(1_005), "the last poll is recorded");
    assert_eq!((found[0].active, &found[0].scope), (true, &request.scope), "nothing else changes");
    assert!(!s.record_device_poll(&code.signature, 2_000, 2_000).await.expect("poll"), "a user code is no request");
    assert!(!s.record_device_poll("dvr-none", 2_000, 2_000).await.expect("poll"), "no such request");

    s.insert_tokens(std::slice::from_ref(&approval)).await.expect("insert the approval");
    let mut found = s.get_device_records(&request.signature, &approval.signature).await.expect("read");
    found.sort_by(|a, b| a.signature.cmp(&b.signature));
    let kinds: Vec<TokenKind> = found.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![TokenKind::DeviceCode, TokenKind::DeviceRequest], "both rows, in one read");
    assert_conflict(s.insert_tokens(std::slice::from_ref(&approval)).await, "a second decision");

    // A revoked grant's request records no poll.
    assert_eq!(s.revoke_grant("dvr-grant").await.expect("revoke"), 3);
    assert!(!s.record_device_poll(&request.signature, 3_000, 3_000).await.expect("poll"), "revoked");
}

/// An approval is consumed once, with its tokens; a revoked one yields nothing.
pub async fn consume_device_code<S: Store>(s: &S) {
    let [request, _, approval] = device_rows("dvc", "dvc-grant");
    s.insert_tokens(&[request.clone(), approval.clone()]).await.expect("insert");
    let issued = [token("dvc-access", TokenKind::AccessToken, "dvc-grant", "dv-client")];
    assert_eq!(
        s.consume_code(&approval.signature, 1_000, &issued).await.expect("consume"),
        Consumed::Missing,
        "no code"
    );
    assert_eq!(
        s.consume_device_code(&request.signature, 1_000, &issued).await.expect("consume"),
        Consumed::Missing,
        "the pending request is not the approval"
    );
    assert_eq!(
        s.consume_device_code(&approval.signature, 1_000, &issued).await.expect("consume"),
        Consumed::Consumed(approval.clone())
    );
    let used = TokenRecord { active: false, used_at: Some(1_000), ..approval.clone() };
    assert_eq!(get_token(s, TokenKind::DeviceCode, &approval.signature).await, Some(used.clone()));
    assert!(get_token(s, TokenKind::AccessToken, "dvc-access").await.is_some(), "its tokens are stored");
    let again = [token("dvc-access-2", TokenKind::AccessToken, "dvc-grant", "dv-client")];
    assert_eq!(
        s.consume_device_code(&approval.signature, 1_001, &again).await.expect("consume"),
        Consumed::AlreadyUsed(used)
    );
    assert!(get_token(s, TokenKind::AccessToken, "dvc-access-2").await.is_none(), "a replay stores nothing");

    // Approved, then the consent is revoked: nothing is consumed or stored.
    let [request, _, approval] = device_rows("dvc2", "dvc2-grant");
    s.insert_tokens(&[request]).await.expect("insert");
    let c = consent("dvc2-grant", "dv-client", "user:dv-client", 1_000);
    s.complete_consent(&c, std::slice::from_ref(&approval)).await.expect("approve with the consent");
    assert!(s.revoke_consent("dvc2-grant").await.expect("revoke"));
    let late = [token("dvc2-access", TokenKind::AccessToken, "dvc2-grant", "dv-client")];
    let r = s.consume_device_code(&approval.signature, 1_002, &late).await.expect("consume");
    assert!(matches!(&r, Consumed::AlreadyUsed(a) if !a.active && a.used_at.is_none()), "revoked: {r:?}");
    assert!(get_token(s, TokenKind::AccessToken, "dvc2-access").await.is_none(), "revocation is final");
}

/// Of concurrent polls at one instant exactly one is recorded (the others slow down).
pub async fn concurrent_record_device_poll<S: Store>(s: &S) {
    let [request, _, _] = device_rows("dvp", "dvp-grant");
    s.insert_tokens(std::slice::from_ref(&request)).await.expect("insert");
    assert!(s.record_device_poll(&request.signature, 1_000, 1_000).await.expect("first poll"));
    let results = join_all((0..RACERS).map(|_| s.record_device_poll(&request.signature, 1_010, 1_005))).await;
    let outcomes = tally(&results, |&recorded| if recorded { "recorded" } else { "slow_down" });
    assert_eq!(outcomes, one_winner("recorded", "slow_down"), "exactly one poll of the interval counts");
}

/// Of concurrent exchanges of one approval exactly one gets tokens.
pub async fn concurrent_consume_device_code<S: Store>(s: &S) {
    let [request, _, approval] = device_rows("dvx", "dvx-grant");
    s.insert_tokens(&[request, approval.clone()]).await.expect("insert");
    let issued: Vec<[TokenRecord; 1]> = (0..RACERS)
        .map(|i| [token(&format!("dvx-issued-{i}"), TokenKind::AccessToken, "dvx-grant", "dv-client")])
        .collect();
    let results = join_all(
        issued.iter().enumerate().map(|(i, t)| s.consume_device_code(&approval.signature, 5_000 + i as i64, t)),
    )
    .await;
    let outcomes = tally(&results, |c| match c {
        Consumed::Consumed(_) => "Consumed",
        Consumed::AlreadyUsed(_) => "AlreadyUsed",
        Consumed::Missing => "Missing",
    });
    assert_eq!(outcomes, one_winner("Consumed", "AlreadyUsed"), "exactly one exchange");
    let won = winner(&results, |c| matches!(c, Consumed::Consumed(_)));
    for (i, t) in issued.iter().enumerate() {
        let found = get_token(s, TokenKind::AccessToken, &t[0].signature).await;
        assert_eq!(found.is_some(), i == won, "only the winner's tokens are stored ({})", t[0].signature);
    }
}

/// Exchanges of an approval race the revocation of its consent: once the revocation
/// has returned, nothing of the grant is active, whoever came first.
pub async fn concurrent_consume_device_code_and_revoke_consent<S: Store>(s: &S) {
    let [request, _, approval] = device_rows("dvy", "dvy-grant");
    s.insert_tokens(&[request]).await.expect("insert");
    let c = consent("dvy-grant", "dv-client", "user:dv-client", 1_000);
    s.complete_consent(&c, std::slice::from_ref(&approval)).await.expect("approve with the consent");
    let issued: Vec<[TokenRecord; 1]> = (0..RACERS - 1)
        .map(|i| [token(&format!("dvy-issued-{i}"), TokenKind::AccessToken, "dvy-grant", "dv-client")])
        .collect();
    let sig = approval.signature.as_str();
    let exchanges = issued.iter().map(|t| async move { s.consume_device_code(sig, 5_000, t).await.map(|_| ()) });
    let revoke = async { s.revoke_consent("dvy-grant").await.map(|_| ()) };
    let (_, revoked) = futures::join!(join_all(exchanges), revoke);
    revoked.expect("revoke");
    for t in &issued {
        let found = get_token(s, TokenKind::AccessToken, &t[0].signature).await;
        assert!(found.is_none_or(|r| !r.active), "revoked stays revoked ({})", t[0].signature);
    }
    let late = [token("dvy-late", TokenKind::AccessToken, "dvy-grant", "dv-client")];
    assert!(!matches!(s.consume_device_code(&approval.signature, 5_001, &late).await, Ok(Consumed::Consumed(_))));
}
