import { referenceKind } from "@homeroute/contracts";
import { parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import type { CatalogDeps } from "../deps.js";
import { latestReference } from "../reference/reference.js";

/** Reference data straight from home: `source: home`, fresh by definition. */
export function publicRoutes(deps: CatalogDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.get("/v1/reference/:kind", async (c) => {
    const kind = parseWith(referenceKind, c.req.param("kind"), "path");
    const r = await latestReference(deps.sql, kind);
    return c.json({
      version: r.version,
      items: r.items,
      source: "home",
      dataFreshness: { asOf: new Date().toISOString(), lagSeconds: 0 },
    });
  });
  return app;
}
