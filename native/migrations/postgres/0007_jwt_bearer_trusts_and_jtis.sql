-- The JWT-bearer grant's trust relationships (RFC 7523 §2.1, Hydra's trusted issuers) and
-- the JWT ids already used (assertions and private_key_jwt client assertions, RFC 7523 §3
-- item 7). Ids compare bytewise (COLLATE "C"), as in 0001. natural_key is the hex SHA-256
-- of issuer, subject and key id (TrustGrant::natural_key): unique whatever their lengths.
-- scope and jwk hold JSON as TEXT.

CREATE TABLE latch_trusts (
    id                VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
    issuer            TEXT         COLLATE "C" NOT NULL,
    subject           TEXT         COLLATE "C" NOT NULL,
    allow_any_subject SMALLINT     NOT NULL,
    scope             TEXT         NOT NULL,
    key_id            TEXT         COLLATE "C" NOT NULL,
    jwk               TEXT         NOT NULL,
    created_at        BIGINT       NOT NULL,
    expires_at        BIGINT       NOT NULL,
    natural_key       VARCHAR(64)  NOT NULL UNIQUE
);
-- trusts_for, list_trusts (one issuer)
CREATE INDEX latch_trusts_issuer_idx ON latch_trusts (issuer);

CREATE TABLE latch_jtis (
    signature  VARCHAR(64) NOT NULL PRIMARY KEY,
    expires_at BIGINT   NOT NULL
);
-- the janitor (delete_expired_jtis)
CREATE INDEX latch_jtis_expires_at_idx ON latch_jtis (expires_at);
