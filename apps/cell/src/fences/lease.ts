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
  await deps.sql.begin(async (tx) => {
    // Pending fences first (sorted: one lock order for everyone), then the lease.
    for (const f of [...grant.fences].sort((a, b) => a.scope.localeCompare(b.scope))) {
      const lease = f.scope === regionScope(deps.region) ? leaseExpiresAt : null;
      await tx`
        INSERT INTO region_write_epoch (logical_scope, active_region, epoch, status, lease_expires_at)
        VALUES (${f.scope}, ${f.activeRegion}, ${f.epoch}, ${f.status}, ${lease})
        ON CONFLICT (logical_scope) DO UPDATE SET active_region = EXCLUDED.active_region, epoch = EXCLUDED.epoch,
          status = EXCLUDED.status, lease_expires_at = EXCLUDED.lease_expires_at, updated_at = now()
        WHERE region_write_epoch.epoch <= EXCLUDED.epoch`;
    }
  });
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
