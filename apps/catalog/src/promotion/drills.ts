import { uuidv7 } from "@homeroute/ids";
import { z } from "zod";
import { appendCatalogAudit } from "../audit.js";
import { auditReplicaPlacement } from "../audit-replica/verify.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";

export const drillRecordBody = z.strictObject({
  tenantId: z.uuid(),
  fromRegion: z.string().min(2).max(32),
  toRegion: z.string().min(2).max(32),
  fencedBy: z.enum(["ack", "lease_expiry", "override"]),
  rtoMs: z.number().int().nonnegative(),
  rpoSeconds: z.number().nonnegative().nullable(),
  failedBack: z.enum(["yes", "no", "skipped"]),
  result: z.record(z.string(), z.unknown()),
});

/** Records a drill's measurements; the latest one is the tenant's DR readiness. */
export async function recordDrill(deps: CatalogDeps, b: z.infer<typeof drillRecordBody>, actor: Actor) {
  const drillId = uuidv7();
  await deps.sql`
    INSERT INTO dr_drill (drill_id, tenant_id, from_region, to_region, fenced_by, rto_ms, rpo_seconds, failed_back, result)
    VALUES (${drillId}, ${b.tenantId}, ${b.fromRegion}, ${b.toRegion}, ${b.fencedBy}, ${b.rtoMs},
      ${b.rpoSeconds === null ? null : Math.ceil(b.rpoSeconds)}, ${b.failedBack}, ${deps.sql.json(b.result as never)})`;
  await appendCatalogAudit(deps.sql, {
    actorId: actor.actorId,
    actionType: "dr.drill",
    tenantId: b.tenantId,
    targetRegion: b.toRegion,
    outcome: "ACCEPTED",
    correlationId: actor.correlationId,
    metadata: { drillId, rtoMs: b.rtoMs, rpoSeconds: b.rpoSeconds, fencedBy: b.fencedBy },
  });
  return { drillId, ...b };
}

export async function drReadiness(deps: CatalogDeps, tenantId: string) {
  const [d] = await deps.sql<
    { ran_at: Date; rto_ms: number; rpo_seconds: number | null; to_region: string }[]
  >`
    SELECT ran_at, rto_ms, rpo_seconds, to_region FROM dr_drill WHERE tenant_id = ${tenantId} ORDER BY ran_at DESC LIMIT 1`;
  // Where the audit chain survives the home (docs/audit.md); the warning where nowhere.
  const replica = await auditReplicaPlacement(deps, tenantId);
  const auditReplica = { region: replica.region, ...(replica.warning ? { warning: replica.warning } : {}) };
  return d
    ? {
        lastDrillAt: d.ran_at.toISOString(),
        rtoMs: d.rto_ms,
        rpoSeconds: d.rpo_seconds,
        drilledTo: d.to_region,
        auditReplica,
      }
    : { lastDrillAt: null, rtoMs: null, rpoSeconds: null, drilledTo: null, auditReplica };
}
