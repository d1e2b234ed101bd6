import { fenceScope, grantParams, putFenceBody, putTenantBody } from "@homeroute/contracts";
import type { ServiceHono } from "@homeroute/service-kit";
import { jsonBody, parseWith } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import { bootstrapGrant, listFences, putFence, putTenant } from "../control/control.js";
import type { CellDeps } from "../deps.js";
import { auditRoutes } from "./audit.js";

/** Control routes for the catalog and tests, behind INTERNAL_TOKEN (CONTRACT.md). */
export function internalRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.put("/internal/v1/tenants/:tenantId", async (c) => {
    const { tenantId } = parseWith(z.object({ tenantId: z.uuid() }), c.req.param(), "path");
    const body = parseWith(putTenantBody, await jsonBody(c), "body");
    await putTenant(deps, tenantId, body);
    return c.json({ tenantId, ...body });
  });

  app.put("/internal/v1/fences/:scope", async (c) => {
    const scope = parseWith(fenceScope, c.req.param("scope"), "path");
    const body = parseWith(putFenceBody, await jsonBody(c), "body");
    return c.json(await putFence(deps, scope, body));
  });

  app.get("/internal/v1/fences", async (c) => c.json({ items: await listFences(deps) }));

  app.put("/internal/v1/tenants/:tenantId/grants/:userId/:role", async (c) => {
    const { tenantId, userId, role } = parseWith(grantParams, c.req.param(), "path");
    const created = await bootstrapGrant(deps, tenantId, userId, role);
    return c.json({ tenantId, userId, role, created }, created ? 201 : 200);
  });

  // Audit verification and the protected audit replica's intake (DESIGN §13).
  app.route("/", auditRoutes(deps));
  return app;
}
