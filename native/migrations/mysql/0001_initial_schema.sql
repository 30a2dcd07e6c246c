-- Latch's schema for MySQL and MariaDB. Times are Unix seconds; `data` columns hold JSON
-- text. Every table is InnoDB, utf8mb4 with the binary collation: ids are case-sensitive
-- and sort by code point (= UTF-8 byte order), as in the in-memory store. (utf8mb4_bin
-- is a PAD SPACE collation: trailing spaces are ignored when comparing.)
-- owner and client_name are TEXT with prefix indexes so that no length limit applies.

CREATE TABLE latch_clients (
    id          VARCHAR(255) NOT NULL,
    client_name TEXT       NOT NULL,
    owner       TEXT       NOT NULL,
    data        MEDIUMTEXT NOT NULL,
    secret_hash TEXT       NULL,
    created_at  BIGINT     NOT NULL,
    updated_at  BIGINT     NOT NULL,
    PRIMARY KEY (id),
    INDEX latch_clients_owner_idx (owner(191)),
    INDEX latch_clients_client_name_idx (client_name(191))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE latch_tokens (
    signature  VARCHAR(64)  NOT NULL,
    kind       VARCHAR(32)  NOT NULL,
    request_id VARCHAR(255) NOT NULL,
    client_id  VARCHAR(255) NOT NULL,
    subject    TEXT         NOT NULL,
    scope      TEXT         NOT NULL,
    audience   TEXT         NOT NULL,
    issued_at  BIGINT       NOT NULL,
    expires_at BIGINT       NOT NULL,
    active     SMALLINT     NOT NULL,
    used_at    BIGINT       NULL,
    data       MEDIUMTEXT   NOT NULL,
    PRIMARY KEY (signature),
    INDEX latch_tokens_request_id_idx (request_id),
    INDEX latch_tokens_client_id_kind_idx (client_id, kind),
    INDEX latch_tokens_expires_at_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE latch_keys (
    set_id     VARCHAR(255) NOT NULL,
    kid        VARCHAR(255) NOT NULL,
    alg        VARCHAR(32)  NOT NULL,
    key_use    VARCHAR(16)  NOT NULL,
    created_at BIGINT       NOT NULL,
    sealed     TEXT         NOT NULL,
    PRIMARY KEY (set_id, kid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
