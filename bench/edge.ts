import { release } from "node:os";
import { latestSnapshot, publishSnapshot } from "@homeroute/catalog";
import { routingSnapshot } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { startEdge } from "@homeroute/sim";
import { makeToken, TEST_JWT_SECRET } from "@homeroute/testkit";
import type postgres from "postgres";
import { resolveHome } from "../apps/edge-router/src/routing/resolve.js";
import { type CaseState, nextStatus, REASON, rawSql, rawTransition } from "./raw-command.js";
import {
  allTicks,
  bundleBenchWorker,
  descendantPids,
  INTERNAL_TOKEN,
  othersBetween,
  type PlacedTenant,
  placeTenantViaEdge,
  postgresBackgroundPids,
  type Stack,
  startBenchWorker,
  startStack,
  ticksBetween,
  ticksOf,
} from "./stack.js";
import { benchBackendPids, CLK_TCK, fmt, machineInfo, machineJiffies, summarize, table } from "./stats.js";

// Benchmark of the edge (issue: "the edge costs little over a bare Worker"). The same command —
// a status transition INVESTIGATING ↔ UNDER_REVIEW, each worker owning one case — measured
// interleaved as (a) the cell's SQL in-process with postgres.js, (b) HTTP straight to the cell,
// (c) through the real edge Worker in workerd (Miniflare), routed by a snapshot from the real
// catalog, and (d) through a bare pass-through Worker in workerd (the local floor for any edge).
// Then: the routing lookup with 10 vs 10,000 tenants in the snapshot, and what a snapshot of that
// size costs the edge to parse and refresh.
// Usage: pnpm bench:edge   (env: BENCH_ROUND_MS=3000 BENCH_ROUNDS=2 BENCH_WARMUP_MS=300)

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 300);
const TENANT_ROUND_MS = Number(process.env.BENCH_TENANT_ROUND_MS ?? 2500);
const BIG = Number(process.env.BENCH_TENANTS ?? 10_000);
const SMALL = 10;
const CONCURRENCY = [1, 8, 32] as const;
const MAX_C = 32;
const WATCHDOG_MS = 600_000;
/** Diagnostic edge with a short snapshot TTL (the edge's own default is 5 s; the simulation uses 60). */
const TTL_S = 2;
const TTL_C = [1, 8];
const TTL_WINDOW_MS = Number(process.env.BENCH_TTL_WINDOW_MS ?? 6000);
const STRANGER_WINDOW_MS = Number(process.env.BENCH_STRANGER_WINDOW_MS ?? 4000);

type Variant = "a" | "b" | "c" | "d";
const VARIANTS: Variant[] = ["a", "b", "c", "d"];
const LABEL: Record<Variant, string> = {
  a: "a raw SQL",
  b: "b HTTP cell",
  c: "c edge Worker",
  d: "d pass-through Worker",
};

interface Lane {
  tenantId: string;
  actorId: string;
  token: string;
  kase: CaseState;
}

interface Rec {
  lat: number[];
  cellSpan: number[];
  ops: number;
  elapsedMs: number;
  roundThroughput: number[];
  nodeMicros: number;
  edgeMicros: number;
  passMicros: number;
  pgMicros: number;
  othersMicros: number;
  machineBusy: number;
  machineTotal: number;
  elu: number;
}
const newRec = (): Rec => ({
  lat: [],
  cellSpan: [],
  ops: 0,
  elapsedMs: 0,
  roundThroughput: [],
  nodeMicros: 0,
  edgeMicros: 0,
  passMicros: 0,
  pgMicros: 0,
  othersMicros: 0,
  machineBusy: 0,
  machineTotal: 0,
  elu: 0,
});

let stack: Stack | null = null;
let pass: Awaited<ReturnType<typeof startBenchWorker>> | null = null;
let rawPool: postgres.Sql<any> | null = null;
let adminPool: postgres.Sql<any> | null = null;
const errors = new Map<string, number>();
const committed = new Map<string, number>();
let cellSpanSink: number[] | null = null;
const serverProblems = new Map<string, number>();
let quiet = false;
/** x-routing-snapshot-version of the last edge answer (checks which snapshot routed it). */
let lastSnapshotVersion = "";

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cleanup(): Promise<void> {
  await pass?.close().catch(() => {});
  pass = null;
  await rawPool?.end({ timeout: 5 }).catch(() => {});
  await adminPool?.end({ timeout: 5 }).catch(() => {});
  rawPool = adminPool = null;
  await stack?.close().catch(() => {});
  stack = null;
}

