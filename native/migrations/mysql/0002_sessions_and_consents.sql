-- Remembered logins and completed consents, InnoDB, utf8mb4 with the binary collation as
-- in 0001 (ids case-sensitive, sorted by code point; PAD SPACE). List-valued columns
-- (amr, granted_scope, granted_audience) hold JSON arrays as text. subject is TEXT (no
-- length limit, as in latch_tokens) with a prefix in the indexes: equality still
-- compares the whole value.

CREATE TABLE latch_login_sessions (
    id               VARCHAR(255) NOT NULL,
    subject          TEXT         NOT NULL,
    authenticated_at BIGINT       NOT NULL,
    expires_at       BIGINT       NOT NULL,
    acr              TEXT         NOT NULL,
    amr              TEXT         NOT NULL,
    PRIMARY KEY (id),
    INDEX latch_login_sessions_subject_idx (subject(191)),
    INDEX latch_login_sessions_expires_at_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE latch_consents (
    id               VARCHAR(255) NOT NULL,
    client_id        VARCHAR(255) NOT NULL,
    subject          TEXT         NOT NULL,
    login_session_id VARCHAR(255) NULL,
    granted_scope    TEXT         NOT NULL,
    granted_audience TEXT         NOT NULL,
    remember         SMALLINT     NOT NULL,
    remember_until   BIGINT       NULL,
    handled_at       BIGINT       NOT NULL,
    data             MEDIUMTEXT   NOT NULL,
    PRIMARY KEY (id),
    INDEX latch_consents_subject_client_id_idx (subject(191), client_id),
    INDEX latch_consents_subject_login_session_id_idx (subject(191), login_session_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
