import { signDevToken } from "@homeroute/service-kit";
import type { DashboardEnv } from "./env.js";
import {
  backlogPanel,
  backupsPanel,
  type ConflictApiRow,
  conflictsPanel,
  drPanel,
  type Inputs,
  lagPanel,
  latencyHistograms,
  latencyPanel,
  type RegionApiRow,
  recentWriteP95,
  regionsPanel,
  residencyPanel,
  routingPanel,
  type SnapshotApi,
  type TenantApiRow,
  type WatermarksApi,
  watermarksPanel,
} from "./panels.js";
import { type Buckets, bucketDelta, parsePrometheus, type Sample } from "./prom.js";
import { getJson, getText, Source, type SourceView } from "./sources.js";

const TIMEOUT_MS = 1500;
/** The latency table's "recent" columns and chart: observations of about the last minute. */
const WINDOW_MS = 60_000;
const CONFLICTS_EVERY = 5;

export type DashboardState = ReturnType<Collector["build"]>;

interface HistoryPoint {
  t: string;
  health: Record<string, number | null>;
  writeP95Ms: Record<string, number | null>;
  projectionLagSeconds: Record<string, number | null>;
  replicationLagSeconds: Record<string, number | null>;
  backlogEvents: Record<string, number | null>;
  watermarkLagSeconds: Record<string, number | null>;
  residencyAttempts: number | null;
  openConflicts: number | null;
  drReady: number | null;
}

/**
 * Reads every source on a fixed pace, in the background, whether or not a page is open: the
 * charts have history from the first view, and ten open tabs cost the planet nothing more.
 */
