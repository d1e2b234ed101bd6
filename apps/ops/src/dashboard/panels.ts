import { type Buckets, bucketTotal, histogramsBy, keyParts, quantile, type Sample, sumBy } from "./prom.js";
import type { SourceView } from "./sources.js";

// The dashboard's panels, built from the latest read of each source (pure: tested without a
// planet). Every panel says how fresh it is: `status` is "ok" only when every source it draws on
// answered; otherwise `problems` names what did not and rows from an old read carry `stale`.

export type PanelStatus = "ok" | "partial" | "unavailable";
export interface Panel<T> {
  status: PanelStatus;
  problems: string[];
  /** The oldest read the panel's rows come from. */
  asOf: string | null;
  data: T;
}

export interface RegionApiRow {
  region: string;
  mode: "WRITABLE" | "READ_ONLY";
  modeReason: string | null;
  lease: { expiresAt: string | null };
  healthy: boolean;
  lastHeartbeatAt: string | null;
  outboxBacklog: number | null;
  projectionLagSeconds: number | null;
}

export interface TenantApiRow {
  tenantId: string;
  name: string;
  homeRegion: string;
  residencyPolicy: string;
  status: string;
  regionEpoch: number;
  fenceStatus: string;
  drTarget: string | null;
}

export interface ConflictApiRow {
  conflictId: string;
  tenantId: string;
  aggregateType: string;
  homeRegion: string;
  conflictingRegion: string;
  conflictType: string;
  status: string;
  detectedAt: string;
  detectedInRegion: string;
}

export interface SnapshotApi {
  version: number;
  generatedAt: string;
  tenants: Record<string, { homeRegion: string; epoch: number }>;
}

/** `GET /v1/reports/watermarks` (catalog → the analytics region's warehouse). */
export interface WatermarksApi {
  analyticsRegion: string;
  watermarks: Record<
    string,
    { asOf: string | null; lagSeconds: number | null; stale: boolean; lateEvents: number }
  >;
}

export interface Inputs {
  now: number;
  regions: string[];
  catalogRegions: SourceView<RegionApiRow[]>;
  tenants: SourceView<{ items: TenantApiRow[] }>;
  snapshot: SourceView<SnapshotApi>;
  conflicts: SourceView<{ items: ConflictApiRow[]; unreachable: string[] }>;
  catalogMetrics: SourceView<Sample[]>;
  probes: Record<string, SourceView<true>>;
  cellMetrics: Record<string, SourceView<Sample[]>>;
  relayMetrics: Record<string, SourceView<Sample[]>>;
  projectorMetrics: SourceView<Sample[]> | null;
  edgeMetrics: SourceView<Sample[]> | null;
  watermarks: SourceView<WatermarksApi>;
  /** Per cell: histogram buckets observed in the recent window (see collect.ts). */
  latencyWindow: Record<string, Map<string, Buckets>>;
  windowSeconds: number;
  /** A region's last completed backup older than this is stale (DASHBOARD_BACKUP_STALE_SECONDS). */
  backupStaleAfterSeconds: number;
}

const problem = (v: SourceView<unknown>) => `${v.name}: ${v.error}${v.asOf ? ` (last read ${v.asOf})` : ""}`;

function panel<T>(views: SourceView<unknown>[], data: T, required = views): Panel<T> {
  const failed = views.filter((v) => !v.ok);
  // Unavailable when a source it cannot do without failed, or when every source did.
  const requiredFailed = required.some((v) => !v.ok) || (views.length > 0 && failed.length === views.length);
  const asOfs = views.map((v) => v.asOf).filter((x): x is string => x !== null);
  return {
    status: failed.length === 0 ? "ok" : requiredFailed ? "unavailable" : "partial",
    problems: failed.map(problem),
    asOf: asOfs.length ? asOfs.sort()[0]! : null,
    data,
  };
}

