import { createHash, randomUUID } from "node:crypto";
import { DomainError } from "@homeroute/contracts";
import type { Sql } from "postgres";

// Reports for executives and regulators (seed §16): never a global number without how fresh each
// region's part is. Every report is kept byte for byte under its snapshotId, so a figure quoted in
// a regulatory filing can be produced again exactly (`?snapshotId=`).

export interface RegionWatermark {
  asOf: string | null;
  lagSeconds: number | null;
  stale: boolean;
  lateEvents: number;
}

/** A cell's own counts of the cases homed there, by policy and status (the catalog gathers them). */
export interface CellCounts {
  region: string;
  counts: { policyCode: string; status: string; cases: number }[];
}

export interface Reconciliation {
  /** Cases the cell holds of tenants whose policy lets analytics count them. */
  cell: number;
  warehouse: number;
  /** Cases the policy keeps out of the warehouse (e.g. ID_STRICT): not a discrepancy. */
  excludedByPolicy: number;
  matches: boolean;
}

/** Each region's ingestion watermark, read only (no report is kept): for dashboards to poll. */
export async function watermarks(
  sql: Sql,
  o: { regions: string[]; staleAfterSeconds: number },
): Promise<Record<string, RegionWatermark>> {
  const marks = await sql<{ region: string; as_of: Date; late_events: number }[]>`
    SELECT region, as_of, late_events FROM ingestion_watermark`;
  return watermarksOf(marks, o.regions, o.staleAfterSeconds, Date.now());
}

function watermarksOf(
  marks: { region: string; as_of: Date; late_events: number }[],
  regions: string[],
  staleAfterSeconds: number,
  now: number,
): Record<string, RegionWatermark> {
  const out: Record<string, RegionWatermark> = {};
  for (const region of regions) {
    const m = marks.find((x) => x.region === region);
    const lag = m ? Math.max(0, (now - m.as_of.getTime()) / 1000) : null;
    out[region] = {
      asOf: m ? m.as_of.toISOString() : null,
      lagSeconds: lag === null ? null : Math.round(lag * 10) / 10,
      stale: lag === null || lag > staleAfterSeconds,
      lateEvents: m?.late_events ?? 0,
    };
  }
  return out;
}

export async function casesByStatus(
  sql: Sql,
  o: {
    regions: string[];
    staleAfterSeconds: number;
    snapshotId?: string | undefined;
    cells?: CellCounts[];
    /** Whether a policy's cases reach the warehouse at all (the residency module's decision). */
    ingested?: (policyCode: string) => boolean;
  },
): Promise<string> {
  if (o.snapshotId) {
    const [s] = await sql<{ body: string }[]>`
      SELECT body FROM report_snapshot WHERE snapshot_id = ${o.snapshotId} AND report = 'cases-by-status'`;
    if (!s) throw new DomainError("NOT_FOUND", "no such report snapshot");
    return s.body;
  }
  // One read-only snapshot of the database: rows and watermarks agree with each other.
  const { rows, marks } = await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
    const rows = await tx<{ region: string; status: string; cases: number; source: string }[]>`
      SELECT home_region AS region, status, sum(cases)::int AS cases, source FROM (
        SELECT home_region, status, count(*)::int AS cases, 'case_rows' AS source FROM case_fact GROUP BY home_region, status
        UNION ALL
        SELECT home_region, status, sum(cases)::int, 'anonymised_counts' FROM case_aggregate GROUP BY home_region, status
      ) x GROUP BY home_region, status, source HAVING sum(cases) <> 0 ORDER BY home_region, status, source`;
    const marks = await tx<{ region: string; as_of: Date; late_events: number }[]>`
      SELECT region, as_of, late_events FROM ingestion_watermark`;
    return { rows, marks };
  });
  const now = Date.now();
  const watermarks = watermarksOf(marks, o.regions, o.staleAfterSeconds, now);
  // The report is as of its least fresh region.
  const asOfs = Object.values(watermarks).map((w) => w.asOf);
  const asOf = asOfs.includes(null) ? null : asOfs.sort()[0]!;
  // Each cell's count against the warehouse's, region by region; a lagging region will differ,
  // and its watermark says by how much time.
  const reconciliation: Record<string, Reconciliation> = {};
  for (const cell of o.cells ?? []) {
    const included = cell.counts.filter((x) => o.ingested?.(x.policyCode) ?? true);
    const cellCount = included.reduce((a, x) => a + x.cases, 0);
    const warehouse = rows.filter((r) => r.region === cell.region).reduce((a, r) => a + r.cases, 0);
    reconciliation[cell.region] = {
      cell: cellCount,
      warehouse,
      excludedByPolicy: cell.counts.reduce((a, x) => a + x.cases, 0) - cellCount,
      matches: cellCount === warehouse,
    };
  }
  const content = { report: "cases-by-status", rows, watermarks, asOf, reconciliation };
  const checksum = createHash("sha256").update(JSON.stringify(content)).digest("hex");
  const snapshotId = randomUUID();
  const body = JSON.stringify({ ...content, snapshotId, checksum, generatedAt: new Date(now).toISOString() });
  await sql`
    INSERT INTO report_snapshot (snapshot_id, report, body, checksum) VALUES (${snapshotId}, 'cases-by-status', ${body}, ${checksum})`;
  return body;
}
