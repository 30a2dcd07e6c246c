//! Every statement, written once with `?` placeholders and translated once per store
//! for its dialect ([`Dialect::translate`]). The dialects differ only where noted (the
//! janitor's bounded deletes, `RETURNING`, `FOR UPDATE`); D1's batches have statements of
//! their own ([`BatchQueries`]), because a batch cannot branch on what an earlier
//! statement found.

use crate::Dialect;

/// The columns of `latch_tokens`, in the order [`crate::rows::token`] encodes them.
pub const TOKEN_COLUMNS: &str =
    "signature, kind, request_id, client_id, subject, scope, audience, issued_at, expires_at, active, used_at, data";
/// How many columns [`TOKEN_COLUMNS`] names.
pub const TOKEN_COLUMN_COUNT: usize = 12;

/// The columns a client is written to, in the order [`crate::rows::client`] encodes them
/// (the id first; an update binds it last, see [`crate::rows::client_update`]).
pub const CLIENT_WRITE_COLUMNS: [&str; 7] =
    ["id", "client_name", "owner", "data", "secret_hash", "created_at", "updated_at"];

/// The columns a client is read from.
pub const CLIENT_COLUMNS: &str = "data, secret_hash, created_at, updated_at";

/// The columns of `latch_keys`, in the order [`crate::rows::key`] encodes them.
pub const KEY_COLUMNS: &str = "set_id, kid, alg, key_use, created_at, sealed";

/// The columns of `latch_login_sessions`, in the order [`crate::rows::login_session`]
/// encodes them.
pub const LOGIN_SESSION_COLUMNS: &str =
    "id, subject, authenticated_at, expires_at, acr, amr, identity_provider_session_id";

/// How a login session ends (then `AND id = ?` or `AND subject = ?`): a live one
/// expires when it was authenticated, so it is ended once and its row stays.
const END_SESSION: &str = "SET expires_at = authenticated_at WHERE expires_at > authenticated_at";

/// The columns of `latch_consents`, in the order [`crate::rows::consent`] encodes them.
pub const CONSENT_COLUMNS: &str =
    "id, client_id, subject, login_session_id, granted_scope, granted_audience, remember, \
     remember_until, handled_at, data";
/// How many columns [`CONSENT_COLUMNS`] names.
pub const CONSENT_COLUMN_COUNT: usize = 10;

/// The columns of `latch_trusts`, in the order [`crate::rows::trust`] encodes them.
pub const TRUST_COLUMNS: &str =
    "id, issuer, subject, allow_any_subject, scope, key_id, jwk, created_at, expires_at, natural_key";
/// How many columns [`TRUST_COLUMNS`] names.
pub const TRUST_COLUMN_COUNT: usize = 10;

/// The grants that answer an assertion: of the issuer, for the subject or any subject,
/// unexpired; newest first (equal times by id, as the in-memory store orders them).
const TRUSTS_FOR: &str = "FROM latch_trusts WHERE issuer = ? AND (subject = ? OR allow_any_subject = 1) \
     AND expires_at > ?";

/// Newest first; equal times by id (bytewise), as the in-memory store orders consents.
const CONSENT_ORDER: &str = "ORDER BY handled_at DESC, id";

/// At most this many ids go into one `IN (…)` list (well under every dialect's limit
/// on bound parameters).
pub const MAX_IDS_PER_STATEMENT: usize = 500;

