-- Audit is append-only with one hash chain per tenant (DESIGN §13).
-- The chain is linked by a trigger, so every writer (command, control route, future migration
-- tooling) produces a valid chain without an extra round trip, under a per-tenant head lock.
-- The canonical form below is mirrored by packages/db/src/cell/audit-chain.ts (the verifier).
CREATE OR REPLACE FUNCTION audit_canonical(e global_audit_event) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT concat_ws('|',
    e.chain_seq::text, e.prev_hash, e.audit_event_id::text, e.tenant_id::text, e.home_region,
    coalesce(e.region_epoch::text, ''), coalesce(e.actor_id::text, ''), e.action_type,
    e.aggregate_type, e.aggregate_id::text, coalesce(e.aggregate_version::text, ''),
    coalesce(e.command_id::text, ''), coalesce(e.correlation_id, ''), coalesce(e.causation_id, ''),
    (extract(epoch FROM e.occurred_at) * 1000000)::bigint::text, e.payload_hash)
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_chain_link() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
  UPDATE audit_chain_head SET last_seq = last_seq + 1
    WHERE tenant_id = NEW.tenant_id
    RETURNING last_seq, last_hash INTO head_seq, head_hash;
  IF NOT FOUND THEN
    INSERT INTO audit_chain_head (tenant_id, last_seq, last_hash)
      VALUES (NEW.tenant_id, 0, repeat('0', 64)) ON CONFLICT (tenant_id) DO NOTHING;
    UPDATE audit_chain_head SET last_seq = last_seq + 1
      WHERE tenant_id = NEW.tenant_id
      RETURNING last_seq, last_hash INTO head_seq, head_hash;
  END IF;
  NEW.chain_seq := head_seq;
  NEW.prev_hash := head_hash;
  NEW.payload_hash := encode(sha256(convert_to(NEW.metadata::text, 'UTF8')), 'hex');
  NEW.hash := encode(sha256(convert_to(audit_canonical(NEW), 'UTF8')), 'hex');
  UPDATE audit_chain_head SET last_hash = NEW.hash WHERE tenant_id = NEW.tenant_id;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER trg_audit_chain_link BEFORE INSERT ON global_audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_chain_link();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'global_audit_event is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER trg_audit_append_only BEFORE UPDATE OR DELETE ON global_audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER trg_audit_no_truncate BEFORE TRUNCATE ON global_audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
