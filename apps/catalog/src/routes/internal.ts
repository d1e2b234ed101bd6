import { DomainError, referenceKind, regionCode } from "@homeroute/contracts";
import { internalAuth, jsonBody, parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import { auditReplicaPlacement } from "../audit-replica/verify.js";
import type { CatalogDeps } from "../deps.js";
import { renewLease } from "../leases/renew.js";
import { latestReference } from "../reference/reference.js";
import { latestSnapshot } from "../snapshot/publish.js";

/** What edges pull: the newest routing snapshot and reference data, behind INTERNAL_TOKEN. */
export function internalRoutes(deps: CatalogDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.use("/internal/*", internalAuth(deps.env.INTERNAL_TOKEN));
  app.get("/internal/v1/routing-snapshot", async (c) => {
    const s = await latestSnapshot(deps.sql);
    if (!s) throw new DomainError("NOT_FOUND", "no snapshot published yet");
    return c.json(s);
  });
  app.get("/internal/v1/reference/:kind", async (c) => {
    const kind = parseWith(referenceKind, c.req.param("kind"), "path");
    return c.json(await latestReference(deps.sql, kind));
  });
  // The audit replicator asks where a tenant's audit links may be copied (its residency policy).
  app.get("/internal/v1/tenants/:tenantId/residency", async (c) => {
    const tenantId = parseWith(z.uuid(), c.req.param("tenantId"), "path");
    return c.json({ tenantId, ...(await auditReplicaPlacement(deps, tenantId)) });
  });
  app.post("/internal/v1/leases/:region/renew", async (c) => {
    const region = parseWith(regionCode, c.req.param("region"), "path");
    const body = parseWith(
      z.object({ heldScopes: z.array(z.string().max(80)).max(100_000) }),
      await jsonBody(c),
      "body",
    );
    return c.json(await renewLease(deps, region, body.heldScopes));
  });
  return app;
}
