import { type ResidencyRefusal, residencyViolation } from "@homeroute/contracts";
import type { CellDeps } from "../deps.js";
import { appendResidencyAudit, type ResidencyAuditRow } from "./audit.js";

/**
 * A residency refusal at this cell (DESIGN §10): counted by policy and target region, recorded in
 * the tenant's own audit chain (not a command: no command id, no outbox event), and thrown as the
 * 451. The tenant's auditors see who tried what, from where; nothing else is written.
 */
export async function refuseForResidency(
  deps: CellDeps,
  r: ResidencyAuditRow & { refusal: ResidencyRefusal; payload: Record<string, unknown> },
): Promise<never> {
  const d = r.refusal;
  deps.metrics.residencyViolations.inc({
    region: deps.region,
    policy: d.policy,
    target_region: d.targetRegion,
  });
  await appendResidencyAudit(deps, r, {
    outcome: "REFUSED",
    reason: "RESIDENCY_VIOLATION",
    sink: d.sink,
    refusal: d.reason,
    policy: d.policy,
    targetRegion: d.targetRegion,
    payload: r.payload,
  });
  throw residencyViolation(d);
}
