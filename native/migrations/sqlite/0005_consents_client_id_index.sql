-- Deleting a client deletes the consents given to it in the same transaction
-- (delete_client); index them by client so that this reads only that client's rows
-- (and, on MySQL, locks only those) instead of scanning every consent.
CREATE INDEX latch_consents_client_id_idx ON latch_consents (client_id);
