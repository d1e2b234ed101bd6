import { createRegistry, onePerScrape } from "@homeroute/service-kit";
import type { Sql } from "postgres";
import { Counter, Gauge, type Registry } from "prom-client";
import type { WarehouseIngest } from "./ingest.js";
import { type RegionWatermark, watermarks } from "./report.js";

// The warehouse's Prometheus series (DESIGN §14, docs/metrics.md): how far behind each region's
// part of every global report is, read from the ingestion watermarks at scrape time (the database
// is the truth: a restarted warehouse reports the right lag from its first scrape), and what it
// took or turned away.

export function createWarehouseMetrics(
  sql: Sql,
  ingest: WarehouseIngest,
  o: { regions: string[]; staleAfterSeconds: number },
): Registry {
  const registry = createRegistry("warehouse");
  // Database unreachable: the watermark series are absent (unknown, not zero).
  const marks = onePerScrape(
    (): Promise<Record<string, RegionWatermark> | null> => watermarks(sql, o).catch(() => null),
  );
  new Gauge({
    name: "homeroute_warehouse_watermark_lag_seconds",
    help: "Age of the newest event (or heartbeat) ingested from a region's stream: how stale that region's part of a report is. Absent for a region never heard from.",
    labelNames: ["source_region"] as const,
    registers: [registry],
    async collect() {
      const m = await marks();
      this.reset();
      for (const [region, w] of Object.entries(m ?? {}))
        if (w.lagSeconds !== null) this.set({ source_region: region }, w.lagSeconds);
    },
  });
  new Gauge({
    name: "homeroute_warehouse_watermark_stale",
    help: "1 when a region's watermark is older than the report's staleness bound (or missing), else 0.",
    labelNames: ["source_region"] as const,
    registers: [registry],
    async collect() {
      const m = await marks();
      this.reset();
      for (const [region, w] of Object.entries(m ?? {})) this.set({ source_region: region }, w.stale ? 1 : 0);
    },
  });
  new Counter({
    name: "homeroute_warehouse_late_events_total",
    help: "Events that arrived older than their region's watermark (counted in reports taken after them).",
    labelNames: ["source_region"] as const,
    registers: [registry],
    async collect() {
      const m = await marks();
      if (!m) return;
      this.reset();
      for (const [region, w] of Object.entries(m)) this.inc({ source_region: region }, w.lateEvents);
    },
  });
  new Counter({
    name: "homeroute_warehouse_ingested_events_total",
    help: "Events this warehouse process took from the streams (kept in full, as anonymised counts, or excluded by policy).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ingest.ingested);
    },
  });
  new Counter({
    name: "homeroute_warehouse_rejected_events_total",
    help: "Messages on the event subjects that are not valid events (their bodies stay in their home stream).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ingest.rejected);
    },
  });
  return registry;
}
