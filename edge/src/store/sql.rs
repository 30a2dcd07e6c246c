//! The query texts of [`super::D1Store`]: SQLite's, on the schema of
//! `native/migrations/sqlite` (which wrangler applies to D1 unchanged). Column lists
//! and orders are those of the native SQL store, so a row means the same on both.
//!
//! D1 allows at most 100 bound parameters per statement, so records are inserted one
//! statement each (12 parameters for a token) and grouped with `db.batch`, which runs
//! as one transaction.

/// The columns of `latch_tokens`, in the order [`super::rows`] binds them.
pub const TOKEN_COLUMNS: &str =
    "signature, kind, request_id, client_id, subject, scope, audience, issued_at, expires_at, active, used_at, data";
/// The columns a client is read from.
pub const CLIENT_COLUMNS: &str = "data, secret_hash, created_at, updated_at";
/// The columns of `latch_keys`.
pub const KEY_COLUMNS: &str = "set_id, kid, alg, key_use, created_at, sealed";
/// The columns of `latch_login_sessions`.
pub const LOGIN_SESSION_COLUMNS: &str = "id, subject, authenticated_at, expires_at, acr, amr";
/// The columns of `latch_consents`.
pub const CONSENT_COLUMNS: &str = "id, client_id, subject, login_session_id, granted_scope, granted_audience, \
     remember, remember_until, handled_at, data";
/// Newest first; equal times by id (bytewise), as every other store orders consents.
const CONSENT_ORDER: &str = "ORDER BY handled_at DESC, id";

pub const PING: &str = "SELECT 1 AS one";
/// The migrations wrangler recorded (its default `migrations_table`).
pub const APPLIED_MIGRATIONS: &str = "SELECT name FROM d1_migrations ORDER BY id";

pub const INSERT_CLIENT: &str = "INSERT INTO latch_clients (id, client_name, owner, data, secret_hash, created_at, \
     updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
pub const UPDATE_CLIENT: &str = "UPDATE latch_clients SET client_name = ?1, owner = ?2, data = ?3, secret_hash = ?4, \
     created_at = ?5, updated_at = ?6 WHERE id = ?7";
pub const DELETE_CLIENT: &str = "DELETE FROM latch_clients WHERE id = ?1";
/// Every token, code and refresh token of a client; runs in one batch with
/// [`DELETE_CLIENT_CONSENTS`] and [`DELETE_CLIENT`].
pub const DELETE_CLIENT_TOKENS: &str = "DELETE FROM latch_tokens WHERE client_id = ?1";
/// Every consent given to a client.
pub const DELETE_CLIENT_CONSENTS: &str = "DELETE FROM latch_consents WHERE client_id = ?1";

pub const INSERT_TOKEN: &str = "INSERT INTO latch_tokens (signature, kind, request_id, client_id, subject, scope, \
     audience, issued_at, expires_at, active, used_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
/// Inserts a token only if the statement before it in the batch changed exactly one
/// row: the conditional `UPDATE` that retired a code or refresh token, or the insert
/// of the successor before this one. A loser of the race inserts nothing.
pub const INSERT_TOKEN_IF_CHANGED: &str = "INSERT INTO latch_tokens (signature, kind, request_id, client_id, \
     subject, scope, audience, issued_at, expires_at, active, used_at, data) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 WHERE changes() = 1";
pub const REVOKE_TOKEN: &str = "UPDATE latch_tokens SET active = 0 WHERE signature = ?1 AND kind = ?2 AND active = 1";
pub const REVOKE_GRANT: &str = "UPDATE latch_tokens SET active = 0 WHERE request_id = ?1 AND active = 1";
pub const DELETE_CLIENT_ACCESS_TOKENS: &str = "DELETE FROM latch_tokens WHERE client_id = ?1 AND kind = 'access_token'";
/// Retires an active token of a kind: the compare-and-set of `consume_code` and
/// `rotate_refresh_token`.
pub const RETIRE_TOKEN: &str =
    "UPDATE latch_tokens SET active = 0, used_at = ?1 WHERE signature = ?2 AND kind = ?3 AND active = 1";
