-- The JWT-bearer grant's trust relationships (RFC 7523 §2.1, Hydra's trusted issuers) and
-- the JWT ids already used (assertions and private_key_jwt client assertions, RFC 7523 §3
-- item 7). InnoDB, utf8mb4 with the binary collation as in 0001. natural_key is the hex
-- SHA-256 of issuer, subject and key id (TrustGrant::natural_key): unique whatever their
-- lengths, which a prefix index on TEXT could not promise. scope and jwk hold JSON as text.

CREATE TABLE latch_trusts (
    id                VARCHAR(255) NOT NULL,
    issuer            TEXT         NOT NULL,
    subject           TEXT         NOT NULL,
    allow_any_subject SMALLINT     NOT NULL,
    scope             TEXT         NOT NULL,
    key_id            TEXT         NOT NULL,
    jwk               MEDIUMTEXT   NOT NULL,
    created_at        BIGINT       NOT NULL,
    expires_at        BIGINT       NOT NULL,
    natural_key       VARCHAR(64)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE INDEX latch_trusts_natural_key_idx (natural_key),
    INDEX latch_trusts_issuer_idx (issuer(191))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE latch_jtis (
    signature  VARCHAR(64) NOT NULL,
    expires_at BIGINT   NOT NULL,
    PRIMARY KEY (signature),
    INDEX latch_jtis_expires_at_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
