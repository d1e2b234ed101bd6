import {
  allows,
  completeTaskBody,
  createCaseBody,
  createTaskBody,
  DomainError,
  decisionBody,
  decodeConsistencyToken,
  getCaseQuery,
  grantBody,
  grantParams,
  listCasesQuery,
  readsAsSupport,
  reviewRecommendationBody,
  transitionBody,
} from "@homeroute/contracts";
import { UUID_RE } from "@homeroute/ids";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { verifyBearer } from "../auth.js";
import { edgeConfig } from "../env.js";
import { forwardToCell, isOwnershipMiss } from "../forward.js";
import type { EdgeHono } from "../hono.js";
import { countEdge, countRead } from "../metrics.js";
import { parseJson, parseWith } from "../problem.js";
import { cachedRoles } from "../projections/authz-cache.js";
import { type CaseEntry, freshness, keys } from "../projections/store.js";
import { resolveHome } from "../routing/resolve.js";
import { getRouting, type RoutingView } from "../routing/snapshot-cache.js";
import { enqueueIntake } from "./intake.js";

const MiB = 1024 * 1024;
const EVIDENCE_MAX_BYTES = 25 * MiB;
const tenantParams = z.object({ tenantId: z.uuid() });
const caseParams = tenantParams.extend({ caseId: z.uuid() });
const taskParams = caseParams.extend({ taskId: z.uuid() });

type Check = (c: Context<EdgeHono>, body: ArrayBuffer | null) => void;
const jsonWith =
  (schema: z.ZodType): Check =>
  (_c, body) => {
    parseWith(schema, parseJson(new TextDecoder().decode(body ?? new ArrayBuffer(0))), "body");
  };

/**
 * Every case route: authenticate, validate with the shared schema, resolve the home from the
 * snapshot, forward with the epoch; on WRONG_REGION or STALE_REGION_EPOCH refresh the snapshot
 * and retry exactly once (safe: the Idempotency-Key travels with it).
 */
async function route(
  c: Context<EdgeHono>,
  params: z.ZodType<{ tenantId: string; caseId?: string }>,
  check?: Check,
) {
  const cfg = edgeConfig(c.env);
  const principal = await verifyBearer(c.req.header("authorization"), cfg.jwtKey);
  const { tenantId, caseId } = parseWith(params, c.req.param(), "path");
  if (principal.tenantId !== tenantId) throw new DomainError("FORBIDDEN", "the token is not for this tenant");
  const isWrite = c.req.method !== "GET";
  if (isWrite && !UUID_RE.test(c.req.header("idempotency-key") ?? "")) {
    throw new DomainError("VALIDATION_FAILED", "Idempotency-Key must be a UUID", {
      issues: [{ path: ["header", "Idempotency-Key"], message: "required, a UUID" }],
    });
  }
  const limit = c.req.path.endsWith("/evidence") ? EVIDENCE_MAX_BYTES : MiB;
  if (Number(c.req.header("content-length") ?? 0) > limit) {
    throw new DomainError("PAYLOAD_TOO_LARGE", `the body exceeds ${limit} bytes`);
  }
  const body = isWrite ? await c.req.arrayBuffer() : null;
  if (body && body.byteLength > limit)
    throw new DomainError("PAYLOAD_TOO_LARGE", `the body exceeds ${limit} bytes`);
  check?.(c, body);

  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  let routing: RoutingView = await getRouting(c.env, cfg, { waitUntil });
  let target = resolveHome(routing.snapshot, tenantId, caseId);
  if (!target) {
    // A tenant placed a moment ago may not be in this copy yet (rate-limited: ids can be made up).
    routing = await getRouting(c.env, cfg, { force: true, rateLimited: true, waitUntil });
    target = resolveHome(routing.snapshot, tenantId, caseId);
    if (!target) throw new DomainError("NOT_FOUND", "unknown tenant");
  }
  const url = new URL(c.req.url);
  const out = {
    method: c.req.method,
    pathAndQuery: url.pathname + url.search,
    headers: c.req.raw.headers,
    body,
    correlationId: c.get("correlationId"),
    edgeRegion: c.get("edgeRegion"),
  };
  let res: Response;
  try {
    res = await forwardToCell(cfg, target, out);
  } catch (e) {
    // Queued intake: a new complaint for an unreachable home, where the tenant allows it.
    const tenant = routing.snapshot.tenants[tenantId];
    const isIntake = c.req.method === "POST" && /\/cases$/.test(url.pathname);
    if (isIntake && tenant?.queuedIntake && e instanceof DomainError && e.code === "REGION_UNAVAILABLE") {
      const receiptId = crypto.randomUUID();
      const held = await enqueueIntake(c.env, {
        receiptId,
        tenantId,
        idempotencyKey: c.req.header("idempotency-key")!,
        authorization: c.req.header("authorization")!,
        correlationId: out.correlationId,
        body: new TextDecoder().decode(body ?? new ArrayBuffer(0)),
        receivedAt: new Date().toISOString(),
      });
      return c.json({ receiptId: held.receiptId, status: "QUEUED" }, 202);
    }
    throw e;
  }
  let retried = false;
  if (await isOwnershipMiss(res)) {
    const refreshed = await getRouting(c.env, cfg, { force: true, waitUntil });
    const again = resolveHome(refreshed.snapshot, tenantId, caseId);
    countEdge("homeroute_edge_routing_errors_total", {
      edge_region: out.edgeRegion,
      requested_region: target.homeRegion,
      expected_region: again?.homeRegion ?? "unknown",
      code: res.status === 421 ? "WRONG_REGION" : "STALE_REGION_EPOCH",
    });
    if (again && (again.homeRegion !== target.homeRegion || again.epoch !== target.epoch)) {
      routing = refreshed;
      target = again;
      res = await forwardToCell(cfg, target, out);
      retried = true;
    }
  }
  countEdge("homeroute_edge_routing_lookups_total", { edge_region: out.edgeRegion, source: routing.source });
  if (!isWrite) countRead(c, "home", false);
  const headers = new Headers(res.headers);
  if (!headers.has("x-home-region")) headers.set("x-home-region", target.homeRegion);
  if (!headers.has("x-region-epoch")) headers.set("x-region-epoch", String(target.epoch));
  headers.set("x-routing-source", routing.source);
  if (retried) headers.set("x-routing-retried", "1");
  headers.set("x-routing-snapshot-version", String(routing.snapshot.version));
  if (routing.source === "cached") headers.set("x-routing-age-seconds", routing.ageSeconds.toFixed(1));
  return new Response(res.body, { status: res.status, headers });
}

