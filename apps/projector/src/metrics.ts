import { streamName } from "@homeroute/events";
import { createRegistry, onePerScrape } from "@homeroute/service-kit";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Sql } from "postgres";
import { Counter, Gauge, type Registry } from "prom-client";
import type { AuditReplicaCounts } from "./audit-replica.js";

// The projector's Prometheus series (DESIGN §14, docs/metrics.md), read at scrape time from what
// the projector itself keeps: its watermarks (projection lag) and its JetStream consumers
// (replication lag to the DR standbys). Targets are sinks, not regions: one projector feeds the
// read model, and one durable consumer per source stream feeds every tenant's standbys. The
// protected audit replicator's counts (audit-replica.ts) are exposed by the chains' source region.

/** The StandbyForwarder's durable consumer name (standby.ts). */
const STANDBY_DURABLE = "dr-standby";

export interface StandbyLag {
  /** Events of the source's stream not yet accepted by every standby they go to. */
  pending: number;
  /** 0 when nothing is pending; else the age of the first event not yet acknowledged. */
  lagSeconds: number;
}

/** Per source region; null where the consumer cannot be read (NATS down, no standby). */
export async function standbyLag(
  jsm: JetStreamManager,
  root: string,
  regions: string[],
): Promise<Record<string, StandbyLag | null>> {
  const out: Record<string, StandbyLag | null> = {};
  for (const region of regions) {
    const stream = streamName(root, region);
    try {
      const info = await jsm.consumers.info(stream, STANDBY_DURABLE);
      const pending = info.num_pending + info.num_ack_pending;
      let lagSeconds = 0;
      if (pending > 0) {
        const first = await jsm.streams.getMessage(stream, { seq: info.ack_floor.stream_seq + 1 });
        lagSeconds = first ? Math.max(0, (Date.now() - first.time.getTime()) / 1000) : 0;
      }
      out[region] = { pending, lagSeconds };
    } catch {
      out[region] = null;
    }
  }
  return out;
}

/** What the metrics read of the audit replicator (null when the projector runs without one). */
export interface AuditReplicaReadings {
  countsByRegion: Record<string, AuditReplicaCounts>;
  /** Links of each region's audit stream not yet delivered; -1 where the consumer cannot be read. */
  pending(): Promise<Record<string, number>>;
}

/** Series name and help of each audit replica count (docs/metrics.md). */
const AUDIT_REPLICA_COUNTERS: Record<keyof AuditReplicaCounts, { name: string; help: string }> = {
  linksReplicated: {
    name: "homeroute_audit_replica_links_replicated_total",
    help: "Audit links of a source region's chains the replica region's cell accepted (backfilled ones included).",
  },
  linksBackfilled: {
    name: "homeroute_audit_replica_links_backfilled_total",
    help: "Of those, links the replica lacked (a gap in the stream) and that were fetched from the home's cell.",
  },
  linksDeferred: {
    name: "homeroute_audit_replica_links_deferred_total",
    help: "Audit links sent back to the stream for later because the replica's cell or the catalog was away (counted per attempt).",
  },
  linksWithoutReplica: {
    name: "homeroute_audit_replica_links_without_replica_total",
    help: "Audit links of tenants whose residency policy allows no replica region: acknowledged, copied nowhere.",
  },
  linksRedeliveredAfterGap: {
    name: "homeroute_audit_replica_links_redelivered_after_gap_total",
    help: "Audit links sent back to the stream after a gap the home's cell could not fill.",
  },
  linksDiverged: {
    name: "homeroute_audit_replica_links_diverged_total",
    help: "Audit links a replica refused as not continuing its copy (diverged chain): an operator must look.",
  },
};

export function createProjectorMetrics(
  sql: Sql,
  lag: () => Promise<Record<string, StandbyLag | null>>,
  auditReplica: AuditReplicaReadings | null = null,
): Registry {
  const registry = createRegistry("projector");
  new Gauge({
    name: "homeroute_projection_lag_seconds",
    help: "Seconds between now and the projector's watermark of a source region's events (heartbeats move it when idle).",
    labelNames: ["source_region", "target"] as const,
    registers: [registry],
    async collect() {
      try {
        const rows = await sql<{ region: string; as_of: Date }[]>`SELECT region, as_of FROM region_watermark`;
        this.reset();
        for (const r of rows) {
          const seconds = Math.max(0, (Date.now() - r.as_of.getTime()) / 1000);
          this.set({ source_region: r.region, target: "read_model" }, seconds);
        }
      } catch {
        this.reset(); // database unreachable: unknown, not zero
      }
    },
  });
  const consumers = onePerScrape(() => lag().catch((): Record<string, StandbyLag | null> => ({})));
  new Gauge({
    name: "homeroute_replication_lag_seconds",
    help: "How far the DR standbys trail a source region's stream: age of its first unacknowledged event, 0 when caught up.",
    labelNames: ["source_region", "target"] as const,
    registers: [registry],
    async collect() {
      const current = await consumers();
      this.reset();
      for (const [region, l] of Object.entries(current)) {
        if (l) this.set({ source_region: region, target: "dr_standby" }, l.lagSeconds);
      }
    },
  });
  new Gauge({
    name: "homeroute_standby_pending_events",
    help: "Events of a source region's stream not yet accepted by every DR standby they go to.",
    labelNames: ["source_region"] as const,
    registers: [registry],
    async collect() {
      const current = await consumers();
      this.reset();
      for (const [region, l] of Object.entries(current))
        if (l) this.set({ source_region: region }, l.pending);
    },
  });
  if (auditReplica) registerAuditReplicaMetrics(registry, auditReplica);
  return registry;
}

/**
 * The protected audit replica (DESIGN §13, docs/audit.md): the replicator's own counts since this
 * process started, and what its consumers still hold, per source region (the chains' home).
 */
function registerAuditReplicaMetrics(registry: Registry, a: AuditReplicaReadings): void {
  for (const [key, { name, help }] of Object.entries(AUDIT_REPLICA_COUNTERS)) {
    new Counter({
      name,
      help,
      labelNames: ["source_region"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [region, counts] of Object.entries(a.countsByRegion)) {
          this.inc({ source_region: region }, counts[key as keyof AuditReplicaCounts]);
        }
      },
    });
  }
  new Gauge({
    name: "homeroute_audit_replica_pending_links",
    help: "Links of a source region's audit stream not yet delivered to the replica (or acknowledged as having none); absent when unknown.",
    labelNames: ["source_region"] as const,
    registers: [registry],
    async collect() {
      const pending = await a.pending().catch((): Record<string, number> => ({}));
      this.reset();
      for (const [region, n] of Object.entries(pending)) if (n >= 0) this.set({ source_region: region }, n);
    },
  });
}
