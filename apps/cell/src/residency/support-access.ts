import { DomainError, decide, type Permission } from "@homeroute/contracts";
import type { Prelude } from "../commands/prelude.js";
import type { CellDeps } from "../deps.js";
import { policyFor } from "./policies.js";
import { refuseForResidency } from "./refusal.js";

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
  await refuseForResidency(deps, {
    tenantId,
    epoch: prelude.tenantFence?.epoch ?? null,
    actorId: reader.userId,
    correlationId: reader.correlationId,
    actionType: "support.access_refused",
    aggregateType: "support_access",
    aggregateId: reader.userId,
    refusal: d,
    // `caseId` puts the attempt into that case's audit trail (GET .../audit).
    payload: { permission, ...(caseId ? { caseId } : {}), supportRegion: reader.supportRegion },
  });
}
