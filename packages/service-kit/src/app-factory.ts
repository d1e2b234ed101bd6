import { DomainError, problemOf } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Registry } from "prom-client";
import type { Logger } from "./log.js";
import { METRICS_CONTENT_TYPE, metricsText } from "./metrics.js";
import { problemResponse } from "./problem.js";
import { serverTimingHeader, withRequestTiming } from "./server-timing.js";
import type { ServiceHono } from "./types.js";

const CORRELATION_RE = /^[\w.:-]{1,128}$/;

/**
 * The one Hono factory (STYLE §1): request and correlation ids, one wide log line per request,
 * problem+json for every failure, and a 500 that says only "internal error" plus the request id.
 */
export interface ServiceInfo {
  /** The region this process serves (a cell) or sits in (the catalog). */
  region: string;
  log: Logger;
  /** When given, `GET /metrics` serves it (open, like /healthz: see docs/metrics.md). */
  registry?: Registry;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface BodyLimits {
  /** Routes with a larger limit than 1 MiB (evidence uploads), by path predicate. */
  large?: { test: (path: string) => boolean; maxBytes: number };
}

function tooLarge(c: Context, maxSize: number): Response {
  const r = problemResponse(c, problemOf("PAYLOAD_TOO_LARGE", `the body exceeds ${maxSize} bytes`));
  // The unread rest of the body is abandoned, so the connection cannot be reused: say so.
  r.headers.set("connection", "close");
  return r;
}

function limiter(maxSize: number) {
  return bodyLimit({ maxSize, onError: (c) => tooLarge(c, maxSize) });
}

export function createHono(deps: ServiceInfo, limits: BodyLimits = {}): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  const small = limiter(DEFAULT_BODY_LIMIT);
  const large = limits.large ? limiter(limits.large.maxBytes) : small;
  app.use(async (c, next) => {
    const started = performance.now();
    const requestId = uuidv7();
    const incoming = c.req.header("x-correlation-id");
    const correlationId = incoming && CORRELATION_RE.test(incoming) ? incoming : requestId;
    c.set("requestId", requestId);
    c.set("correlationId", correlationId);
    // Body limits without a middleware layer of their own on the common path (each Hono layer
    // costs ~0.1 ms, bench/RESULTS.md): a declared length is checked here; only bodies without
    // one (chunked) go through the streaming limiter.
    const isLarge = limits.large?.test(c.req.path) === true;
    const maxBytes = isLarge ? limits.large!.maxBytes : DEFAULT_BODY_LIMIT;
    const declared = c.req.header("content-length");
    const { timing, done } = withRequestTiming(async () => {
      if (declared !== undefined && Number(declared) > maxBytes) {
        c.res = tooLarge(c, maxBytes);
      } else if (declared === undefined && c.req.method !== "GET" && c.req.method !== "HEAD") {
        const refused = await (isLarge ? large : small)(c, next);
        if (refused instanceof Response) c.res = refused;
      } else {
        await next();
      }
    });
    await done;
    c.res.headers.set("server-timing", serverTimingHeader(performance.now() - started, timing));
    c.res.headers.set("x-correlation-id", correlationId);
    c.res.headers.set("x-request-id", requestId);
    deps.log.request({
      region: deps.region,
      tenantId: c.req.param("tenantId"),
      route: c.req.routePath,
      method: c.req.method,
      status: c.res.status,
      code: c.get("problemCode"),
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
      correlationId,
      requestId,
      replayed: c.get("replayed") || undefined,
    });
  });
  app.onError((err, c) => {
    if (err instanceof DomainError) return problemResponse(c, err.toProblem());
    if (isDatabaseUnavailable(err)) {
      // The process is up but its database is not: a retryable outage of this region, not a 500.
      deps.log.error("database unavailable", {
        requestId: c.get("requestId"),
        error: (err as Error).message,
      });
      return problemResponse(
        c,
        problemOf("REGION_UNAVAILABLE", "this region's database is unreachable", {
          region: deps.region,
          retryAfterSeconds: 5,
        }),
      );
    }
    deps.log.error("unhandled", {
      requestId: c.get("requestId"),
      route: c.req.routePath,
      error: err instanceof Error ? err.message : String(err),
      pgCode: (err as { code?: string }).code,
    });
    return problemResponse(c, problemOf("INTERNAL", "internal error"));
  });
  app.notFound((c) => problemResponse(c, problemOf("NOT_FOUND", "no such route")));
  const registry = deps.registry;
  if (registry) {
    app.get("/metrics", async (c) =>
      c.body(await metricsText(registry), 200, { "content-type": METRICS_CONTENT_TYPE }),
    );
  }
  return app;
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P03", // cannot_connect_now
]);

/** Errors that mean "the database cannot be reached right now" (postgres.js and Node codes). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && UNAVAILABLE_CODES.has(code);
}

export function payloadTooLarge(limit: number): never {
  throw new DomainError("PAYLOAD_TOO_LARGE", `the body exceeds ${limit} bytes`);
}
