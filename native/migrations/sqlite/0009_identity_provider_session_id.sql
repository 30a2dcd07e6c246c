-- Login accept's identity_provider_session_id (Ory Kratos' session id), kept with the
-- remembered login it made, so that ending that login also ends the identity
-- provider's session (urls.identity_provider.url). Empty: none was given.
ALTER TABLE latch_login_sessions ADD COLUMN identity_provider_session_id TEXT NOT NULL DEFAULT '';