export function regionsPanel(i: Inputs) {
  const api = new Map((i.catalogRegions.value ?? []).map((r) => [r.region, r]));
  const rows = i.regions.map((region) => {
    const r = api.get(region);
    const probe = i.probes[region];
    const reasons: string[] = [];
    const catalogView = i.catalogRegions.ok ? (r ?? null) : null;
    if (probe && !probe.ok) reasons.push(`not reachable: ${probe.error}`);
    if (catalogView && !catalogView.healthy) reasons.push("catalog: no heartbeat within 3 probe intervals");
    if (!i.catalogRegions.ok) reasons.push("catalog's view unavailable");
    const leaseExpiresAt = r?.lease.expiresAt ?? null;
    const leaseRemainingSeconds = leaseExpiresAt ? (Date.parse(leaseExpiresAt) - i.now) / 1000 : null;
    if (catalogView && leaseRemainingSeconds !== null && leaseRemainingSeconds <= 0)
      reasons.push("write lease expired");
    if (catalogView && r?.mode === "READ_ONLY")
      reasons.push(`READ_ONLY${r.modeReason ? `: ${r.modeReason}` : ""}`);
    const down = (probe && !probe.ok) || (catalogView !== null && !catalogView.healthy);
    // Without the catalog the mode and lease are unknown, not bad: the panel says it is unavailable.
    const degraded = !down && reasons.some((x) => x !== "catalog's view unavailable");
    return {
      region,
      health: down ? "unhealthy" : degraded ? "degraded" : "healthy",
      reasons,
      reachable: probe ? probe.ok : null,
      catalogHealthy: catalogView ? catalogView.healthy : null,
      mode: r?.mode ?? null,
      modeReason: r?.modeReason ?? null,
      leaseExpiresAt,
      leaseRemainingSeconds,
      lastHeartbeatAt: r?.lastHeartbeatAt ?? null,
      stale: !i.catalogRegions.ok,
    };
  });
  return panel([i.catalogRegions, ...Object.values(i.probes)], { rows }, [i.catalogRegions]);
}

export function routingPanel(i: Inputs) {
  const snap = i.snapshot.value;
  const tenants = (i.tenants.value?.items ?? []).map((t) => ({
    tenantId: t.tenantId,
    name: t.name,
    homeRegion: t.homeRegion,
    regionEpoch: t.regionEpoch,
    fenceStatus: t.fenceStatus,
    residencyPolicy: t.residencyPolicy,
    status: t.status,
    drTarget: t.drTarget,
    // What edges route with, when it differs from the catalog's row (a move in flight).
    snapshotHome: snap?.tenants[t.tenantId]?.homeRegion ?? null,
    snapshotEpoch: snap?.tenants[t.tenantId]?.epoch ?? null,
    stale: !i.tenants.ok,
  }));
  const edge = i.edgeMetrics?.value ?? null;
  const edgeStats = edge
    ? {
        // Not counting this dashboard's own scrapes of the edge.
        requests: edge
          .filter((x) => x.name === "homeroute_edge_requests_total" && !x.labels.route?.includes("/metrics"))
          .reduce((a, x) => a + x.value, 0),
        routingErrors: sum(edge, "homeroute_edge_routing_errors_total"),
        reads: sum(edge, "homeroute_edge_reads_total"),
        staleReads: sum(edge, "homeroute_edge_stale_reads_total"),
        cachedLookups: [...sumBy(edge, "homeroute_edge_routing_lookups_total", ["source"])]
          .filter(([k]) => keyParts(k)[0] === "cached")
          .reduce((a, [, v]) => a + v, 0),
        stale: !i.edgeMetrics!.ok,
      }
    : null;
  const views = [i.tenants, i.snapshot, ...(i.edgeMetrics ? [i.edgeMetrics] : [])];
  return panel(
    views,
    {
      tenants,
      snapshotVersion: snap?.version ?? null,
      snapshotGeneratedAt: snap?.generatedAt ?? null,
      edge: edgeStats,
    },
    [i.tenants],
  );
}

const sum = (s: Sample[], name: string) => s.filter((x) => x.name === name).reduce((a, x) => a + x.value, 0);

const HISTOGRAMS = [
  { kind: "write", name: "homeroute_command_duration_seconds" },
  { kind: "read", name: "homeroute_read_duration_seconds" },
] as const;

const ms = (s: number | null) => (s === null ? null : Math.round(s * 100_000) / 100);

