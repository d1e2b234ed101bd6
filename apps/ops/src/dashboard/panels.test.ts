import { describe, expect, it } from "vitest";
import {
  backupsPanel,
  conflictsPanel,
  type Inputs,
  latencyPanel,
  regionsPanel,
  type TenantApiRow,
  type WatermarksApi,
  watermarksPanel,
} from "./panels.js";
import { parsePrometheus, type Sample } from "./prom.js";
import type { SourceView } from "./sources.js";

const now = Date.parse("2026-11-26T10:00:00Z");
const at = (s: number) => new Date(now - s * 1000).toISOString();
const ok = <T>(name: string, value: T): SourceView<T> => ({
  name,
  ok: true,
  error: null,
  value,
  asOf: at(0),
  ms: 1,
});
const failed = <T>(name: string, value: T | null, error = "connection refused"): SourceView<T> => ({
  name,
  ok: false,
  error,
  value,
  asOf: value === null ? null : at(30),
  ms: null,
});

const regionRow = (region: string, healthy = true) => ({
  region,
  mode: "WRITABLE" as const,
  modeReason: null,
  lease: { expiresAt: new Date(now + 20_000).toISOString() },
  healthy,
  lastHeartbeatAt: at(1),
  outboxBacklog: 0,
  projectionLagSeconds: 0.2,
});

const cellScrape = (region: string) =>
  parsePrometheus(
    [0.005, 0.01, "+Inf"]
      .map(
        (le, k) =>
          `homeroute_command_duration_seconds_bucket{le="${le}",region="${region}",tenant_id="t",operation="case.create",outcome="ok"} ${k + 1}`,
      )
      .join("\n"),
  );

const mark = (lagSeconds: number, stale = false, lateEvents = 0) => ({
  asOf: at(lagSeconds),
  lagSeconds,
  stale,
  lateEvents,
});
const marks = (w: WatermarksApi["watermarks"] = { eu: mark(2), us: mark(1, false, 3) }): WatermarksApi => ({
  analyticsRegion: "us",
  watermarks: w,
});

function inputs(over: Partial<Inputs> = {}): Inputs {
  return {
    now,
    regions: ["eu", "us"],
    catalogRegions: ok("catalog /v1/ops/regions", [regionRow("eu"), regionRow("us")]),
    tenants: ok("catalog /v1/ops/tenants", { items: [] }),
    snapshot: ok("snapshot", { version: 1, generatedAt: at(5), tenants: {} }),
    conflicts: ok("conflicts", { items: [], unreachable: [] }),
    catalogMetrics: ok("catalog /metrics", []),
    probes: { eu: ok("cell:eu /readyz", true as const), us: ok("cell:us /readyz", true as const) },
    cellMetrics: {
      eu: ok("cell:eu /metrics", cellScrape("eu")),
      us: ok("cell:us /metrics", cellScrape("us")),
    },
    relayMetrics: {},
    projectorMetrics: null,
    edgeMetrics: null,
    watermarks: ok("catalog /v1/reports/watermarks", marks()),
    latencyWindow: {},
    windowSeconds: 60,
    backupStaleAfterSeconds: 3600,
    ...over,
  };
}

