-- Latch's schema for SQLite. Times are Unix seconds; `data` columns hold JSON text.
-- TEXT compares bytewise (BINARY collation), so ids are case-sensitive and sort as in Rust.

CREATE TABLE latch_clients (
    id          TEXT    NOT NULL PRIMARY KEY,
    client_name TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    secret_hash TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The admin list filters by owner or client_name and pages by id.
CREATE INDEX latch_clients_owner_idx ON latch_clients (owner, id);
CREATE INDEX latch_clients_client_name_idx ON latch_clients (client_name, id);

CREATE TABLE latch_tokens (
    signature  TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    audience   TEXT    NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    active     INTEGER NOT NULL,
    used_at    INTEGER,
    data       TEXT    NOT NULL
);
-- revoke_grant
CREATE INDEX latch_tokens_request_id_idx ON latch_tokens (request_id);
-- delete_client_access_tokens
CREATE INDEX latch_tokens_client_id_kind_idx ON latch_tokens (client_id, kind);
-- the janitor (delete_expired_tokens)
CREATE INDEX latch_tokens_expires_at_idx ON latch_tokens (expires_at);

CREATE TABLE latch_keys (
    set_id     TEXT    NOT NULL,
    kid        TEXT    NOT NULL,
    alg        TEXT    NOT NULL,
    key_use    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    sealed     TEXT    NOT NULL,
    PRIMARY KEY (set_id, kid)
);
