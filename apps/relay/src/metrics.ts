import { createRegistry, onePerScrape } from "@homeroute/service-kit";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Relay, RelayStatus } from "./relay.js";

// The relay's Prometheus series (DESIGN §14, docs/metrics.md), read from its status at scrape time:
// the outbox is the truth, so a restarted relay reports the right backlog from its first scrape.

export function createRelayMetrics(relay: Relay, region: string): Registry {
  const registry = createRegistry("relay");
  // Database unreachable: every series is absent (unknown, not zero).
  const status = onePerScrape((): Promise<RelayStatus | null> => relay.status().catch(() => null));
  new Gauge({
    name: "homeroute_outbox_backlog_events",
    help: "Committed outbox events not yet acknowledged by JetStream, in this region's cell database.",
    labelNames: ["region"] as const,
    registers: [registry],
    async collect() {
      const s = await status();
      this.reset();
      if (s) this.set({ region }, s.backlog);
    },
  });
  new Gauge({
    name: "homeroute_outbox_oldest_unpublished_age_seconds",
    help: "Age of the oldest unpublished outbox event (0 when the backlog is empty).",
    labelNames: ["region"] as const,
    registers: [registry],
    async collect() {
      const s = await status();
      this.reset();
      if (s) this.set({ region }, s.oldestUnpublishedAgeSeconds ?? 0);
    },
  });
  new Counter({
    name: "homeroute_relay_published_events_total",
    help: "Outbox events this relay process published to JetStream.",
    labelNames: ["region"] as const,
    registers: [registry],
    async collect() {
      const s = await status();
      if (!s) return;
      this.reset();
      this.inc({ region }, s.publishedTotal);
    },
  });
  new Gauge({
    name: "homeroute_relay_nats_connected",
    help: "1 while the relay holds a NATS connection, else 0.",
    labelNames: ["region"] as const,
    registers: [registry],
    async collect() {
      const s = await status();
      this.reset();
      if (s) this.set({ region }, s.natsConnected ? 1 : 0);
    },
  });
  return registry;
}
