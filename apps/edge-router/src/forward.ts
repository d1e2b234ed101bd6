import { DomainError } from "@homeroute/contracts";
import type { EdgeConfig } from "./env.js";
import type { RouteTarget } from "./routing/resolve.js";

/** Request headers a cell needs; nothing else crosses (no cookies, no client hop-by-hop). */
const PASS_HEADERS = [
  "authorization",
  "idempotency-key",
  "content-type",
  "x-evidence-filename",
  "x-consistency-token",
  "accept",
];

export interface Outgoing {
  method: string;
  pathAndQuery: string;
  headers: Headers;
  body: ArrayBuffer | null;
  correlationId: string;
  edgeRegion: string;
}

/**
 * Sends a request to the home cell with the epoch it must check. A cell that does not answer
 * within the bound is REGION_UNAVAILABLE, never a hang (DESIGN §8).
 */
export async function forwardToCell(cfg: EdgeConfig, target: RouteTarget, out: Outgoing): Promise<Response> {
  const base = cfg.CELL_URLS[target.homeRegion];
  const unavailable = (detail: string) =>
    new DomainError("REGION_UNAVAILABLE", detail, { region: target.homeRegion, retryAfterSeconds: 5 });
  if (!base) throw unavailable(`no cell is known for ${target.homeRegion}`);
  const headers = new Headers();
  for (const h of PASS_HEADERS) {
    const v = out.headers.get(h);
    if (v !== null) headers.set(h, v);
  }
  headers.set("x-region-epoch", String(target.epoch));
  headers.set("x-correlation-id", out.correlationId);
  headers.set("x-edge-region", out.edgeRegion);
  try {
    return await fetch(`${base}${out.pathAndQuery}`, {
      method: out.method,
      headers,
      body: out.body,
      signal: AbortSignal.timeout(cfg.CELL_TIMEOUT_MS),
    });
  } catch {
    throw unavailable(`the home cell ${target.homeRegion} did not answer`);
  }
}

/** WRONG_REGION, or STALE_REGION_EPOCH: the edge's snapshot is behind the catalog. */
export async function isOwnershipMiss(res: Response): Promise<boolean> {
  if (res.status === 421) return true;
  if (res.status !== 409) return false;
  try {
    const body = (await res.clone().json()) as { code?: string };
    return body.code === "STALE_REGION_EPOCH";
  } catch {
    return false;
  }
}
