-- Evidence store down: may an upload defer its bytes to the cell's spool (docs/residency.md)? False
-- (fail closed) until the catalog's seed writes each policy's value from infra/topology.json.
ALTER TABLE "residency_policy" ADD COLUMN "deferred_upload_allowed" boolean DEFAULT false NOT NULL;