/**
 * DESIGN §6 at the edge: `strong` always goes home. With a consistency token (or `session`), the
 * edge's copy serves only if it has at least the token's version; `eventual` serves the copy with
 * its freshness. Only tenants whose policy lets case data sit at every edge have a copy here, and
 * the caller's roles must be known at the edge; anything else is read at home.
 */
async function readFromProjection(c: Context<EdgeHono>): Promise<Response | null> {
  const cfg = edgeConfig(c.env);
  const principal = await verifyBearer(c.req.header("authorization"), cfg.jwtKey);
  const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
  if (principal.tenantId !== tenantId) throw new DomainError("FORBIDDEN", "the token is not for this tenant");
  const q = parseWith(getCaseQuery.partial(), c.req.query(), "query");
  const tokenHeader = c.req.header("x-consistency-token");
  const token = tokenHeader ? decodeConsistencyToken(tokenHeader) : null;
  const consistency = q.consistency ?? (token ? "session" : "strong");
  if (consistency === "strong") return null;
  // Support access is decided at the tenant's home against its policy (docs/residency.md): a
  // support session is never served from this copy.
  if (principal.supportRegion) return null;
  const routing = await getRouting(c.env, cfg, { waitUntil: (p) => c.executionCtx.waitUntil(p) });
  const tenant = routing.snapshot.tenants[tenantId];
  if (!tenant || !Object.keys(routing.snapshot.regions).every((r) => tenant.allowedRegions.includes(r)))
    return null;
  const roles = await cachedRoles(c.env, tenantId, principal.userId, cfg.AUTHZ_CACHE_SECONDS);
  if (!roles) return null;
  if (!allows(roles, "case.read")) throw new DomainError("FORBIDDEN", "the caller may not case.read");
  // A read only the support role allows is support access: decided at home too.
  if (readsAsSupport(roles, "case.read", principal.supportRegion)) return null;
  const entry = await c.env.PROJECTIONS.get<CaseEntry>(keys.case(tenantId, caseId), "json");
  if (!entry) return null;
  if (token && token.aggregateId === caseId && entry.version < token.version) return null;
  const dataFreshness = await freshness(
    c.env,
    entry.homeRegion,
    cfg.PUBLIC_STALE_AFTER_SECONDS,
    String(entry.view.updatedAt),
  );
  countRead(c, "edge_projection", dataFreshness.stale);
  c.header("x-home-region", entry.homeRegion);
  c.header("x-served-by-region", c.get("edgeRegion"));
  c.header("x-read-source", "edge_projection");
  return c.json({ ...entry.view, source: "edge_projection", dataFreshness });
}

export function caseRoutes(): Hono<EdgeHono> {
  const app = new Hono<EdgeHono>();
  const base = "/v1/tenants/:tenantId/cases";
  app.post(base, (c) => route(c, tenantParams, jsonWith(createCaseBody)));
  app.get(base, (c) =>
    route(c, tenantParams, (cc) => {
      parseWith(listCasesQuery, cc.req.query(), "query");
    }),
  );
  app.get(`${base}/:caseId`, async (c) => {
    const served = await readFromProjection(c);
    return served ?? route(c, caseParams, (cc) => parseWith(getCaseQuery, cc.req.query(), "query"));
  });
  app.post(`${base}/:caseId/transitions`, (c) => route(c, caseParams, jsonWith(transitionBody)));
  app.post(`${base}/:caseId/decision`, (c) => route(c, caseParams, jsonWith(decisionBody)));
  app.post(`${base}/:caseId/tasks`, (c) => route(c, caseParams, jsonWith(createTaskBody)));
  app.post(`${base}/:caseId/tasks/:taskId/complete`, (c) => route(c, taskParams, jsonWith(completeTaskBody)));
  app.post(`${base}/:caseId/evidence`, (c) => route(c, caseParams));
  app.post(`${base}/:caseId/review-recommendations`, (c) =>
    route(c, caseParams, jsonWith(reviewRecommendationBody)),
  );
  app.get(`${base}/:caseId/audit`, (c) => route(c, caseParams));
  // Grants are sensitive: always decided at the tenant's home (CONTRACT.md "Grants").
  app.post("/v1/tenants/:tenantId/grants", (c) => route(c, tenantParams, jsonWith(grantBody)));
  app.delete("/v1/tenants/:tenantId/grants/:userId/:role", (c) => route(c, grantParams));
  return app;
}