async function cellApi(token: string, method: string, path: string, body: unknown) {
  const key = uuidv7();
  const res = await fetch(`${stack!.cell.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "idempotency-key": key,
      "x-correlation-id": `bench-setup.${key}`,
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A case moved INTAKE → TRIAGE → INVESTIGATING, ready to flip with UNDER_REVIEW. */
async function setupCase(t: PlacedTenant): Promise<CaseState> {
  const base = `/v1/tenants/${t.tenantId}/cases`;
  const created = await cellApi(t.token, "POST", base, {
    category: "market_abuse",
    countryCode: "ID",
    summary: "Suspicious trades before an announcement",
    channel: "web",
  });
  let version = created.version as number;
  for (const to of ["TRIAGE", "INVESTIGATING"]) {
    const r = await cellApi(t.token, "POST", `${base}/${created.caseId}/transitions`, {
      to,
      expectedVersion: version,
      reason: "bench setup",
    });
    version = r.version;
  }
  return { caseId: created.caseId, status: "INVESTIGATING", version };
}

const BASE_URL: Record<Exclude<Variant, "a">, () => string> = {
  b: () => stack!.cell.url,
  c: () => stack!.edge.url,
  d: () => pass!.url,
};

async function httpTransition(baseUrl: string, lane: Lane, prefix: string): Promise<void> {
  const key = uuidv7();
  const res = await fetch(`${baseUrl}/v1/tenants/${lane.tenantId}/cases/${lane.kase.caseId}/transitions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${lane.token}`,
      "content-type": "application/json",
      "idempotency-key": key,
      "x-correlation-id": `${prefix}.${key}`,
    },
    body: JSON.stringify({
      to: nextStatus(lane.kase.status),
      expectedVersion: lane.kase.version,
      reason: REASON,
    }),
  });
  const body = (await res.json()) as { status: CaseState["status"]; version: number; code?: string };
  if (res.status !== 200) throw new Error(`${prefix} HTTP ${res.status} ${body.code ?? ""}`);
  const sv = res.headers.get("x-routing-snapshot-version");
  if (sv) lastSnapshotVersion = sv;
  lane.kase.status = body.status;
  lane.kase.version = body.version;
}

function runOp(variant: Variant, lane: Lane, prefix: string): Promise<void> {
  if (variant === "a") {
    return rawTransition(
      { sql: rawPool!, region: stack!.region, tenantId: lane.tenantId, actorId: lane.actorId },
      lane.kase,
      prefix,
    );
  }
  return httpTransition(BASE_URL[variant](), lane, prefix);
}

async function resync(lane: Lane): Promise<void> {
  const [r] = await adminPool!<{ status: CaseState["status"]; version: number }[]>`
    SELECT status, version::int AS version FROM regulatory_case
    WHERE tenant_id = ${lane.tenantId} AND case_id = ${lane.kase.caseId}`;
  if (r) {
    lane.kase.status = r.status;
    lane.kase.version = r.version;
  }
}

/** Every lane loops `op` until the deadline. */
async function loop(
  lanes: Lane[],
  durationMs: number,
  label: string,
  op: (lane: Lane) => Promise<void>,
  lat: number[] | null,
  countAs: string | null,
): Promise<{ ops: number; elapsedMs: number }> {
  const start = performance.now();
  const deadline = start + durationMs;
  let ops = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await op(lane);
          const dt = performance.now() - t0;
          ops++;
          if (countAs) bump(committed, countAs);
          lat?.push(dt);
        } catch (e) {
          bump(errors, `${label}: ${e instanceof Error ? e.message : String(e)}`);
          await resync(lane);
        }
      }
    }),
  );
  return { ops, elapsedMs: performance.now() - start };
}

let edgePids = new Set<number>();
let passPids = new Set<number>();

/** Postgres backends of this bench's databases (cell and catalog). */
async function ourBackends(): Promise<Set<number>> {
  const cellPids = await benchBackendPids(adminPool!, stack!.cellDb.name);
  const catalogPids = await benchBackendPids(adminPool!, stack!.catalogDb.name);
  return new Set([...cellPids, ...catalogPids]);
}

async function measure(variant: Variant, lanes: Lane[], rec: Rec, tag: string): Promise<void> {
  const prefix = `bench-${variant}`;
  const label = `${tag} ${variant} c=${lanes.length}`;
  const op = (lane: Lane) => runOp(variant, lane, prefix);
  await loop(lanes, WARMUP_MS, label, op, null, prefix);
  const pg0 = await ourBackends();
  const bg = postgresBackgroundPids();
  const all0 = allTicks();
  const j0 = machineJiffies();
  const c0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  cellSpanSink = variant === "a" ? null : rec.cellSpan;
  const r = await loop(lanes, ROUND_MS, label, op, rec.lat, prefix);
  cellSpanSink = null;
  rec.elu += performance.eventLoopUtilization(elu0).active;
  const all1 = allTicks();
  const j1 = machineJiffies();
  const c1 = process.cpuUsage(c0);
  // postgres: the bench database's backends (also those opened meanwhile) + background processes
  const pgAll = new Set([...pg0, ...(await ourBackends()), ...bg]);
  const us = (t: number) => (t * 1e6) / CLK_TCK;
  rec.edgeMicros += us(ticksBetween(all0, all1, edgePids));
  rec.passMicros += us(ticksBetween(all0, all1, passPids));
  rec.nodeMicros += c1.user + c1.system;
  rec.pgMicros += us(ticksBetween(all0, all1, pgAll));
  rec.othersMicros +=
    (othersBetween(all0, all1, pgAll, r.elapsedMs / 1000).pctOfCore / 100) * r.elapsedMs * 1000;
  rec.machineBusy += j1.busy - j0.busy;
  rec.machineTotal += j1.total - j0.total;
  rec.ops += r.ops;
  rec.elapsedMs += r.elapsedMs;
  rec.roundThroughput.push((r.ops * 1000) / r.elapsedMs);
  log(`  ${label}: ${r.ops} ops, ${fmt((r.ops * 1000) / r.elapsedMs, 0)} ops/s`);
}

// ---------------------------------------------------------------------------------------------
// Routing snapshot size: filler tenants inserted straight into the catalog's tables.

const FILLER = "bench filler";

/** Makes the catalog's snapshot hold `n` tenants (the real ones plus fillers) and publishes it. */
async function setTenantCount(n: number, realTenants: number): Promise<{ version: number; body: string }> {
  const sql = stack!.catalog.deps.sql;
  const fill = Math.max(0, n - realTenants);
  const version = await sql.begin(async (tx) => {
    await tx`
      DELETE FROM region_write_epoch WHERE logical_scope IN
        (SELECT 'tenant:' || tenant_id FROM tenant_region_assignment WHERE name = ${FILLER})`;
    await tx`DELETE FROM tenant_region_assignment WHERE name = ${FILLER}`;
    if (fill > 0) {
      await tx`
        INSERT INTO tenant_region_assignment (tenant_id, name, home_region, residency_policy, status)
        SELECT gen_random_uuid(), ${FILLER}, ${stack!.region}, 'APAC_SHARED', 'ACTIVE' FROM generate_series(1, ${fill})`;
      await tx`
        INSERT INTO region_write_epoch (logical_scope, active_region, epoch, status)
        SELECT 'tenant:' || tenant_id, ${stack!.region}, 1, 'WRITABLE'
        FROM tenant_region_assignment WHERE name = ${FILLER}`;
    }
    return publishSnapshot(tx);
  });
  const snap = await latestSnapshot(sql);
  if (snap?.version !== version || Object.keys(snap.tenants).length !== n) {
    throw new Error(
      `snapshot v${snap?.version} holds ${Object.keys(snap?.tenants ?? {}).length}, wanted ${n}`,
    );
  }
  return { version, body: JSON.stringify(snap) };
}

/** PUT the snapshot to the edge as the catalog does; returns the edge's answer time (ms). */
async function pushSnapshot(body: string, expectVersion: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${stack!.edge.url}/internal/v1/routing-snapshot`, {
    method: "PUT",
    headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, "content-type": "application/json" },
    body,
  });
  const r = (await res.json()) as { accepted?: boolean; version?: number };
  const dt = performance.now() - t0;
  if (!res.ok || r.accepted !== true || r.version !== expectVersion)
    throw new Error(`snapshot push: ${res.status} ${JSON.stringify(r)}`);
  return dt;
}

