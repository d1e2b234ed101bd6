import { DomainError, problemOf, redactForGlobalStore, regionCode } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { Hono } from "hono";
import { edgeConfig } from "./env.js";
import type { EdgeHono } from "./hono.js";
import { countEdge } from "./metrics.js";
import { problemResponse } from "./problem.js";
import { caseRoutes } from "./routes/cases.js";
import { controlPlaneRoutes } from "./routes/control-plane.js";
import { intakeRoutes } from "./routes/intake.js";
import { internalRoutes } from "./routes/internal.js";
import { publicRoutes } from "./routes/public.js";
import { referenceRoutes } from "./routes/reference.js";

const CORRELATION_RE = /^[\w.:-]{1,128}$/;
const CONTINENT_REGION: Record<string, string> = {
  AS: "ap-sg",
  OC: "ap-au",
  EU: "eu",
  AF: "eu",
  NA: "us",
  SA: "us",
};

/**
 * The edge's region: in the simulation the caller may pretend (X-Sim-Edge-Region); in production
 * it comes from Cloudflare's request.cf, never from a client header.
 */
function edgeRegionOf(req: Request, simulation: boolean, fallback: string): string {
  if (simulation) {
    const sim = regionCode.safeParse(req.headers.get("x-sim-edge-region"));
    if (sim.success) return sim.data;
  }
  const cf = (req as { cf?: { continent?: string } }).cf;
  return (cf?.continent && CONTINENT_REGION[cf.continent]) || fallback;
}

export function createEdgeApp(): Hono<EdgeHono> {
  const app = new Hono<EdgeHono>();
  app.use(async (c, next) => {
    const cfg = edgeConfig(c.env);
    const requestId = uuidv7();
    const incoming = c.req.header("x-correlation-id");
    const correlationId = incoming && CORRELATION_RE.test(incoming) ? incoming : requestId;
    const edgeRegion = edgeRegionOf(c.req.raw, cfg.SIMULATION === "true", cfg.EDGE_REGION);
    c.set("requestId", requestId);
    c.set("correlationId", correlationId);
    c.set("edgeRegion", edgeRegion);
    const started = performance.now();
    await next();
    // The edge's own share beside the cell's app/db (Server-Timing), for the latency report.
    const edgeTiming = `edge;dur=${(performance.now() - started).toFixed(2)}`;
    countEdge("homeroute_edge_requests_total", {
      edge_region: edgeRegion,
      route: c.req.routePath,
      method: c.req.method,
      status: String(c.res.status),
    });
    // Responses proxied from a cell have immutable headers; rebuild once if needed.
    try {
      c.res.headers.set("x-correlation-id", correlationId);
      c.res.headers.set("x-edge-region", edgeRegion);
      c.res.headers.append("server-timing", edgeTiming);
    } catch {
      const h = new Headers(c.res.headers);
      h.set("x-correlation-id", correlationId);
      h.set("x-edge-region", edgeRegion);
      h.append("server-timing", edgeTiming);
      c.res = new Response(c.res.body, { status: c.res.status, headers: h });
    }
  });
  app.onError((err, c) => {
    if (err instanceof DomainError)
      return problemResponse({ ...err.toProblem(), requestId: c.get("requestId") });
    // Worker logs leave every region (Workers Logs / Logpush): redacted like the global services'.
    console.error(
      JSON.stringify(
        redactForGlobalStore({ msg: "unhandled", requestId: c.get("requestId"), error: String(err) }),
      ),
    );
    return problemResponse({ ...problemOf("INTERNAL", "internal error"), requestId: c.get("requestId") });
  });
  app.notFound(() => problemResponse(problemOf("NOT_FOUND", "no such route")));
  app.get("/healthz", (c) => c.json({ ok: true, service: "edge", edgeRegion: c.get("edgeRegion") }));
  app.route("/", internalRoutes());
  app.route("/", referenceRoutes());
  app.route("/", publicRoutes());
  app.route("/", intakeRoutes());
  app.route("/", controlPlaneRoutes());
  app.route("/", caseRoutes());
  return app;
}
