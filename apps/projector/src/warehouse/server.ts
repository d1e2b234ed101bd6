import {
  createHono,
  createLogger,
  createSql,
  internalAuth,
  jsonBody,
  listen,
  parseWith,
} from "@homeroute/service-kit";
import { z } from "zod";
import type { WarehouseEnv } from "./env.js";
import { WarehouseIngest } from "./ingest.js";
import { createWarehouseMetrics } from "./metrics.js";
import { TenantPolicies } from "./policies.js";
import { casesByStatus, watermarks } from "./report.js";

const cellCounts = z.object({
  region: z.string().max(20),
  counts: z
    .array(
      z.object({
        policyCode: z.string().max(40),
        status: z.string().max(40),
        cases: z.number().int().min(0),
      }),
    )
    .max(1000),
});

export interface RunningWarehouse {
  ingest: WarehouseIngest;
  url: string;
  close(): Promise<void>;
}

/** The warehouse: ingestion from every region's stream, the reports (internal: the catalog serves them), /metrics. */
export async function startWarehouse(env: WarehouseEnv): Promise<RunningWarehouse> {
  const log = createLogger(env.LOG_LEVEL, "regional");
  const sql = createSql(env.DATABASE_URL, { max: 5 });
  const policies = new TenantPolicies(env.TOPOLOGY_FILE, env.CATALOG_URL, env.INTERNAL_TOKEN);
  const ingest = new WarehouseIngest(env, sql, policies, log);
  await ingest.start();
  const registry = createWarehouseMetrics(sql, ingest, {
    regions: env.REGIONS,
    staleAfterSeconds: env.STALE_AFTER_SECONDS,
  });
  const app = createHono({ region: env.ANALYTICS_REGION, log, registry });
  app.get("/healthz", (c) => c.json({ ok: true, service: "warehouse" }));
  app.use("/internal/*", internalAuth(env.INTERNAL_TOKEN));
  const json = { "content-type": "application/json" };
  // A replay of a kept report, byte for byte.
  app.get("/internal/v1/reports/cases-by-status", async (c) => {
    const q = parseWith(z.object({ snapshotId: z.uuid() }), c.req.query(), "query");
    const body = await casesByStatus(sql, {
      regions: env.REGIONS,
      staleAfterSeconds: env.STALE_AFTER_SECONDS,
      snapshotId: q.snapshotId,
    });
    return c.body(body, 200, json);
  });
  // A new report, reconciled against the cells' own counts the catalog brings.
  app.post("/internal/v1/reports/cases-by-status", async (c) => {
    const { cells } = parseWith(z.object({ cells: z.array(cellCounts).max(50) }), await jsonBody(c), "body");
    const body = await casesByStatus(sql, {
      regions: env.REGIONS,
      staleAfterSeconds: env.STALE_AFTER_SECONDS,
      cells,
      ingested: (code) => policies.ingests(code, env.ANALYTICS_REGION),
    });
    return c.body(body, 200, json);
  });
  app.get("/internal/v1/watermarks", async (c) =>
    c.json({
      analyticsRegion: env.ANALYTICS_REGION,
      watermarks: await watermarks(sql, { regions: env.REGIONS, staleAfterSeconds: env.STALE_AFTER_SECONDS }),
    }),
  );
  app.get("/internal/v1/status", (c) => c.json({ ingested: ingest.ingested, rejected: ingest.rejected }));
  const http = await listen(app.fetch, env.PORT, env.HOST);
  return {
    ingest,
    url: http.url,
    async close() {
      await http.close();
      await ingest.stop();
      await sql.end({ timeout: 5 });
    },
  };
}
