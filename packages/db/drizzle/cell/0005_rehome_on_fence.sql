-- When a tenant's fence names a new active region (promotion, migration), every copy of its
-- aggregates says so: the standby rows become the live copy at the new home, and the former home's
-- rows point at where the tenant now lives. Done in the fence change's own transaction.
CREATE OR REPLACE FUNCTION rehome_tenant_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  t uuid;
BEGIN
  IF NEW.logical_scope NOT LIKE 'tenant:%' OR NEW.active_region IS NOT DISTINCT FROM OLD.active_region THEN
    RETURN NEW;
  END IF;
  t := substr(NEW.logical_scope, 8)::uuid;
  UPDATE regulatory_case SET home_region = NEW.active_region WHERE tenant_id = t AND home_region <> NEW.active_region;
  UPDATE tenant_registration SET home_region = NEW.active_region, updated_at = now()
    WHERE tenant_id = t AND home_region <> NEW.active_region;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER trg_rehome_tenant_rows AFTER UPDATE ON region_write_epoch
  FOR EACH ROW EXECUTE FUNCTION rehome_tenant_rows();
