import type { ServiceHono } from "@homeroute/service-kit";
import { createHono, internalAuth } from "@homeroute/service-kit";
import type { Hono } from "hono";
import type { CellDeps } from "./deps.js";
import { tenantRequestMetrics } from "./metrics.js";
import { backupRoutes } from "./routes/backups.js";
import { caseRoutes } from "./routes/cases.js";
import { countRoutes } from "./routes/counts.js";
import { evidenceBlobRoutes } from "./routes/evidence-blobs.js";
import { exportRoutes } from "./routes/exports.js";
import { grantRoutes } from "./routes/grants.js";
import { internalRoutes } from "./routes/internal.js";
import { standbyRoutes } from "./routes/standby.js";

/** The cell's HTTP app; production (main.ts) and tests build it the same way. */
export function createApp(deps: CellDeps): Hono<ServiceHono> {
  const app = createHono(deps, {
    large: { test: (path) => path.endsWith("/evidence"), maxBytes: deps.env.EVIDENCE_MAX_BYTES },
  });
  app.get("/healthz", (c) => c.json({ ok: true, region: deps.region }));
  app.get("/readyz", async (c) => {
    try {
      await deps.sql`SELECT 1`;
      return c.json({ ready: true, region: deps.region });
    } catch {
      return c.json({ ready: false, region: deps.region }, 503);
    }
  });
  app.use("/internal/*", internalAuth(deps.env.INTERNAL_TOKEN));
  app.use("/v1/tenants/:tenantId/*", tenantRequestMetrics(deps.region, deps.metrics));
  app.route("/", internalRoutes(deps));
  app.route("/", standbyRoutes(deps));
  app.route("/", backupRoutes(deps));
  app.route("/", evidenceBlobRoutes(deps));
  app.route("/", exportRoutes(deps));
  app.route("/", caseRoutes(deps));
  app.route("/", countRoutes(deps));
  app.route("/", grantRoutes(deps));
  return app;
}
