import type { Context } from "hono";
import type { EdgeHono } from "./hono.js";

// The edge's counters (DESIGN §14, docs/metrics.md), kept in the isolate's memory and served in
// Prometheus text at GET /internal/v1/metrics (internal token). Workers cannot run prom-client
// (a Node package); these few counters need no library. Each isolate counts only the requests it
// served and starts from zero when it is recycled: exact in the simulation (one isolate), a sample
// in production, where the same calls would write to a Workers Analytics Engine dataset instead.

type Labels = Record<string, string>;

const HELP = {
  homeroute_edge_requests_total: "Requests answered by this edge isolate, by route and status.",
  homeroute_edge_routing_errors_total:
    "Forwards a cell refused as not the tenant's home (WRONG_REGION) or at a stale epoch, by the region the edge sent to and the region that owns the tenant.",
  homeroute_edge_reads_total:
    "Case reads at the edge, by where they were served from (edge_projection or home).",
  homeroute_edge_stale_reads_total:
    "Reads served from an edge projection whose watermark is older than PUBLIC_STALE_AFTER_SECONDS (marked stale to the caller).",
  homeroute_edge_routing_lookups_total:
    "Routing decisions by the age of the snapshot used: live (within its TTL) or cached (catalog unreachable or not yet refreshed).",
} as const;

const series = new Map<string, Map<string, { labels: Labels; value: number }>>();

export function countEdge(name: keyof typeof HELP, labels: Labels, by = 1): void {
  let byLabels = series.get(name);
  if (!byLabels) {
    byLabels = new Map();
    series.set(name, byLabels);
  }
  const key = JSON.stringify(labels);
  const entry = byLabels.get(key);
  if (entry) entry.value += by;
  else byLabels.set(key, { labels, value: by });
}

/** A read at the edge: the route's path is the endpoint (bounded by the routes that exist). */
export function countRead(
  c: Context<EdgeHono>,
  readSource: "edge_projection" | "home",
  stale: boolean,
): void {
  const labels = { edge_region: c.get("edgeRegion"), endpoint: c.req.routePath, read_source: readSource };
  countEdge("homeroute_edge_reads_total", labels);
  if (stale) countEdge("homeroute_edge_stale_reads_total", labels);
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Prometheus text exposition format 0.0.4. */
export function renderEdgeMetrics(): string {
  const lines: string[] = [];
  for (const [name, help] of Object.entries(HELP)) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const { labels, value } of series.get(name)?.values() ?? []) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(",");
      lines.push(`${name}{${l}} ${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
