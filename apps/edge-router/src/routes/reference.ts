import { DomainError, referenceKind } from "@homeroute/contracts";
import { Hono } from "hono";
import { edgeConfig } from "../env.js";
import type { EdgeHono } from "../hono.js";
import { parseWith } from "../problem.js";

interface StoredReference {
  version: number;
  items: unknown[];
  /** When the catalog last confirmed this version (ms). */
  confirmedAt: number;
}

/**
 * Reference data from the edge's KV copy, refreshed from the catalog when older than its TTL. If
 * the catalog is down or answers garbage, the last valid version is served with its real age
 * (seed §7: "fallback to last valid version").
 */
export function referenceRoutes(): Hono<EdgeHono> {
  const app = new Hono<EdgeHono>();
  app.get("/v1/reference/:kind", async (c) => {
    const cfg = edgeConfig(c.env);
    const kind = parseWith(referenceKind, c.req.param("kind"), "path");
    const key = `ref:${kind}`;
    let stored = await c.env.REFERENCE.get<StoredReference>(key, "json");
    const fresh = stored && Date.now() - stored.confirmedAt < cfg.REFERENCE_TTL_SECONDS * 1000;
    if (!fresh) {
      try {
        const res = await fetch(`${cfg.CATALOG_URL}/internal/v1/reference/${kind}`, {
          headers: { authorization: `Bearer ${cfg.INTERNAL_TOKEN}` },
          signal: AbortSignal.timeout(cfg.CATALOG_TIMEOUT_MS),
        });
        if (!res.ok) throw new Error(String(res.status));
        const body = (await res.json()) as { version?: unknown; items?: unknown };
        if (typeof body.version !== "number" || !Array.isArray(body.items))
          throw new Error("invalid reference data");
        if (!stored || body.version >= stored.version) {
          stored = { version: body.version, items: body.items, confirmedAt: Date.now() };
          c.executionCtx.waitUntil(c.env.REFERENCE.put(key, JSON.stringify(stored)));
        }
      } catch {
        // keep the last valid version
      }
    }
    if (!stored) throw new DomainError("CATALOG_UNAVAILABLE", `no ${kind} reference data is cached yet`);
    const lagSeconds = Math.max(0, Math.round((Date.now() - stored.confirmedAt) / 1000));
    return c.json({
      version: stored.version,
      items: stored.items,
      source: "edge_projection",
      dataFreshness: {
        asOf: new Date(stored.confirmedAt).toISOString(),
        lagSeconds,
        stale: lagSeconds > cfg.REFERENCE_TTL_SECONDS,
      },
    });
  });
  return app;
}
