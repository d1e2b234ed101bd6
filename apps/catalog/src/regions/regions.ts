import { DomainError, type RegionModeBody } from "@homeroute/contracts";
import { appendCatalogAudit } from "../audit.js";
import { runCatalogCommand } from "../command.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";
import { publishSnapshot } from "../snapshot/publish.js";
import { queueCellCall, retryRegionNow } from "../sync/cell-sync.js";

export interface RegionView {
  region: string;
  displayPrefix: string;
  jurisdiction: string;
  mode: "WRITABLE" | "READ_ONLY";
  modeReason: string | null;
  lease: { expiresAt: string | null };
  healthy: boolean;
  lastHeartbeatAt: string | null;
  outboxBacklog: number | null;
  projectionLagSeconds: number | null;
}

/** Regions with health from the catalog's probe (healthy = answered within three intervals). */
export async function listRegions(deps: CatalogDeps): Promise<RegionView[]> {
  const rows = await deps.sql<
    {
      code: string;
      display_prefix: string;
      jurisdiction: string;
      mode: "WRITABLE" | "READ_ONLY";
      mode_reason: string | null;
      last_heartbeat_at: Date | null;
      lease_expires_at: Date | null;
    }[]
  >`
    SELECT r.code, r.display_prefix, r.jurisdiction, r.mode, r.mode_reason, r.last_heartbeat_at, f.lease_expires_at
    FROM region r LEFT JOIN region_write_epoch f ON f.logical_scope = 'region:' || r.code
    ORDER BY r.code`;
  const freshWithin = deps.env.HEALTH_INTERVAL_MS * 3;
  return rows.map((r) => ({
    region: r.code,
    displayPrefix: r.display_prefix,
    jurisdiction: r.jurisdiction,
    mode: r.mode,
    modeReason: r.mode_reason,
    lease: { expiresAt: r.lease_expires_at?.toISOString() ?? null },
    healthy: r.last_heartbeat_at !== null && Date.now() - r.last_heartbeat_at.getTime() < freshWithin,
    lastHeartbeatAt: r.last_heartbeat_at?.toISOString() ?? null,
    outboxBacklog: deps.metrics.outboxBacklog.get(r.code) ?? null,
    projectionLagSeconds: deps.metrics.projectionLagSeconds.get(r.code) ?? null,
  }));
}

/**
 * An operator's region mode (DESIGN §7): READ_ONLY makes the region's fence READ_ONLY, so its cell
 * refuses writes for every scope with REGION_READ_ONLY while reads go on.
 */
export async function setRegionMode(deps: CatalogDeps, region: string, body: RegionModeBody, actor: Actor) {
  const result = await runCatalogCommand(
    deps,
    {
      commandId: actor.commandId,
      operation: "region.mode",
      actorId: actor.actorId,
      request: { region, ...body },
    },
    async (tx) => {
      const [r] = await tx`SELECT code FROM region WHERE code = ${region} FOR UPDATE`;
      if (!r) throw new DomainError("NOT_FOUND", "unknown region");
      await tx`UPDATE region SET mode = ${body.mode}, mode_reason = ${body.reason}, updated_at = now() WHERE code = ${region}`;
      const [f] = await tx<{ epoch: number }[]>`
        UPDATE region_write_epoch SET status = ${body.mode}, updated_at = now()
        WHERE logical_scope = ${`region:${region}`} RETURNING epoch`;
      await queueCellCall(tx, region, "PUT", `/internal/v1/fences/region:${region}`, {
        activeRegion: region,
        epoch: f!.epoch,
        status: body.mode,
      });
      await appendCatalogAudit(tx, {
        actorId: actor.actorId,
        actionType: "region.mode",
        targetRegion: region,
        outcome: "ACCEPTED",
        correlationId: actor.correlationId,
        metadata: { mode: body.mode, reason: body.reason },
      });
      await publishSnapshot(tx);
      return { statusCode: 200, body: { region, mode: body.mode, reason: body.reason } };
    },
  );
  deps.kickSync();
  return result;
}

/** Probes each cell's /readyz; a success is the region's heartbeat. */
export function startHealthLoop(deps: CatalogDeps): { stop(): void } {
  const unreachable = new Set<string>();
  const probe = async () => {
    for (const [region, url] of Object.entries(deps.env.CELL_URLS)) {
      try {
        const res = await fetch(`${url}/readyz`, {
          signal: AbortSignal.timeout(deps.env.HEALTH_INTERVAL_MS),
        });
        if (res.ok) {
          await deps.sql`UPDATE region SET last_heartbeat_at = now() WHERE code = ${region}`;
          // Back from an outage: the fences queued for it (a rollback's unfence, a promotion's
          // fence) go now, not after the retry backoff they grew while it was away.
          if (unreachable.delete(region)) await retryRegionNow(deps, region);
        } else unreachable.add(region);
      } catch {
        // Unreachable: the heartbeat ages and the region reads as unhealthy.
        unreachable.add(region);
      }
    }
    for (const [region, url] of Object.entries(deps.env.RELAY_URLS)) {
      try {
        const s = (await (await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) })).json()) as {
          backlog: number;
        };
        deps.metrics.outboxBacklog.set(region, s.backlog);
      } catch {
        deps.metrics.outboxBacklog.delete(region); // unknown, not zero
      }
    }
    if (deps.env.PROJECTOR_URL) {
      try {
        const s = (await (
          await fetch(`${deps.env.PROJECTOR_URL}/status`, { signal: AbortSignal.timeout(1000) })
        ).json()) as {
          regions: Record<string, { lagSeconds: number | null }>;
          replicationLagSeconds?: Record<string, number | null>;
        };
        for (const [region, r] of Object.entries(s.regions)) {
          if (r.lagSeconds !== null)
            deps.metrics.projectionLagSeconds.set(region, Math.round(r.lagSeconds * 10) / 10);
        }
        for (const [region, lag] of Object.entries(s.replicationLagSeconds ?? {})) {
          if (lag === null) deps.metrics.replicationLagSeconds.delete(region);
          else deps.metrics.replicationLagSeconds.set(region, Math.round(lag * 10) / 10);
        }
      } catch {
        deps.metrics.projectionLagSeconds.clear();
        deps.metrics.replicationLagSeconds.clear();
      }
    }
  };
  const timer = setInterval(() => void probe().catch(() => {}), deps.env.HEALTH_INTERVAL_MS);
  timer.unref();
  void probe().catch(() => {});
  return { stop: () => clearInterval(timer) };
}
