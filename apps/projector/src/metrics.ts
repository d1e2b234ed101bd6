import { streamName } from "@homeroute/events";
import { createRegistry, onePerScrape } from "@homeroute/service-kit";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Sql } from "postgres";
import { Gauge, type Registry } from "prom-client";

// The projector's Prometheus series (DESIGN §14, docs/metrics.md), read at scrape time from what
// the projector itself keeps: its watermarks (projection lag) and its JetStream consumers
// (replication lag to the DR standbys). Targets are sinks, not regions: one projector feeds the
// read model, and one durable consumer per source stream feeds every tenant's standbys.

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

export function createProjectorMetrics(
  sql: Sql,
  lag: () => Promise<Record<string, StandbyLag | null>>,
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
  return registry;
}
