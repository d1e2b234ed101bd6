import { auditReplicaLinksBody, regionCode } from "@homeroute/contracts";
import { readAuditLinks, verifyAuditChain, verifyAuditReplicaChain } from "@homeroute/db/cell";
import { jsonBody, parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import { acceptReplicaLinks, replicaHead } from "../audit/replica.js";
import type { CellDeps } from "../deps.js";

/**
 * Audit chain verification and the protected audit replica (DESIGN §13, docs/audit.md), for the
 * catalog and the audit replicator; internal (behind INTERNAL_TOKEN).
 */
export function auditRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  const tenantParam = z.object({ tenantId: z.uuid() });

  /** Recomputes this cell's own chain of the tenant. */
  app.get("/internal/v1/tenants/:tenantId/audit/verify", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const [head] = await deps.sql<{ last_seq: string }[]>`
      SELECT last_seq::text FROM audit_chain_head WHERE tenant_id = ${tenantId}`;
    return c.json({
      region: deps.region,
      tenantId,
      lastSeq: Number(head?.last_seq ?? 0),
      ...(await verifyAuditChain(deps.sql, tenantId)),
    });
  });

  /** This cell's own links of the tenant after `afterSeq`: a replica with a gap fills it from here. */
  app.get("/internal/v1/tenants/:tenantId/audit/links", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const q = parseWith(
      z.object({
        afterSeq: z.coerce.number().int().nonnegative(),
        limit: z.coerce.number().int().min(1).max(500).default(500),
      }),
      c.req.query(),
      "query",
    );
    return c.json({
      region: deps.region,
      tenantId,
      links: await readAuditLinks(deps.sql, tenantId, q.afterSeq, q.limit),
    });
  });

  app.post("/internal/v1/tenants/:tenantId/audit-replica/links", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const body = parseWith(auditReplicaLinksBody, await jsonBody(c), "body");
    // 200 also when a link was refused: the links before it were taken, and `refused` says why
    // the rest were not (a partial answer, not an error).
    return c.json(await acceptReplicaLinks(deps, tenantId, body));
  });

  /** Recomputes the copy held here of `sourceRegion`'s chain of the tenant. */
  app.get("/internal/v1/tenants/:tenantId/audit-replica/verify", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const sourceRegion = parseWith(regionCode, c.req.query("sourceRegion"), "query");
    return c.json({
      region: deps.region,
      tenantId,
      sourceRegion,
      lastSeq: (await replicaHead(deps, tenantId, sourceRegion))?.seq ?? 0,
      ...(await verifyAuditReplicaChain(deps.sql, tenantId, sourceRegion)),
    });
  });

  return app;
}
