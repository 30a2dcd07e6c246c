-- The JWT-bearer grant's trust relationships (RFC 7523 §2.1, Hydra's trusted issuers) and
-- the JWT ids already used (assertions and private_key_jwt client assertions, RFC 7523 §3
-- item 7). natural_key is the hex SHA-256 of issuer, subject and key id (TrustGrant::
-- natural_key): unique whatever their lengths. scope and jwk hold JSON.

CREATE TABLE latch_trusts (
    id                TEXT    NOT NULL PRIMARY KEY,
    issuer            TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    allow_any_subject INTEGER NOT NULL,
    scope             TEXT    NOT NULL,
    key_id            TEXT    NOT NULL,
    jwk               TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    natural_key       TEXT    NOT NULL UNIQUE
);
-- trusts_for, list_trusts (one issuer)
CREATE INDEX latch_trusts_issuer_idx ON latch_trusts (issuer);

CREATE TABLE latch_jtis (
    signature  TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
-- the janitor (delete_expired_jtis)
CREATE INDEX latch_jtis_expires_at_idx ON latch_jtis (expires_at);
