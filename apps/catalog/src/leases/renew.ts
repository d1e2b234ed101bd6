import type { FenceView } from "@homeroute/contracts";
import { DomainError } from "@homeroute/contracts";
import type { CatalogDeps } from "../deps.js";

// Write leases (DESIGN §7): a cell may write only while it holds a lease the catalog granted.
// The renewal answer carries the authoritative fences for every scope the cell holds or owns,
// which the cell applies before it takes the new lease. The catalog remembers the last lease it
// granted per region: promotion may rely on its expiry to know the old home has stopped.

export interface LeaseGrant {
  region: string;
  leaseExpiresAt: string;
  ttlSeconds: number;
  fences: FenceView[];
}

type Row = {
  logical_scope: string;
  active_region: string;
  epoch: number;
  status: FenceView["status"];
  lease_expires_at: Date | null;
  updated_at: Date;
};

export async function renewLease(
  deps: CatalogDeps,
  region: string,
  heldScopes: string[],
): Promise<LeaseGrant> {
  const ttl = deps.env.LEASE_TTL_SECONDS;
  return deps.sql.begin(async (tx) => {
    const [r] = await tx`SELECT code FROM region WHERE code = ${region}`;
    if (!r) throw new DomainError("NOT_FOUND", "unknown region");
    await tx`UPDATE region SET last_heartbeat_at = now() WHERE code = ${region}`;
    const [lease] = await tx<{ lease_expires_at: Date }[]>`
      UPDATE region_write_epoch SET lease_expires_at = now() + make_interval(secs => ${ttl})
      WHERE logical_scope = ${`region:${region}`} RETURNING lease_expires_at`;
    const fences = await tx<Row[]>`
      SELECT * FROM region_write_epoch
      WHERE logical_scope = ${`region:${region}`}
        OR (logical_scope LIKE 'tenant:%' AND active_region = ${region})
        OR logical_scope = ANY(${heldScopes})`;
    return {
      region,
      leaseExpiresAt: lease!.lease_expires_at.toISOString(),
      ttlSeconds: ttl,
      fences: fences.map((f) => ({
        scope: f.logical_scope,
        activeRegion: f.active_region,
        epoch: f.epoch,
        status: f.status,
        // The region's lease travels separately; tenant fences carry none of their own.
        leaseExpiresAt: null,
        updatedAt: f.updated_at.toISOString(),
      })),
    };
  });
}
