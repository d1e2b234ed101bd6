import { cellExportBody } from "@homeroute/contracts";
import type { ServiceHono } from "@homeroute/service-kit";
import { jsonBody, parseWith } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import type { CellDeps } from "../deps.js";
import { writeExport } from "../exports/write-export.js";

/** The catalog's export call (internal token, mounted under /internal/*): see exports/write-export.ts. */
export function exportRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.post("/internal/v1/tenants/:tenantId/exports", async (c) => {
    const { tenantId } = parseWith(z.object({ tenantId: z.uuid() }), c.req.param(), "path");
    const body = parseWith(cellExportBody, await jsonBody(c), "body");
    return c.json(await writeExport(deps, tenantId, body), 201);
  });
  return app;
}
