import { uuidv7 } from "@homeroute/ids";
import { createTestDatabase, type TestDatabase } from "@homeroute/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { warehouseEnvSchema } from "../apps/projector/src/warehouse/env.js";
import { type RunningWarehouse, startWarehouse } from "../apps/projector/src/warehouse/server.js";
import { type EventPipeline, startEventPipeline } from "./support/event-pipeline.js";
import { edgeCall, INTERNAL_TOKEN, type Planet, placeTenant, startPlanet } from "./support/planet.js";
import { scanDatabase } from "./support/residency-sweep.js";
import { until } from "./support/until.js";

// The warehouse in the analytics region (us) on real NATS, real cells and catalog, the real Worker:
// per-region watermarks, privacy filtering by the residency module, reconciliation against each
// cell, reproducible snapshots, and an analytics pipeline that stops without touching OLTP.

const REGIONS = ["ap-id", "ap-sg", "eu", "us"];
const STALE_AFTER = 3;
let p: Planet;
let ev: EventPipeline;
let db: TestDatabase;
let wh: RunningWarehouse;

beforeAll(async () => {
  p = await startPlanet("warehouse", REGIONS);
  ev = await startEventPipeline(p);
  db = await createTestDatabase("warehouse", "warehouse");
  wh = await startWarehouse(
    warehouseEnvSchema.parse({
      DATABASE_URL: db.url,
      NATS_URL: ev.nats.url,
      REGIONS: REGIONS.join(","),
      SUBJECT_ROOT: ev.root,
      CATALOG_URL: p.catalog.url,
      INTERNAL_TOKEN,
      STALE_AFTER_SECONDS: String(STALE_AFTER),
      LOG_LEVEL: "silent",
    }),
  );
  p.catalog.deps.env.WAREHOUSE_URL = wh.url;
}, 120_000);
afterAll(async () => {
  await wh?.close().catch(() => {});
  await ev?.close();
  await p?.close();
  await db?.drop();
});

const report = (snapshotId?: string) =>
  edgeCall(
    p,
    "GET",
    `/v1/reports/cases-by-status${snapshotId ? `?snapshotId=${snapshotId}` : ""}`,
    undefined,
    { token: p.opsToken },
  );

