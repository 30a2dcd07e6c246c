//! Every query text, written once with `?` placeholders and translated once per store
//! for its dialect. The dialects differ only where noted (the janitor's bounded deletes,
//! `FOR UPDATE`).

use super::Dialect;

/// The columns of `latch_tokens`, in the order [`super::rows`] binds and reads them.
pub(crate) const TOKEN_COLUMNS: &str =
    "signature, kind, request_id, client_id, subject, scope, audience, issued_at, expires_at, active, used_at, data";
/// How many columns [`TOKEN_COLUMNS`] names.
const TOKEN_COLUMN_COUNT: usize = 12;

/// The columns a client is read from.
const CLIENT_COLUMNS: &str = "data, secret_hash, created_at, updated_at";

/// The columns of `latch_keys`.
const KEY_COLUMNS: &str = "set_id, kid, alg, key_use, created_at, sealed";

/// The columns of `latch_login_sessions`, in the order [`super::rows`] binds them.
const LOGIN_SESSION_COLUMNS: &str = "id, subject, authenticated_at, expires_at, acr, amr";

/// The columns of `latch_consents`, in the order [`super::rows`] binds them.
const CONSENT_COLUMNS: &str = "id, client_id, subject, login_session_id, granted_scope, granted_audience, remember, \
     remember_until, handled_at, data";

/// Newest first; equal times by id (bytewise), as the in-memory store orders consents.
const CONSENT_ORDER: &str = "ORDER BY handled_at DESC, id";

/// At most this many ids go into one `IN (…)` list (well under every dialect's limit
/// on bound parameters).
pub(crate) const MAX_IDS_PER_STATEMENT: usize = 500;

/// A store's query texts, ready for its dialect.
#[derive(Debug)]
pub(crate) struct Queries {
    dialect: Dialect,
    pub(crate) ping: String,
    pub(crate) insert_client: String,
    pub(crate) get_client: String,
    pub(crate) update_client: String,
    pub(crate) delete_client: String,
    /// Every token, code and refresh token of a client (deleting the client).
    pub(crate) delete_client_tokens: String,
    /// Every consent given to a client (deleting the client).
    pub(crate) delete_client_consents: String,
    pub(crate) get_token: String,
    /// [`Queries::insert_tokens`] of one row, made once.
    pub(crate) insert_token: String,
    pub(crate) revoke_token: String,
    pub(crate) revoke_grant: String,
    pub(crate) delete_client_access_tokens: String,
    /// Marks inactive the active access tokens of a grant (a refresh's predecessors).
    pub(crate) retire_grant_access_tokens: String,
    /// The grace re-issue's compare-and-set: writes (unchanged) the grant's refresh
    /// tokens that are active and unexpired at `?`, so that the re-issue counts them, waits
    /// for a revocation holding them and conflicts with one that started before.
    pub(crate) claim_live_refresh_tokens: String,
    /// Retires an active token of a kind: marks it inactive and records when.
    pub(crate) retire_token: String,
    /// The same compare-and-set returning the retired row, where the dialect has
    /// `UPDATE … RETURNING` (SQLite 3.35+, PostgreSQL; not MySQL/MariaDB): the success
    /// path then needs no second read.
    pub(crate) retire_token_returning: Option<String>,
    pub(crate) delete_expired_tokens: String,
    pub(crate) insert_key: String,
    pub(crate) get_key_set: String,
    pub(crate) delete_key_set: String,
    pub(crate) delete_key: String,
    pub(crate) list_keys: String,
    /// Compare-and-set of a key's sealed value (re-sealing after a secret rotation).
    pub(crate) reseal_key: String,
    pub(crate) insert_login_session: String,
    pub(crate) get_login_session: String,
    pub(crate) delete_login_session: String,
    pub(crate) delete_login_sessions_of_subject: String,
    pub(crate) delete_expired_login_sessions: String,
    pub(crate) insert_consent: String,
    pub(crate) remembered_consents: String,
    pub(crate) list_consents: String,
    pub(crate) list_consents_of_login_session: String,
    /// The ids of a subject's consents, locked for the rest of the transaction.
    pub(crate) lock_consents_of_subject: String,
    /// The ids of a subject's consents for one client, locked for the rest of the transaction.
    pub(crate) lock_consents_of_subject_client: String,
}

/// [`Queries::insert_tokens`], also for the one-row text [`Queries::new`] makes once.
fn insert_tokens(dialect: Dialect, rows: usize) -> String {
    let row = format!("({})", ["?"; TOKEN_COLUMN_COUNT].join(", "));
    let values = vec![row.as_str(); rows].join(", ");
    dialect.translate(&format!("INSERT INTO latch_tokens ({TOKEN_COLUMNS}) VALUES {values}"))
}

