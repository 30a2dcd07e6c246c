//! `latch janitor`: expired tokens, codes and remembered logins go, in bounded batches;
//! anything unexpired (or younger than --keep-if-younger) stays. On every SQL backend.

use latch_core::store::{ConsentStore, LoginSession, LoginSessionStore, TokenKind, TokenStore};
use latch_tests::conformance::{consent, token};
use latch_tests::db::TestDb;

async fn janitor_on(db: TestDb) {
    let store = db.store().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let mut records = Vec::new();
    for i in 0..7 {
        records.push(latch_core::store::TokenRecord {
            expires_at: now - 3600,
            ..token(&format!("old-{i}"), TokenKind::AccessToken, "g", "c")
        });
    }
    records.push(latch_core::store::TokenRecord {
        expires_at: now - 10,
        ..token("recent", TokenKind::RefreshToken, "g", "c")
    });
    records.push(latch_core::store::TokenRecord {
        expires_at: now + 3600,
        ..token("fresh", TokenKind::AccessToken, "g", "c")
    });
    store.insert_tokens(&records).await.expect("insert");
    for (id, exp) in [("s-old", now - 3600), ("s-fresh", now + 3600)] {
        let s = LoginSession {
            id: id.into(),
            subject: "u".into(),
            authenticated_at: now - 7200,
            expires_at: exp,
            acr: String::new(),
            amr: vec![],
            identity_provider_session_id: String::new(),
        };
        store.create_login_session(&s).await.expect("session");
    }
    // A session ended a moment ago, and consents revoked long ago and a moment ago: the
    // young ones stay while their verifiers (30 minutes) could still be replayed.
    let ended = LoginSession { authenticated_at: now - 100, ..latch_tests::conformance::login_session("s-ended", "u") };
    store.create_login_session(&ended).await.expect("session");
    assert!(store.end_login_session("s-ended").await.expect("end"));
    for (id, handled_at) in [("c-old", now - 7200), ("c-young", now - 100)] {
        store.complete_consent(&consent(id, "c", "u", handled_at), &[]).await.expect("consent");
        assert!(store.revoke_consent(id).await.expect("revoke"));
    }
    // Keep what expired within the last minute; batches of 3; at most 5 per kind this run.
    let r = latch_native::janitor(db.dsn(), 3, 5, 60, 1800, latch_core::janitor::Kinds::ALL).await.expect("janitor");
    assert_eq!((r.tokens, r.login_sessions, r.revoked_consents), (5, 1, 1));
    let r = latch_native::janitor(db.dsn(), 3, 100, 60, 1800, latch_core::janitor::Kinds::ALL).await.expect("janitor");
    assert_eq!((r.tokens, r.login_sessions, r.revoked_consents), (2, 0, 0), "the rest, then nothing");
    assert!(store.get_login_session("s-ended").await.expect("get").is_some(), "ended 100 s ago: kept");
    assert!(store.complete_consent(&consent("c-young", "c", "u", now), &[]).await.is_err(), "revoked 100 s ago: kept");
    store.complete_consent(&consent("c-old", "c", "u", now), &[]).await.expect("revoked 2 h ago: gone");
    for i in 0..7 {
        assert_eq!(store.get_token(TokenKind::AccessToken, &format!("old-{i}")).await.expect("get"), None);
    }
    assert!(
        store.get_token(TokenKind::RefreshToken, "recent").await.expect("get").is_some(),
        "younger than 60 s: kept"
    );
    assert!(store.get_token(TokenKind::AccessToken, "fresh").await.expect("get").is_some());
    assert!(store.get_login_session("s-fresh").await.expect("get").is_some());
    assert!(store.get_login_session("s-old").await.expect("get").is_none());
    store.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn janitor_sqlite() {
    janitor_on(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn janitor_postgres() {
    janitor_on(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn janitor_mysql() {
    janitor_on(TestDb::mysql().await).await;
}