describe("dashboard panels say how fresh they are", () => {
  it("a region whose cell does not answer is unhealthy at once, before the catalog notices", () => {
    const p = regionsPanel(
      inputs({ probes: { eu: ok("cell:eu /readyz", true), us: failed("cell:us /readyz", true) } }),
    );
    expect(p.status).toBe("partial");
    expect(p.problems[0]).toContain("cell:us /readyz: connection refused");
    const us = p.data.rows.find((r) => r.region === "us")!;
    expect(us.health).toBe("unhealthy");
    expect(us.reasons).toEqual(["not reachable: connection refused"]);
    expect(p.data.rows.find((r) => r.region === "eu")!.health).toBe("healthy");
  });

  it("the catalog's missing heartbeat makes a region unhealthy; READ_ONLY makes it degraded", () => {
    const rows = [
      { ...regionRow("eu"), mode: "READ_ONLY" as const, modeReason: "drill" },
      regionRow("us", false),
    ];
    const p = regionsPanel(inputs({ catalogRegions: ok("catalog /v1/ops/regions", rows) }));
    expect(p.data.rows.map((r) => r.health)).toEqual(["degraded", "unhealthy"]);
    expect(p.data.rows[0]!.reasons).toEqual(["READ_ONLY: drill"]);
  });

  it("with the catalog gone, its last values stay, marked stale, and the panel is unavailable", () => {
    const p = regionsPanel(
      inputs({
        catalogRegions: failed(
          "catalog /v1/ops/regions",
          [regionRow("eu"), regionRow("us")],
          "timeout after 1500 ms",
        ),
      }),
    );
    expect(p.status).toBe("unavailable");
    expect(p.asOf).toBe(at(30));
    expect(p.data.rows.every((r) => r.stale && r.mode === "WRITABLE")).toBe(true);
    expect(p.data.rows[0]!.reasons).toContain("catalog's view unavailable");
    // The cells answer: unknown mode and lease do not make them look degraded.
    expect(p.data.rows.map((r) => r.health)).toEqual(["healthy", "healthy"]);
  });

  it("latency: a killed cell's rows are kept but stale, the panel partial; all cells gone, unavailable", () => {
    const one = latencyPanel(
      inputs({
        cellMetrics: {
          eu: ok("cell:eu /metrics", cellScrape("eu")),
          us: failed("cell:us /metrics", cellScrape("us")),
        },
      }),
    );
    expect(one.status).toBe("partial");
    expect(one.data.rows.map((r) => [r.region, r.stale, r.count])).toEqual([
      ["eu", false, 3],
      ["us", true, 3],
    ]);
    // rank 1.5 of 3: halfway through (0.005, 0.01]
    expect(one.data.rows[0]!.p50Ms).toBeCloseTo(7.5, 6);
    const none = latencyPanel(
      inputs({
        cellMetrics: {
          eu: failed<Sample[]>("cell:eu /metrics", null),
          us: failed<Sample[]>("cell:us /metrics", null),
        },
      }),
    );
    expect(none.status).toBe("unavailable");
    expect(none.data.rows).toEqual([]);
  });

  it("conflicts: cells the catalog could not ask make the count partial", () => {
    const p = conflictsPanel(inputs({ conflicts: ok("conflicts", { items: [], unreachable: ["us"] }) }));
    expect(p.status).toBe("partial");
    expect(p.problems).toEqual(["conflicts of us unknown: region unreachable"]);
  });

  it("watermarks: every region's asOf, lag and late events; global figures as of the least fresh", () => {
    const p = watermarksPanel(inputs());
    expect(p.status).toBe("ok");
    expect(p.data.rows.map((r) => [r.region, r.asOf, r.lagSeconds, r.freshness, r.lateEvents])).toEqual([
      ["eu", at(2), 2, "fresh", 0],
      ["us", at(1), 1, "fresh", 3],
    ]);
    expect(p.data.globalAsOf).toBe(at(2));
    expect(p.data.staleRegions).toEqual([]);
  });

  it("watermarks: a region the warehouse calls stale, or has nothing of, is stale; the global asOf says so", () => {
    const behind = watermarksPanel(
      inputs({
        watermarks: ok("catalog /v1/reports/watermarks", marks({ eu: mark(2), us: mark(90, true) })),
      }),
    );
    // The warehouse answered: the panel is live, and its answer is that us is behind.
    expect(behind.status).toBe("ok");
    expect(behind.data.rows.map((r) => r.freshness)).toEqual(["fresh", "stale"]);
    expect(behind.data.globalAsOf).toBe(at(90));
    expect(behind.data.staleRegions).toEqual(["us"]);
    const never = watermarksPanel(
      inputs({
        watermarks: ok(
          "catalog /v1/reports/watermarks",
          marks({ eu: mark(2), us: { asOf: null, lagSeconds: null, stale: true, lateEvents: 0 } }),
        ),
      }),
    );
    expect(never.data.rows[1]!.freshness).toBe("stale");
    expect(never.data.globalAsOf).toBeNull();
  });

  it("watermarks: a region missing from the answer is unknown and the panel partial", () => {
    const p = watermarksPanel(
      inputs({ watermarks: ok("catalog /v1/reports/watermarks", marks({ eu: mark(2) })) }),
    );
    expect(p.status).toBe("partial");
    expect(p.problems).toEqual(["watermark of us unknown: not in the warehouse's answer"]);
    expect(p.data.rows.map((r) => r.freshness)).toEqual(["fresh", "unknown"]);
    expect(p.data.globalAsOf).toBeNull();
  });

  it("watermarks: warehouse or catalog gone, the last values stay greyed, freshness unknown, panel unavailable", () => {
    const warehouseDown = watermarksPanel(
      inputs({
        watermarks: failed("catalog /v1/reports/watermarks", marks(), "HTTP 503 REGION_UNAVAILABLE"),
      }),
    );
    expect(warehouseDown.status).toBe("unavailable");
    expect(warehouseDown.asOf).toBe(at(30));
    expect(warehouseDown.problems).toEqual([
      "the analytics region's warehouse (us) does not answer",
      `catalog /v1/reports/watermarks: HTTP 503 REGION_UNAVAILABLE (last read ${at(30)})`,
    ]);
    expect(warehouseDown.data.rows.map((r) => [r.stale, r.freshness, r.asOf])).toEqual([
      [true, "unknown", at(2)],
      [true, "unknown", at(1)],
    ]);
    expect(warehouseDown.data.staleRegions).toEqual(["eu", "us"]);
    const catalogDown = watermarksPanel(
      inputs({ watermarks: failed<WatermarksApi>("catalog /v1/reports/watermarks", null) }),
    );
    expect(catalogDown.status).toBe("unavailable");
    expect(catalogDown.problems).toEqual(["catalog /v1/reports/watermarks: connection refused"]);
    expect(catalogDown.data.rows.every((r) => r.asOf === null && r.freshness === "unknown")).toBe(true);
    expect(catalogDown.data.globalAsOf).toBeNull();
  });

  // The catalog's scrape: eu's cell backed up into eu a minute ago and into us two hours ago; us never.
  const backupAges = () =>
    parsePrometheus(
      [
        'homeroute_backup_age_seconds{region="eu",store_region="us",service="catalog"} 7200',
        'homeroute_backup_age_seconds{region="eu",store_region="eu",service="catalog"} 60',
      ].join("\n"),
    );

  it("backups: age per region and store region, stale past the threshold, and no backup yet said plainly", () => {
    const p = backupsPanel(inputs({ catalogMetrics: ok("catalog /metrics", backupAges()) }));
    expect(p.status).toBe("ok");
    expect(p.data.rows).toEqual([
      {
        region: "eu",
        storeRegion: "eu",
        lastCompletedAt: at(60),
        ageSeconds: 60,
        freshness: "fresh",
        stale: false,
      },
      {
        region: "eu",
        storeRegion: "us",
        lastCompletedAt: at(7200),
        ageSeconds: 7200,
        freshness: "stale",
        stale: false,
      },
      {
        region: "us",
        storeRegion: null,
        lastCompletedAt: null,
        ageSeconds: null,
        freshness: "none",
        stale: false,
      },
    ]);
    expect(p.data.staleAfterSeconds).toBe(3600);
    expect(p.data.notFresh).toEqual(["us"]);
  });

  it("backups: without the catalog's database a missing series is unknown, not 'no backup yet'", () => {
    // The catalog's /metrics answers but its tenant list (its database) does not: the backup
    // series may be absent because the catalog could not read its record.
    const p = backupsPanel(
      inputs({
        catalogMetrics: ok("catalog /metrics", backupAges()),
        tenants: failed<{ items: TenantApiRow[] }>("catalog /v1/ops/tenants", null, "HTTP 500"),
      }),
    );
    expect(p.status).toBe("partial");
    expect(p.data.rows.find((r) => r.region === "us")?.freshness).toBe("unknown");
    expect(p.data.rows.find((r) => r.storeRegion === "eu")?.freshness).toBe("fresh");
  });

  it("backups: catalog gone, ages keep growing from the last read; fresh stays fresh, stale becomes unknown", () => {
    // Read 30 s ago: eu → eu is now 90 s old, still within the threshold whatever happened since.
    const p = backupsPanel(inputs({ catalogMetrics: failed("catalog /metrics", backupAges()) }));
    expect(p.status).toBe("unavailable");
    expect(p.data.rows.map((r) => [r.region, r.storeRegion, r.ageSeconds, r.freshness, r.stale])).toEqual([
      ["eu", "eu", 90, "fresh", true],
      ["eu", "us", 7230, "unknown", true],
      ["us", null, null, "unknown", true],
    ]);
    expect(p.data.notFresh).toEqual(["us"]);
  });
});
