-- Remembered logins and completed consents. TEXT compares bytewise (BINARY collation),
-- as in 0001. List-valued columns (amr, granted_scope, granted_audience) hold JSON arrays.

CREATE TABLE latch_login_sessions (
    id               TEXT    NOT NULL PRIMARY KEY,
    subject          TEXT    NOT NULL,
    authenticated_at INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    acr              TEXT    NOT NULL,
    amr              TEXT    NOT NULL
);
-- delete_login_sessions_of_subject
CREATE INDEX latch_login_sessions_subject_idx ON latch_login_sessions (subject);
-- the janitor (delete_expired_login_sessions)
CREATE INDEX latch_login_sessions_expires_at_idx ON latch_login_sessions (expires_at);

CREATE TABLE latch_consents (
    id               TEXT    NOT NULL PRIMARY KEY,
    client_id        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    login_session_id TEXT,
    granted_scope    TEXT    NOT NULL,
    granted_audience TEXT    NOT NULL,
    remember         INTEGER NOT NULL,
    remember_until   INTEGER,
    handled_at       INTEGER NOT NULL,
    data             TEXT    NOT NULL
);
-- remembered_consents, revoke_consents (one client)
CREATE INDEX latch_consents_subject_client_id_idx ON latch_consents (subject, client_id);
-- list_consents (one login session)
CREATE INDEX latch_consents_subject_login_session_id_idx ON latch_consents (subject, login_session_id);