export class Collector {
  private readonly regions: string[];
  private readonly catalogRegions: Source<RegionApiRow[]>;
  private readonly tenants: Source<{ items: TenantApiRow[] }>;
  private readonly snapshot: Source<SnapshotApi>;
  private readonly conflicts: Source<{ items: ConflictApiRow[]; unreachable: string[] }>;
  private readonly catalogMetrics: Source<Sample[]>;
  private readonly watermarks: Source<WatermarksApi>;
  private readonly probes: Record<string, Source<true>> = {};
  private readonly cellMetrics: Record<string, Source<Sample[]>> = {};
  private readonly relayMetrics: Record<string, Source<Sample[]>> = {};
  private readonly projectorMetrics: Source<Sample[]> | null;
  private readonly edgeMetrics: Source<Sample[]> | null;
  private readonly faults: Source<{ items: unknown[] }> | null;
  private readonly all: Source<unknown>[];
  /** Per cell: (time, histograms) of recent scrapes, for the windowed percentiles. */
  private readonly scrapes: Record<string, { at: number; asOf: string; h: Map<string, Buckets> }[]> = {};
  private readonly history: HistoryPoint[] = [];
  private token: { value: string; exp: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private ticks = 0;
  private latest: DashboardState | null = null;

  constructor(private readonly env: DashboardEnv) {
    this.regions = Object.keys(env.CELL_URLS).sort();
    const cat = env.CATALOG_URL;
    const ops = <T>(name: string, path: string, timeout = TIMEOUT_MS) =>
      new Source<T>(
        name,
        async (signal) => getJson<T>(`${cat}${path}`, signal, await this.opsToken()),
        timeout,
      );
    const metrics = (name: string, url: string, token?: string) =>
      new Source<Sample[]>(
        name,
        async (signal) => parsePrometheus(await getText(url, signal, token)),
        TIMEOUT_MS,
      );
    this.catalogRegions = ops("catalog /v1/ops/regions", "/v1/ops/regions");
    this.tenants = ops("catalog /v1/ops/tenants", "/v1/ops/tenants");
    // The catalog asks every cell in turn (2 s each when one hangs): give it room.
    this.conflicts = ops("catalog /v1/ops/conflicts", "/v1/ops/conflicts", 12_000);
    // The analytics region's watermarks, through the catalog, which asks the warehouse (5 s at
    // most): waiting a little longer keeps one catalog → warehouse call at a time, and a hung
    // warehouse is named by the catalog's 503 REGION_UNAVAILABLE rather than a bare timeout here.
    // The panel still turns unavailable after three missed rounds, as every panel does.
    this.watermarks = ops("catalog /v1/reports/watermarks", "/v1/reports/watermarks", 6000);
    this.snapshot = new Source(
      "catalog routing snapshot",
      (signal) => getJson<SnapshotApi>(`${cat}/internal/v1/routing-snapshot`, signal, env.INTERNAL_TOKEN),
      TIMEOUT_MS,
    );
    this.catalogMetrics = metrics("catalog /metrics", `${cat}/metrics`);
    for (const [r, url] of Object.entries(env.CELL_URLS)) {
      this.probes[r] = new Source(
        `cell:${r} /readyz`,
        async (signal) => {
          await getText(`${url}/readyz`, signal);
          return true as const;
        },
        TIMEOUT_MS,
      );
      this.cellMetrics[r] = metrics(`cell:${r} /metrics`, `${url}/metrics`);
    }
    for (const [r, url] of Object.entries(env.RELAY_URLS))
      this.relayMetrics[r] = metrics(`relay:${r} /metrics`, `${url}/metrics`);
    this.projectorMetrics = env.PROJECTOR_URL
      ? metrics("projector /metrics", `${env.PROJECTOR_URL}/metrics`)
      : null;
    this.edgeMetrics = env.EDGE_URL
      ? metrics("edge /internal/v1/metrics", `${env.EDGE_URL}/internal/v1/metrics`, env.INTERNAL_TOKEN)
      : null;
    this.faults = env.SIM_URL
      ? new Source("sim /sim/faults", (signal) => getJson(`${env.SIM_URL}/sim/faults`, signal), TIMEOUT_MS)
      : null;
    this.all = [
      this.catalogRegions,
      this.tenants,
      this.conflicts,
      this.snapshot,
      this.catalogMetrics,
      this.watermarks,
      ...Object.values(this.probes),
      ...Object.values(this.cellMetrics),
      ...Object.values(this.relayMetrics),
      ...[this.projectorMetrics, this.edgeMetrics, this.faults].filter((s) => s !== null),
    ] as Source<unknown>[];
  }

  /** The dashboard's own operator token (read-only use), re-signed well before it expires. */
  private async opsToken(): Promise<string> {
    const now = Date.now() / 1000;
    if (!this.token || this.token.exp - now < 300) {
      const ttl = 3600;
      const value = await signDevToken(
        this.env.AUTH_JWT_SECRET,
        { sub: "00000000-0000-7000-8000-00000000da5b", ops: true },
        ttl,
      );
      this.token = { value, exp: now + ttl };
    }
    return this.token.value;
  }

  start(): void {
    const tick = async () => {
      const started = Date.now();
      // Wait for the reads up to one interval; slow ones finish later and count then.
      // Conflicts cost the catalog a call to every cell: every fifth round is live enough.
      const due = this.all.filter((s) => s !== this.conflicts || this.ticks % CONFLICTS_EVERY === 0);
      this.ticks++;
      await Promise.race([
        Promise.all(due.map((s) => s.refresh())),
        new Promise((r) => setTimeout(r, this.env.DASHBOARD_POLL_MS)),
      ]);
      this.latest = this.build(Date.now());
      if (this.stopped) return;
      this.timer = setTimeout(tick, Math.max(50, this.env.DASHBOARD_POLL_MS - (Date.now() - started)));
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  state(): DashboardState {
    return this.latest ?? this.build(Date.now());
  }

  private stale(): number {
    // Three missed rounds (or one long timeout) before a source that still "works" counts as gone.
    return Math.max(3 * this.env.DASHBOARD_POLL_MS, TIMEOUT_MS + this.env.DASHBOARD_POLL_MS);
  }

  private views<T>(m: Record<string, Source<T>>, now: number): Record<string, SourceView<T>> {
    return Object.fromEntries(Object.entries(m).map(([k, s]) => [k, s.view(now, this.stale())]));
  }

  /** Keeps each cell's new scrapes and returns the buckets observed within the window. */
  private latencyWindow(
    cells: Record<string, SourceView<Sample[]>>,
    now: number,
  ): Record<string, Map<string, Buckets>> {
    const out: Record<string, Map<string, Buckets>> = {};
    for (const [r, v] of Object.entries(cells)) {
      const list = this.scrapes[r] ?? [];
      this.scrapes[r] = list;
      if (v.value && v.asOf && list.at(-1)?.asOf !== v.asOf) {
        list.push({ at: Date.parse(v.asOf), asOf: v.asOf, h: latencyHistograms(v.value) });
      }
      while (list.length > 2 && list[1]!.at <= now - WINDOW_MS) list.shift();
      const latest = list.at(-1);
      if (!latest || !v.ok) continue;
      // Against the oldest scrape inside the window; a single scrape is all the process has seen.
      const base = list.length > 1 ? list[0] : undefined;
      const w = new Map<string, Buckets>();
      for (const [k, b] of latest.h) {
        const d = bucketDelta(b, base?.h.get(k));
        if (d) w.set(k, d);
      }
      out[r] = w;
    }
    return out;
  }

  build(now: number) {
    const stale = this.stale();
    const cellMetrics = this.views(this.cellMetrics, now);
    const inputs: Inputs = {
      now,
      regions: this.regions,
      catalogRegions: this.catalogRegions.view(now, stale),
      tenants: this.tenants.view(now, stale),
      snapshot: this.snapshot.view(now, stale),
      conflicts: this.conflicts.view(now, 20_000),
      catalogMetrics: this.catalogMetrics.view(now, stale),
      probes: this.views(this.probes, now),
      cellMetrics,
      relayMetrics: this.views(this.relayMetrics, now),
      projectorMetrics: this.projectorMetrics?.view(now, stale) ?? null,
      edgeMetrics: this.edgeMetrics?.view(now, stale) ?? null,
      watermarks: this.watermarks.view(now, stale),
      latencyWindow: this.latencyWindow(cellMetrics, now),
      windowSeconds: WINDOW_MS / 1000,
      backupStaleAfterSeconds: this.env.DASHBOARD_BACKUP_STALE_SECONDS,
    };
    const panels = buildPanels(inputs);
    this.record(now, inputs, panels);
    const faults = this.faults?.view(now, stale) ?? null;
    return {
      generatedAt: new Date(now).toISOString(),
      pollMs: this.env.DASHBOARD_POLL_MS,
      regions: this.regions,
      panels,
      faults: faults ? { ok: faults.ok, error: faults.error, items: faults.value?.items ?? [] } : null,
      sources: this.all.map((s) => {
        const v = s.view(now, stale);
        return { name: v.name, ok: v.ok, error: v.error, asOf: v.asOf, ms: v.ms };
      }),
      history: this.history,
    };
  }

  private record(now: number, i: Inputs, p: Panels): void {
    const per = <T>(f: (r: string) => T) => Object.fromEntries(this.regions.map((r) => [r, f(r)]));
    const lag = (r: string) => p.lag.data.rows.find((l) => l.sourceRegion === r && !l.stale);
    const live = (k: keyof Panels) => p[k].status !== "unavailable";
    this.history.push({
      t: new Date(now).toISOString(),
      health: per((r) => {
        const h = p.regions.data.rows.find((x) => x.region === r)?.health;
        return h === "healthy" ? 1 : h === "degraded" ? 0.5 : 0;
      }),
      writeP95Ms: per((r) => (i.cellMetrics[r]?.ok ? recentWriteP95(i, r) : null)),
      projectionLagSeconds: per((r) => lag(r)?.projectionLagSeconds ?? null),
      replicationLagSeconds: per((r) => lag(r)?.replicationLagSeconds ?? null),
      backlogEvents: per(
        (r) => p.backlog.data.rows.find((l) => l.region === r && !l.stale)?.backlogEvents ?? null,
      ),
      watermarkLagSeconds: per(
        (r) => p.watermarks.data.rows.find((w) => w.region === r && !w.stale)?.lagSeconds ?? null,
      ),
      residencyAttempts: live("residency") ? p.residency.data.total : null,
      openConflicts: live("conflicts") ? p.conflicts.data.open : null,
      drReady: live("dr") ? p.dr.data.ready : null,
    });
    while (this.history.length > this.env.DASHBOARD_HISTORY) this.history.shift();
  }
}

function buildPanels(inputs: Inputs) {
  return {
    regions: regionsPanel(inputs),
    routing: routingPanel(inputs),
    latency: latencyPanel(inputs),
    lag: lagPanel(inputs),
    backlog: backlogPanel(inputs),
    residency: residencyPanel(inputs),
    conflicts: conflictsPanel(inputs),
    dr: drPanel(inputs),
    watermarks: watermarksPanel(inputs),
    backups: backupsPanel(inputs),
  };
}
type Panels = ReturnType<typeof buildPanels>;
