import { uuidv7 } from "@homeroute/ids";
import type { CellDeps } from "../deps.js";

/** Who did what to which aggregate of the tenant: the columns of one audit link. */
export interface ResidencyAuditRow {
  tenantId: string;
  epoch: number | null;
  actorId: string;
  correlationId: string | null;
  actionType: string;
  aggregateType: string;
  aggregateId: string;
}

/**
 * A residency decision recorded in the tenant's own hash-chained audit at home (DESIGN §10, §13):
 * not a command (no command id, no outbox event), so it changes nothing else, yet it is a link of
 * the chain like any other (verified, copied to the protected replica). `occurred_at` is the
 * home's clock when the decision was made. One INSERT under the tenant's chain-head lock.
 */
export async function appendResidencyAudit(
  deps: CellDeps,
  r: ResidencyAuditRow,
  metadata: Record<string, unknown>,
): Promise<void> {
  await deps.sql`
    INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, region_epoch, actor_id, action_type,
      aggregate_type, aggregate_id, correlation_id, occurred_at, metadata)
    VALUES (${uuidv7()}, ${r.tenantId}, ${deps.region}, ${r.epoch}, ${r.actorId}, ${r.actionType},
      ${r.aggregateType}, ${r.aggregateId}, ${r.correlationId}, now(), ${deps.sql.json(metadata as never)})`;
}