impl Queries {
    /// The queries for one dialect.
    pub(crate) fn new(dialect: Dialect) -> Queries {
        let t = |sql: &str| dialect.translate(sql);
        Queries {
            dialect,
            ping: t("SELECT 1"),
            insert_client: t(
                "INSERT INTO latch_clients (id, client_name, owner, data, secret_hash, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            ),
            get_client: t(&format!("SELECT {CLIENT_COLUMNS} FROM latch_clients WHERE id = ?")),
            update_client: t("UPDATE latch_clients SET client_name = ?, owner = ?, data = ?, secret_hash = ?, \
                 created_at = ?, updated_at = ? WHERE id = ?"),
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
            insert_key: t(&format!("INSERT INTO latch_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)")),
            get_key_set: t(&format!("SELECT {KEY_COLUMNS} FROM latch_keys WHERE set_id = ? ORDER BY created_at, kid")),
            delete_key_set: t("DELETE FROM latch_keys WHERE set_id = ?"),
            delete_key: t("DELETE FROM latch_keys WHERE set_id = ? AND kid = ?"),
            list_keys: t(&format!("SELECT {KEY_COLUMNS} FROM latch_keys ORDER BY set_id, created_at, kid")),
            reseal_key: t("UPDATE latch_keys SET sealed = ? WHERE set_id = ? AND kid = ? AND sealed = ?"),
            insert_login_session: t(&format!(
                "INSERT INTO latch_login_sessions ({LOGIN_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            )),
            get_login_session: t(&format!("SELECT {LOGIN_SESSION_COLUMNS} FROM latch_login_sessions WHERE id = ?")),
            delete_login_session: t("DELETE FROM latch_login_sessions WHERE id = ?"),
            delete_login_sessions_of_subject: t("DELETE FROM latch_login_sessions WHERE subject = ?"),
            delete_expired_login_sessions: t(match dialect {
                // As for tokens: MySQL rejects LIMIT inside an IN subquery.
                Dialect::MySql => "DELETE FROM latch_login_sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
                Dialect::Sqlite | Dialect::Postgres => {
                    "DELETE FROM latch_login_sessions WHERE id IN \
                     (SELECT id FROM latch_login_sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)"
                }
            }),
            insert_consent: t(&format!(
                "INSERT INTO latch_consents ({CONSENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )),
            remembered_consents: t(&format!(
                "SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ? AND client_id = ? AND remember = 1 \
                 AND (remember_until IS NULL OR remember_until > ?) {CONSENT_ORDER}"
            )),
            list_consents: t(&format!("SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ? {CONSENT_ORDER}")),
            list_consents_of_login_session: t(&format!(
                "SELECT {CONSENT_COLUMNS} FROM latch_consents WHERE subject = ? AND login_session_id = ? {CONSENT_ORDER}"
            )),
            lock_consents_of_subject: t(&format!(
                "SELECT id FROM latch_consents WHERE subject = ? ORDER BY id{}",
                for_update(dialect)
            )),
            lock_consents_of_subject_client: t(&format!(
                "SELECT id FROM latch_consents WHERE subject = ? AND client_id = ? ORDER BY id{}",
                for_update(dialect)
            )),
        }
    }

    /// One multi-row INSERT of `rows` token records (all or nothing, as one statement).
    pub(crate) fn insert_tokens(&self, rows: usize) -> String {
        insert_tokens(self.dialect, rows)
    }

    /// Marks inactive every token of the grants (consents) with `ids` ids.
    pub(crate) fn revoke_grants(&self, ids: usize) -> String {
        self.dialect.translate(&format!("UPDATE latch_tokens SET active = 0 WHERE request_id IN ({})", in_list(ids)))
    }

    /// Deletes the consents with `ids` ids.
    pub(crate) fn delete_consents(&self, ids: usize) -> String {
        self.dialect.translate(&format!("DELETE FROM latch_consents WHERE id IN ({})", in_list(ids)))
    }

    /// A page of clients: the filters that are set, in the order
    /// after_id, client_name, owner, then the limit.
    pub(crate) fn list_clients(&self, after_id: bool, client_name: bool, owner: bool) -> String {
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
fn in_list(n: usize) -> String {
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
        assert_eq!(pg.delete_consents(1), "DELETE FROM latch_consents WHERE id IN ($1)");
        assert!(pg.lock_consents_of_subject_client.ends_with("client_id = $2 ORDER BY id FOR UPDATE"));
        let sqlite = Queries::new(Dialect::Sqlite);
        assert!(sqlite.lock_consents_of_subject.ends_with("WHERE subject = ? ORDER BY id"));
        assert_eq!(sqlite.delete_consents(2), "DELETE FROM latch_consents WHERE id IN (?, ?)");
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
}
