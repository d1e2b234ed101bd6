import type { ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import type { CellDeps } from "../deps.js";

/**
 * Cases homed here, by the tenant's residency policy and status: what the warehouse's report is
 * reconciled against (issue 9). Counts only; nothing of any tenant leaves with them.
 */
export function countRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.get("/internal/v1/case-counts", async (c) => {
    const rows = await deps.sql<{ policy_code: string; status: string; cases: number }[]>`
      SELECT t.residency_policy AS policy_code, c.status, count(*)::int AS cases
      FROM regulatory_case c JOIN tenant_registration t ON t.tenant_id = c.tenant_id
      WHERE c.home_region = ${deps.region}
      GROUP BY t.residency_policy, c.status ORDER BY 1, 2`;
    return c.json({
      region: deps.region,
      counts: rows.map((r) => ({ policyCode: r.policy_code, status: r.status, cases: r.cases })),
    });
  });
  return app;
}
