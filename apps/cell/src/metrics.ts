import { createRegistry, LATENCY_BUCKETS, type ServiceHono } from "@homeroute/service-kit";
import type { MiddlewareHandler } from "hono";
import type { Sql } from "postgres";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

// The cell's Prometheus series (DESIGN §14, docs/metrics.md). Latency is measured around the whole
// HTTP request of a tenant route, so it includes auth, the command's SQL and the response.

export interface CellMetrics {
  registry: Registry;
  commandDuration: Histogram<"region" | "tenant_id" | "operation" | "outcome">;
  readDuration: Histogram<"region" | "tenant_id" | "operation" | "read_source" | "outcome">;
  routingErrors: Counter<"region" | "requested_region" | "expected_region" | "code">;
  residencyViolations: Counter<"region" | "policy" | "target_region">;
}

export function createCellMetrics(region: string, sql: Sql): CellMetrics {
  const registry = createRegistry("cell");
  const commandDuration = new Histogram({
    name: "homeroute_command_duration_seconds",
    help: "Tenant commands (writes) at the home cell, by operation and outcome (ok, replayed or the problem code).",
    labelNames: ["region", "tenant_id", "operation", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const readDuration = new Histogram({
    name: "homeroute_read_duration_seconds",
    help: "Tenant reads served by the cell; read_source is always home here (strong reads, DESIGN §6).",
    labelNames: ["region", "tenant_id", "operation", "read_source", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const routingErrors = new Counter({
    name: "homeroute_routing_errors_total",
    help: "Requests this cell refused because another region (or another epoch) owns the tenant.",
    labelNames: ["region", "requested_region", "expected_region", "code"] as const,
    registers: [registry],
  });
  // Same series as the catalog's: refusals of the sinks a cell guards itself (support access).
  const residencyViolations = new Counter({
    name: "homeroute_residency_violation_attempts_total",
    help: "Residency refusals at this cell (a support read from a region outside the policy, evidence bytes for a store the policy does not allow), by policy and target region.",
    labelNames: ["region", "policy", "target_region"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "homeroute_conflict_cases",
    help: "cross_region_conflict_case rows in this cell (writes of a former home found after a promotion).",
    labelNames: ["region", "aggregate_type", "home_region", "conflicting_region", "status"] as const,
    registers: [registry],
    async collect() {
      try {
        const rows = await sql<
          {
            aggregate_type: string;
            home_region: string;
            conflicting_region: string;
            status: string;
            n: number;
          }[]
        >`
          SELECT aggregate_type, home_region, conflicting_region, status, count(*)::int AS n
          FROM cross_region_conflict_case GROUP BY 1, 2, 3, 4`;
        this.reset();
        for (const r of rows) {
          this.set(
            {
              region,
              aggregate_type: r.aggregate_type,
              home_region: r.home_region,
              conflicting_region: r.conflicting_region,
              status: r.status,
            },
            r.n,
          );
        }
      } catch {
        // Database unreachable: keep the last counts rather than fail the whole scrape.
      }
    },
  });
  return { registry, commandDuration, readDuration, routingErrors, residencyViolations };
}

const OPERATIONS: Record<string, string> = {
  "POST /v1/tenants/:tenantId/cases": "case.create",
  "GET /v1/tenants/:tenantId/cases": "case.list",
  "GET /v1/tenants/:tenantId/cases/:caseId": "case.get",
  "GET /v1/tenants/:tenantId/cases/:caseId/audit": "case.audit",
  "POST /v1/tenants/:tenantId/cases/:caseId/transitions": "case.transition",
  "POST /v1/tenants/:tenantId/cases/:caseId/decision": "case.decide",
  "POST /v1/tenants/:tenantId/cases/:caseId/tasks": "task.create",
  "POST /v1/tenants/:tenantId/cases/:caseId/tasks/:taskId/complete": "task.complete",
  "POST /v1/tenants/:tenantId/cases/:caseId/review-recommendations": "review.recommend",
  "POST /v1/tenants/:tenantId/cases/:caseId/evidence": "evidence.attach",
  "POST /v1/tenants/:tenantId/grants": "grant.grant",
  "DELETE /v1/tenants/:tenantId/grants/:userId/:role": "grant.revoke",
};

const ROUTING_CODES = new Set(["WRONG_REGION", "STALE_REGION_EPOCH"]);

/** Times every tenant route; mounted before the routes (app.ts). */
export function tenantRequestMetrics(region: string, m: CellMetrics): MiddlewareHandler<ServiceHono> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const operation = OPERATIONS[`${c.req.method} ${c.req.routePath}`] ?? "unknown";
    const pathTenant = c.req.param("tenantId");
    // Only an authenticated caller of this tenant names a label value: made-up ids in the path
    // must not mint new series.
    const tenantId = c.get("principal")?.tenantId === pathTenant ? pathTenant! : "unauthenticated";
    const code = c.get("problemCode");
    const outcome =
      c.res.status < 400
        ? c.get("replayed")
          ? "replayed"
          : "ok"
        : (code ?? `http_${c.res.status}`).toLowerCase();
    if (c.req.method === "GET") {
      m.readDuration.observe(
        { region, tenant_id: tenantId, operation, read_source: "home", outcome },
        seconds,
      );
    } else {
      m.commandDuration.observe({ region, tenant_id: tenantId, operation, outcome }, seconds);
    }
    if (code && ROUTING_CODES.has(code)) {
      let expected = "unknown";
      try {
        const body = (await c.res.clone().json()) as { homeRegion?: unknown };
        if (typeof body.homeRegion === "string") expected = body.homeRegion;
      } catch {}
      m.routingErrors.inc({ region, requested_region: region, expected_region: expected, code });
    }
  };
}
