-- The remembered-consent lookup (subject, client, remember) runs on every login: index
-- it so it reads only remembered rows instead of every past consent of the user.
CREATE INDEX latch_consents_remembered_idx ON latch_consents (subject, client_id, remember, handled_at);
