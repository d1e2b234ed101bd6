import { DomainError } from "@homeroute/contracts";
import { Hono } from "hono";
import { z } from "zod";
import { edgeConfig } from "../env.js";
import type { EdgeHono } from "../hono.js";
import { countRead } from "../metrics.js";
import { freshness, keys, type PublicEntry } from "../projections/store.js";

const params = z.object({ tenantId: z.uuid(), caseNumber: z.string().regex(/^[A-Z]{2,8}-\d{4}-\d{8}$/) });

async function sha256Hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The public portal (CONTRACT.md): a case's coarse status from the nearest projection, always with
 * its freshness. A wrong or missing access code is the same 404 as an unknown case.
 */
export function publicRoutes(): Hono<EdgeHono> {
  const app = new Hono<EdgeHono>();
  app.get("/v1/public/tenants/:tenantId/cases/:caseNumber/status", async (c) => {
    const cfg = edgeConfig(c.env);
    const notFound = new DomainError("NOT_FOUND", "no such case, or the access code does not match");
    const p = params.safeParse(c.req.param());
    if (!p.success) throw notFound;
    const code = c.req.header("x-access-code")?.trim().toUpperCase();
    const entry = await c.env.PROJECTIONS.get<PublicEntry>(
      keys.pub(p.data.tenantId, p.data.caseNumber),
      "json",
    );
    if (!entry || !code || code.length > 64) throw notFound;
    if (!sameHex(await sha256Hex(`${entry.caseId}:${code}`), entry.accessCodeHash)) throw notFound;
    const dataFreshness = await freshness(
      c.env,
      entry.homeRegion,
      cfg.PUBLIC_STALE_AFTER_SECONDS,
      entry.updatedAt,
    );
    countRead(c, "edge_projection", dataFreshness.stale);
    c.header("x-home-region", entry.homeRegion);
    c.header("x-served-by-region", c.get("edgeRegion"));
    return c.json({
      caseNumber: entry.caseNumber,
      publicStatus: entry.publicStatus,
      updatedAt: entry.updatedAt,
      source: "edge_projection",
      dataFreshness,
    });
  });
  return app;
}
