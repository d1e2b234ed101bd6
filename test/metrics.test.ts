import { bumpTenantEpoch } from "@homeroute/catalog";
import { uuidv7 } from "@homeroute/ids";
import { enableProcessMetrics } from "@homeroute/service-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventPipeline, startEventPipeline } from "./support/event-pipeline.js";
import {
  createAtCell,
  edgeCall,
  INTERNAL_TOKEN,
  type Planet,
  placeTenant,
  startPlanet,
} from "./support/planet.js";
import { until } from "./support/until.js";

// Every Node service's GET /metrics and the edge's counters (docs/metrics.md), scraped from real
// services after real requests: a catalog, two cells, their relays, the projector on a real
// nats-server, and the Worker in Miniflare.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (enough of the format for our own output). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parse(text) };
}

/** The samples of one series whose labels include `labels`. */
const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

const newCase = { category: "consumer_protection", countryCode: "SG", summary: "Metrics", channel: "web" };
let p: Planet;
let ev: EventPipeline;
let tenant: Awaited<ReturnType<typeof placeTenant>>;
let created: { caseId: string; caseNumber: string; accessCode: string };

beforeAll(async () => {
  p = await startPlanet("metrics", ["ap-sg", "ap-id"]);
  ev = await startEventPipeline(p);
  tenant = await placeTenant(p, "ap-sg", "APAC_SHARED");
  const c = await edgeCall(p, "POST", `/v1/tenants/${tenant.tenantId}/cases`, newCase, {
    token: tenant.tokens.investigator,
    edgeRegion: "ap-sg",
  });
  expect(c.status).toBe(201);
  created = c.body;
  const read = await edgeCall(p, "GET", `/v1/tenants/${tenant.tenantId}/cases/${created.caseId}`, undefined, {
    token: tenant.tokens.investigator,
  });
  expect(read.status).toBe(200);
}, 120_000);
afterAll(async () => {
  await ev?.close();
  await p?.close();
});

