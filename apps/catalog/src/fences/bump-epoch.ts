import { DomainError } from "@homeroute/contracts";
import type { CatalogDeps } from "../deps.js";
import { publishSnapshot } from "../snapshot/publish.js";
import { queueCellCall } from "../sync/cell-sync.js";

/**
 * Moves a tenant's fence to a new epoch (same home), the primitive promotions and migrations are
 * built from (DESIGN §7, §9). The cell gets the new fence through the sync outbox; edges holding
 * the old snapshot get STALE_REGION_EPOCH, refresh, and retry once.
 */
export async function bumpTenantEpoch(deps: CatalogDeps, tenantId: string): Promise<number> {
  const epoch = await deps.sql.begin(async (tx) => {
    const [f] = await tx<{ active_region: string; epoch: number; status: string }[]>`
      UPDATE region_write_epoch SET epoch = epoch + 1, updated_at = now()
      WHERE logical_scope = ${`tenant:${tenantId}`} RETURNING active_region, epoch, status`;
    if (!f) throw new DomainError("NOT_FOUND", "unknown tenant");
    await queueCellCall(tx, f.active_region, "PUT", `/internal/v1/fences/tenant:${tenantId}`, {
      activeRegion: f.active_region,
      epoch: f.epoch,
      status: f.status,
    });
    await publishSnapshot(tx);
    return f.epoch;
  });
  deps.kickSync();
  return epoch;
}
