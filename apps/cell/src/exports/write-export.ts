import { createHash } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { CellExportBody, CellExportResult } from "@homeroute/contracts";
import type { CellDeps } from "../deps.js";
import { assertHomedHere } from "../fences/write-gate.js";

// An export written by the tenant's home straight into the export store of the target region
// (docs/residency.md "Exports"). The catalog decided it (sink `export`) and says which mode; the
// rows go from home to the target, never through the control plane in another jurisdiction.

/** `<EXPORT_STORE_DIR>/<targetRegion>/<tenantId>/<exportId>.json`: a directory per region's store. */
export function exportPath(root: string, targetRegion: string, tenantId: string, exportId: string): string {
  return join(resolve(root, targetRegion), tenantId, `${exportId}.json`);
}

export async function writeExport(
  deps: CellDeps,
  tenantId: string,
  req: CellExportBody,
): Promise<CellExportResult> {
  const { sql } = deps;
  const [t] = await sql<
    { homeRegion: string; status: "ACTIVE"; activeRegion: string | null; epoch: number | null }[]
  >`
    SELECT r.home_region AS "homeRegion", r.status, f.active_region AS "activeRegion", f.epoch
    FROM tenant_registration r
    LEFT JOIN region_write_epoch f ON f.logical_scope = 'tenant:' || r.tenant_id
    WHERE r.tenant_id = ${tenantId}`;
  // Only the home exports: a standby's copy may trail it.
  assertHomedHere({
    region: deps.region,
    tenant: t ? { status: t.status, homeRegion: t.homeRegion } : null,
    tenantFence:
      t?.activeRegion && t.epoch !== null
        ? { activeRegion: t.activeRegion, epoch: t.epoch, status: "WRITABLE", leaseExpiresAt: null }
        : null,
  });
  const header = {
    exportId: req.exportId,
    tenantId,
    kind: req.kind,
    mode: req.mode,
    sourceRegion: deps.region,
    targetRegion: req.targetRegion,
    createdAt: new Date().toISOString(),
  };
  const { content, rowCount } =
    req.mode === "full" ? await fullRows(deps, tenantId) : await aggregates(deps, tenantId);
  const text = `${JSON.stringify({ ...header, rowCount, ...content }, null, 1)}\n`;
  const path = exportPath(deps.env.EXPORT_STORE_DIR, req.targetRegion, tenantId, req.exportId);
  await mkdir(dirname(path), { recursive: true });
  // Temp name then rename: a reader never sees half an export.
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, "utf8");
  await rename(tmp, path);
  return {
    location: path,
    rowCount,
    sha256: createHash("sha256").update(text, "utf8").digest("hex"),
    bytes: Buffer.byteLength(text, "utf8"),
  };
}

/** Every row of the tenant (support and backup exports; analytics where the policy allows rows). */
async function fullRows(deps: CellDeps, tenantId: string) {
  const { sql } = deps;
  const [cases, tasks, evidence, reviews] = await Promise.all([
    sql`
      SELECT case_id AS "caseId", case_number AS "caseNumber", home_region AS "homeRegion",
        region_epoch AS "regionEpoch", status, category, country_code AS "countryCode", summary, channel,
        version, created_at AS "createdAt", updated_at AS "updatedAt"
      FROM regulatory_case WHERE tenant_id = ${tenantId} ORDER BY case_id`,
    sql`
      SELECT task_id AS "taskId", case_id AS "caseId", title, assignee_id AS "assigneeId", due_at AS "dueAt",
        status, version, created_at AS "createdAt", updated_at AS "updatedAt"
      FROM case_task WHERE tenant_id = ${tenantId} ORDER BY task_id`,
    // Metadata only: the bytes stay in the evidence store of their region.
    sql`
      SELECT evidence_id AS "evidenceId", case_id AS "caseId", sha256, size, content_type AS "contentType",
        filename, storage_region AS "storageRegion", created_at AS "createdAt"
      FROM evidence_object WHERE tenant_id = ${tenantId} ORDER BY evidence_id`,
    sql`
      SELECT recommendation_id AS "recommendationId", case_id AS "caseId", reviewer_id AS "reviewerId",
        reviewer_region AS "reviewerRegion", recommendation, rationale, created_at AS "createdAt"
      FROM review_recommendation WHERE tenant_id = ${tenantId} ORDER BY recommendation_id`,
  ]);
  return {
    content: { cases, tasks, evidence, reviewRecommendations: reviews },
    rowCount: cases.length + tasks.length + evidence.length + reviews.length,
  };
}

/**
 * Anonymised aggregates: case counts by status and category, nothing else. No id, number,
 * summary, name, file name or timestamp of any case leaves in this mode.
 */
async function aggregates(deps: CellDeps, tenantId: string) {
  const counts = await deps.sql<{ status: string; category: string; cases: number }[]>`
    SELECT status, category, count(*)::int AS cases
    FROM regulatory_case WHERE tenant_id = ${tenantId}
    GROUP BY status, category ORDER BY status, category`;
  return { content: { counts }, rowCount: counts.length };
}