/** Histograms of one cell's scrape keyed `[kind, region, operation]`, summed over tenants and outcomes. */
export function latencyHistograms(samples: Sample[]): Map<string, Buckets> {
  const out = new Map<string, Buckets>();
  for (const h of HISTOGRAMS) {
    for (const [k, b] of histogramsBy(samples, h.name, ["region", "operation"])) {
      out.set(JSON.stringify([h.kind, ...keyParts(k)]), b);
    }
  }
  return out;
}

export function latencyPanel(i: Inputs) {
  const rows = [];
  for (const region of i.regions) {
    const v = i.cellMetrics[region];
    if (!v?.value) continue;
    const recent = i.latencyWindow[region] ?? new Map<string, Buckets>();
    for (const [k, b] of latencyHistograms(v.value)) {
      const [kind, , operation] = keyParts(k) as [string, string, string];
      const w = recent.get(k);
      const wCount = w ? bucketTotal(w) : 0;
      rows.push({
        region,
        kind,
        operation,
        count: bucketTotal(b),
        p50Ms: ms(quantile(0.5, b)),
        p95Ms: ms(quantile(0.95, b)),
        p99Ms: ms(quantile(0.99, b)),
        recentCount: wCount,
        recentP95Ms: w && wCount > 0 ? ms(quantile(0.95, w)) : null,
        stale: !v.ok,
      });
    }
  }
  rows.sort(
    (a, b) =>
      a.kind.localeCompare(b.kind) ||
      a.operation.localeCompare(b.operation) ||
      a.region.localeCompare(b.region),
  );
  const views = i.regions.map((r) => i.cellMetrics[r]).filter((v): v is SourceView<Sample[]> => !!v);
  return panel(views, { rows, windowSeconds: i.windowSeconds }, []);
}

/** p95 of every write the region served in the recent window (the latency chart's series). */
export function recentWriteP95(i: Inputs, region: string): number | null {
  const merged: Buckets = new Map();
  for (const [k, b] of i.latencyWindow[region] ?? []) {
    if (keyParts(k)[0] !== "write") continue;
    for (const [le, n] of b) merged.set(le, (merged.get(le) ?? 0) + n);
  }
  return ms(quantile(0.95, merged));
}

const byLabel = (s: Sample[] | null, name: string, label: string) => {
  const out = new Map<string, number>();
  for (const x of s ?? []) if (x.name === name && x.labels[label]) out.set(x.labels[label]!, x.value);
  return out;
};

export function lagPanel(i: Inputs) {
  const p = i.projectorMetrics;
  const s = p?.value ?? null;
  const proj = byLabel(s, "homeroute_projection_lag_seconds", "source_region");
  const repl = byLabel(s, "homeroute_replication_lag_seconds", "source_region");
  const pending = byLabel(s, "homeroute_standby_pending_events", "source_region");
  const rows = i.regions.map((region) => ({
    sourceRegion: region,
    projectionLagSeconds: proj.get(region) ?? null,
    replicationLagSeconds: repl.get(region) ?? null,
    standbyPendingEvents: pending.get(region) ?? null,
    stale: !p?.ok,
  }));
  return panel(p ? [p] : [], { rows, configured: p !== null });
}

export function backlogPanel(i: Inputs) {
  const rows = i.regions.map((region) => {
    const v = i.relayMetrics[region];
    const s = v?.value ?? null;
    const one = (name: string) => s?.find((x) => x.name === name)?.value ?? null;
    return {
      region,
      backlogEvents: one("homeroute_outbox_backlog_events"),
      oldestUnpublishedAgeSeconds: one("homeroute_outbox_oldest_unpublished_age_seconds"),
      publishedEvents: one("homeroute_relay_published_events_total"),
      natsConnected: one("homeroute_relay_nats_connected"),
      stale: !v?.ok,
    };
  });
  const views = Object.values(i.relayMetrics);
  return panel(views, { rows }, []);
}