/// A store's query texts, ready for its dialect.
#[derive(Debug)]
pub struct Queries {
    dialect: Dialect,
    pub ping: String,
    pub insert_client: String,
    pub get_client: String,
    pub update_client: String,
    /// [`Queries::update_client`] while `updated_at` is still the value read (a
    /// compare-and-set).
    pub update_client_if_unchanged: String,
    pub delete_client: String,
    /// Every token, code and refresh token of a client (deleting the client).
    pub delete_client_tokens: String,
    /// Every consent given to a client (deleting the client).
    pub delete_client_consents: String,
    pub get_token: String,
    /// [`Queries::insert_tokens`] of one row, made once.
    pub insert_token: String,
    pub revoke_token: String,
    pub revoke_grant: String,
    pub delete_client_access_tokens: String,
    /// Marks inactive the active access tokens of a grant (a refresh's predecessors).
    pub retire_grant_access_tokens: String,
    /// The grace re-issue's compare-and-set: writes (unchanged) the grant's refresh
    /// tokens that are active and unexpired at `?`, so that the re-issue counts them, waits
    /// for a revocation holding them and conflicts with one that started before.
    pub claim_live_refresh_tokens: String,
    /// [`latch_core::store::TokenStore::insert_tokens_while_active`]'s compare-and-set:
    /// writes (unchanged) token `?` of kind `?` if it is active and unexpired at `?`, as
    /// `claim_live_refresh_tokens` does for a grant.
    pub claim_active_token: String,
    /// Retires an active token of a kind: marks it inactive and records when.
    pub retire_token: String,
    /// The same compare-and-set returning the retired row, where the dialect has
    /// `UPDATE … RETURNING` (SQLite 3.35+, PostgreSQL; not MySQL/MariaDB): the success
    /// path then needs no second read.
    pub retire_token_returning: Option<String>,
    pub delete_expired_tokens: String,
    /// A device's poll: the pending request's row and its approval's, in one read.
    pub get_device_records: String,
    /// The polling interval's compare-and-set (RFC 8628 §3.5): `used_at` is the last poll.
    pub record_device_poll: String,
    pub insert_key: String,
    pub get_key_set: String,
    pub delete_key_set: String,
    pub delete_key: String,
    pub list_keys: String,
    /// Compare-and-set of a key's sealed value (re-sealing after a secret rotation).
    pub reseal_key: String,
    pub insert_login_session: String,
    pub get_login_session: String,
    /// Ends a live session: it expires when it was authenticated; the row stays, so that
    /// its id cannot be inserted again (by a replayed login verifier) before the janitor.
    pub end_login_session: String,
    /// `extend_session_lifespan`'s compare-and-set: a live session of the subject only.
    pub extend_login_session: String,
    pub end_login_sessions_of_subject: String,
    pub delete_expired_login_sessions: String,
    /// The janitor: revoked consents handled before `?`, at most `?` of them.
    pub delete_revoked_consents: String,
    pub insert_consent: String,
    pub remembered_consents: String,
    pub list_consents: String,
    pub list_consents_of_login_session: String,
    /// The ids of a subject's consents, locked for the rest of the transaction.
    pub lock_consents_of_subject: String,
    /// The ids of a subject's consents for one client, locked for the rest of the transaction.
    pub lock_consents_of_subject_client: String,
    pub insert_trust: String,
    pub get_trust: String,
    pub delete_trust: String,
    /// [`crate::statements::TRUSTS_FOR`]: issuer, subject, now, then the limit.
    pub trusts_for: String,
    /// The same, of one key id: issuer, subject, now, key id, then the limit.
    pub trusts_for_key: String,
    /// The used JWT id's record, if it expired by `?` (so that the insert can record it anew).
    pub forget_expired_jti: String,
    /// Records a used JWT id; a unique violation is a replay.
    pub insert_jti: String,
    pub delete_expired_jtis: String,
}

/// [`Queries::insert_tokens`], also for the one-row text [`Queries::new`] makes once.
fn insert_tokens(dialect: Dialect, rows: usize) -> String {
    let row = format!("({})", placeholders(TOKEN_COLUMN_COUNT));
    let values = vec![row.as_str(); rows].join(", ");
    dialect.translate(&format!("INSERT INTO latch_tokens ({TOKEN_COLUMNS}) VALUES {values}"))
}

