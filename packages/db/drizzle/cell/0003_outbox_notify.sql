-- Wakes the relay as soon as outbox rows commit (NOTIFY is delivered at commit), so relay latency
-- is not a polling interval; the relay still polls as a fallback (DESIGN §11).
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_event', '');
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER trg_outbox_notify AFTER INSERT ON outbox_event
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
