import { DomainError } from "@homeroute/contracts";
import { authenticate, parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import { cellCall } from "../cells.js";
import type { CatalogDeps } from "../deps.js";

interface CellCounts {
  region: string;
  counts: { policyCode: string; status: string; cases: number }[];
}

/**
 * `GET /v1/reports/cases-by-status` (CONTRACT.md), through the edge's /v1/reports proxy. The
 * warehouse builds and keeps the report; the catalog adds what only it can reach — each cell's own
 * counts, for the reconciliation the report carries — and a replay (`?snapshotId=`) is passed
 * through byte for byte.
 */
export function reportRoutes(deps: CatalogDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.get("/v1/reports/cases-by-status", async (c) => {
    const principal = await authenticate(c.req.header("authorization"), deps.jwtKey);
    if (!principal.ops) throw new DomainError("FORBIDDEN", "an operator token is required");
    const q = parseWith(z.object({ snapshotId: z.uuid().optional() }), c.req.query(), "query");
    const base = deps.env.WAREHOUSE_URL;
    const unavailable = () =>
      new DomainError("REGION_UNAVAILABLE", "the analytics region's warehouse does not answer", {
        region: "analytics",
        retryAfterSeconds: 30,
      });
    if (!base) throw unavailable();
    const cells: CellCounts[] = [];
    if (!q.snapshotId) {
      // All regions at once: one after another, a report cost the sum of the round trips to every
      // region (~690 ms from eu in the latency report) instead of the longest one.
      const answers = await Promise.all(
        Object.keys(deps.env.CELL_URLS).map((region) =>
          cellCall<CellCounts>(deps, region, "GET", "/internal/v1/case-counts"),
        ),
      );
      for (const r of answers) if (r?.status === 200) cells.push(r.body);
    }
    const res = await fetch(
      `${base}/internal/v1/reports/cases-by-status${q.snapshotId ? `?snapshotId=${q.snapshotId}` : ""}`,
      {
        method: q.snapshotId ? "GET" : "POST",
        headers: { authorization: `Bearer ${deps.env.INTERNAL_TOKEN}`, "content-type": "application/json" },
        body: q.snapshotId ? undefined : JSON.stringify({ cells }),
        signal: AbortSignal.timeout(10_000),
      },
    ).catch(() => null);
    if (!res) throw unavailable();
    if (res.status === 404) throw new DomainError("NOT_FOUND", "no such report snapshot");
    if (!res.ok) throw unavailable();
    return c.body(await res.text(), 200, { "content-type": "application/json" });
  });
  // Each region's analytics watermark without keeping a report (dashboards poll this).
  app.get("/v1/reports/watermarks", async (c) => {
    const principal = await authenticate(c.req.header("authorization"), deps.jwtKey);
    if (!principal.ops) throw new DomainError("FORBIDDEN", "an operator token is required");
    if (!deps.env.WAREHOUSE_URL)
      throw new DomainError("REGION_UNAVAILABLE", "no warehouse is configured", {
        region: "analytics",
        retryAfterSeconds: 30,
      });
    const res = await fetch(`${deps.env.WAREHOUSE_URL}/internal/v1/watermarks`, {
      headers: { authorization: `Bearer ${deps.env.INTERNAL_TOKEN}` },
      signal: AbortSignal.timeout(5000),
    }).catch(() => null);
    if (!res?.ok)
      throw new DomainError("REGION_UNAVAILABLE", "the analytics region's warehouse does not answer", {
        region: "analytics",
        retryAfterSeconds: 30,
      });
    return c.json(await res.json());
  });
  return app;
}
