-- Every server on this database caches clients and key sets; each one LISTENs on
-- latch_cache (native/src/store/notify.rs) and forgets what these notifications name.
-- Sent by triggers, so in the same transaction as every change, whoever makes it (a
-- server's admin API, `latch` commands, SQL by hand): delivered when it commits, never
-- for a change rolled back. 'c<id>' names a client, 'k<set>' a key set, '*' everything.
CREATE FUNCTION latch_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('latch_cache', '*');
    ELSIF TG_TABLE_NAME = 'latch_clients' THEN
        PERFORM pg_notify('latch_cache', 'c' || OLD.id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('latch_cache', 'k' || OLD.set_id);
    ELSE
        PERFORM pg_notify('latch_cache', 'k' || NEW.set_id);
        IF TG_OP = 'UPDATE' AND OLD.set_id <> NEW.set_id THEN
            PERFORM pg_notify('latch_cache', 'k' || OLD.set_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- A new client needs no notification: absent clients are never cached.
CREATE TRIGGER latch_clients_changed AFTER UPDATE OR DELETE ON latch_clients
    FOR EACH ROW EXECUTE FUNCTION latch_notify_change();
CREATE TRIGGER latch_clients_truncated AFTER TRUNCATE ON latch_clients
    FOR EACH STATEMENT EXECUTE FUNCTION latch_notify_change();
CREATE TRIGGER latch_keys_changed AFTER INSERT OR UPDATE OR DELETE ON latch_keys
    FOR EACH ROW EXECUTE FUNCTION latch_notify_change();
CREATE TRIGGER latch_keys_truncated AFTER TRUNCATE ON latch_keys
    FOR EACH STATEMENT EXECUTE FUNCTION latch_notify_change();