describe("global reporting from the warehouse", () => {
  const placed: { policy: string; home: string; tenantId: string; summary: string; token: string }[] = [];

  it("counts what each policy lets analytics see, with a watermark per region, reconciled against every cell", async () => {
    for (const [policy, home, n] of [
      ["ID_STRICT", "ap-id", 3],
      ["EU_GDPR", "eu", 4],
      ["APAC_SHARED", "ap-sg", 5],
      ["GLOBAL_STANDARD", "us", 6],
    ] as const) {
      const t = await placeTenant(p, home, policy, ["reporter", "investigator"]);
      const summary = `warehouse-${policy}-${uuidv7()}`;
      for (let i = 0; i < n; i++) {
        const r = await edgeCall(
          p,
          "POST",
          `/v1/tenants/${t.tenantId}/cases`,
          { category: "licensing", countryCode: "SG", summary, channel: "web" },
          { token: t.tokens.reporter },
        );
        expect(r.status).toBe(201);
        if (i === 0) {
          const moved = await edgeCall(
            p,
            "POST",
            `/v1/tenants/${t.tenantId}/cases/${r.body.caseId}/transitions`,
            {
              to: "TRIAGE",
              expectedStatus: r.body.status,
              expectedVersion: r.body.version,
              reason: "triage",
            },
            { token: t.tokens.investigator },
          );
          expect(moved.status, JSON.stringify(moved.body)).toBe(200);
        }
      }
      placed.push({ policy, home, tenantId: t.tenantId, summary, token: t.tokens.reporter! });
    }
    const r = await until("every included case ingested and reconciled", async () => {
      const res = await report();
      if (res.status !== 200) return null;
      const rec = res.body.reconciliation as Record<string, { matches: boolean }>;
      return REGIONS.every((x) => rec[x]?.matches) ? res : null;
    });
    const rows = r.body.rows as { region: string; status: string; cases: number; source: string }[];
    const count = (region: string, source?: string) =>
      rows
        .filter((x) => x.region === region && (!source || x.source === source))
        .reduce((a, x) => a + x.cases, 0);
    // ID_STRICT: analytics not allowed — nothing from ap-id, and the reconciliation says why.
    expect(count("ap-id")).toBe(0);
    expect(r.body.reconciliation["ap-id"]).toMatchObject({
      cell: 0,
      warehouse: 0,
      excludedByPolicy: 3,
      matches: true,
    });
    // EU_GDPR: anonymised counts only; APAC_SHARED: us is outside its regions, so counts only too.
    expect(count("eu", "anonymised_counts")).toBe(4);
    expect(count("ap-sg", "anonymised_counts")).toBe(5);
    // GLOBAL_STANDARD: case rows, with the transition applied.
    expect(count("us", "case_rows")).toBe(6);
    expect(rows).toContainEqual({ region: "us", status: "TRIAGE", cases: 1, source: "case_rows" });
    // A watermark per region, fresh while the pipeline runs; the report is as of the least fresh.
    for (const region of REGIONS) {
      expect(r.body.watermarks[region].stale).toBe(false);
      expect(Date.parse(r.body.watermarks[region].asOf)).toBeLessThanOrEqual(Date.now());
    }
    expect(r.body.asOf).toBe(
      Object.values(r.body.watermarks as Record<string, { asOf: string }>)
        .map((w) => w.asOf)
        .sort()[0],
    );
    expect(r.body.checksum).toMatch(/^[0-9a-f]{64}$/);

    // Reproducible: the snapshot returns the same bytes later, whatever happened since.
    const first = await fetch(`${p.edge.url}/v1/reports/cases-by-status?snapshotId=${r.body.snapshotId}`, {
      headers: { authorization: `Bearer ${p.opsToken}` },
    });
    const again = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${placed[3]!.tenantId}/cases`,
      { category: "licensing", countryCode: "SG", summary: "later", channel: "web" },
      { token: placed[3]!.token },
    );
    expect(again.status).toBe(201);
    const later = await fetch(`${p.edge.url}/v1/reports/cases-by-status?snapshotId=${r.body.snapshotId}`, {
      headers: { authorization: `Bearer ${p.opsToken}` },
    });
    const [a, b] = [await first.text(), await later.text()];
    expect(b).toBe(a);
    expect(JSON.parse(a).snapshotId).toBe(r.body.snapshotId);
    expect((await report(uuidv7())).status).toBe(404);
  }, 90_000);

  it("holds nothing analytics may not see: no strict or anonymised tenant's id, no summary at all", async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const markers = placed.flatMap((x) => [x.summary, x.tenantId]);
      const hits = await scanDatabase("warehouse", sql, markers);
      const found = new Set(hits.map((h) => h.marker));
      for (const x of placed) expect(found.has(x.summary)).toBe(false);
      for (const x of placed.filter((y) => y.policy !== "GLOBAL_STANDARD"))
        expect(found.has(x.tenantId)).toBe(false);
      expect(found.has(placed.find((y) => y.policy === "GLOBAL_STANDARD")!.tenantId)).toBe(true);
    } finally {
      await sql.end();
    }
  });

  it("analytics pipeline down: commands go on; the report shows the last watermark per region, marked stale", async () => {
    const before = (await report()).body;
    await wh.ingest.stop();
    const t = placed.find((x) => x.policy === "GLOBAL_STANDARD")!;
    const w = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      { category: "licensing", countryCode: "SG", summary: "while analytics is down", channel: "web" },
      { token: t.token },
    );
    expect(w.status).toBe(201);
    await new Promise((r) => setTimeout(r, (STALE_AFTER + 1) * 1000));
    const stale = (await report()).body;
    for (const region of REGIONS) {
      expect(stale.watermarks[region].stale).toBe(true);
      // The last watermark reached, not a newer one.
      expect(Date.parse(stale.watermarks[region].asOf)).toBeLessThanOrEqual(Date.now() - STALE_AFTER * 1000);
      expect(Date.parse(stale.watermarks[region].asOf)).toBeGreaterThanOrEqual(
        Date.parse(before.watermarks[region].asOf),
      );
    }
    // Dashboards read the same watermarks without keeping a report.
    const marks = await edgeCall(p, "GET", "/v1/reports/watermarks", undefined, { token: p.opsToken });
    expect(marks.status).toBe(200);
    expect(marks.body.watermarks.us.stale).toBe(true);
    // The cell has a case the warehouse has not: the reconciliation says so for that region.
    expect(stale.reconciliation.us.matches).toBe(false);
    expect(stale.reconciliation.us.cell).toBe(stale.reconciliation.us.warehouse + 1);
    // Prometheus sees the same: every region's part stale, its lag past the bound, what was taken.
    const metrics = await (await fetch(`${wh.url}/metrics`)).text();
    for (const region of REGIONS) {
      const series = (name: string) =>
        new RegExp(`${name}\\{[^}]*source_region="${region}"[^}]*\\} ([\\d.]+)`).exec(metrics)?.[1];
      expect(series("homeroute_warehouse_watermark_stale")).toBe("1");
      const lag = series("homeroute_warehouse_watermark_lag_seconds");
      expect(Number(lag)).toBeGreaterThan(STALE_AFTER);
    }
    expect(
      Number(/homeroute_warehouse_ingested_events_total\{[^}]*\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThan(0);
  }, 30_000);
});
