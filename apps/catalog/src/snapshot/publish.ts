import type { RoutingSnapshot } from "@homeroute/contracts";
import type { Sql, TransactionSql } from "postgres";
import type { CatalogDeps } from "../deps.js";

/**
 * Builds a new immutable routing snapshot from the authoritative tables, inside the caller's
 * transaction, so the snapshot and the change that caused it commit together. An advisory lock
 * keeps versions in commit order (a later version never holds older data).
 */
export async function publishSnapshot(tx: TransactionSql): Promise<number> {
  await tx`SELECT pg_advisory_xact_lock(7310)`;
  const [row] = await tx<{ version: number }[]>`
    INSERT INTO routing_snapshot (snapshot)
    SELECT jsonb_build_object(
      'regions', (SELECT coalesce(jsonb_object_agg(code, jsonb_build_object('mode', mode)), '{}') FROM region),
      'tenants', (SELECT coalesce(jsonb_object_agg(a.tenant_id, jsonb_build_object(
          'homeRegion', f.active_region, 'epoch', f.epoch, 'status', a.status, 'policy', a.residency_policy,
          'allowedRegions', to_jsonb(p.allowed_regions), 'queuedIntake', a.queued_intake)), '{}')
        FROM tenant_region_assignment a
        JOIN region_write_epoch f ON f.logical_scope = 'tenant:' || a.tenant_id
        JOIN residency_policy p ON p.policy_code = a.residency_policy),
      'entities', (SELECT coalesce(jsonb_object_agg(entity_id, jsonb_build_object(
          'homeRegion', home_region, 'epoch', region_epoch)), '{}') FROM entity_home_region))
    RETURNING version`;
  return row!.version;
}

export async function latestSnapshot(sql: Sql): Promise<RoutingSnapshot | null> {
  const [row] = await sql<
    { version: number; snapshot: Omit<RoutingSnapshot, "version" | "generatedAt">; created_at: Date }[]
  >`
    SELECT version, snapshot, created_at FROM routing_snapshot ORDER BY version DESC LIMIT 1`;
  if (!row) return null;
  return { version: row.version, generatedAt: row.created_at.toISOString(), ...row.snapshot };
}

/** Best effort: the edge also pulls on a miss or a stale-epoch answer, so a lost push only delays. */
export async function pushSnapshotToEdge(deps: CatalogDeps): Promise<void> {
  if (!deps.env.EDGE_URL) return;
  const snapshot = await latestSnapshot(deps.sql);
  if (!snapshot) return;
  try {
    await fetch(`${deps.env.EDGE_URL}/internal/v1/routing-snapshot`, {
      method: "PUT",
      headers: { authorization: `Bearer ${deps.env.INTERNAL_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(snapshot),
      signal: AbortSignal.timeout(2000),
    });
  } catch (e) {
    deps.log.info("snapshot push to edge failed; edges will pull", { error: (e as Error).message });
  }
}
