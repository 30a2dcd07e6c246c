-- Latch's schema for PostgreSQL. Times are Unix seconds; `data` columns hold JSON text
-- (TEXT, not JSONB: the store never queries inside it and JSONB would reorder keys).
-- Keys use COLLATE "C" so ids compare and sort bytewise, whatever the database's locale,
-- exactly as the in-memory store orders them (keyset pagination depends on it).

CREATE TABLE latch_clients (
    id          VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
    client_name TEXT   NOT NULL,
    owner       TEXT   NOT NULL,
    data        TEXT   NOT NULL,
    secret_hash TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- The admin list filters by owner or client_name and pages by id.
CREATE INDEX latch_clients_owner_idx ON latch_clients (owner, id);
CREATE INDEX latch_clients_client_name_idx ON latch_clients (client_name, id);

CREATE TABLE latch_tokens (
    signature  VARCHAR(64)  COLLATE "C" NOT NULL PRIMARY KEY,
    kind       VARCHAR(32)  NOT NULL,
    request_id VARCHAR(255) COLLATE "C" NOT NULL,
    client_id  VARCHAR(255) COLLATE "C" NOT NULL,
    subject    TEXT     NOT NULL,
    scope      TEXT     NOT NULL,
    audience   TEXT     NOT NULL,
    issued_at  BIGINT   NOT NULL,
    expires_at BIGINT   NOT NULL,
    active     SMALLINT NOT NULL,
    used_at    BIGINT,
    data       TEXT     NOT NULL
);
-- revoke_grant
CREATE INDEX latch_tokens_request_id_idx ON latch_tokens (request_id);
-- delete_client_access_tokens
CREATE INDEX latch_tokens_client_id_kind_idx ON latch_tokens (client_id, kind);
-- the janitor (delete_expired_tokens)
CREATE INDEX latch_tokens_expires_at_idx ON latch_tokens (expires_at);

CREATE TABLE latch_keys (
    set_id     VARCHAR(255) COLLATE "C" NOT NULL,
    kid        VARCHAR(255) COLLATE "C" NOT NULL,
    alg        VARCHAR(32)  NOT NULL,
    key_use    VARCHAR(16)  NOT NULL,
    created_at BIGINT NOT NULL,
    sealed     TEXT   NOT NULL,
    PRIMARY KEY (set_id, kid)
);
