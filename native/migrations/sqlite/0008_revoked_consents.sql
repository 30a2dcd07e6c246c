-- A revoked consent keeps its row (revoked = 1) until the janitor, once its consent
-- verifier expired: the primary key is what refuses that verifier a second use, so a
-- verifier replayed after a revocation cannot give the consent again. Reads skip it.
ALTER TABLE latch_consents ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
-- the janitor (delete_revoked_consents)
CREATE INDEX latch_consents_revoked_handled_at_idx ON latch_consents (revoked, handled_at);
