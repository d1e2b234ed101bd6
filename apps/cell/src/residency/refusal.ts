import { type ResidencyRefusal, residencyViolation } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import type { CellDeps } from "../deps.js";

/**
 * A residency refusal at this cell (DESIGN §10): counted by policy and target region, recorded in
 * the tenant's own audit chain (not a command: no command id, no outbox event), and thrown as the
 * 451. The tenant's auditors see who tried what, from where; nothing else is written.
 */
export async function refuseForResidency(
  deps: CellDeps,
  r: {
    tenantId: string;
    epoch: number | null;
    actorId: string;
    correlationId: string | null;
    actionType: string;
    aggregateType: string;
    aggregateId: string;
    refusal: ResidencyRefusal;
    payload: Record<string, unknown>;
  },
): Promise<never> {
  const d = r.refusal;
  deps.metrics.residencyViolations.inc({
    region: deps.region,
    policy: d.policy,
    target_region: d.targetRegion,
  });
  await deps.sql`
    INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, region_epoch, actor_id, action_type,
      aggregate_type, aggregate_id, correlation_id, occurred_at, metadata)
    VALUES (${uuidv7()}, ${r.tenantId}, ${deps.region}, ${r.epoch}, ${r.actorId}, ${r.actionType},
      ${r.aggregateType}, ${r.aggregateId}, ${r.correlationId}, now(),
      ${deps.sql.json({
        outcome: "REFUSED",
        reason: "RESIDENCY_VIOLATION",
        sink: d.sink,
        refusal: d.reason,
        policy: d.policy,
        targetRegion: d.targetRegion,
        payload: r.payload,
      } as never)})`;
  throw residencyViolation(d);
}
