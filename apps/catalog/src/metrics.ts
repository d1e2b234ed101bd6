import { createRegistry, GaugeMap } from "@homeroute/service-kit";
import type { Sql } from "postgres";
import { Counter, Gauge, type Registry } from "prom-client";

// The catalog's Prometheus series (DESIGN §14, docs/metrics.md). The maps stay the in-process
// interface the rest of the catalog uses; every write to them also sets the series.

/** A tenant counts as DR-ready only while its standbys trail the home by at most this. */
export const DR_READY_MAX_LAG_SECONDS = 60;

export interface CatalogMetrics {
  registry: Registry;
  /** Keyed `policy|targetRegion`. */
  residencyViolationAttempts: Map<string, number>;
  /** Last observed outbox backlog per region (from its relay) and projection lag (from the projector). */
  outboxBacklog: Map<string, number>;
  projectionLagSeconds: Map<string, number>;
  /** How far the DR standbys trail each source region (from the projector). */
  replicationLagSeconds: Map<string, number>;
  countResidencyViolation(policy: string, targetRegion: string): void;
}

export function createMetrics(): CatalogMetrics {
  const registry = createRegistry("catalog");
  const residencyViolationAttempts = new Map<string, number>();
  const violations = new Counter({
    name: "homeroute_residency_violation_attempts_total",
    help: "Placements, promotions, migrations and exports refused because the target region is outside the tenant's residency policy.",
    labelNames: ["policy", "target_region"] as const,
    registers: [registry],
  });
  const regionGauge = (name: string, help: string, label: "region" | "source_region") =>
    new GaugeMap(new Gauge({ name, help, labelNames: [label], registers: [registry] }), (key) => ({
      [label]: key,
    }));
  return {
    registry,
    residencyViolationAttempts,
    outboxBacklog: regionGauge(
      "homeroute_catalog_observed_outbox_backlog_events",
      "The catalog's last reading of each region's outbox backlog (its relay's /status); absent when unknown.",
      "region",
    ),
    projectionLagSeconds: regionGauge(
      "homeroute_catalog_observed_projection_lag_seconds",
      "The catalog's last reading of the projector's lag per source region.",
      "source_region",
    ),
    replicationLagSeconds: regionGauge(
      "homeroute_catalog_observed_replication_lag_seconds",
      "The catalog's last reading of how far the DR standbys trail each source region.",
      "source_region",
    ),
    countResidencyViolation(policy, targetRegion) {
      const key = `${policy}|${targetRegion}`;
      residencyViolationAttempts.set(key, (residencyViolationAttempts.get(key) ?? 0) + 1);
      violations.inc({ policy, target_region: targetRegion });
    },
  };
}

export interface ReadinessSources {
  sql: Sql;
  metrics: CatalogMetrics;
  /** Regions that have a cell the catalog can reach. */
  cellRegions: () => string[];
  /** A heartbeat older than this marks a region unhealthy (three health intervals). */
  healthyWithinMs: () => number;
}

/**
 * Series computed from the catalog's tables at scrape time: region health, and per tenant DR
 * readiness (a standby region its policy allows is healthy and trails the home by at most
 * DR_READY_MAX_LAG_SECONDS) and the last drill.
 */
export function registerReadinessMetrics(s: ReadinessSources): void {
  const { registry } = s.metrics;
  const regions = async () => {
    const rows = await s.sql<{ code: string; last_heartbeat_at: Date | null }[]>`
      SELECT code, last_heartbeat_at FROM region`;
    const within = s.healthyWithinMs();
    return new Map(
      rows.map((r) => [
        r.code,
        r.last_heartbeat_at !== null && Date.now() - r.last_heartbeat_at.getTime() < within,
      ]),
    );
  };
  new Gauge({
    name: "homeroute_region_healthy",
    help: "1 while the region's cell answered the catalog's health probe recently, else 0.",
    labelNames: ["region"] as const,
    registers: [registry],
    async collect() {
      try {
        const healthy = await regions();
        this.reset();
        for (const [region, ok] of healthy) this.set({ region }, ok ? 1 : 0);
      } catch {
        this.reset();
      }
    },
  });
  new Gauge({
    name: "homeroute_dr_ready",
    help: `1 when a standby region the tenant's policy allows is healthy and trails the home by at most ${DR_READY_MAX_LAG_SECONDS} s, else 0.`,
    labelNames: ["tenant_id", "home_region", "dr_region"] as const,
    registers: [registry],
    async collect() {
      try {
        const healthy = await regions();
        const tenants = await s.sql<{ tenant_id: string; home: string; allowed: string[] }[]>`
          SELECT a.tenant_id, f.active_region AS home, p.allowed_regions AS allowed
          FROM tenant_region_assignment a
          JOIN region_write_epoch f ON f.logical_scope = 'tenant:' || a.tenant_id
          JOIN residency_policy p ON p.policy_code = a.residency_policy`;
        const cells = new Set(s.cellRegions());
        this.reset();
        for (const t of tenants) {
          const lag = s.metrics.replicationLagSeconds.get(t.home);
          const caughtUp = lag !== undefined && lag <= DR_READY_MAX_LAG_SECONDS;
          const candidates = t.allowed.filter((r) => r !== t.home && cells.has(r));
          const ready = candidates.find((r) => healthy.get(r) === true && caughtUp);
          const drRegion = ready ?? candidates[0] ?? "none";
          this.set({ tenant_id: t.tenant_id, home_region: t.home, dr_region: drRegion }, ready ? 1 : 0);
        }
      } catch {
        this.reset();
      }
    },
  });
  // Backup freshness (DESIGN §14): the catalog records every backup, so it answers for all regions.
  new Gauge({
    name: "homeroute_backup_age_seconds",
    help: "Seconds since the last completed backup of a region's cell into a store region; absent when never backed up.",
    labelNames: ["region", "store_region"] as const,
    registers: [registry],
    async collect() {
      try {
        const rows = await s.sql<{ source_region: string; store_region: string; age: number }[]>`
          SELECT source_region, store_region, extract(epoch FROM now() - max(completed_at))::float8 AS age
          FROM cell_backup WHERE status = 'COMPLETED' GROUP BY source_region, store_region`;
        this.reset();
        for (const r of rows) this.set({ region: r.source_region, store_region: r.store_region }, r.age);
      } catch {
        this.reset();
      }
    },
  });
  new Gauge({
    name: "homeroute_dr_last_drill_timestamp_seconds",
    help: "Unix time of the tenant's last recorded DR drill (globalctl drill); absent when never drilled.",
    labelNames: ["tenant_id", "to_region"] as const,
    registers: [registry],
    async collect() {
      try {
        const rows = await s.sql<{ tenant_id: string; to_region: string; ran_at: Date }[]>`
          SELECT DISTINCT ON (tenant_id) tenant_id, to_region, ran_at FROM dr_drill ORDER BY tenant_id, ran_at DESC`;
        this.reset();
        for (const r of rows) {
          this.set({ tenant_id: r.tenant_id, to_region: r.to_region }, r.ran_at.getTime() / 1000);
        }
      } catch {
        this.reset();
      }
    },
  });
}
