import { DomainError } from "@homeroute/contracts";
import { authenticate, parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import { verifyTenantAudit } from "../audit-replica/verify.js";
import type { CatalogDeps } from "../deps.js";

/** `GET /v1/ops/audit/verify?tenantId=` (CONTRACT.md): operators only, through the edge's /v1/ops proxy. */
export function auditRoutes(deps: CatalogDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.get("/v1/ops/audit/verify", async (c) => {
    const principal = await authenticate(c.req.header("authorization"), deps.jwtKey);
    if (!principal.ops) throw new DomainError("FORBIDDEN", "an operator token is required");
    const { tenantId } = parseWith(z.object({ tenantId: z.uuid() }), c.req.query(), "query");
    return c.json(await verifyTenantAudit(deps, tenantId));
  });
  return app;
}
