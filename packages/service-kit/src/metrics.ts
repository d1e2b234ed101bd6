import { collectDefaultMetrics, Registry } from "prom-client";

// Prometheus metrics (DESIGN §14; every series is listed in docs/metrics.md). Each running service
// owns one Registry: in production that is one per process; tests run several cells in one process,
// so a process-global registry would mix their series. Process metrics (CPU, memory, event loop)
// describe the process, not the service: they live in one process-wide registry, switched on by
// runService (a service's main), and are appended to whichever service registry is scraped.

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Durations of commands and reads: 1 ms … 10 s (the command path is ~1–5 ms, a timeout 3 s). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processRegistry: Registry | null = null;

/** A service's registry; every series it holds carries `service="<name>"`. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  return registry;
}

/** Node process metrics (`homeroute_process_*`, `homeroute_nodejs_*`), once per process. */
export function enableProcessMetrics(): void {
  if (processRegistry) return;
  processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry, prefix: "homeroute_" });
}

/** The exposition text of a scrape: the service's series, then the process's when enabled. */
export async function metricsText(registry: Registry): Promise<string> {
  const own = await registry.metrics();
  return processRegistry ? `${own}\n${await processRegistry.metrics()}` : own;
}

/**
 * One read shared by the collect functions of several series: a scrape runs every collect at once
 * (prom-client awaits them together), so they all join the read in flight and see the same values.
 */
export function onePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let inflight: Promise<T> | null = null;
  return () => {
    inflight ??= read().finally(() => {
      inflight = null;
    });
    return inflight;
  };
}

/**
 * A Map<string, number> whose writes also set a labelled gauge, so code that reads and writes the
 * map keeps working while Prometheus sees the same numbers. `delete` and `clear` remove the series
 * (unknown, not zero).
 */
export class GaugeMap extends Map<string, number> {
  constructor(
    private readonly gauge: {
      set(labels: Record<string, string>, value: number): void;
      remove(labels: Record<string, string>): void;
      reset(): void;
    },
    private readonly labelsOf: (key: string) => Record<string, string>,
  ) {
    super();
  }
  override set(key: string, value: number): this {
    super.set(key, value);
    // Map's constructor calls set before the fields exist; no entries are passed there.
    this.gauge?.set(this.labelsOf(key), value);
    return this;
  }
  override delete(key: string): boolean {
    if (super.has(key)) this.gauge.remove(this.labelsOf(key));
    return super.delete(key);
  }
  override clear(): void {
    super.clear();
    this.gauge.reset();
  }
}
