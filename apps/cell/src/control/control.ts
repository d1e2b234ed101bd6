import type { FenceView, PutFenceBody, PutTenantBody, Role } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { iso } from "../cases/view.js";
import type { CellDeps } from "../deps.js";
import { leasesRequired } from "../fences/lease.js";
import { regionScope } from "../fences/write-gate.js";

// The cell's control API (CONTRACT.md): the catalog registers tenants, sets fences and bootstraps
// grants. Each is an idempotent upsert, so the catalog may retry freely. Fence changes take the
// fence row's exclusive lock, so they wait for in-flight commands holding it shared (DESIGN §5).

export async function putTenant(deps: CellDeps, tenantId: string, b: PutTenantBody): Promise<void> {
  await deps.sql`
    INSERT INTO tenant_registration (tenant_id, name, home_region, status, residency_policy)
    VALUES (${tenantId}, ${b.name}, ${b.homeRegion}, ${b.status}, ${b.residencyPolicy})
    ON CONFLICT (tenant_id) DO UPDATE SET name = EXCLUDED.name, home_region = EXCLUDED.home_region,
      status = EXCLUDED.status, residency_policy = EXCLUDED.residency_policy, updated_at = now()`;
}

export async function putFence(
  deps: CellDeps,
  scope: string,
  b: PutFenceBody,
): Promise<FenceView & { applied?: boolean }> {
  // The region's lease belongs to the lease loop (fences/lease.ts). A fence change that does not
  // name a lease (the catalog re-sending a region's mode and epoch, at its start or on a mode
  // change) keeps the lease the cell holds: taking it to null would lift lease enforcement until
  // the next renewal, so a cell cut off from the catalog in that window would write on with no
  // expiry while the catalog counts its lease as running out. A new region row of a cell that
  // writes under leases starts expired (boot fencing), never unleased.
  const keepLease = b.leaseExpiresAt === undefined;
  const startExpired = leasesRequired(deps) && scope === regionScope(deps.region);
  const lease = b.leaseExpiresAt ? new Date(b.leaseExpiresAt) : startExpired ? new Date(0) : null;
  const [row] = await deps.sql<{ updated_at: Date; lease_expires_at: Date | null }[]>`
    INSERT INTO region_write_epoch (logical_scope, active_region, epoch, status, lease_expires_at)
    VALUES (${scope}, ${b.activeRegion}, ${b.epoch}, ${b.status}, ${lease})
    ON CONFLICT (logical_scope) DO UPDATE SET active_region = EXCLUDED.active_region, epoch = EXCLUDED.epoch,
      status = EXCLUDED.status, updated_at = now(),
      lease_expires_at = CASE WHEN ${keepLease} THEN region_write_epoch.lease_expires_at
                              ELSE EXCLUDED.lease_expires_at END
      WHERE region_write_epoch.epoch <= EXCLUDED.epoch -- an epoch never goes back (a late, stale message)
    RETURNING updated_at, lease_expires_at`;
  if (!row) {
    // A late message with an older epoch: the newer fence stands (idempotent for retries).
    const current = (await listFences(deps)).find((f) => f.scope === scope)!;
    return { ...current, applied: false };
  }
  return {
    scope,
    activeRegion: b.activeRegion,
    epoch: b.epoch,
    status: b.status,
    leaseExpiresAt: row.lease_expires_at ? iso(row.lease_expires_at) : null,
    updatedAt: iso(row.updated_at),
  };
}

export async function listFences(deps: CellDeps): Promise<FenceView[]> {
  const rows = await deps.sql<
    {
      logical_scope: string;
      active_region: string;
      epoch: number;
      status: FenceView["status"];
      lease_expires_at: Date | null;
      updated_at: Date;
    }[]
  >`SELECT * FROM region_write_epoch ORDER BY logical_scope`;
  return rows.map((r) => ({
    scope: r.logical_scope,
    activeRegion: r.active_region,
    epoch: r.epoch,
    status: r.status,
    leaseExpiresAt: r.lease_expires_at ? iso(r.lease_expires_at) : null,
    updatedAt: iso(r.updated_at),
  }));
}

/**
 * Bootstrap grant (placement's admins). Like a grant through the API it is versioned, audited and
 * published as `grant.granted`, so the edge's authorization cache learns of it too.
 */
export async function bootstrapGrant(
  deps: CellDeps,
  tenantId: string,
  userId: string,
  role: Role,
): Promise<boolean> {
  return deps.sql.begin(async (tx) => {
    const inserted = await tx`
      INSERT INTO authorization_grant (tenant_id, user_id, role) VALUES (${tenantId}, ${userId}, ${role})
      ON CONFLICT DO NOTHING RETURNING 1`;
    if (inserted.length === 0) return false;
    const [v] = await tx<{ version: number }[]>`
      INSERT INTO grant_version (tenant_id, user_id, version) VALUES (${tenantId}, ${userId}, 1)
      ON CONFLICT (tenant_id, user_id) DO UPDATE SET version = grant_version.version + 1 RETURNING version`;
    const [f] = await tx<{ epoch: number }[]>`
      SELECT epoch FROM region_write_epoch WHERE logical_scope = ${`tenant:${tenantId}`}`;
    const now = new Date().toISOString();
    const payload = { userId, role };
    await tx`
      INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, region_epoch, action_type, aggregate_type,
        aggregate_id, aggregate_version, occurred_at, metadata)
      VALUES (${uuidv7()}, ${tenantId}, ${deps.region}, ${f?.epoch ?? 1}, 'grant.granted', 'grant', ${userId}, ${v!.version},
        ${now}, ${tx.json({ payload, request: { operation: "internal.grant" } })})`;
    const eventId = uuidv7();
    await tx`
      INSERT INTO outbox_event (event_id, tenant_id, aggregate_type, aggregate_id, aggregate_version, event_type, envelope)
      VALUES (${eventId}, ${tenantId}, 'grant', ${userId}, ${v!.version}, 'grant.granted', ${tx.json({
        eventId,
        type: "grant.granted",
        tenantId,
        aggregateType: "grant",
        aggregateId: userId,
        aggregateVersion: v!.version,
        homeRegion: deps.region,
        regionEpoch: f?.epoch ?? 1,
        occurredAt: now,
        recordedAt: now,
        commandId: null,
        correlationId: null,
        causationId: null,
        schemaVersion: 1,
        payload,
      })})`;
    return true;
  });
}
