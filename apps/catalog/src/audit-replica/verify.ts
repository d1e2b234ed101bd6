import {
  type AuditChainVerdict,
  type AuditVerifyResponse,
  auditChainVerdict,
  auditReplicaRegionOf,
  type ResidencyPolicy,
} from "@homeroute/contracts";
import { z } from "zod";
import { cellCall } from "../cells.js";
import type { CatalogDeps } from "../deps.js";
import { loadPolicy } from "../placement/policies.js";
import { getTenant } from "../placement/tenants.js";

// `GET /v1/ops/audit/verify` (CONTRACT.md, DESIGN §13, docs/audit.md): the tenant's chain is
// recomputed at home and in the protected replica, each by its own cell, at the same time, so a
// home that does not answer still leaves the replica's verdict.

/** Long enough for a chain of a few hundred thousand links to be recomputed. */
const VERIFY_TIMEOUT_MS = 30_000;

const cellVerdict = auditChainVerdict.extend({ lastSeq: z.number().int().nonnegative() });

/** Where a tenant's audit replica lives (or the DR-readiness warning why it has none). */
export async function auditReplicaPlacement(
  deps: CatalogDeps,
  tenantId: string,
): Promise<{ homeRegion: string; policy: ResidencyPolicy; region: string | null; warning?: string }> {
  const tenant = await getTenant(deps.sql, tenantId);
  const policy = await loadPolicy(deps.sql, tenant.residencyPolicy);
  return { homeRegion: tenant.homeRegion, policy, ...auditReplicaRegionOf(policy, tenant.homeRegion) };
}

async function askCell(
  deps: CatalogDeps,
  region: string,
  path: string,
): Promise<(AuditChainVerdict & { lastSeq: number }) | null> {
  const r = await cellCall<unknown>(deps, region, "GET", path, undefined, VERIFY_TIMEOUT_MS);
  if (r?.status !== 200) return null;
  const parsed = cellVerdict.safeParse(r.body);
  return parsed.success ? parsed.data : null;
}

const verdict = (v: (AuditChainVerdict & { lastSeq: number }) | null) =>
  v
    ? {
        reachable: true,
        ok: v.ok,
        checked: v.checked,
        lastSeq: v.lastSeq,
        ...(v.head ? { head: v.head } : {}),
        ...(v.firstBrokenAt ? { firstBrokenAt: v.firstBrokenAt } : {}),
      }
    : { reachable: false, ok: false, checked: 0, lastSeq: 0 };

export async function verifyTenantAudit(deps: CatalogDeps, tenantId: string): Promise<AuditVerifyResponse> {
  const placement = await auditReplicaPlacement(deps, tenantId);
  const home = placement.homeRegion;
  const [h, r] = await Promise.all([
    askCell(deps, home, `/internal/v1/tenants/${tenantId}/audit/verify`),
    placement.region
      ? askCell(
          deps,
          placement.region,
          `/internal/v1/tenants/${tenantId}/audit-replica/verify?sourceRegion=${encodeURIComponent(home)}`,
        )
      : null,
  ]);
  const homeVerdict = { region: home, ...verdict(h) };
  const replica = placement.region
    ? {
        region: placement.region,
        ...verdict(r),
        // Links the home holds that the replica has not taken yet (replication lag, in links).
        behindByLinks: h && r ? Math.max(0, h.lastSeq - r.lastSeq) : null,
        headMatchesHome: h?.head && r?.head && h.head.seq === r.head.seq ? h.head.hash === r.head.hash : null,
      }
    : null;
  return {
    tenantId,
    ok: homeVerdict.ok && (replica === null || (replica.ok && replica.headMatchesHome !== false)),
    home: homeVerdict,
    replica,
    ...(placement.warning ? { warning: placement.warning } : {}),
  };
}
