-- Remembered logins and completed consents. As in 0001, ids (and the subjects and
-- client ids they are looked up by) use COLLATE "C": bytewise, whatever the database's
-- locale, so consents list in the same order as in the in-memory store. List-valued
-- columns (amr, granted_scope, granted_audience) hold JSON arrays as TEXT.

CREATE TABLE latch_login_sessions (
    id               VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
    subject          TEXT         COLLATE "C" NOT NULL,
    authenticated_at BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    acr              TEXT   NOT NULL,
    amr              TEXT   NOT NULL
);
-- delete_login_sessions_of_subject
CREATE INDEX latch_login_sessions_subject_idx ON latch_login_sessions (subject);
-- the janitor (delete_expired_login_sessions)
CREATE INDEX latch_login_sessions_expires_at_idx ON latch_login_sessions (expires_at);

CREATE TABLE latch_consents (
    id               VARCHAR(255) COLLATE "C" NOT NULL PRIMARY KEY,
    client_id        VARCHAR(255) COLLATE "C" NOT NULL,
    subject          TEXT         COLLATE "C" NOT NULL,
    login_session_id VARCHAR(255) COLLATE "C",
    granted_scope    TEXT     NOT NULL,
    granted_audience TEXT     NOT NULL,
    remember         SMALLINT NOT NULL,
    remember_until   BIGINT,
    handled_at       BIGINT   NOT NULL,
    data             TEXT     NOT NULL
);
-- remembered_consents, revoke_consents (one client)
CREATE INDEX latch_consents_subject_client_id_idx ON latch_consents (subject, client_id);
-- list_consents (one login session)
CREATE INDEX latch_consents_subject_login_session_id_idx ON latch_consents (subject, login_session_id);