impl Queries {
    /// The queries for one dialect.
    pub fn new(dialect: Dialect) -> Queries {
        let t = |sql: &str| dialect.translate(sql);
        Queries {
            dialect,
            ping: t("SELECT 1 AS one"),
            insert_client: t(&format!(
                "INSERT INTO latch_clients ({}) VALUES ({})",
                CLIENT_WRITE_COLUMNS.join(", "),
                placeholders(CLIENT_WRITE_COLUMNS.len())
            )),
            get_client: t(&format!("SELECT {CLIENT_COLUMNS} FROM latch_clients WHERE id = ?")),
            update_client: t(&format!(
                "UPDATE latch_clients SET {} WHERE id = ?",
                CLIENT_WRITE_COLUMNS[1..].iter().map(|c| format!("{c} = ?")).collect::<Vec<_>>().join(", ")
            )),
            update_client_if_unchanged: t(&format!(
                "UPDATE latch_clients SET {} WHERE id = ? AND updated_at = ?",
                CLIENT_WRITE_COLUMNS[1..].iter().map(|c| format!("{c} = ?")).collect::<Vec<_>>().join(", ")
            )),
            delete_client: t("DELETE FROM latch_clients WHERE id = ?"),
            delete_client_tokens: t("DELETE FROM latch_tokens WHERE client_id = ?"),
            delete_client_consents: t("DELETE FROM latch_consents WHERE client_id = ?"),
            get_token: t(&format!("SELECT {TOKEN_COLUMNS} FROM latch_tokens WHERE signature = ? AND kind = ?")),
            insert_token: insert_tokens(dialect, 1),
            revoke_token: t("UPDATE latch_tokens SET active = 0 WHERE signature = ? AND kind = ? AND active = 1"),
            revoke_grant: t("UPDATE latch_tokens SET active = 0 WHERE request_id = ? AND active = 1"),
            delete_client_access_tokens: t("DELETE FROM latch_tokens WHERE client_id = ? AND kind = 'access_token'"),
            retire_grant_access_tokens: t(
                "UPDATE latch_tokens SET active = 0 WHERE request_id = ? AND kind = 'access_token' AND active = 1",
            ),
            claim_active_token: t(
                "UPDATE latch_tokens SET active = 1 WHERE signature = ? AND kind = ? AND active = 1 AND expires_at > ?",
            ),
            claim_live_refresh_tokens: t(
                "UPDATE latch_tokens SET active = 1 WHERE request_id = ? AND kind = 'refresh_token' AND active = 1 \
                 AND expires_at > ?",
            ),
            retire_token: t(
                "UPDATE latch_tokens SET active = 0, used_at = ? WHERE signature = ? AND kind = ? AND active = 1",
            ),
            retire_token_returning: (dialect != Dialect::MySql).then(|| {
                t(&format!(
                    "UPDATE latch_tokens SET active = 0, used_at = ? WHERE signature = ? AND kind = ? AND active = 1 \
                     RETURNING {TOKEN_COLUMNS}"
                ))
            }),
            delete_expired_tokens: t(match dialect {
                // MySQL rejects LIMIT inside an IN subquery, but DELETE takes ORDER BY/LIMIT.
                Dialect::MySql => "DELETE FROM latch_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
                Dialect::Sqlite | Dialect::Postgres => {
                    "DELETE FROM latch_tokens WHERE signature IN \
                     (SELECT signature FROM latch_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)"
                }
            }),
            get_device_records: t(&format!("SELECT {TOKEN_COLUMNS} FROM latch_tokens WHERE signature IN (?, ?)")),
            record_device_poll: t(
                "UPDATE latch_tokens SET used_at = ? WHERE signature = ? AND kind = 'device_request' AND active = 1 \
                 AND (used_at IS NULL OR used_at <= ?)",
            ),
            insert_key: t(&format!("INSERT INTO latch_keys ({KEY_COLUMNS}) VALUES ({})", placeholders(6))),
            get_key_set: t(&format!("SELECT {KEY_COLUMNS} FROM latch_keys WHERE set_id = ? ORDER BY created_at, kid")),
            delete_key_set: t("DELETE FROM latch_keys WHERE set_id = ?"),
            delete_key: t("DELETE FROM latch_keys WHERE set_id = ? AND kid = ?"),
            list_keys: t(&format!("SELECT {KEY_COLUMNS} FROM latch_keys ORDER BY set_id, created_at, kid")),
            reseal_key: t("UPDATE latch_keys SET sealed = ? WHERE set_id = ? AND kid = ? AND sealed = ?"),
            insert_login_session: t(&format!(
                "INSERT INTO latch_login_sessions ({LOGIN_SESSION_COLUMNS}) VALUES ({})",
                placeholders(7)
            )),
            get_login_session: t(&format!("SELECT {LOGIN_SESSION_COLUMNS} FROM latch_login_sessions WHERE id = ?")),
            end_login_session: t(&format!("UPDATE latch_login_sessions {END_SESSION} AND id = ?")),
            extend_login_session: t(
                "UPDATE latch_login_sessions SET expires_at = ? WHERE id = ? AND subject = ? AND expires_at > ?",
            ),
            end_login_sessions_of_subject: t(&format!("UPDATE latch_login_sessions {END_SESSION} AND subject = ?")),
            delete_expired_login_sessions: t(match dialect {
                // As for tokens: MySQL rejects LIMIT inside an IN subquery.
                Dialect::MySql => "DELETE FROM latch_login_sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
                Dialect::Sqlite | Dialect::Postgres => {
                    "DELETE FROM latch_login_sessions WHERE id IN \
                     (SELECT id FROM latch_login_sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)"
                }
            }),
            delete_revoked_consents: t(match dialect {
                // As for tokens: MySQL rejects LIMIT inside an IN subquery.
                Dialect::MySql => {
                    "DELETE FROM latch_consents WHERE revoked = 1 AND handled_at < ? ORDER BY handled_at LIMIT ?"
                }
                Dialect::Sqlite | Dialect::Postgres => {
                    "DELETE FROM latch_consents WHERE id IN \
                     (SELECT id FROM latch_consents WHERE revoked = 1 AND handled_at < ? ORDER BY handled_at LIMIT ?)"
                }
            }),
            insert_consent: t(&format!(
                "INSERT INTO latch_consents ({CONSENT_COLUMNS}) VALUES ({})",
                placeholders(CONSENT_COLUMN_COUNT)
            )),
            remembered_consents: t(&format!(
                "SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ? AND client_id = ? AND remember = 1 \
                 AND revoked = 0 AND (remember_until IS NULL OR remember_until > ?) {CONSENT_ORDER}"
            )),
            list_consents: t(&format!(
                "SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ? AND revoked = 0 {CONSENT_ORDER}"
            )),
            list_consents_of_login_session: t(&format!(
                "SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ? AND login_session_id = ? AND revoked = 0 \
                 {CONSENT_ORDER}"
            )),
            lock_consents_of_subject: t(&format!(
                "SELECT id FROM latch_consents WHERE subject = ? AND revoked = 0 ORDER BY id{}",
                for_update(dialect)
            )),
            lock_consents_of_subject_client: t(&format!(
                "SELECT id FROM latch_consents WHERE subject = ? AND client_id = ? AND revoked = 0 ORDER BY id{}",
                for_update(dialect)
            )),
            insert_trust: t(&format!(
                "INSERT INTO latch_trusts ({TRUST_COLUMNS}) VALUES ({})",
                placeholders(TRUST_COLUMN_COUNT)
            )),
            get_trust: t(&format!("SELECT {TRUST_COLUMNS} FROM latch_trusts WHERE id = ?")),
            delete_trust: t("DELETE FROM latch_trusts WHERE id = ?"),
            trusts_for: t(&format!("SELECT {TRUST_COLUMNS} {TRUSTS_FOR} ORDER BY created_at DESC, id LIMIT ?")),
            trusts_for_key: t(&format!(
                "SELECT {TRUST_COLUMNS} {TRUSTS_FOR} AND key_id = ? ORDER BY created_at DESC, id LIMIT ?"
            )),
            forget_expired_jti: t("DELETE FROM latch_jtis WHERE signature = ? AND expires_at <= ?"),
            insert_jti: t("INSERT INTO latch_jtis (signature, expires_at) VALUES (?, ?)"),
            delete_expired_jtis: t(match dialect {
                // As for tokens: MySQL rejects LIMIT inside an IN subquery.
                Dialect::MySql => "DELETE FROM latch_jtis WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
                Dialect::Sqlite | Dialect::Postgres => {
                    "DELETE FROM latch_jtis WHERE signature IN \
                     (SELECT signature FROM latch_jtis WHERE expires_at < ? ORDER BY expires_at LIMIT ?)"
                }
            }),
        }
    }