/**
 * A command for a tenant the snapshot does not hold: the edge looks it up in its copy, misses,
 * force-refreshes from the catalog (fetch + JSON + zod + KV put) and answers 404. Its latency
 * minus the same request's with a tiny snapshot is the refresh cost of the bigger snapshot.
 */
async function unknownTenantCall(token: string, tenantId: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${stack!.edge.url}/v1/tenants/${tenantId}/cases/${uuidv7()}/transitions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "idempotency-key": uuidv7(),
    },
    body: JSON.stringify({ to: "UNDER_REVIEW", expectedVersion: 1, reason: REASON }),
  });
  await res.arrayBuffer();
  const dt = performance.now() - t0;
  if (res.status !== 404) throw new Error(`unknown tenant: expected 404, got ${res.status}`);
  return dt;
}

async function catalogSnapshotGet(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${stack!.catalog.url}/internal/v1/routing-snapshot`, {
    headers: { authorization: `Bearer ${INTERNAL_TOKEN}` },
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`catalog snapshot: ${res.status}`);
  return performance.now() - t0;
}

function microbench(iterations: number, f: () => unknown): number {
  for (let i = 0; i < Math.min(50, iterations); i++) f();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) f();
  return ((performance.now() - t0) * 1000) / iterations; // µs
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const began = performance.now();
  log("bench:edge: starting cell, catalog and the edge Worker (Miniflare)…");
  stack = await startStack("edge");
  edgePids = descendantPids("workerd");
  const passScript = await bundleBenchWorker("passthrough-worker.ts", stack.bundleDir);
  pass = await startBenchWorker("passthrough", passScript, { CELL_URL: stack.cell.url });
  passPids = new Set([...descendantPids("workerd")].filter((p) => !edgePids.has(p)));
  log(`bench:edge: workerd pids: edge ${[...edgePids].join(",")} pass-through ${[...passPids].join(",")}`);
  rawPool = rawSql(stack.cellDb.url, stack.cell.deps.env.DB_POOL_MAX);
  adminPool = rawSql(stack.cellDb.url, 2);
  const machine = await machineInfo(adminPool);
  stack.cell.deps.log = {
    request(line) {
      if (line.status >= 400 && !quiet)
        bump(serverProblems, `${line.status} ${line.code ?? ""} ${line.route}`);
      if (cellSpanSink && line.method === "POST" && line.status === 200) cellSpanSink.push(line.latencyMs);
    },
    error(msg, fields) {
      bump(serverProblems, `500 ${msg} ${JSON.stringify(fields)}`);
    },
    info() {},
  };

  const runTicks0 = allTicks();
  const runPg0 = await ourBackends();
  const main = await placeTenantViaEdge(stack);
  const realTenants = 1;
  const small = await setTenantCount(SMALL, realTenants);
  const smallPush = await pushSnapshot(small.body, small.version);
  log(`bench:edge: tenant placed via edge/catalog; snapshot v${small.version} with ${SMALL} tenants pushed`);
  const lanes: Lane[] = [];
  for (let i = 0; i < MAX_C; i++) {
    lanes.push({
      tenantId: main.tenantId,
      actorId: main.userId,
      token: main.token,
      kase: await setupCase(main),
    });
  }
  log(`bench:edge: ${MAX_C} cases ready (${fmt((performance.now() - began) / 1000, 1)} s)`);

  // ---- main interleaved rounds ----
  const recs = new Map<string, Rec>();
  const recOf = (v: Variant, c: number) => {
    const k = `${v}/${c}`;
    if (!recs.has(k)) recs.set(k, newRec());
    return recs.get(k)!;
  };
  for (let round = 0; round < ROUNDS; round++) {
    log(`bench:edge: round ${round + 1}/${ROUNDS}`);
    for (const c of CONCURRENCY) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) await measure(v, lanes.slice(0, c), recOf(v, c), `r${round + 1}`);
    }
  }
  if (lastSnapshotVersion !== String(small.version))
    throw new Error(`edge routed with snapshot v${lastSnapshotVersion}, expected v${small.version}`);

  // ---- routing snapshot: 10 vs 10,000 tenants ----
  log(`bench:edge: routing snapshot ${SMALL} vs ${BIG} tenants`);
  const strangerId = uuidv7();
  const strangerToken = await makeToken({ sub: uuidv7(), tid: strangerId });
  interface SizeRec {
    version: number[];
    jsonBytes: number;
    push: number[];
    pull: number[];
    catalogGet: number[];
    lat: Map<number, number[]>;
    ops: Map<number, { ops: number; ms: number }>;
    routedBy: Set<string>;
    jsonParseUs: number;
    zodParseUs: number;
    lookupNs: number;
  }
  const sizes = new Map<number, SizeRec>();
  const sizeRec = (n: number) => {
    if (!sizes.has(n))
      sizes.set(n, {
        version: [],
        jsonBytes: 0,
        push: [],
        pull: [],
        catalogGet: [],
        lat: new Map(),
        ops: new Map(),
        routedBy: new Set(),
        jsonParseUs: 0,
        zodParseUs: 0,
        lookupNs: 0,
      });
    return sizes.get(n)!;
  };
  const TENANT_C = [1, 8];
  quiet = true;
  let publishMs = 0;
  for (const n of [BIG, SMALL, SMALL, BIG]) {
    const sr = sizeRec(n);
    const tp = performance.now();
    const snap = await setTenantCount(n, realTenants);
    if (n === BIG) publishMs = Math.max(publishMs, performance.now() - tp);
    sr.version.push(snap.version);
    sr.jsonBytes = Buffer.byteLength(snap.body);
    for (let i = 0; i < 6; i++) sr.push.push(await pushSnapshot(snap.body, snap.version));
    for (let i = 0; i < 6; i++) sr.catalogGet.push(await catalogSnapshotGet());
    for (let i = 0; i < 6; i++) sr.pull.push(await unknownTenantCall(strangerToken, strangerId));
    // (c) for a routed command with this snapshot in the edge
    for (const c of TENANT_C) {
      const ls = lanes.slice(0, c);
      const op = (lane: Lane) => runOp("c", lane, "bench-c");
      await loop(ls, WARMUP_MS, `tenants=${n} c c=${c}`, op, null, "bench-c");
      const lat = sr.lat.get(c) ?? [];
      sr.lat.set(c, lat);
      const r = await loop(ls, TENANT_ROUND_MS, `tenants=${n} c c=${c}`, op, lat, "bench-c");
      const o = sr.ops.get(c) ?? { ops: 0, ms: 0 };
      sr.ops.set(c, { ops: o.ops + r.ops, ms: o.ms + r.elapsedMs });
      sr.routedBy.add(lastSnapshotVersion);
      log(`  tenants=${n} c=${c}: ${r.ops} ops, snapshot v${lastSnapshotVersion}`);
    }
    // Node-side reference for the same work (V8 here, V8 in workerd): parse, validate, look up.
    const obj = JSON.parse(snap.body);
    sr.jsonParseUs = microbench(n === BIG ? 30 : 3000, () => JSON.parse(snap.body));
    sr.zodParseUs = microbench(n === BIG ? 10 : 3000, () => routingSnapshot.parse(obj));
    const parsed = routingSnapshot.parse(obj);
    const ids = Object.keys(parsed.tenants);
    let k = 0;
    sr.lookupNs = microbench(1_000_000, () => resolveHome(parsed, ids[k++ % ids.length]!)) * 1000;
  }
  // ---- diagnostics: what a big snapshot costs the edge under load ----
  log("bench:edge: refresh-under-load diagnostics");
  let catalogSnapshotGets = 0;
  const catalogLog = stack.catalog.deps.log;
  stack.catalog.deps.log = {
    ...catalogLog,
    request(line) {
      if (line.method === "GET" && line.route.includes("routing-snapshot")) catalogSnapshotGets++;
      catalogLog.request(line);
    },
  };
  // (i) TTL expiry: a second edge (same bundle) that is never pushed to and pulls every TTL.
  interface TtlRow {
    n: number;
    c: number;
    lat: number[];
    ops: number;
    ms: number;
    gets: number;
    cpuPct: number;
  }
  const ttlRows: TtlRow[] = [];
  const before = descendantPids("workerd");
  const ttlEdge = await startEdge({
    scriptPath: stack.edgeScript,
    port: 0,
    catalogUrl: stack.catalog.url,
    cellUrls: { [stack.region]: stack.cell.url },
    jwtSecret: TEST_JWT_SECRET,
    internalToken: INTERNAL_TOKEN,
    snapshotTtlSeconds: TTL_S,
  });
  const ttlPids = new Set([...descendantPids("workerd")].filter((x) => !before.has(x)));
  try {
    for (const [n, c] of TTL_C.flatMap((c) => [BIG, SMALL].map((n) => [n, c] as const))) {
      await setTenantCount(n, realTenants);
      const ls = lanes.slice(0, c);
      const op = (lane: Lane) => httpTransition(ttlEdge.url, lane, "bench-c");
      await loop(ls, WARMUP_MS, `ttl edge tenants=${n} c=${c}`, op, null, "bench-c");
      const g0 = catalogSnapshotGets;
      const t0 = ticksOf(ttlPids);
      const lat: number[] = [];
      const r = await loop(ls, TTL_WINDOW_MS, `ttl edge tenants=${n} c=${c}`, op, lat, "bench-c");
      ttlRows.push({
        n,
        c,
        lat,
        ops: r.ops,
        ms: r.elapsedMs,
        gets: catalogSnapshotGets - g0,
        cpuPct: (100 * ((ticksOf(ttlPids) - t0) * 1e6)) / CLK_TCK / (r.elapsedMs * 1000),
      });
      log(`  ttl edge tenants=${n} c=${c}: ${r.ops} ops, ${catalogSnapshotGets - g0} catalog snapshot GETs`);
    }
  } finally {
    await ttlEdge.close();
  }
  // (ii) commands for a tenant the snapshot does not hold, 10/s, next to a routed c=1 stream.
  interface StrangerRow {
    n: number;
    alone: number[];
    withStorm: number[];
    storm: number[];
    gets: number;
  }
  const strangerRows: StrangerRow[] = [];
  for (const n of [BIG, SMALL]) {
    const snap = await setTenantCount(n, realTenants);
    await pushSnapshot(snap.body, snap.version);
    const row: StrangerRow = { n, alone: [], withStorm: [], storm: [], gets: 0 };
    const ls = lanes.slice(0, 1);
    const op = (lane: Lane) => runOp("c", lane, "bench-c");
    await loop(ls, WARMUP_MS, "stranger baseline", op, null, "bench-c");
    await loop(ls, STRANGER_WINDOW_MS, "stranger baseline", op, row.alone, "bench-c");
    let stop = false;
    const g0 = catalogSnapshotGets;
    const storm = (async () => {
      while (!stop) {
        const t = performance.now();
        row.storm.push(await unknownTenantCall(strangerToken, strangerId));
        await sleep(Math.max(0, 100 - (performance.now() - t)));
      }
    })();
    await loop(ls, STRANGER_WINDOW_MS, "stranger storm", op, row.withStorm, "bench-c");
    stop = true;
    await storm;
    row.gets = catalogSnapshotGets - g0;
    strangerRows.push(row);
    log(`  unknown-tenant calls, tenants=${n}: ${row.storm.length} calls, ${row.gets} catalog GETs`);
  }
  stack.catalog.deps.log = catalogLog;
  quiet = false;
  const fillerLeft = await setTenantCount(SMALL, realTenants); // leave a small snapshot behind
  await pushSnapshot(fillerLeft.body, fillerLeft.version);

  // ---- verification ----
  log("bench:edge: verifying audit/outbox/command_log rows");
  const verify: (string | number)[][] = [];
  let verified = true;
  for (const [prefix, n] of [...committed.entries()].sort()) {
    const like = `${prefix}.%`;
    const [row] = await adminPool<{ audit: number; outbox: number; cmdlog: number }[]>`
      SELECT
        (SELECT count(*)::int FROM global_audit_event WHERE correlation_id LIKE ${like}) AS audit,
        (SELECT count(*)::int FROM outbox_event WHERE envelope->>'correlationId' LIKE ${like}) AS outbox,
        (SELECT count(*)::int FROM command_log cl WHERE cl.command_id IN
           (SELECT command_id FROM global_audit_event WHERE correlation_id LIKE ${like})) AS cmdlog`;
    const ok = row!.audit === n && row!.outbox === n && row!.cmdlog === n;
    verified &&= ok;
    verify.push([prefix, n, row!.audit, row!.outbox, row!.cmdlog, ok ? "ok" : "MISMATCH"]);
  }
  let versionsOk = true;
  for (const lane of lanes) {
    const [r] = await adminPool<{ version: number; status: string }[]>`
      SELECT version::int AS version, status FROM regulatory_case
      WHERE tenant_id = ${lane.tenantId} AND case_id = ${lane.kase.caseId}`;
    if (r?.version !== lane.kase.version || r.status !== lane.kase.status) versionsOk = false;
  }
  verified &&= versionsOk;

  const runOthers = othersBetween(
    runTicks0,
    allTicks(),
    new Set([...runPg0, ...(await ourBackends()), ...postgresBackgroundPids()]),
    (performance.now() - began) / 1000,
  );

  // ---- report ----
  const sum = (v: Variant, c: number) => {
    const r = recOf(v, c);
    return { r, s: summarize(r.lat), thr: (r.ops * 1000) / r.elapsedMs, span: summarize(r.cellSpan) };
  };
  const out: string[] = [];
  const p = (s = "") => out.push(s);
  p(`# homeroute bench:edge — ${new Date().toISOString()}`);
  p();
  p(`machine: ${machine.cpuModel}, ${machine.cores} cores, kernel ${release()}; node ${machine.node}`);
  p(`postgres: ${machine.postgres}`);
  p(`loadavg at start: ${machine.loadavg}`);
  p(
    `config: ${ROUNDS} rounds × ${ROUND_MS} ms per (variant, concurrency), ${WARMUP_MS} ms warm-up each, ` +
      `interleaved (a b c d / d c b a); one tenant placed through edge → catalog, each worker owns one case; ` +
      `edge and pass-through each in their own workerd (Miniflare), client in the bench process`,
  );
  p();
  p("## Throughput and latency (client-side, all rounds pooled)");
  p();
  const rows: (string | number)[][] = [];
  for (const c of CONCURRENCY) {
    for (const v of VARIANTS) {
      const { r, s, thr, span } = sum(v, c);
      rows.push([
        LABEL[v],
        c,
        r.ops,
        fmt(thr, 0),
        r.roundThroughput.map((x) => fmt(x, 0)).join(" / "),
        fmt(s.p50, 3),
        fmt(s.p95, 3),
        fmt(s.p99, 3),
        v === "a" ? "" : fmt(span.p50, 3),
      ]);
    }
  }
  p(
    table(
      ["variant", "c", "ops", "ops/s", "ops/s per round", "p50 ms", "p95 ms", "p99 ms", "cell span p50 ms"],
      rows,
    ),
  );
  p();
  p("## Ratios (aim: c/d p50 ≤ 1.2×)");
  p();
  const ratioRows: (string | number)[][] = [];
  const aims: string[] = [];
  for (const c of CONCURRENCY) {
    const a = sum("a", c);
    const b = sum("b", c);
    const cc = sum("c", c);
    const d = sum("d", c);
    const cd = cc.s.p50 / d.s.p50;
    ratioRows.push([
      c,
      fmt(cd, 3),
      fmt(cc.s.p50 - d.s.p50, 3),
      fmt(cc.s.p50 / b.s.p50, 3),
      fmt(cc.thr / b.thr, 3),
      fmt(d.s.p50 - b.s.p50, 3),
      fmt(d.thr / b.thr, 3),
      fmt(cc.thr / d.thr, 3),
      fmt(b.thr / a.thr, 3),
      fmt(cc.thr / a.thr, 3),
    ]);
    aims.push(`c/d p50 at c=${c} = ${fmt(cd, 3)}× (aim ≤ 1.2×): ${cd <= 1.2 ? "MET" : "MISSED"}`);
  }
  p(
    table(
      [
        "c",
        "p50 c/d",
        "p50 c−d ms",
        "p50 c/b",
        "ops/s c/b",
        "p50 d−b ms",
        "ops/s d/b",
        "ops/s c/d",
        "ops/s b/a",
        "ops/s c/a",
      ],
      ratioRows,
    ),
  );
  p();
  for (const a of aims) p(`- ${a}`);
  p();
  p("## CPU per command (µs, all threads of each process) and utilisation");
  p();
  const cpuRows: (string | number)[][] = [];
  for (const c of CONCURRENCY) {
    for (const v of VARIANTS) {
      const r = recOf(v, c);
      cpuRows.push([
        LABEL[v],
        c,
        fmt(r.nodeMicros / r.ops, 0),
        fmt(r.edgeMicros / r.ops, 0),
        fmt(r.passMicros / r.ops, 0),
        fmt(r.pgMicros / r.ops, 0),
        fmt((r.nodeMicros + r.edgeMicros + r.passMicros + r.pgMicros) / r.ops, 0),
        fmt((100 * r.elu) / r.elapsedMs, 0),
        fmt((100 * r.edgeMicros) / (r.elapsedMs * 1000), 0),
        fmt((100 * r.passMicros) / (r.elapsedMs * 1000), 0),
        fmt(r.machineTotal ? (100 * r.machineBusy) / r.machineTotal : Number.NaN, 0),
        fmt((100 * r.othersMicros) / (r.elapsedMs * 1000), 0),
      ]);
    }
  }
  p(
    table(
      [
        "variant",
        "c",
        "node (client+cell)",
        "workerd edge",
        "workerd pass",
        "postgres",
        "total",
        "node event loop busy %",
        "edge workerd % of a core",
        "pass workerd % of a core",
        "machine busy %",
        "other people's processes % of a core",
      ],
      cpuRows,
    ),
  );
  p();
  p(`## Routing snapshot: ${SMALL} vs ${BIG} tenants`);
  p();
  const s10 = sizeRec(SMALL);
  const sBig = sizeRec(BIG);
  const szRows: (string | number)[][] = [];
  for (const [n, sr] of [
    [SMALL, s10],
    [BIG, sBig],
  ] as const) {
    const push = summarize(sr.push);
    const pull = summarize(sr.pull);
    const get = summarize(sr.catalogGet);
    szRows.push([
      n,
      sr.version.join(", "),
      sr.jsonBytes,
      fmt(push.p50, 2),
      fmt(get.p50, 2),
      fmt(pull.p50, 2),
      fmt(sr.jsonParseUs / 1000, 3),
      fmt(sr.zodParseUs / 1000, 3),
      fmt(sr.lookupNs, 0),
    ]);
  }
  p(
    table(
      [
        "tenants",
        "snapshot versions",
        "JSON bytes",
        "edge PUT (push) p50 ms",
        "catalog GET p50 ms",
        "edge forced pull (unknown tenant) p50 ms",
        "node JSON.parse ms",
        "node zod parse ms",
        "node resolveHome ns",
      ],
      szRows,
    ),
  );
  p();
  p(
    `catalog: publishing the ${BIG}-tenant snapshot (delete + insert fillers + publishSnapshot, one tx) took ≤ ${fmt(publishMs, 0)} ms; the ${SMALL}-tenant push at setup took ${fmt(smallPush, 2)} ms`,
  );
  p();
  const tRows: (string | number)[][] = [];
  const tAims: string[] = [];
  for (const c of TENANT_C) {
    const a = summarize(s10.lat.get(c) ?? []);
    const b = summarize(sBig.lat.get(c) ?? []);
    const oa = s10.ops.get(c)!;
    const ob = sBig.ops.get(c)!;
    for (const [n, s, o, sr] of [
      [SMALL, a, oa, s10],
      [BIG, b, ob, sBig],
    ] as const) {
      tRows.push([
        n,
        c,
        s.n,
        fmt((o.ops * 1000) / o.ms, 0),
        fmt(s.p50, 3),
        fmt(s.p95, 3),
        fmt(s.p99, 3),
        [...sr.routedBy].join(", "),
      ]);
    }
    tAims.push(
      `c=${c}: p50 ${BIG} tenants / ${SMALL} tenants = ${fmt(b.p50 / a.p50, 3)} (Δ ${fmt(b.p50 - a.p50, 3)} ms)`,
    );
  }
  p(
    table(
      ["tenants", "c", "ops", "ops/s", "p50 ms", "p95 ms", "p99 ms", "routed by snapshot version"],
      tRows,
    ),
  );
  p();
  for (const a of tAims) p(`- ${a}`);
  p();
  p(`## Diagnostic: snapshot refresh under load (${BIG} vs ${SMALL} tenants)`);
  p();
  p(
    `(i) a second edge Worker (same bundle, own workerd) with SNAPSHOT_TTL_SECONDS=${TTL_S}, never pushed to, ` +
      `routed commands at c=1 and c=8 for ${TTL_WINDOW_MS / 1000} s per (size, c): every TTL its copy expires and requests ` +
      "re-read KV and then pull from the catalog.",
  );
  p();
  p(
    table(
      [
        "tenants",
        "c",
        "ops",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "requests > 50 ms",
        "catalog snapshot GETs",
        "TTL expiries in window",
        "workerd % of a core",
      ],
      ttlRows.map((r) => {
        const s = summarize(r.lat);
        return [
          r.n,
          r.c,
          r.ops,
          fmt((r.ops * 1000) / r.ms, 0),
          fmt(s.p50, 3),
          fmt(s.p99, 3),
          fmt(Math.max(...r.lat), 1),
          r.lat.filter((x) => x > 50).length,
          r.gets,
          fmt(r.ms / 1000 / TTL_S, 1),
          fmt(r.cpuPct, 0),
        ];
      }),
    ),
  );
  p();
  p(
    `(ii) main edge (pushed snapshot): routed commands at c=1 for ${STRANGER_WINDOW_MS / 1000} s alone, then for ` +
      `${STRANGER_WINDOW_MS / 1000} s next to commands for an unplaced tenant (valid token) at ≤ 10/s; each such ` +
      "command misses the copy and force-refreshes it from the catalog.",
  );
  p();
  const stRows: (string | number)[][] = [];
  for (const r of strangerRows) {
    for (const [name, v] of [
      ["routed c=1, alone", r.alone],
      ["routed c=1, with unknown-tenant calls", r.withStorm],
      ["unknown-tenant calls (404)", r.storm],
    ] as const) {
      const x = summarize(v);
      stRows.push([
        r.n,
        name,
        x.n,
        fmt((x.n * 1000) / STRANGER_WINDOW_MS, 0),
        fmt(x.p50, 3),
        fmt(x.p95, 3),
        fmt(x.p99, 3),
        fmt(Math.max(...v), 1),
        name.startsWith("unknown") ? r.gets : "",
      ]);
    }
  }
  p(
    table(
      ["tenants", "stream", "n", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms", "catalog snapshot GETs"],
      stRows,
    ),
  );
  p();
  p("## Verification");
  p();
  p(
    table(
      ["correlation prefix", "commands ok", "audit rows", "outbox rows", "command_log rows", "check"],
      verify,
    ),
  );
  p();
  p(`case versions in the database match the client's tracking: ${versionsOk ? "yes" : "NO"}`);
  const totalErrors = [...errors.values()].reduce((x, y) => x + y, 0);
  p(`failed requests: ${totalErrors}`);
  for (const [k, n] of errors) p(`  ${n} × ${k}`);
  if (serverProblems.size) {
    p("cell-side 4xx/5xx seen by the request log:");
    for (const [k, n] of serverProblems) p(`  ${n} × ${k}`);
  }
  p();
  p(
    `total wall time: ${fmt((performance.now() - began) / 1000, 1)} s; machine busy over the run: ${machineBusyNow()}`,
  );
  p(
    `other people's processes over the run: ${fmt(runOthers.pctOfCore, 0)} % of a core on average ` +
      `(top: ${runOthers.top || "none"})`,
  );
  process.stdout.write(`${out.join("\n")}\n`);
  return verified && totalErrors === 0 ? 0 : 1;
}

const j0 = machineJiffies();
function machineBusyNow(): string {
  const j = machineJiffies();
  return `${fmt((100 * (j.busy - j0.busy)) / (j.total - j0.total), 0)} %`;
}

const watchdog = setTimeout(() => {
  log(`bench:edge: watchdog: still running after ${WATCHDOG_MS / 1000} s, giving up`);
  void cleanup().finally(() => process.exit(3));
}, WATCHDOG_MS);

let code = 1;
try {
  code = await main();
} catch (e) {
  log(`bench:edge failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  code = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(code);
