import { DomainError, decide, type Permission } from "@homeroute/contracts";
import type { Prelude } from "../commands/prelude.js";
import type { CellDeps } from "../deps.js";
import { appendResidencyAudit } from "./audit.js";
import { policyFor } from "./policies.js";
import { refuseForResidency } from "./refusal.js";

/** Who reads: the token's user, and for a support session the region the support user sits in. */
export interface Reader {
  userId: string;
  supportRegion?: string | undefined;
  correlationId: string | null;
}

/** What a read asks for, as a support read's audit record names it. */
export interface ReadTarget {
  permission: Permission;
  /** `case`: one case; `case_list`: a page of the tenant's cases; `case_audit`: a case's audit trail. */
  resource: "case" | "case_list" | "case_audit";
  caseId?: string | undefined;
  /** A list's filter and page (status, cursor, limit): which page was asked for. */
  query?: Record<string, unknown> | undefined;
}

/**
 * Support access (DESIGN §10, issue 8): a support user from region X reads a tenant's data only
 * where the tenant's policy lets X (sink `support_access`). Reads always reach the tenant's home
 * (the edge never serves a support session from its projection), so the check is made here, once,
 * and every decision is recorded in the tenant's own audit chain at home:
 * - refused: 451, counted, `support.access_refused` (who tried, from where, what);
 * - allowed: `support.access_allowed`, written before the data is read. Fail closed: a read whose
 *   record cannot be written is not served. Only support sessions pay this one INSERT; the
 *   tenant's own staff read without any write.
 */
export async function requireSupportAccess(
  deps: CellDeps,
  tenantId: string,
  prelude: Prelude,
  reader: Reader,
  target: ReadTarget,
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
  const row = {
    tenantId,
    epoch: prelude.tenantFence?.epoch ?? null,
    actorId: reader.userId,
    correlationId: reader.correlationId,
    aggregateType: "support_access",
    aggregateId: reader.userId,
  };
  // `caseId` puts the record into that case's audit trail (GET .../audit).
  const payload = {
    permission: target.permission,
    resource: target.resource,
    ...(target.caseId ? { caseId: target.caseId } : {}),
    ...(target.query ? { query: target.query } : {}),
    supportRegion: reader.supportRegion,
  };
  if (!d.allowed) {
    return refuseForResidency(deps, { ...row, actionType: "support.access_refused", refusal: d, payload });
  }
  await appendResidencyAudit(
    deps,
    { ...row, actionType: "support.access_allowed" },
    {
      outcome: "ALLOWED",
      sink: "support_access",
      policy: policy.policyCode,
      targetRegion: reader.supportRegion,
      payload,
    },
  );
}