    /// One multi-row INSERT of `rows` token records (all or nothing, as one statement).
    pub fn insert_tokens(&self, rows: usize) -> String {
        insert_tokens(self.dialect, rows)
    }

    /// Marks inactive every token of the grants (consents) with `ids` ids.
    pub fn revoke_grants(&self, ids: usize) -> String {
        self.dialect
            .translate(&format!("UPDATE latch_tokens SET active = 0 WHERE request_id IN ({})", placeholders(ids)))
    }

    /// Revokes the unrevoked consents with `ids` ids (their rows stay, see
    /// [`Queries::delete_revoked_consents`]).
    pub fn revoke_consents(&self, ids: usize) -> String {
        self.dialect.translate(&format!(
            "UPDATE latch_consents SET revoked = 1 WHERE revoked = 0 AND id IN ({})",
            placeholders(ids)
        ))
    }

    /// A page of trust grants: the filters that are set, in the order after_id, issuer,
    /// then the limit.
    pub fn list_trusts(&self, after_id: bool, issuer: bool) -> String {
        let mut sql = format!("SELECT {TRUST_COLUMNS} FROM latch_trusts WHERE 1 = 1");
        if after_id {
            sql.push_str(" AND id > ?");
        }
        if issuer {
            sql.push_str(" AND issuer = ?");
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        self.dialect.translate(&sql)
    }

    /// A page of clients: the filters that are set, in the order
    /// after_id, client_name, owner, then the limit.
    pub fn list_clients(&self, after_id: bool, client_name: bool, owner: bool) -> String {
        let mut sql = format!("SELECT {CLIENT_COLUMNS} FROM latch_clients WHERE 1 = 1");
        if after_id {
            sql.push_str(" AND id > ?");
        }
        if client_name {
            sql.push_str(" AND client_name = ?");
        }
        if owner {
            sql.push_str(" AND owner = ?");
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        self.dialect.translate(&sql)
    }
}

/// `?, ?, …` (`n` placeholders).
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// What makes a SELECT lock the rows it reads until the transaction ends. SQLite has no
/// row locks (and no such clause): its writers hold the whole database from `BEGIN
/// IMMEDIATE` on.
fn for_update(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres | Dialect::MySql => " FOR UPDATE",
    }
}

/// The statements of D1's batches (SQLite): a batch is one transaction whose
/// statements are fixed before it runs, so where the other stores branch on what an
/// update found, these carry the condition themselves. Numbered placeholders (`?N`)
/// where a statement uses a value twice.
#[derive(Debug)]
pub struct BatchQueries {
    /// The migrations wrangler recorded (its default `migrations_table`).
    pub applied_migrations: &'static str,
    /// Inserts a token only if the statement before it in the batch changed exactly one
    /// row: the conditional `UPDATE` that retired a code or refresh token, or the insert
    /// of the successor before this one. A loser of the race inserts nothing.
    pub insert_token_if_changed: String,
    /// A rotation's first statement: marks inactive the access tokens of the grant of the
    /// refresh token `?1`, if that refresh token is still active (then the retirement
    /// after it in the same batch retires it).
    pub retire_grant_access_tokens_of: &'static str,
    /// The grace re-issue's count (`n`) of the grant's (`?1`) live refresh tokens at `?2`.
    pub count_live_refresh_tokens: String,
    /// The grace re-issue: marks inactive the access tokens of grant `?1` if it is live at `?2`.
    pub retire_access_tokens_if_live: String,
    /// The grace re-issue: inserts a token (`?1`…`?12`) only if grant `?13` is live at `?14`.
    pub insert_token_if_live: String,
    /// An exchanged token: inserts a token (`?1`…`?12`) only if token `?13` of kind `?14`
    /// is active and unexpired at `?15` (`insert_tokens_while_active` in one batch).
    pub insert_token_if_active: String,
    /// Deactivates the tokens of the consent with id `?1`, only if it exists unrevoked;
    /// runs in one batch before revoking it ([`Queries::revoke_consents`] of one id).
    pub revoke_consent_tokens: String,
}

/// The refresh tokens of grant `?1` active and unexpired at `?2`.
const LIVE_REFRESH_TOKENS: &str =
    "FROM latch_tokens WHERE request_id = ?1 AND kind = 'refresh_token' AND active = 1 AND expires_at > ?2";

/// `?1, ?2, …, ?n`.
fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

impl BatchQueries {
    /// The batch statements (SQLite's dialect).
    pub fn new() -> BatchQueries {
        let live_grant = format!("EXISTS (SELECT 1 {LIVE_REFRESH_TOKENS})");
        BatchQueries {
            applied_migrations: "SELECT name FROM d1_migrations ORDER BY id",
            insert_token_if_changed: format!(
                "INSERT INTO latch_tokens ({TOKEN_COLUMNS}) SELECT {} WHERE changes() = 1",
                numbered(TOKEN_COLUMN_COUNT)
            ),
            retire_grant_access_tokens_of: "UPDATE latch_tokens SET active = 0 WHERE kind = 'access_token' \
                 AND active = 1 AND request_id = \
                 (SELECT request_id FROM latch_tokens WHERE signature = ?1 AND kind = 'refresh_token' AND active = 1)",
            count_live_refresh_tokens: format!("SELECT COUNT(*) AS n {LIVE_REFRESH_TOKENS}"),
            retire_access_tokens_if_live: format!(
                "UPDATE latch_tokens SET active = 0 WHERE request_id = ?1 AND kind = 'access_token' AND active = 1 \
                 AND {live_grant}"
            ),
            insert_token_if_live: format!(
                "INSERT INTO latch_tokens ({TOKEN_COLUMNS}) SELECT {} WHERE {}",
                numbered(TOKEN_COLUMN_COUNT),
                live_grant.replace("?1", "?13").replace("?2", "?14")
            ),
            insert_token_if_active: format!(
                "INSERT INTO latch_tokens ({TOKEN_COLUMNS}) SELECT {} WHERE EXISTS (SELECT 1 FROM latch_tokens \
                 WHERE signature = ?13 AND kind = ?14 AND active = 1 AND expires_at > ?15)",
                numbered(TOKEN_COLUMN_COUNT)
            ),
            revoke_consent_tokens: revoke_consent_tokens("id = ?1 AND revoked = 0"),
        }
    }