/// A rotation's first statement: marks inactive the access tokens of the grant of the
/// refresh token `?1`, if that refresh token is still active (then the `RETIRE_TOKEN`
/// after it in the same batch retires it).
pub const RETIRE_GRANT_ACCESS_TOKENS_OF: &str = "UPDATE latch_tokens SET active = 0 WHERE kind = 'access_token' \
     AND active = 1 AND request_id = \
     (SELECT request_id FROM latch_tokens WHERE signature = ?1 AND kind = 'refresh_token' AND active = 1)";
/// Whether a grant (`?1`) is live at `?2`: a refresh token of it is active and unexpired.
const LIVE_GRANT: &str =
    "EXISTS (SELECT 1 FROM latch_tokens WHERE request_id = ?1 AND kind = 'refresh_token' AND active = 1 \
     AND expires_at > ?2)";
/// The grace re-issue's count of the grant's live refresh tokens (`?1`, at `?2`).
pub const COUNT_LIVE_REFRESH_TOKENS: &str = "SELECT COUNT(*) AS n FROM latch_tokens WHERE request_id = ?1 \
     AND kind = 'refresh_token' AND active = 1 AND expires_at > ?2";

/// The grace re-issue: marks inactive the access tokens of grant `?1` if it is live at `?2`.
pub fn retire_access_tokens_if_live() -> String {
    format!("UPDATE latch_tokens SET active = 0 WHERE request_id = ?1 AND kind = 'access_token' AND active = 1 AND {LIVE_GRANT}")
}

/// The grace re-issue: inserts a token (`?1`…`?12`) only if grant `?13` is live at `?14`.
pub fn insert_token_if_live() -> String {
    format!(
        "INSERT INTO latch_tokens ({TOKEN_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 WHERE {}",
        LIVE_GRANT.replace("?1", "?13").replace("?2", "?14")
    )
}

pub const DELETE_EXPIRED_TOKENS: &str = "DELETE FROM latch_tokens WHERE signature IN \
     (SELECT signature FROM latch_tokens WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)";

pub const INSERT_KEY: &str =
    "INSERT INTO latch_keys (set_id, kid, alg, key_use, created_at, sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const DELETE_KEY_SET: &str = "DELETE FROM latch_keys WHERE set_id = ?1";
pub const DELETE_KEY: &str = "DELETE FROM latch_keys WHERE set_id = ?1 AND kid = ?2";
/// Compare-and-set of a key's sealed value (re-sealing after a secret rotation).
pub const RESEAL_KEY: &str = "UPDATE latch_keys SET sealed = ?1 WHERE set_id = ?2 AND kid = ?3 AND sealed = ?4";

pub const INSERT_LOGIN_SESSION: &str = "INSERT INTO latch_login_sessions (id, subject, authenticated_at, expires_at, \
     acr, amr) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const DELETE_LOGIN_SESSION: &str = "DELETE FROM latch_login_sessions WHERE id = ?1";
pub const DELETE_LOGIN_SESSIONS_OF_SUBJECT: &str = "DELETE FROM latch_login_sessions WHERE subject = ?1";
pub const DELETE_EXPIRED_LOGIN_SESSIONS: &str = "DELETE FROM latch_login_sessions WHERE id IN \
     (SELECT id FROM latch_login_sessions WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)";

pub const INSERT_CONSENT: &str = "INSERT INTO latch_consents (id, client_id, subject, login_session_id, \
     granted_scope, granted_audience, remember, remember_until, handled_at, data) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// A client by id.
pub fn get_client() -> String {
    format!("SELECT {CLIENT_COLUMNS} FROM latch_clients WHERE id = ?1")
}

/// A token by signature and kind.
pub fn get_token() -> String {
    format!("SELECT {TOKEN_COLUMNS} FROM latch_tokens WHERE signature = ?1 AND kind = ?2")
}

/// Every key of every set, by set and oldest first.
pub fn list_keys() -> String {
    format!("SELECT {KEY_COLUMNS} FROM latch_keys ORDER BY set_id, created_at, kid")
}

/// A key set, oldest first.
pub fn get_key_set() -> String {
    format!("SELECT {KEY_COLUMNS} FROM latch_keys WHERE set_id = ?1 ORDER BY created_at, kid")
}

/// A login session by id.
pub fn get_login_session() -> String {
    format!("SELECT {LOGIN_SESSION_COLUMNS} FROM latch_login_sessions WHERE id = ?1")
}