export function residencyPanel(i: Inputs) {
  const rows: { where: string; policy: string; targetRegion: string; attempts: number; stale: boolean }[] =
    [];
  const add = (where: string, v: SourceView<Sample[]> | undefined) => {
    for (const [k, n] of sumBy(v?.value ?? [], "homeroute_residency_violation_attempts_total", [
      "policy",
      "target_region",
    ])) {
      const [policy, targetRegion] = keyParts(k) as [string, string];
      rows.push({ where, policy, targetRegion, attempts: n, stale: !v?.ok });
    }
  };
  add("catalog", i.catalogMetrics);
  for (const r of i.regions) add(`cell:${r}`, i.cellMetrics[r]);
  const views = [i.catalogMetrics, ...Object.values(i.cellMetrics)];
  return panel(views, { rows, total: rows.reduce((a, r) => a + r.attempts, 0) }, [i.catalogMetrics]);
}

export function conflictsPanel(i: Inputs) {
  const v = i.conflicts;
  const items = (v.value?.items ?? []).map((c) => ({
    // Payloads stay out: the dashboard is read anywhere, a payload may hold a tenant's fields.
    conflictId: c.conflictId,
    tenantId: c.tenantId,
    aggregateType: c.aggregateType,
    homeRegion: c.homeRegion,
    conflictingRegion: c.conflictingRegion,
    conflictType: c.conflictType,
    status: c.status,
    detectedAt: c.detectedAt,
    detectedInRegion: c.detectedInRegion,
  }));
  const unreachable = v.value?.unreachable ?? [];
  const p = panel([v], {
    open: items.filter((c) => c.status === "OPEN").length,
    resolved: items.filter((c) => c.status !== "OPEN").length,
    items: items.slice(-50),
    unreachable,
  });
  // The catalog answered, but some cells (which hold the conflicts) did not.
  if (p.status === "ok" && unreachable.length) {
    p.status = "partial";
    p.problems.push(`conflicts of ${unreachable.join(", ")} unknown: region unreachable`);
  }
  return p;
}

export function drPanel(i: Inputs) {
  const names = new Map((i.tenants.value?.items ?? []).map((t) => [t.tenantId, t]));
  const s = i.catalogMetrics.value ?? [];
  const drills = new Map(
    s
      .filter((x) => x.name === "homeroute_dr_last_drill_timestamp_seconds")
      .map((x) => [
        x.labels.tenant_id!,
        { at: new Date(x.value * 1000).toISOString(), to: x.labels.to_region! },
      ]),
  );
  const rows = s
    .filter((x) => x.name === "homeroute_dr_ready")
    .map((x) => {
      const id = x.labels.tenant_id!;
      return {
        tenantId: id,
        name: names.get(id)?.name ?? null,
        residencyPolicy: names.get(id)?.residencyPolicy ?? null,
        homeRegion: x.labels.home_region!,
        drRegion: x.labels.dr_region === "none" ? null : x.labels.dr_region!,
        ready: x.value === 1,
        lastDrillAt: drills.get(id)?.at ?? null,
        lastDrillTo: drills.get(id)?.to ?? null,
        stale: !i.catalogMetrics.ok,
      };
    })
    .sort((a, b) => (a.name ?? a.tenantId).localeCompare(b.name ?? b.tenantId));
  return panel([i.catalogMetrics], {
    rows,
    ready: rows.filter((r) => r.ready).length,
    noTarget: rows.filter((r) => r.drRegion === null).length,
  });
}

/**
 * Each region's analytics watermark (seed §16, test matrix F7): nobody reads a global figure
 * without how fresh each region's part is. A region is `fresh` only when the warehouse answered
 * just now and says so; `stale` when the warehouse says it is behind (or has nothing of it yet);
 * `unknown` when this dashboard cannot vouch for it (the read is old, or the region is missing from
 * the answer). Global figures are as of the least fresh region, and of none when one is unknown.
 */
