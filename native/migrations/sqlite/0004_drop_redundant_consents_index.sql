-- latch_consents_subject_client_id_idx (subject, client_id) is the leading part of
-- latch_consents_remembered_idx (subject, client_id, remember, handled_at), which serves
-- every lookup by subject and client as well; keeping both cost one more index entry,
-- and one more page written, for every consent stored.
DROP INDEX latch_consents_subject_client_id_idx;