/// Remembered consents of a subject for a client still in force at `?3`.
pub fn remembered_consents() -> String {
    format!(
        "SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ?1 AND client_id = ?2 AND remember = 1 \
         AND (remember_until IS NULL OR remember_until > ?3) {CONSENT_ORDER}"
    )
}

/// Every consent of a subject, or only those of one login session (`?2`).
pub fn list_consents(of_login_session: bool) -> String {
    let session = if of_login_session { " AND login_session_id = ?2" } else { "" };
    format!("SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ?1{session} {CONSENT_ORDER}")
}

/// The consents of a subject (`?1`), or of a subject for one client (`?2`).
fn consents_of(one_client: bool) -> &'static str {
    if one_client {
        "subject = ?1 AND client_id = ?2"
    } else {
        "subject = ?1"
    }
}

/// Deactivates every token issued under the consents [`delete_consents`] then deletes;
/// the two run in one batch (one transaction), so they see the same consents.
pub fn revoke_consent_tokens(one_client: bool) -> String {
    format!(
        "UPDATE latch_tokens SET active = 0 WHERE active = 1 AND request_id IN \
         (SELECT id FROM latch_consents WHERE {})",
        consents_of(one_client)
    )
}

/// Deactivates the tokens of the consent with id `?1`, only if it exists; runs in one
/// batch before [`DELETE_CONSENT`].
pub const REVOKE_CONSENT_TOKENS: &str = "UPDATE latch_tokens SET active = 0 WHERE active = 1 AND request_id IN \
     (SELECT id FROM latch_consents WHERE id = ?1)";

/// Deletes the consent with id `?1`.
pub const DELETE_CONSENT: &str = "DELETE FROM latch_consents WHERE id = ?1";

/// Deletes the consents of a subject (or of a subject for one client).
pub fn delete_consents(one_client: bool) -> String {
    format!("DELETE FROM latch_consents WHERE {}", consents_of(one_client))
}

/// A page of clients with the filters that are set, numbered in the order after_id,
/// client_name, owner, then the limit.
pub fn list_clients(after_id: bool, client_name: bool, owner: bool) -> String {
    let mut sql = format!("SELECT {CLIENT_COLUMNS} FROM latch_clients WHERE 1 = 1");
    let mut n = 0;
    for (set, column) in [(after_id, "id >"), (client_name, "client_name ="), (owner, "owner =")] {
        if set {
            n += 1;
            sql.push_str(&format!(" AND {column} ?{n}"));
        }
    }
    sql.push_str(&format!(" ORDER BY id LIMIT ?{}", n + 1));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_numbers_only_the_set_filters() {
        assert_eq!(
            list_clients(true, false, true),
            "SELECT data, secret_hash, created_at, updated_at FROM latch_clients WHERE 1 = 1 \
             AND id > ?1 AND owner = ?2 ORDER BY id LIMIT ?3"
        );
        assert!(list_clients(false, false, false).ends_with("WHERE 1 = 1 ORDER BY id LIMIT ?1"));
    }

    #[test]
    fn every_insert_binds_each_column_once() {
        for (sql, columns) in [(INSERT_TOKEN, 12), (INSERT_TOKEN_IF_CHANGED, 12), (INSERT_CONSENT, 10)] {
            assert!(sql.contains(&format!("?{columns}")) && !sql.contains(&format!("?{}", columns + 1)), "{sql}");
        }
        assert_eq!(TOKEN_COLUMNS.split(',').count(), 12);
        assert_eq!(CONSENT_COLUMNS.split(',').count(), 10);
    }

    #[test]
    fn grace_reissue_is_conditional_on_a_live_grant() {
        let insert = insert_token_if_live();
        assert!(
            insert.ends_with("WHERE request_id = ?13 AND kind = 'refresh_token' AND active = 1 AND expires_at > ?14)"),
            "{insert}"
        );
        assert!(!insert.contains("?15"), "{insert}");
        assert!(retire_access_tokens_if_live().contains("request_id = ?1 AND kind = 'refresh_token'"));
    }

    #[test]
    fn consent_revocation_reads_the_same_consents_it_deletes() {
        assert!(revoke_consent_tokens(true).ends_with("WHERE subject = ?1 AND client_id = ?2)"));
        assert_eq!(delete_consents(true), "DELETE FROM latch_consents WHERE subject = ?1 AND client_id = ?2");
        assert_eq!(delete_consents(false), "DELETE FROM latch_consents WHERE subject = ?1");
    }
}