export function watermarksPanel(i: Inputs) {
  const v = i.watermarks;
  const marks = v.value?.watermarks ?? {};
  const rows = i.regions.map((region) => {
    const m = marks[region];
    const freshness: "fresh" | "stale" | "unknown" =
      !v.ok || !m ? "unknown" : m.stale || m.asOf === null ? "stale" : "fresh";
    return {
      region,
      asOf: m?.asOf ?? null,
      lagSeconds: m?.lagSeconds ?? null,
      /** The warehouse's own verdict (lag over its bound, or no watermark yet). */
      watermarkStale: m ? m.stale || m.asOf === null : null,
      lateEvents: m?.lateEvents ?? null,
      freshness,
      /** From an old read of the dashboard's (greyed), like every panel's rows. */
      stale: !v.ok,
    };
  });
  const asOfs = rows.map((r) => r.asOf);
  const p = panel([v], {
    analyticsRegion: v.value?.analyticsRegion ?? null,
    rows,
    globalAsOf: asOfs.includes(null) ? null : ([...asOfs].sort()[0] ?? null),
    staleRegions: rows.filter((r) => r.freshness !== "fresh").map((r) => r.region),
  });
  // The catalog says 503 REGION_UNAVAILABLE when it is up but the warehouse is not.
  if (!v.ok && v.error?.includes("REGION_UNAVAILABLE")) {
    p.problems.unshift(
      `the analytics region's warehouse${v.value ? ` (${v.value.analyticsRegion})` : ""} does not answer`,
    );
  }
  // The warehouse answered, but without some regions: their freshness is unknown.
  const missing = v.ok ? rows.filter((r) => !marks[r.region]).map((r) => r.region) : [];
  if (p.status === "ok" && missing.length) {
    p.status = "partial";
    p.problems.push(`watermark of ${missing.join(", ")} unknown: not in the warehouse's answer`);
  }
  return p;
}

export type BackupFreshness = "fresh" | "stale" | "none" | "unknown";

export interface BackupRow {
  region: string;
  /** null on a region's one row when it has no completed backup in any store. */
  storeRegion: string | null;
  lastCompletedAt: string | null;
  ageSeconds: number | null;
  freshness: BackupFreshness;
  /** From an old read of the catalog's /metrics (greyed). */
  stale: boolean;
}

/**
 * Backup freshness (DESIGN §14, docs/backups.md): per region and store region, the age of the last
 * completed backup, from the catalog's `homeroute_backup_age_seconds` (read from its record of
 * completed backups at each scrape). The series is absent for a region never backed up, but also
 * when the catalog could not read its database; so "no backup yet" (`none`) is said only when the
 * catalog's database answered this round (its tenant list did), and `unknown` otherwise. An age
 * known only from an old scrape is an upper bound: still `fresh` if within the threshold, else
 * `unknown` (a newer backup may have completed since), never `stale` on a guess.
 */
export function backupsPanel(i: Inputs) {
  const m = i.catalogMetrics;
  const readAt = m.asOf ? Date.parse(m.asOf) : i.now;
  const samples = (m.value ?? []).filter(
    (x) => x.name === "homeroute_backup_age_seconds" && x.labels.region && x.labels.store_region,
  );
  const regions = [
    ...i.regions,
    ...samples.map((x) => x.labels.region!).filter((r) => !i.regions.includes(r)),
  ];
  const rows = [...new Set(regions)].flatMap((region): BackupRow[] => {
    const mine = samples
      .filter((x) => x.labels.region === region)
      .sort((a, b) => a.labels.store_region!.localeCompare(b.labels.store_region!));
    if (mine.length === 0) {
      const freshness: BackupFreshness = m.ok && i.tenants.ok ? "none" : "unknown";
      return [
        { region, storeRegion: null, lastCompletedAt: null, ageSeconds: null, freshness, stale: !m.ok },
      ];
    }
    return mine.map((x) => {
      const completedAt = readAt - x.value * 1000;
      const ageSeconds = Math.max(0, (i.now - completedAt) / 1000);
      const freshness: BackupFreshness =
        ageSeconds <= i.backupStaleAfterSeconds ? "fresh" : m.ok ? "stale" : "unknown";
      return {
        region,
        storeRegion: x.labels.store_region!,
        lastCompletedAt: new Date(completedAt).toISOString(),
        ageSeconds,
        freshness,
        stale: !m.ok,
      };
    });
  });
  const freshRegions = new Set(rows.filter((r) => r.freshness === "fresh").map((r) => r.region));
  return panel(
    [m, i.tenants],
    {
      rows,
      staleAfterSeconds: i.backupStaleAfterSeconds,
      /** Regions with no fresh backup in any store (never backed up, stale or unknown). */
      notFresh: [...new Set(rows.map((r) => r.region))].filter((r) => !freshRegions.has(r)),
    },
    [m],
  );
}
