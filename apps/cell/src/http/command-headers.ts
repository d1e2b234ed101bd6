import { DomainError } from "@homeroute/contracts";
import type { Context } from "hono";
import type { CommandResult } from "../commands/execute.js";
import type { CellDeps } from "../deps.js";

export { idempotencyKey } from "@homeroute/service-kit";

/** `X-Region-Epoch`: absent → checked against the cell's current epoch; present → must match. */
export function commandEpoch(c: Context): number | null {
  const raw = c.req.header("x-region-epoch");
  if (raw === undefined) return null;
  if (!/^[1-9]\d{0,15}$/.test(raw)) {
    throw new DomainError("VALIDATION_FAILED", "X-Region-Epoch must be a positive integer", {
      issues: [{ path: ["header", "X-Region-Epoch"], message: "not a positive integer" }],
    });
  }
  return Number(raw);
}

export function routedHeaders(c: Context, deps: CellDeps, epoch: number | null): void {
  c.header("x-served-by-region", deps.region);
  c.header("x-home-region", deps.region);
  if (epoch !== null) c.header("x-region-epoch", String(epoch));
}

export function commandResponse(c: Context, deps: CellDeps, r: CommandResult): Response {
  routedHeaders(c, deps, r.epoch);
  if (r.consistencyToken) c.header("x-consistency-token", r.consistencyToken);
  if (r.replayed) {
    c.header("idempotent-replayed", "true");
    c.set("replayed" as never, true as never);
  }
  return c.json(r.body, r.statusCode as 200);
}
