import { fenceView } from "@homeroute/contracts";
import { z } from "zod";
import type { CellDeps } from "../deps.js";
import { regionScope } from "./write-gate.js";

// The cell side of write leases (DESIGN §7). At boot the cell marks its own lease expired, so it
// is read-only until the catalog has answered once ("boot fencing"). Each renewal applies the
// fences the catalog sent (under the fence rows' exclusive locks, so in-flight commands finish
// first) and only then extends the lease. A cell that cannot renew simply lets the lease run out:
// the write gate then refuses with REGION_READ_ONLY until a renewal succeeds again.

const grantSchema = z.object({
  region: z.string(),
  leaseExpiresAt: z.iso.datetime({ offset: true }),
  ttlSeconds: z.number().positive(),
  fences: z.array(fenceView),
});

/** Whether this cell writes only under a lease renewed from a catalog (CATALOG_URL set). */
export const leasesRequired = (deps: Pick<CellDeps, "env">): boolean => deps.env.CATALOG_URL !== undefined;

export async function bootFence(deps: CellDeps): Promise<void> {
  await deps.sql`UPDATE region_write_epoch SET lease_expires_at = now() WHERE logical_scope = ${regionScope(deps.region)}`;
}

export async function renewOnce(
  deps: CellDeps,
  catalogUrl: string,
): Promise<{ leaseExpiresAt: Date; ttlSeconds: number }> {
  const held = await deps.sql<{ logical_scope: string }[]>`SELECT logical_scope FROM region_write_epoch`;
  const res = await fetch(`${catalogUrl}/internal/v1/leases/${deps.region}/renew`, {
    method: "POST",
    headers: { authorization: `Bearer ${deps.env.INTERNAL_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ heldScopes: held.map((h) => h.logical_scope) }),
    signal: AbortSignal.timeout(2000),
  });
  if (!res.ok) throw new Error(`catalog answered ${res.status}`);
  const grant = grantSchema.parse(await res.json());
  const leaseExpiresAt = new Date(grant.leaseExpiresAt);
  // Pending fences first, then the lease. Each change is its own one-row transaction: a renewal
  // never holds two fence locks at once, so it cannot deadlock with commands that hold them shared,
  // and unchanged fences are not rewritten (no needless exclusive locks every renewal).
  const current = new Map(
    (
      await deps.sql<{ logical_scope: string; active_region: string; epoch: number; status: string }[]>`
        SELECT logical_scope, active_region, epoch, status FROM region_write_epoch`
    ).map((r) => [r.logical_scope, r]),
  );
  const own = regionScope(deps.region);
  for (const f of grant.fences) {
    const c = current.get(f.scope);
    if (c && c.active_region === f.activeRegion && c.epoch === f.epoch && c.status === f.status) continue;
    await deps.sql`
      INSERT INTO region_write_epoch (logical_scope, active_region, epoch, status, lease_expires_at)
      VALUES (${f.scope}, ${f.activeRegion}, ${f.epoch}, ${f.status}, ${f.scope === own ? new Date(0) : null})
      ON CONFLICT (logical_scope) DO UPDATE SET active_region = EXCLUDED.active_region, epoch = EXCLUDED.epoch,
        status = EXCLUDED.status, updated_at = now()
      WHERE region_write_epoch.epoch <= EXCLUDED.epoch`;
  }
  await deps.sql`UPDATE region_write_epoch SET lease_expires_at = ${leaseExpiresAt} WHERE logical_scope = ${own}`;
  return { leaseExpiresAt, ttlSeconds: grant.ttlSeconds };
}

/** Renews at a third of the TTL; retries quickly after a failure. */
export function startLeaseLoop(deps: CellDeps, catalogUrl: string): { stop(): void } {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const tick = async () => {
    let next = 500;
    try {
      const { ttlSeconds } = await renewOnce(deps, catalogUrl);
      next = Math.max(200, (ttlSeconds * 1000) / 3);
    } catch (e) {
      deps.log.error("lease renewal failed", { error: (e as Error).message });
    }
    if (!stopped) {
      timer = setTimeout(tick, next);
      timer.unref();
    }
  };
  void tick();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