describe("cell /metrics", () => {
  it("times commands and reads by region, tenant, operation, outcome and read source", async () => {
    const { samples } = await scrape(p.cells["ap-sg"]!.url);
    const [created] = find(samples, "homeroute_command_duration_seconds_count", {
      service: "cell",
      region: "ap-sg",
      tenant_id: tenant.tenantId,
      operation: "case.create",
      outcome: "ok",
    });
    expect(created?.value).toBeGreaterThanOrEqual(1);
    const buckets = find(samples, "homeroute_command_duration_seconds_bucket", { operation: "case.create" });
    expect(buckets.find((b) => b.labels.le === "+Inf")?.value).toBeGreaterThanOrEqual(1);
    const [read] = find(samples, "homeroute_read_duration_seconds_count", {
      region: "ap-sg",
      tenant_id: tenant.tenantId,
      operation: "case.get",
      read_source: "home",
      outcome: "ok",
    });
    expect(read?.value).toBeGreaterThanOrEqual(1);
  });

  it("counts requests refused for another home or a stale epoch, by requested and expected region", async () => {
    // The DR cell (ap-id) knows the tenant but is not its home: 421 WRONG_REGION.
    const wrong = await createAtCell(p, "ap-id", tenant.tenantId, tenant.tokens.investigator!, newCase);
    expect(wrong.status).toBe(421);
    const stale = await fetch(`${p.cells["ap-sg"]!.url}/v1/tenants/${tenant.tenantId}/cases`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${tenant.tokens.investigator}`,
        "idempotency-key": uuidv7(),
        "content-type": "application/json",
        "x-region-epoch": "99",
      },
      body: JSON.stringify(newCase),
    });
    expect(stale.status).toBe(409);

    const atDr = (await scrape(p.cells["ap-id"]!.url)).samples;
    const [miss] = find(atDr, "homeroute_routing_errors_total", {
      region: "ap-id",
      requested_region: "ap-id",
      expected_region: "ap-sg",
      code: "WRONG_REGION",
    });
    // ≥ 1: Node's fetch may itself retry a 421 (Misdirected Request) on a new connection.
    expect(miss?.value).toBeGreaterThanOrEqual(1);
    const [refused] = find(atDr, "homeroute_command_duration_seconds_count", {
      tenant_id: tenant.tenantId,
      operation: "case.create",
      outcome: "wrong_region",
    });
    expect(refused?.value).toBeGreaterThanOrEqual(1);
    const atHome = (await scrape(p.cells["ap-sg"]!.url)).samples;
    const [epoch] = find(atHome, "homeroute_routing_errors_total", {
      requested_region: "ap-sg",
      expected_region: "ap-sg",
      code: "STALE_REGION_EPOCH",
    });
    expect(epoch?.value).toBe(1);
  });

  it("never mints a tenant label from an unauthenticated path", async () => {
    const stranger = uuidv7();
    const r = await fetch(`${p.cells["ap-sg"]!.url}/v1/tenants/${stranger}/cases`);
    expect(r.status).toBe(401);
    const { text, samples } = await scrape(p.cells["ap-sg"]!.url);
    expect(text).not.toContain(stranger);
    expect(
      find(samples, "homeroute_read_duration_seconds_count", {
        tenant_id: "unauthenticated",
        outcome: "unauthenticated",
      })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
  });

  it("reports conflict cases by aggregate type and region pair, and declares backup age unset", async () => {
    // A row as the standby writes it when a former home's unrelayed write arrives after a
    // promotion (that path is exercised by the failover tests); here only its exposure is checked.
    await p.cells["ap-sg"]!.deps.sql`
      INSERT INTO cross_region_conflict_case (conflict_id, tenant_id, aggregate_type, aggregate_id, home_region,
        conflicting_region, conflict_type, local_version, remote_version, payload, source_event_id)
      VALUES (${uuidv7()}, ${tenant.tenantId}, 'case', ${created.caseId}, 'ap-sg', 'ap-id',
        'UNREPLICATED_WRITE_FROM_FORMER_HOME', 1, 2, '{}'::jsonb, ${uuidv7()})`;
    const { samples } = await scrape(p.cells["ap-sg"]!.url);
    const [conflicts] = find(samples, "homeroute_conflict_cases", {
      region: "ap-sg",
      aggregate_type: "case",
      home_region: "ap-sg",
      conflicting_region: "ap-id",
      status: "OPEN",
    });
    expect(conflicts?.value).toBe(1);
  });
});

describe("Server-Timing (the latency report's split, docs/slo.md)", () => {
  /** `app;dur=1.20, db;dur=0.40, edge;dur=3.10` → {app: 1.2, db: 0.4, edge: 3.1}. */
  const parts = (h: Headers) =>
    Object.fromEntries(
      (h.get("server-timing") ?? "")
        .split(",")
        .map((p) => /^\s*(\w+);dur=([\d.]+)/.exec(p))
        .filter((m) => m !== null)
        .map((m) => [m[1]!, Number(m[2])]),
    ) as Record<string, number>;

  it("reads at home report their SQL as db, apart from app, as commands do", async () => {
    // The investigator may also read audit trails here.
    const grant = await fetch(
      `${p.cells["ap-sg"]!.url}/internal/v1/tenants/${tenant.tenantId}/grants/${tenant.users.investigator}/auditor`,
      { method: "PUT", headers: { authorization: `Bearer ${INTERNAL_TOKEN}` } },
    );
    expect(grant.ok).toBe(true);
    const base = `/v1/tenants/${tenant.tenantId}/cases`;
    const o = { token: tenant.tokens.investigator, edgeRegion: "ap-sg" };
    const calls = {
      "case.get": await edgeCall(p, "GET", `${base}/${created.caseId}?consistency=strong`, undefined, o),
      "case.list": await edgeCall(p, "GET", `${base}?limit=10`, undefined, o),
      "case.audit": await edgeCall(p, "GET", `${base}/${created.caseId}/audit`, undefined, o),
      "case.create": await edgeCall(p, "POST", base, newCase, o),
    };
    for (const [operation, r] of Object.entries(calls)) {
      expect(r.status, operation).toBeLessThan(300);
      expect(r.headers.get("x-served-by-region"), operation).toBe("ap-sg");
      const t = parts(r.headers);
      expect(t.db, `${operation}: ${r.headers.get("server-timing")}`).toBeGreaterThan(0);
      expect(t.app, operation).toBeGreaterThanOrEqual(t.db!);
      expect(t.edge, operation).toBeGreaterThanOrEqual(t.app!);
    }
  });
});

describe("relay and projector /metrics", () => {
  it("the relay exposes its outbox backlog and what it published", async () => {
    const samples = await until("a published event counted", async () => {
      const s = (await scrape(ev.relays["ap-sg"]!.url)).samples;
      return (
        (find(s, "homeroute_relay_published_events_total", { region: "ap-sg" })[0]?.value ?? 0) >= 1 && s
      );
    });
    const [backlog] = find(samples, "homeroute_outbox_backlog_events", { service: "relay", region: "ap-sg" });
    expect(backlog?.value).toBeGreaterThanOrEqual(0);
    expect(
      find(samples, "homeroute_outbox_oldest_unpublished_age_seconds", { region: "ap-sg" }),
    ).toHaveLength(1);
    expect(find(samples, "homeroute_relay_nats_connected", { region: "ap-sg" })[0]?.value).toBe(1);
  });

  it("the projector exposes projection lag, and replication lag and backlog to the DR standbys, by source", async () => {
    const samples = await until("projector series for ap-sg", async () => {
      const s = (await scrape(ev.projector.url)).samples;
      return find(s, "homeroute_replication_lag_seconds", { source_region: "ap-sg" }).length > 0 && s;
    });
    const [projection] = find(samples, "homeroute_projection_lag_seconds", {
      service: "projector",
      source_region: "ap-sg",
      target: "read_model",
    });
    expect(projection?.value).toBeGreaterThanOrEqual(0);
    const [replication] = find(samples, "homeroute_replication_lag_seconds", {
      source_region: "ap-sg",
      target: "dr_standby",
    });
    expect(replication?.value).toBeGreaterThanOrEqual(0);
    expect(find(samples, "homeroute_standby_pending_events", { source_region: "ap-sg" })).toHaveLength(1);
  });
});

describe("catalog /metrics", () => {
  it("counts residency violation attempts by policy and target region", async () => {
    const r = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      { name: "Strict regulator", homeRegion: "ap-sg", residencyPolicy: "ID_STRICT" },
      { token: p.opsToken },
    );
    expect(r.status).toBe(451);
    const { samples } = await scrape(p.catalog.url);
    const [attempts] = find(samples, "homeroute_residency_violation_attempts_total", {
      service: "catalog",
      policy: "ID_STRICT",
      target_region: "ap-sg",
    });
    expect(attempts?.value).toBe(1);
    // The map other catalog code reads is the same count.
    expect(p.catalog.deps.metrics.residencyViolationAttempts.get("ID_STRICT|ap-sg")).toBe(1);
  });

  it("says a tenant is DR-ready once its standby region is healthy and caught up, and each region's health", async () => {
    const samples = await until("DR readiness 1", async () => {
      const s = (await scrape(p.catalog.url)).samples;
      const ready = find(s, "homeroute_dr_ready", { tenant_id: tenant.tenantId })[0]?.value === 1;
      const observed = find(s, "homeroute_catalog_observed_projection_lag_seconds", {
        source_region: "ap-sg",
      });
      return ready && observed.length === 1 && s;
    });
    expect(find(samples, "homeroute_dr_ready", { tenant_id: tenant.tenantId })[0]?.labels).toMatchObject({
      home_region: "ap-sg",
      dr_region: "ap-id",
    });
    expect(find(samples, "homeroute_region_healthy", { region: "ap-sg" })[0]?.value).toBe(1);
    expect(find(samples, "homeroute_region_healthy", { region: "ap-id" })[0]?.value).toBe(1);
    expect(
      find(samples, "homeroute_catalog_observed_projection_lag_seconds", { source_region: "ap-sg" }),
    ).toHaveLength(1);
    expect(
      find(samples, "homeroute_catalog_observed_replication_lag_seconds", { source_region: "ap-sg" }),
    ).toHaveLength(1);
  });

  it("appends Node process metrics once they are enabled (a service's main does it)", async () => {
    enableProcessMetrics();
    const { samples } = await scrape(p.catalog.url);
    // CPU is counted from when the collector was made: a scrape right after may read 0 (the
    // kernel accounts CPU time in ticks; a fresh-clone CI run did). Present, and not negative.
    expect(find(samples, "homeroute_process_cpu_user_seconds_total")[0]?.value).toBeGreaterThanOrEqual(0);
    expect(find(samples, "homeroute_nodejs_heap_size_total_bytes")[0]?.value).toBeGreaterThan(0);
  });
});

describe("the edge's counters", () => {
  it("are served in Prometheus text at /internal/v1/metrics, with the internal token only", async () => {
    const pub = await until("the public status projected to the edge", async () => {
      const r = await edgeCall(
        p,
        "GET",
        `/v1/public/tenants/${tenant.tenantId}/cases/${created.caseNumber}/status`,
        undefined,
        {
          headers: { "x-access-code": created.accessCode },
        },
      );
      return r.status === 200 && r;
    });
    expect(pub.body.source).toBe("edge_projection");

    const denied = await fetch(`${p.edge.url}/internal/v1/metrics`);
    expect(denied.status).toBe(401);
    const { samples } = await scrape(`${p.edge.url}/internal/v1`, {
      authorization: `Bearer ${INTERNAL_TOKEN}`,
    });
    const [created201] = find(samples, "homeroute_edge_requests_total", {
      edge_region: "ap-sg",
      route: "/v1/tenants/:tenantId/cases",
      method: "POST",
      status: "201",
    });
    expect(created201?.value).toBeGreaterThanOrEqual(1);
    expect(
      find(samples, "homeroute_edge_reads_total", {
        endpoint: "/v1/tenants/:tenantId/cases/:caseId",
        read_source: "home",
      })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    expect(
      find(samples, "homeroute_edge_reads_total", {
        endpoint: "/v1/public/tenants/:tenantId/cases/:caseNumber/status",
        read_source: "edge_projection",
      })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    expect(
      find(samples, "homeroute_edge_routing_lookups_total", { edge_region: "ap-sg" })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
  });

  it("count a forward refused at a stale epoch, by the region the edge sent to and the owner", async () => {
    // The edge is not told of the new epoch, so its next forward carries the old one.
    const edgeUrl = p.catalog.deps.env.EDGE_URL;
    p.catalog.deps.env.EDGE_URL = undefined;
    try {
      await bumpTenantEpoch(p.catalog.deps, tenant.tenantId);
      await p.settle();
    } finally {
      p.catalog.deps.env.EDGE_URL = edgeUrl;
    }
    const r = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${tenant.tenantId}/cases/${created.caseId}/transitions`,
      { to: "TRIAGE", expectedVersion: 1, reason: "after the epoch moved" },
      { token: tenant.tokens.investigator, edgeRegion: "ap-sg" },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get("x-routing-retried")).toBe("1");
    const { samples } = await scrape(`${p.edge.url}/internal/v1`, {
      authorization: `Bearer ${INTERNAL_TOKEN}`,
    });
    const [miss] = find(samples, "homeroute_edge_routing_errors_total", {
      edge_region: "ap-sg",
      requested_region: "ap-sg",
      expected_region: "ap-sg",
      code: "STALE_REGION_EPOCH",
    });
    expect(miss?.value).toBe(1);
  });
});
