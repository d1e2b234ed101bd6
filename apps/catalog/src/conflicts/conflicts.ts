import { DomainError } from "@homeroute/contracts";
import { appendCatalogAudit } from "../audit.js";
import { cellCall } from "../cells.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";

/** Conflict cases live in the cells that detected them; the catalog lists them across regions. */
export async function listConflicts(deps: CatalogDeps) {
  const items: unknown[] = [];
  const unreachable: string[] = [];
  for (const region of Object.keys(deps.env.CELL_URLS)) {
    const r = await cellCall<{ items: Record<string, unknown>[] }>(
      deps,
      region,
      "GET",
      "/internal/v1/conflicts",
    );
    if (r?.status !== 200) unreachable.push(region);
    else items.push(...r.body.items.map((i) => ({ ...i, detectedInRegion: region })));
  }
  return { items, unreachable };
}

/** Resolving is an audited decision, recorded in the cell that holds the conflict and here. */
export async function resolveConflict(deps: CatalogDeps, conflictId: string, note: string, actor: Actor) {
  for (const region of Object.keys(deps.env.CELL_URLS)) {
    const r = await cellCall(deps, region, "POST", `/internal/v1/conflicts/${conflictId}/resolve`, {
      note,
      resolvedBy: actor.actorId,
    });
    if (r?.status === 200) {
      await appendCatalogAudit(deps.sql, {
        actorId: actor.actorId,
        actionType: "conflict.resolve",
        targetRegion: region,
        outcome: "ACCEPTED",
        correlationId: actor.correlationId,
        metadata: { conflictId, note },
      });
      return { conflictId, region, status: "RESOLVED" };
    }
  }
  throw new DomainError("NOT_FOUND", "no open conflict with this id in any reachable region");
}
