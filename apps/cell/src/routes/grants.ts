import { grantBody, grantParams } from "@homeroute/contracts";
import { authenticate, jsonBody, parseWith, requireTenant, type ServiceHono } from "@homeroute/service-kit";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { executeCommand } from "../commands/execute.js";
import type { CellDeps } from "../deps.js";
import { planGrantChange, readGrantState } from "../grants/change-grant.js";
import { commandEpoch, commandResponse, idempotencyKey } from "../http/command-headers.js";

/** CONTRACT.md "Grants": tenant_admin only, always decided at the tenant's home. */
export function grantRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  const tenantParams = z.object({ tenantId: z.uuid() });

  const run = async (
    c: Context<ServiceHono>,
    tenantId: string,
    change: { userId: string; role: z.infer<typeof grantBody>["role"]; op: "grant" | "revoke" },
  ) => {
    const principal = await authenticate(c.req.header("authorization"), deps.jwtKey);
    requireTenant(principal, tenantId);
    const r = await executeCommand(
      deps,
      {
        tenantId,
        actorId: principal.userId,
        commandId: idempotencyKey(c),
        commandEpoch: commandEpoch(c),
        correlationId: c.get("correlationId"),
        operation: `grant.${change.op}`,
        permission: "grant.manage",
        request: change,
      },
      async (d) =>
        planGrantChange(
          deps,
          tenantId,
          { ...change, by: principal.userId },
          await readGrantState(deps, tenantId, change.userId),
          d,
        ),
    );
    return commandResponse(c, deps, r);
  };

  app.post("/v1/tenants/:tenantId/grants", async (c) => {
    const { tenantId } = parseWith(tenantParams, c.req.param(), "path");
    const body = parseWith(grantBody, await jsonBody(c), "body");
    return run(c, tenantId, { ...body, op: "grant" });
  });
  app.delete("/v1/tenants/:tenantId/grants/:userId/:role", async (c) => {
    const { tenantId, userId, role } = parseWith(grantParams, c.req.param(), "path");
    return run(c, tenantId, { userId, role, op: "revoke" });
  });
  return app;
}
