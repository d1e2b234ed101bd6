import { DomainError } from "@homeroute/contracts";
import { type Context, Hono } from "hono";
import { edgeConfig } from "../env.js";
import type { EdgeHono } from "../hono.js";

/**
 * `/v1/ops/*` and `/v1/reports/*` go to the catalog, which authenticates operators itself. These
 * are the actions that need the live catalog: unreachable → 503 CATALOG_UNAVAILABLE (DESIGN §8).
 */
async function proxy(c: Context<EdgeHono>): Promise<Response> {
  const cfg = edgeConfig(c.env);
  const url = new URL(c.req.url);
  const headers = new Headers();
  for (const h of ["authorization", "idempotency-key", "content-type", "accept"]) {
    const v = c.req.header(h);
    if (v !== undefined) headers.set(h, v);
  }
  headers.set("x-correlation-id", c.get("correlationId"));
  // Which edge the operator came through, as for cells (the simulation's proxies delay by it).
  headers.set("x-edge-region", c.get("edgeRegion"));
  const body = c.req.method === "GET" || c.req.method === "HEAD" ? null : await c.req.arrayBuffer();
  try {
    const res = await fetch(`${cfg.CATALOG_URL}${url.pathname}${url.search}`, {
      method: c.req.method,
      headers,
      body,
      // Operator actions may legitimately wait (a promotion waits out the old home's lease).
      signal: AbortSignal.timeout(cfg.OPS_TIMEOUT_MS),
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  } catch {
    throw new DomainError(
      "CATALOG_UNAVAILABLE",
      "the control plane is unreachable; routing continues from cache",
    );
  }
}

export function controlPlaneRoutes(): Hono<EdgeHono> {
  const app = new Hono<EdgeHono>();
  app.all("/v1/ops/*", proxy);
  app.all("/v1/reports/*", proxy);
  return app;
}
