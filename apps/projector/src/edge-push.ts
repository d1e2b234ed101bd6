import type { Sql } from "postgres";
import type { Change } from "./apply.js";

// Pushes what changed to the edge in batches (DESIGN §6): public status entries for every case,
// full case views only for tenants whose residency policy lets case data be held at every edge,
// the roles of users whose grants changed (a revoke busts the edge's authorization cache), and
// each source region's watermark, which is what `asOf` / `lagSeconds` are computed from.

export interface EdgeBatch {
  cases: Array<{
    tenantId: string;
    caseId: string;
    caseNumber: string | null;
    publicStatus: string | null;
    accessCodeHash: string | null;
    homeRegion: string;
    version: number;
    updatedAt: string;
    view: Record<string, unknown> | null;
  }>;
  grants: Array<{ tenantId: string; userId: string; roles: string[]; version: number }>;
  watermarks: Record<string, string>;
}

/** Tenant id → may the full case view live at every edge? (From the catalog's routing snapshot.) */
export type EdgeViewPolicy = (tenantId: string) => boolean;

export async function buildBatch(sql: Sql, changes: Change[], allowView: EdgeViewPolicy): Promise<EdgeBatch> {
  const caseKeys = changes.filter((c) => c.kind === "case");
  const grantKeys = changes.filter((c) => c.kind === "grant");
  const cases = caseKeys.length
    ? await sql<
        {
          tenant_id: string;
          case_id: string;
          case_number: string | null;
          status: string | null;
          public_status: string | null;
          access_code_hash: string | null;
          home_region: string;
          region_epoch: number;
          version: number;
          category: string | null;
          country_code: string | null;
          summary: string | null;
          created_at: Date | null;
          updated_at: Date;
        }[]
      >`SELECT * FROM case_projection WHERE (tenant_id, case_id) IN
          (SELECT * FROM unnest(${caseKeys.map((c) => c.tenantId)}::uuid[], ${caseKeys.map((c) => (c as { caseId: string }).caseId)}::uuid[]))`
    : [];
  const grants = grantKeys.length
    ? await sql<{ tenant_id: string; user_id: string; roles: string[]; version: number }[]>`
        SELECT * FROM grant_projection WHERE (tenant_id, user_id) IN
          (SELECT * FROM unnest(${grantKeys.map((c) => c.tenantId)}::uuid[], ${grantKeys.map((c) => (c as { userId: string }).userId)}::uuid[]))`
    : [];
  const wm = await sql<{ region: string; as_of: Date }[]>`SELECT region, as_of FROM region_watermark`;
  return {
    cases: cases.map((r) => ({
      tenantId: r.tenant_id,
      caseId: r.case_id,
      caseNumber: r.case_number,
      publicStatus: r.public_status,
      accessCodeHash: r.access_code_hash,
      homeRegion: r.home_region,
      version: r.version,
      updatedAt: r.updated_at.toISOString(),
      view:
        allowView(r.tenant_id) && r.case_number && r.created_at && r.status
          ? {
              caseId: r.case_id,
              tenantId: r.tenant_id,
              caseNumber: r.case_number,
              homeRegion: r.home_region,
              regionEpoch: r.region_epoch,
              status: r.status,
              category: r.category,
              countryCode: r.country_code,
              summary: r.summary,
              version: r.version,
              createdAt: r.created_at.toISOString(),
              updatedAt: r.updated_at.toISOString(),
            }
          : null,
    })),
    grants: grants.map((g) => ({
      tenantId: g.tenant_id,
      userId: g.user_id,
      roles: g.roles,
      version: g.version,
    })),
    watermarks: Object.fromEntries(wm.map((w) => [w.region, w.as_of.toISOString()])),
  };
}

export async function pushToEdge(edgeUrl: string, token: string, batch: EdgeBatch): Promise<void> {
  const res = await fetch(`${edgeUrl}/internal/v1/projections`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(batch),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`edge answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
}
