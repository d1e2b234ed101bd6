import { createHono, type ServiceHono } from "@homeroute/service-kit";
import type { Hono } from "hono";
import type { CatalogDeps } from "./deps.js";
import { auditRoutes } from "./routes/audit.js";
import { internalRoutes } from "./routes/internal.js";
import { opsRoutes } from "./routes/ops.js";
import { publicRoutes } from "./routes/public.js";
import { reportRoutes } from "./routes/reports.js";

export function createCatalogApp(deps: CatalogDeps): Hono<ServiceHono> {
  const app = createHono(deps);
  app.get("/healthz", (c) => c.json({ ok: true, service: "catalog" }));
  app.get("/readyz", async (c) => {
    try {
      await deps.sql`SELECT 1`;
      return c.json({ ready: true });
    } catch {
      return c.json({ ready: false }, 503);
    }
  });
  app.route("/", internalRoutes(deps));
  app.route("/", opsRoutes(deps));
  app.route("/", auditRoutes(deps));
  app.route("/", publicRoutes(deps));
  app.route("/", reportRoutes(deps));
  return app;
}
