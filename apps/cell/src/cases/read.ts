import { allows, type CaseStatus, type CaseView, DomainError, readsAsSupport } from "@homeroute/contracts";
import { UUID_RE } from "@homeroute/ids";
import { timeDb } from "@homeroute/service-kit";
import type { CaseRow } from "../commands/prelude.js";
import { type Prelude, readPrelude } from "../commands/prelude.js";
import type { CellDeps } from "../deps.js";
import { assertHomedHere } from "../fences/write-gate.js";
import { type Reader, type ReadTarget, requireSupportAccess } from "../residency/support-access.js";
import { caseView } from "./view.js";

/**
 * Reads at home are strong: the home's own committed state, lag 0 (DESIGN §6). Support reads are
 * also held to the tenant's residency policy here, and recorded in the tenant's audit chain
 * whether allowed or refused (docs/residency.md "Support access").
 *
 * A read's SQL is timed with `timeDb`, as the command path's is, so its Server-Timing splits `db`
 * from `app` (the latency report, docs/slo.md).
 */
export async function authorizeRead(
  deps: CellDeps,
  tenantId: string,
  reader: Reader,
  target: ReadTarget,
): Promise<Prelude> {
  const { permission, caseId } = target;
  const prelude = await timeDb(() => readPrelude(deps, { tenantId, userId: reader.userId, caseId }));
  assertHomedHere({ region: deps.region, tenant: prelude.tenant, tenantFence: prelude.tenantFence });
  if (!allows(prelude.roles, permission))
    throw new DomainError("FORBIDDEN", `the caller may not ${permission}`);
  if (readsAsSupport(prelude.roles, permission, reader.supportRegion)) {
    // The policy decision is in memory; its SQL is the audit row (support sessions only).
    await timeDb(() => requireSupportAccess(deps, tenantId, prelude, reader, target));
  }
  return prelude;
}

export async function getCase(deps: CellDeps, tenantId: string, reader: Reader, caseId: string) {
  const prelude = await authorizeRead(deps, tenantId, reader, {
    permission: "case.read",
    resource: "case",
    caseId,
  });
  if (!prelude.caseRow) throw new DomainError("NOT_FOUND", "unknown case");
  const now = new Date().toISOString();
  return {
    view: {
      ...caseView(prelude.caseRow),
      source: "home" as const,
      dataFreshness: { asOf: now, lagSeconds: 0 },
    },
    epoch: prelude.tenantFence?.epoch ?? prelude.caseRow.regionEpoch,
  };
}

const encodeCursor = (caseId: string) => Buffer.from(`c1:${caseId}`).toString("base64url");
function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, "base64url").toString("utf8");
  const id = raw.startsWith("c1:") ? raw.slice(3) : "";
  if (!UUID_RE.test(id)) {
    throw new DomainError("VALIDATION_FAILED", "the cursor is not one this API issued", {
      issues: [{ path: ["query", "cursor"], message: "invalid cursor" }],
    });
  }
  return id;
}

/** Newest first (case ids are UUIDv7, so id order is creation order); keyset pagination. */
export async function listCases(
  deps: CellDeps,
  tenantId: string,
  reader: Reader,
  q: { status?: CaseStatus | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: CaseView[]; nextCursor: string | null; epoch: number | null }> {
  const prelude = await authorizeRead(deps, tenantId, reader, {
    permission: "case.read",
    resource: "case_list",
    query: { status: q.status, cursor: q.cursor, limit: q.limit },
  });
  const after = q.cursor ? decodeCursor(q.cursor) : null;
  const { sql } = deps;
  const rows = await timeDb(
    () => sql<CaseRow[]>`
    SELECT case_id AS "caseId", tenant_id AS "tenantId", case_number AS "caseNumber", home_region AS "homeRegion",
      region_epoch AS "regionEpoch", status, category, country_code AS "countryCode", summary, version,
      created_at AS "createdAt", updated_at AS "updatedAt"
    FROM regulatory_case
    WHERE tenant_id = ${tenantId}
      ${q.status ? sql`AND status = ${q.status}` : sql``}
      ${after ? sql`AND case_id < ${after}` : sql``}
    ORDER BY case_id DESC
    LIMIT ${q.limit + 1}`,
  );
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(caseView),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.caseId) : null,
    epoch: prelude.tenantFence?.epoch ?? null,
  };
}
