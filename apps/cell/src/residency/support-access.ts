import { DomainError, decide, type Permission, residencyViolation } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import type { Prelude } from "../commands/prelude.js";
import type { CellDeps } from "../deps.js";
import { policyFor } from "./policies.js";

/** Who reads: the token's user, and for a support session the region the support user sits in. */
export interface Reader {
  userId: string;
  supportRegion?: string | undefined;
  correlationId: string | null;
}

/**
 * Support access (DESIGN §10, issue 8): a support user from region X reads a tenant's data only
 * where the tenant's policy lets X (sink `support_access`). Reads always reach the tenant's home
 * (the edge never serves a support session from its projection), so the check is made here, once.
 * A refusal is 451, counted, and recorded in the tenant's own audit chain at home: the tenant's
 * auditors see who tried, from where, and what (a refused read changes nothing else).
 */
export async function requireSupportAccess(
  deps: CellDeps,
  tenantId: string,
  prelude: Prelude,
  reader: Reader,
  permission: Permission,
  caseId: string | undefined,
): Promise<void> {
  if (!reader.supportRegion) {
    throw new DomainError(
      "FORBIDDEN",
      "support access needs a token with a supportRegion claim (where the support user sits)",
    );
  }
  const tenant = prelude.tenant!;
  const policy = policyFor(deps.residencyPolicies, tenant.residencyPolicy, tenant.homeRegion);
  const d = decide(policy, { sink: "support_access", targetRegion: reader.supportRegion });
  if (d.allowed) return;
  deps.metrics.residencyViolations.inc({
    region: deps.region,
    policy: d.policy,
    target_region: d.targetRegion,
  });
  // Not a command: no command id, no outbox event (like conflict.resolved). `payload.caseId`
  // puts the attempt into that case's audit trail (GET .../audit).
  await deps.sql`
    INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, region_epoch, actor_id, action_type,
      aggregate_type, aggregate_id, correlation_id, occurred_at, metadata)
    VALUES (${uuidv7()}, ${tenantId}, ${deps.region}, ${prelude.tenantFence?.epoch ?? null}, ${reader.userId},
      'support.access_refused', 'support_access', ${reader.userId}, ${reader.correlationId}, now(),
      ${deps.sql.json({
        outcome: "REFUSED",
        reason: "RESIDENCY_VIOLATION",
        sink: d.sink,
        refusal: d.reason,
        policy: d.policy,
        targetRegion: d.targetRegion,
        payload: { permission, ...(caseId ? { caseId } : {}), supportRegion: reader.supportRegion },
      })})`;
  throw residencyViolation(d);
}
