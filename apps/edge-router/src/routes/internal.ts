import { DomainError, routingSnapshot } from "@homeroute/contracts";
import { Hono } from "hono";
import { edgeConfig } from "../env.js";
import type { EdgeHono } from "../hono.js";
import { renderEdgeMetrics } from "../metrics.js";
import { parseJson, parseWith } from "../problem.js";
import { edgeBatchSchema, writeBatch } from "../projections/store.js";
import { acceptPushedSnapshot } from "../routing/snapshot-cache.js";

function timingSafeEqualStr(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The catalog pushes each new routing snapshot here, the projector its projections, and Prometheus
 * scrapes this isolate's counters (all authenticated with INTERNAL_TOKEN).
 */
export function internalRoutes(): Hono<EdgeHono> {
  const app = new Hono<EdgeHono>();
  app.use("/internal/*", async (c, next) => {
    const cfg = edgeConfig(c.env);
    if (!timingSafeEqualStr(c.req.header("authorization") ?? "", `Bearer ${cfg.INTERNAL_TOKEN}`)) {
      throw new DomainError("UNAUTHENTICATED", "the internal token is required");
    }
    await next();
  });
  app.put("/internal/v1/routing-snapshot", async (c) => {
    const snapshot = parseWith(routingSnapshot, parseJson(await c.req.text()), "body");
    const accepted = await acceptPushedSnapshot(c.env, snapshot);
    return c.json({ accepted, version: snapshot.version });
  });
  app.get("/internal/v1/metrics", (c) =>
    c.body(renderEdgeMetrics(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  app.put("/internal/v1/projections", async (c) => {
    const batch = parseWith(edgeBatchSchema, parseJson(await c.req.text()), "body");
    await writeBatch(c.env, batch);
    return c.json({ cases: batch.cases.length, grants: batch.grants.length });
  });
  return app;
}