    /// Deactivates every token issued under the consents [`BatchQueries::revoke_consents`]
    /// then revokes (of a subject `?1`, or of a subject for one client `?2`); the two run
    /// in one batch (one transaction), so they see the same consents.
    pub fn revoke_consents_tokens(&self, one_client: bool) -> String {
        revoke_consent_tokens(consents_of(one_client))
    }

    /// Revokes the unrevoked consents of a subject (or of a subject for one client).
    pub fn revoke_consents(&self, one_client: bool) -> String {
        format!("UPDATE latch_consents SET revoked = 1 WHERE {}", consents_of(one_client))
    }
}

impl Default for BatchQueries {
    fn default() -> Self {
        Self::new()
    }
}

/// Deactivates the tokens of the consents `condition` selects.
fn revoke_consent_tokens(condition: &str) -> String {
    format!(
        "UPDATE latch_tokens SET active = 0 WHERE active = 1 AND request_id IN \
         (SELECT id FROM latch_consents WHERE {condition})"
    )
}

/// The unrevoked consents of a subject (`?1`), or of a subject for one client (`?2`).
fn consents_of(one_client: bool) -> &'static str {
    if one_client {
        "subject = ?1 AND client_id = ?2 AND revoked = 0"
    } else {
        "subject = ?1 AND revoked = 0"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_insert_numbers_every_placeholder() {
        let q = Queries::new(Dialect::Postgres);
        let sql = q.insert_tokens(2);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12), ($13,"), "{sql}");
        assert!(sql.ends_with("$24)"), "{sql}");
        assert_eq!(TOKEN_COLUMNS.split(',').count(), TOKEN_COLUMN_COUNT);
    }

    #[test]
    fn id_lists_and_locks_follow_the_dialect() {
        let pg = Queries::new(Dialect::Postgres);
        assert_eq!(pg.revoke_grants(3), "UPDATE latch_tokens SET active = 0 WHERE request_id IN ($1, $2, $3)");
        assert_eq!(pg.revoke_consents(1), "UPDATE latch_consents SET revoked = 1 WHERE revoked = 0 AND id IN ($1)");
        assert!(pg.lock_consents_of_subject_client.ends_with("client_id = $2 AND revoked = 0 ORDER BY id FOR UPDATE"));
        let sqlite = Queries::new(Dialect::Sqlite);
        assert!(sqlite.lock_consents_of_subject.ends_with("WHERE subject = ? AND revoked = 0 ORDER BY id"));
        assert_eq!(
            sqlite.revoke_consents(2),
            "UPDATE latch_consents SET revoked = 1 WHERE revoked = 0 AND id IN (?, ?)"
        );
    }

    #[test]
    fn list_query_has_only_the_set_filters() {
        let q = Queries::new(Dialect::Postgres);
        assert_eq!(
            q.list_clients(true, false, true),
            "SELECT data, secret_hash, created_at, updated_at FROM latch_clients WHERE 1 = 1 \
             AND id > $1 AND owner = $2 ORDER BY id LIMIT $3"
        );
    }

    #[test]
    fn client_writes_bind_every_column_once() {
        let q = Queries::new(Dialect::Postgres);
        assert_eq!(
            q.insert_client,
            "INSERT INTO latch_clients (id, client_name, owner, data, secret_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        assert_eq!(
            q.update_client,
            "UPDATE latch_clients SET client_name = $1, owner = $2, data = $3, secret_hash = $4, created_at = $5, \
             updated_at = $6 WHERE id = $7"
        );
        assert!(q.insert_consent.ends_with("$10)") && !q.insert_consent.contains("$11"), "{}", q.insert_consent);
        assert_eq!(CONSENT_COLUMNS.split(',').count(), CONSENT_COLUMN_COUNT);
    }

    #[test]
    fn batch_inserts_bind_each_column_once() {
        let b = BatchQueries::new();
        let sql = &b.insert_token_if_changed;
        assert!(sql.contains("?12 WHERE changes() = 1") && !sql.contains("?13"), "{sql}");
    }

    #[test]
    fn grace_reissue_is_conditional_on_a_live_grant() {
        let b = BatchQueries::new();
        let insert = &b.insert_token_if_live;
        assert!(
            insert.ends_with("WHERE request_id = ?13 AND kind = 'refresh_token' AND active = 1 AND expires_at > ?14)"),
            "{insert}"
        );
        assert!(!insert.contains("?15"), "{insert}");
        assert!(b.retire_access_tokens_if_live.contains("request_id = ?1 AND kind = 'refresh_token'"));
        assert!(b
            .count_live_refresh_tokens
            .starts_with("SELECT COUNT(*) AS n FROM latch_tokens WHERE request_id = ?1"));
    }

    #[test]
    fn consent_revocation_reads_the_same_consents_it_revokes() {
        let b = BatchQueries::new();
        assert!(b.revoke_consents_tokens(true).ends_with("WHERE subject = ?1 AND client_id = ?2 AND revoked = 0)"));
        assert_eq!(
            b.revoke_consents(true),
            "UPDATE latch_consents SET revoked = 1 WHERE subject = ?1 AND client_id = ?2 AND revoked = 0"
        );
        assert_eq!(
            b.revoke_consents(false),
            "UPDATE latch_consents SET revoked = 1 WHERE subject = ?1 AND revoked = 0"
        );
        assert!(b.revoke_consent_tokens.ends_with("(SELECT id FROM latch_consents WHERE id = ?1 AND revoked = 0)"));
    }

    /// Every read of consents leaves the revoked ones out; only the janitor deletes them.
    #[test]
    fn revoked_consents_are_read_by_nobody_but_the_janitor() {
        let q = Queries::new(Dialect::Sqlite);
        for read in [&q.remembered_consents, &q.list_consents, &q.list_consents_of_login_session] {
            assert!(read.contains("AND revoked = 0"), "{read}");
        }
        assert!(q.delete_revoked_consents.contains("revoked = 1 AND handled_at < ?"));
        assert_eq!(
            q.end_login_session,
            "UPDATE latch_login_sessions SET expires_at = authenticated_at WHERE expires_at > authenticated_at \
             AND id = ?"
        );
    }
}
