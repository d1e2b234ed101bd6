import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { cellEnvSchema, createApp, type RunningCell, startCell } from "@homeroute/cell";
import { transitionBody } from "@homeroute/contracts";
import { verifyAuditChain } from "@homeroute/db/cell";
import { uuidv7 } from "@homeroute/ids";
import { authenticate } from "@homeroute/service-kit";
import { createTestDatabase, makeToken, TEST_JWT_SECRET, type TestDatabase } from "@homeroute/testkit";
import type postgres from "postgres";
import {
  type CaseState,
  nextStatus,
  type PhaseTimes,
  type RawContext,
  REASON,
  rawSql,
  rawTransition,
  requestHash,
} from "./raw-command.js";
import {
  ActivitySampler,
  benchBackendPids,
  CLK_TCK,
  type CpuDelta,
  cpuDelta,
  cpuSnapshot,
  fmt,
  type LatencySummary,
  machineInfo,
  summarize,
  table,
} from "./stats.js";
import { runWorkerClient } from "./worker-client.js";

// Benchmark of the command path (issue: "the cell's HTTP path costs little over the raw SQL").
// (a) the cell's SQL in-process with postgres.js, (b) the same command over HTTP to a real cell,
// (floor) a bare node:http server on loopback, interleaved in rounds so noise hits all of them.
// Usage: pnpm bench   (env: BENCH_ROUND_MS=3000 BENCH_ROUNDS=2 BENCH_WARMUP_MS=300)

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 300);
const DIAG_MS = Number(process.env.BENCH_DIAG_MS ?? 2000);
const CONCURRENCY = [1, 8, 32] as const;
const MAX_C = 32;
const REGION = "ap-id";
const INTERNAL_TOKEN = "internal-bench-token-0123456789";
const WATCHDOG_MS = 300_000;

type Variant = "a" | "b" | "floor";
const VARIANT_LABEL: Record<Variant, string> = {
  a: "a raw SQL",
  b: "b HTTP cell",
  floor: "floor node:http",
};

interface Lane {
  tenantId: string;
  actorId: string;
  token: string;
  kase: CaseState;
  raw: RawContext;
}

interface Rec {
  lat: number[];
  prelude: number[];
  write: number[];
  server: number[];
  cellPrelude: number[];
  cellWrite: number[];
  elu: number;
  ops: number;
  elapsedMs: number;
  roundThroughput: number[];
  cpu: CpuDelta;
  activity: {
    samples: number;
    active: number;
    lockWait: number;
    ioWait: number;
    lwlockWait: number;
    foreignActive: number;
  };
}

const newRec = (): Rec => ({
  lat: [],
  prelude: [],
  write: [],
  server: [],
  cellPrelude: [],
  cellWrite: [],
  elu: 0,
  ops: 0,
  elapsedMs: 0,
  roundThroughput: [],
  cpu: { nodeMicros: 0, pgMicros: 0, machineBusyJiffies: 0, machineTotalJiffies: 0 },
  activity: { samples: 0, active: 0, lockWait: 0, ioWait: 0, lwlockWait: 0, foreignActive: 0 },
});

// ---------------------------------------------------------------------------------------------
// State shared by the helpers below (one bench process, one cell).
let db: TestDatabase | null = null;
let cell: RunningCell | null = null;
let objectStoreDir: string | null = null;
let rawPool: postgres.Sql<any> | null = null;
let adminPool: postgres.Sql<any> | null = null;
let samplerPool: postgres.Sql<any> | null = null;
let floorServer: http.Server | null = null;
const errors = new Map<string, number>();
const committed = new Map<string, number>();
/** Where the swapped-in cell logger puts the server-side latency of each transition request. */
let serverSink: number[] | null = null;
/** Where the instrumented cell `sql` puts the duration of its prelude and write statements. */
let cellSqlSink: { prelude: number[]; write: number[] } | null = null;
const PRELUDE_RE = /^\s*SELECT\s+\(SELECT json_build_object\('status'/;
const WRITE_RE = /^\s*WITH gate AS/;

/**
 * Wraps the cell's postgres.js `sql` (deps.sql is read at call time by readPrelude/writePlan) so
 * the time from `await` to the result of the prelude and of the write statement is recorded, as
 * the cell sees it. Fragments (the plan's CTEs) are never awaited and so never timed.
 */
function instrumentCellSql(running: RunningCell): void {
  const target = running.deps.sql;
  running.deps.sql = new Proxy(target, {
    apply(t, thisArg, args: unknown[]) {
      const q = Reflect.apply(t as never, thisArg, args) as Promise<unknown>;
      const strings = args[0] as readonly string[] | undefined;
      const sinks = cellSqlSink;
      if (!sinks || !Array.isArray(strings) || typeof strings[0] !== "string") return q;
      const sink = PRELUDE_RE.test(strings[0])
        ? sinks.prelude
        : WRITE_RE.test(strings[0])
          ? sinks.write
          : null;
      if (!sink) return q;
      const then = q.then.bind(q);
      let started = 0;
      // biome-ignore lint/suspicious/noThenProperty: the query's own then, wrapped: the first await starts the clock
      Object.defineProperty(q, "then", {
        configurable: true,
        value: (ok?: (v: unknown) => unknown, ko?: (e: unknown) => unknown) => {
          if (started === 0) {
            started = performance.now();
            then(
              () => sink.push(performance.now() - started),
              () => {},
            );
          }
          return then(ok, ko);
        },
      });
      return q;
    },
  });
}
const serverProblems = new Map<string, number>();
/** Set while the bench sends deliberately invalid requests (the validation microbenchmark). */
let quietProblems = false;

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);

async function internal(method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${cell!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`setup ${method} ${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

async function api(token: string, method: string, path: string, body: unknown, prefix = "bench-setup") {
  const key = uuidv7();
  const res = await fetch(`${cell!.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "idempotency-key": key,
      "x-correlation-id": `${prefix}.${key}`,
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A tenant homed here, WRITABLE at epoch 1, with one investigator. */
async function setupTenant(): Promise<{ tenantId: string; actorId: string; token: string }> {
  const tenantId = uuidv7();
  await internal("PUT", `/internal/v1/tenants/${tenantId}`, {
    name: "Bench Regulator",
    homeRegion: REGION,
    status: "ACTIVE",
    residencyPolicy: "APAC_SHARED",
  });
  await internal("PUT", `/internal/v1/fences/tenant:${tenantId}`, {
    activeRegion: REGION,
    epoch: 1,
    status: "WRITABLE",
    leaseExpiresAt: null,
  });
  const actorId = uuidv7();
  await internal("PUT", `/internal/v1/tenants/${tenantId}/grants/${actorId}/investigator`);
  return { tenantId, actorId, token: await makeToken({ sub: actorId, tid: tenantId }) };
}

/** A case moved INTAKE → TRIAGE → INVESTIGATING over HTTP, ready to flip with UNDER_REVIEW. */
async function setupCase(t: { tenantId: string; token: string }): Promise<CaseState & { sample: unknown }> {
  const base = `/v1/tenants/${t.tenantId}/cases`;
  const created = await api(t.token, "POST", base, {
    category: "market_abuse",
    countryCode: "ID",
    summary: "Suspicious trades before an announcement",
    channel: "web",
  });
  let version = created.version as number;
  let sample: unknown;
  for (const to of ["TRIAGE", "INVESTIGATING"]) {
    sample = await api(t.token, "POST", `${base}/${created.caseId}/transitions`, {
      to,
      expectedVersion: version,
      reason: "bench setup",
    });
    version = (sample as { version: number }).version;
  }
  return { caseId: created.caseId, status: "INVESTIGATING", version, sample };
}

// ---------------------------------------------------------------------------------------------
// The operations.

async function httpTransition(lane: Lane, prefix: string): Promise<void> {
  const key = uuidv7();
  const res = await fetch(`${cell!.url}/v1/tenants/${lane.tenantId}/cases/${lane.kase.caseId}/transitions`, {
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
  if (res.status !== 200) throw new Error(`HTTP ${res.status} ${body.code ?? ""}`);
  lane.kase.status = body.status;
  lane.kase.version = body.version;
}

let floorUrl = "";
let floorBody = "{}";

async function floorCall(lane: Lane): Promise<void> {
  const key = uuidv7();
  const res = await fetch(floorUrl, {
    method: "POST",
    headers: {
      authorization: `Bearer ${lane.token}`,
      "content-type": "application/json",
      "idempotency-key": key,
      "x-correlation-id": `bench-floor.${key}`,
    },
    body: JSON.stringify({
      to: nextStatus(lane.kase.status),
      expectedVersion: lane.kase.version,
      reason: REASON,
    }),
  });
  await res.json();
  if (res.status !== 200) throw new Error(`floor HTTP ${res.status}`);
}

async function startFloorServer(): Promise<void> {
  floorServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(floorBody),
      });
      res.end(floorBody);
    });
  });
  await new Promise<void>((resolve) => floorServer!.listen(0, "127.0.0.1", resolve));
  floorUrl = `http://127.0.0.1:${(floorServer!.address() as AddressInfo).port}/transitions`;
}

async function runOp(variant: Variant, lane: Lane, phases: PhaseTimes): Promise<void> {
  if (variant === "a") return rawTransition(lane.raw, lane.kase, "bench-a", phases);
  if (variant === "b") return httpTransition(lane, "bench-b");
  return floorCall(lane);
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

/** Every lane loops `op` until the deadline; returns ops and elapsed wall time. */
async function loop(
  lanes: Lane[],
  durationMs: number,
  label: string,
  op: (lane: Lane, phases: PhaseTimes) => Promise<void>,
  rec: Rec | null,
  countAs: string | null,
): Promise<{ ops: number; elapsedMs: number }> {
  const start = performance.now();
  const deadline = start + durationMs;
  let ops = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      const phases: PhaseTimes = { prelude: Number.NaN, write: Number.NaN };
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await op(lane, phases);
          const dt = performance.now() - t0;
          ops++;
          if (countAs) bump(committed, countAs);
          if (rec) {
            rec.lat.push(dt);
            if (!Number.isNaN(phases.prelude)) {
              rec.prelude.push(phases.prelude);
              rec.write.push(phases.write);
            }
          }
        } catch (e) {
          bump(errors, `${label}: ${e instanceof Error ? e.message : String(e)}`);
          await resync(lane);
        }
      }
    }),
  );
  return { ops, elapsedMs: performance.now() - start };
}

const COUNT_AS: Record<Variant, string | null> = { a: "bench-a", b: "bench-b", floor: null };

async function measure(variant: Variant, lanes: Lane[], rec: Rec, sampler: ActivitySampler, tag: string) {
  const label = `${tag} ${variant} c=${lanes.length}`;
  const op = (lane: Lane, p: PhaseTimes) => runOp(variant, lane, p);
  await loop(lanes, WARMUP_MS, label, op, null, COUNT_AS[variant]);
  const pids = await benchBackendPids(samplerPool!, db!.name);
  const before = cpuSnapshot(pids);
  sampler.start();
  serverSink = variant === "b" ? rec.server : null;
  cellSqlSink = variant === "b" ? { prelude: rec.cellPrelude, write: rec.cellWrite } : null;
  const elu0 = performance.eventLoopUtilization();
  const r = await loop(lanes, ROUND_MS, label, op, rec, COUNT_AS[variant]);
  const elu = performance.eventLoopUtilization(elu0);
  serverSink = null;
  cellSqlSink = null;
  rec.elu += elu.active;
  const act = await sampler.stop();
  const d = cpuDelta(before, cpuSnapshot(pids));
  rec.ops += r.ops;
  rec.elapsedMs += r.elapsedMs;
  rec.roundThroughput.push((r.ops * 1000) / r.elapsedMs);
  for (const k of Object.keys(d) as (keyof CpuDelta)[]) rec.cpu[k] += d[k];
  for (const k of Object.keys(act) as (keyof Rec["activity"])[]) rec.activity[k] += act[k];
  const s = summarize(rec.lat.slice(-r.ops));
  log(
    `  ${label.padEnd(22)} ${String(r.ops).padStart(6)} ops ${fmt((r.ops * 1000) / r.elapsedMs, 0).padStart(6)} ops/s  p50 ${fmt(s.p50, 3)} ms  p99 ${fmt(s.p99, 3)} ms`,
  );
}

// ---------------------------------------------------------------------------------------------

async function cleanup(): Promise<void> {
  const steps: [string, () => Promise<unknown>][] = [
    ["floor server", async () => floorServer && new Promise((r) => floorServer!.close(() => r(null)))],
    ["cell", async () => cell?.close()],
    ["raw pool", async () => rawPool?.end({ timeout: 5 })],
    ["sampler pool", async () => samplerPool?.end({ timeout: 5 })],
    ["admin pool", async () => adminPool?.end({ timeout: 5 })],
    ["database", async () => db?.drop()],
    ["object store dir", async () => objectStoreDir && rm(objectStoreDir, { recursive: true, force: true })],
  ];
  for (const [name, step] of steps) {
    try {
      await Promise.race([
        step(),
        new Promise((_, rej) => setTimeout(() => rej(new Error("timeout")), 10_000)),
      ]);
    } catch (e) {
      log(`cleanup: ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** Share of the whole machine's CPU used by neither this process nor the bench's postgres. */
function otherPct(d: CpuDelta): number {
  if (!d.machineTotalJiffies) return Number.NaN;
  const busy = (d.machineBusyJiffies * 1e6) / CLK_TCK;
  const total = (d.machineTotalJiffies * 1e6) / CLK_TCK;
  return (100 * (busy - d.nodeMicros - d.pgMicros)) / total;
}

const addCpu = (rec: Rec, d: CpuDelta) => {
  for (const k of Object.keys(d) as (keyof CpuDelta)[]) rec.cpu[k] += d[k];
};

function microbench(iterations: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(200, iterations); i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return ((performance.now() - t0) * 1000) / iterations;
}

async function microbenchAsync(iterations: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return ((performance.now() - t0) * 1000) / iterations;
}

async function main(): Promise<number> {
  const began = performance.now();
  log("bench: creating database and starting the cell…");
  db = await createTestDatabase("cell", "bench");
  objectStoreDir = await mkdtemp(join(tmpdir(), "hr-bench-objects-"));
  const env = cellEnvSchema.parse({
    REGION,
    PORT: 0,
    DATABASE_URL: db.url,
    INTERNAL_TOKEN,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    OBJECT_STORE_DIR: objectStoreDir,
    LOG_LEVEL: "silent",
  });
  cell = await startCell(env);
  // Instrumentation without touching src: the request-log hook gets each request's server-side
  // latency (Hono middleware span); LOG_LEVEL stays silent, nothing is printed.
  cell.deps.log = {
    request(line) {
      if (line.status >= 400 && !quietProblems)
        bump(serverProblems, `${line.status} ${line.code ?? ""} ${line.route}`);
      if (serverSink && line.method === "POST") serverSink.push(line.latencyMs);
    },
    error(msg, fields) {
      bump(serverProblems, `500 ${msg} ${JSON.stringify(fields)}`);
    },
    info() {},
  };
  instrumentCellSql(cell);
  rawPool = rawSql(db.url, env.DB_POOL_MAX); // same pool size as the cell
  adminPool = rawSql(db.url, 2);
  samplerPool = rawSql(db.url, 1);
  const machine = await machineInfo(adminPool);
  await startFloorServer();

  await internal("PUT", `/internal/v1/fences/region:${REGION}`, {
    activeRegion: REGION,
    epoch: 1,
    status: "WRITABLE",
  });
  const main = await setupTenant();
  const lanes: Lane[] = [];
  for (let i = 0; i < MAX_C; i++) {
    const { sample, ...kase } = await setupCase(main);
    if (i === 0) floorBody = JSON.stringify(sample);
    lanes.push({
      ...main,
      kase,
      raw: { sql: rawPool, region: REGION, tenantId: main.tenantId, actorId: main.actorId },
    });
  }
  log(`bench: ${lanes.length} cases in one tenant ready (${fmt((performance.now() - began) / 1000, 1)} s)`);

  const sampler = new ActivitySampler(samplerPool, db.name);
  const recs = new Map<string, Rec>();
  const recOf = (v: Variant, c: number) => {
    const k = `${v}/${c}`;
    if (!recs.has(k)) recs.set(k, newRec());
    return recs.get(k)!;
  };

  // ---- main interleaved rounds ----
  for (let round = 0; round < ROUNDS; round++) {
    log(`bench: round ${round + 1}/${ROUNDS}`);
    for (const c of CONCURRENCY) {
      const order: Variant[] = round % 2 === 0 ? ["a", "b", "floor"] : ["floor", "b", "a"];
      for (const v of order) await measure(v, lanes.slice(0, c), recOf(v, c), sampler, `r${round + 1}`);
    }
  }

  // ---- diagnostics: where does b's extra time go? ----
  log("bench: diagnostics");
  const app = createApp(cell.deps); // the same app, called without a socket
  const appRec = new Map<number, { lat: number[]; ops: number; elapsedMs: number; nodeCpu: number }>();
  for (const c of [1, 32]) {
    const appOp = async (lane: Lane) => {
      const key = uuidv7();
      const res = await app.fetch(
        new Request(`${cell!.url}/v1/tenants/${lane.tenantId}/cases/${lane.kase.caseId}/transitions`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${lane.token}`,
            "content-type": "application/json",
            "idempotency-key": key,
            "x-correlation-id": `bench-app.${key}`,
          },
          body: JSON.stringify({
            to: nextStatus(lane.kase.status),
            expectedVersion: lane.kase.version,
            reason: REASON,
          }),
        }),
      );
      const body = (await res.json()) as { status: CaseState["status"]; version: number; code?: string };
      if (res.status !== 200) throw new Error(`app.fetch ${res.status} ${body.code ?? ""}`);
      lane.kase.status = body.status;
      lane.kase.version = body.version;
    };
    const rec = newRec();
    await loop(lanes.slice(0, c), WARMUP_MS, `diag app.fetch c=${c}`, appOp, null, "bench-app");
    const pids = await benchBackendPids(samplerPool, db.name);
    const cpu0 = cpuSnapshot(pids);
    const r = await loop(lanes.slice(0, c), DIAG_MS, `diag app.fetch c=${c}`, appOp, rec, "bench-app");
    const d = cpuDelta(cpu0, cpuSnapshot(pids));
    appRec.set(c, { lat: rec.lat, ops: r.ops, elapsedMs: r.elapsedMs, nodeCpu: d.nodeMicros / r.ops });
    log(`  app.fetch c=${c}: ${r.ops} ops`);
  }
  const healthLat: number[] = [];
  {
    const healthUrl = `${cell.url}/healthz`;
    const hop = async () => {
      const res = await fetch(healthUrl);
      await res.json();
    };
    const rec = newRec();
    await loop(lanes.slice(0, 1), WARMUP_MS, "diag healthz", hop, null, null);
    await loop(lanes.slice(0, 1), DIAG_MS, "diag healthz", hop, rec, null);
    healthLat.push(...rec.lat);
  }
  const jwtMicros = await microbenchAsync(3000, () =>
    authenticate(`Bearer ${lanes[0]!.token}`, cell!.deps.jwtKey),
  );
  const appHealthMicros = await microbenchAsync(2000, async () => {
    const r = await app.fetch(new Request(`${cell!.url}/healthz`));
    await r.json();
  });
  const rejectUrl = `${cell.url}/v1/tenants/${main.tenantId}/cases/${lanes[0]!.kase.caseId}/transitions`;
  const rejectBody = JSON.stringify({ to: "NOT_A_STATUS", expectedVersion: 1, reason: REASON });
  quietProblems = true;
  const appRejectMicros = await microbenchAsync(2000, async () => {
    const r = await app.fetch(
      new Request(rejectUrl, {
        method: "POST",
        headers: {
          authorization: `Bearer ${main.token}`,
          "content-type": "application/json",
          "idempotency-key": uuidv7(),
        },
        body: rejectBody,
      }),
    );
    await r.json();
    if (r.status !== 400) throw new Error(`expected 400, got ${r.status}`);
  });
  // The cell's HTTP path without the database: a POST that passes JWT, body limit and body read,
  // then fails zod (400), over loopback — compare with the bare node:http floor.
  const rejectHttpLat: number[] = [];
  {
    const rop = async () => {
      const res = await fetch(rejectUrl, {
        method: "POST",
        headers: {
          authorization: `Bearer ${main.token}`,
          "content-type": "application/json",
          "idempotency-key": uuidv7(),
        },
        body: rejectBody,
      });
      await res.json();
      if (res.status !== 400) throw new Error(`expected 400, got ${res.status}`);
    };
    const rec = newRec();
    await loop(lanes.slice(0, 1), WARMUP_MS, "diag reject over HTTP", rop, null, null);
    await loop(lanes.slice(0, 1), DIAG_MS / 2, "diag reject over HTTP", rop, rec, null);
    rejectHttpLat.push(...rec.lat);
  }
  quietProblems = false;
  const sampleBody = { to: "UNDER_REVIEW", expectedVersion: 7, reason: REASON };
  const zodHashMicros = microbench(20_000, () => {
    const body = transitionBody.parse(sampleBody);
    return requestHash("case.transition", main.actorId, { caseId: lanes[0]!.kase.caseId, ...body });
  });

  // ---- diagnostic: the HTTP client in a worker thread (the cell's event loop serves only) ----
  log("bench: worker-thread client diagnostic");
  const wk = new Map<string, Rec>();
  const wkOf = (v: string, c: number) => {
    const k = `${v}/${c}`;
    if (!wk.has(k)) wk.set(k, newRec());
    return wk.get(k)!;
  };
  for (const [c, order] of [
    [1, ["bw", "a"]],
    [32, ["a", "bw", "bw", "a"]],
  ] as const) {
    const ls = lanes.slice(0, c);
    for (const v of order) {
      const rec = wkOf(v, c);
      if (v === "a") {
        const op = (lane: Lane, ph: PhaseTimes) => rawTransition(lane.raw, lane.kase, "bench-a", ph);
        await loop(ls, WARMUP_MS, `diag worker a c=${c}`, op, null, "bench-a");
        const pids = await benchBackendPids(samplerPool, db.name);
        const cpu0 = cpuSnapshot(pids);
        const elu0 = performance.eventLoopUtilization();
        const r = await loop(ls, DIAG_MS, `diag worker a c=${c}`, op, rec, "bench-a");
        rec.elu += performance.eventLoopUtilization(elu0).active;
        addCpu(rec, cpuDelta(cpu0, cpuSnapshot(pids)));
        rec.ops += r.ops;
        rec.elapsedMs += r.elapsedMs;
        continue;
      }
      let elu0 = performance.eventLoopUtilization();
      const pids = await benchBackendPids(samplerPool, db.name);
      let cpu0 = cpuSnapshot(pids);
      const server: number[] = [];
      const res = await runWorkerClient(
        {
          baseUrl: cell.url,
          lanes: ls.map((l) => ({
            path: `/v1/tenants/${l.tenantId}/cases/${l.kase.caseId}/transitions`,
            token: l.token,
            status: l.kase.status,
            version: l.kase.version,
          })),
          durationMs: DIAG_MS,
          warmupMs: WARMUP_MS,
          reason: REASON,
          prefix: "bench-bw",
        },
        () => {
          cpu0 = cpuSnapshot(pids);
          elu0 = performance.eventLoopUtilization();
          serverSink = server;
          cellSqlSink = { prelude: rec.cellPrelude, write: rec.cellWrite };
        },
      );
      rec.elu += performance.eventLoopUtilization(elu0).active;
      addCpu(rec, cpuDelta(cpu0, cpuSnapshot(pids)));
      serverSink = null;
      cellSqlSink = null;
      rec.server.push(...server);
      rec.lat.push(...res.lat);
      rec.ops += res.ops;
      rec.elapsedMs += res.elapsedMs;
      bump(committed, "bench-bw", res.committed);
      for (const [k, n] of Object.entries(res.errors)) bump(errors, k, n);
      for (const [i, l] of res.lanes.entries()) {
        ls[i]!.kase.status = l.status;
        ls[i]!.kase.version = l.version;
      }
      if (Object.keys(res.errors).length) for (const l of ls) await resync(l);
    }
    log(`  worker client c=${c}: a ${wkOf("a", c).ops} ops, b ${wkOf("bw", c).ops} ops`);
  }

  // ---- diagnostic: one tenant per worker at c=32 (is the per-tenant audit chain head the cap?) ----
  log("bench: multi-tenant diagnostic (32 tenants, one case each)");
  const mtLanes: Lane[] = [];
  for (let i = 0; i < MAX_C; i++) {
    const t = await setupTenant();
    const { sample: _s, ...kase } = await setupCase(t);
    mtLanes.push({
      ...t,
      kase,
      raw: { sql: rawPool, region: REGION, tenantId: t.tenantId, actorId: t.actorId },
    });
  }
  const mt = new Map<string, Rec>();
  for (const v of ["a", "b", "b", "a"] as const) {
    const prefix = v === "a" ? "bench-amt" : "bench-bmt";
    const op = (lane: Lane, p: PhaseTimes) =>
      v === "a" ? rawTransition(lane.raw, lane.kase, prefix, p) : httpTransition(lane, prefix);
    const rec = mt.get(v) ?? newRec();
    mt.set(v, rec);
    await loop(mtLanes, WARMUP_MS, `diag mt ${v}`, op, null, prefix);
    const pids = await benchBackendPids(samplerPool, db.name);
    const cpu0 = cpuSnapshot(pids);
    sampler.start();
    const elu0 = performance.eventLoopUtilization();
    const r = await loop(mtLanes, DIAG_MS, `diag mt ${v}`, op, rec, prefix);
    rec.elu += performance.eventLoopUtilization(elu0).active;
    const act = await sampler.stop();
    const d = cpuDelta(cpu0, cpuSnapshot(pids));
    rec.ops += r.ops;
    rec.elapsedMs += r.elapsedMs;
    addCpu(rec, d);
    for (const k of Object.keys(act) as (keyof Rec["activity"])[]) rec.activity[k] += act[k];
    log(`  multi-tenant ${v} c=32: ${r.ops} ops ${fmt((r.ops * 1000) / r.elapsedMs, 0)} ops/s`);
  }

  // ---- verification ----
  log("bench: verifying audit/outbox/command_log rows");
  const verify: (string | number)[][] = [];
  let verified = true;
  for (const [prefix, n] of [...committed.entries()].sort()) {
    const like = `${prefix}.%`;
    const [row] = await adminPool<
      { audit: number; audit_cmds: number; outbox: number; outbox_cmds: number; cmdlog: number }[]
    >`
      SELECT
        (SELECT count(*)::int FROM global_audit_event WHERE correlation_id LIKE ${like}) AS audit,
        (SELECT count(DISTINCT command_id)::int FROM global_audit_event WHERE correlation_id LIKE ${like}) AS audit_cmds,
        (SELECT count(*)::int FROM outbox_event WHERE envelope->>'correlationId' LIKE ${like}) AS outbox,
        (SELECT count(DISTINCT envelope->>'commandId')::int FROM outbox_event
           WHERE envelope->>'correlationId' LIKE ${like}) AS outbox_cmds,
        (SELECT count(*)::int FROM command_log cl WHERE cl.command_id IN
           (SELECT command_id FROM global_audit_event WHERE correlation_id LIKE ${like})) AS cmdlog`;
    const ok =
      row!.audit === n &&
      row!.audit_cmds === n &&
      row!.outbox === n &&
      row!.outbox_cmds === n &&
      row!.cmdlog === n;
    verified &&= ok;
    verify.push([
      prefix,
      n,
      row!.audit,
      row!.audit_cmds,
      row!.outbox,
      row!.outbox_cmds,
      row!.cmdlog,
      ok ? "ok" : "MISMATCH",
    ]);
  }
  let versionsOk = true;
  for (const lane of [...lanes, ...mtLanes]) {
    const [r] = await adminPool<{ version: number; status: string }[]>`
      SELECT version::int AS version, status FROM regulatory_case
      WHERE tenant_id = ${lane.tenantId} AND case_id = ${lane.kase.caseId}`;
    if (r?.version !== lane.kase.version || r.status !== lane.kase.status) versionsOk = false;
  }
  const chain = await verifyAuditChain(adminPool as never, main.tenantId);
  verified &&= versionsOk && chain.ok;

  // ---- report ----
  const sum = (v: Variant, c: number) => {
    const r = recOf(v, c);
    return { r, s: summarize(r.lat), thr: (r.ops * 1000) / r.elapsedMs };
  };
  const out: string[] = [];
  const p = (s = "") => out.push(s);
  p(`# homeroute bench — ${new Date().toISOString()}`);
  p();
  p(`machine: ${machine.cpuModel}, ${machine.cores} cores, kernel ${release()}; node ${machine.node}`);
  p(`postgres: ${machine.postgres}`);
  p(
    `postgres settings: ${Object.entries(machine.pgSettings)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
  );
  p(`loadavg at start: ${machine.loadavg}`);
  p(
    `config: ${ROUNDS} rounds × ${ROUND_MS} ms per (variant, concurrency), ${WARMUP_MS} ms warm-up each, ` +
      `interleaved; cell DB_POOL_MAX=${env.DB_POOL_MAX}, raw pool max=${env.DB_POOL_MAX}; one tenant, ` +
      `each worker owns one case (INVESTIGATING ↔ UNDER_REVIEW)`,
  );
  p();
  p("## Throughput and latency (client-side, all rounds pooled)");
  p();
  const rows: (string | number)[][] = [];
  for (const c of CONCURRENCY) {
    for (const v of ["a", "b", "floor"] as Variant[]) {
      const { r, s, thr } = sum(v, c);
      rows.push([
        VARIANT_LABEL[v],
        c,
        r.ops,
        fmt(thr, 0),
        r.roundThroughput.map((x) => fmt(x, 0)).join(" / "),
        fmt(s.p50, 3),
        fmt(s.p95, 3),
        fmt(s.p99, 3),
      ]);
    }
  }
  p(table(["variant", "c", "ops", "ops/s", "ops/s per round", "p50 ms", "p95 ms", "p99 ms"], rows));
  p();
  p("## b vs a (aims: throughput b ≥ 0.8× a at c=32; p50 b ≤ a + 0.5 ms)");
  p();
  const ratioRows: (string | number)[][] = [];
  const aims: string[] = [];
  for (const c of CONCURRENCY) {
    const a = sum("a", c);
    const b = sum("b", c);
    const f = sum("floor", c);
    const ratio = b.thr / a.thr;
    const d50 = b.s.p50 - a.s.p50;
    ratioRows.push([
      c,
      fmt(ratio, 3),
      fmt(d50, 3),
      fmt(b.s.p99 - a.s.p99, 3),
      fmt(f.s.p50, 3),
      fmt(d50 - f.s.p50, 3),
    ]);
    if (c === 32)
      aims.push(`throughput b/a at c=32 = ${fmt(ratio, 3)} (aim ≥ 0.8): ${ratio >= 0.8 ? "MET" : "MISSED"}`);
    aims.push(`p50 b − a at c=${c} = ${fmt(d50, 3)} ms (aim ≤ 0.5 ms): ${d50 <= 0.5 ? "MET" : "MISSED"}`);
  }
  p(table(["c", "ops/s b/a", "p50 b−a ms", "p99 b−a ms", "floor p50 ms", "(b−a) − floor p50 ms"], ratioRows));
  p();
  for (const a of aims) p(`- ${a}`);
  p();
  p("## CPU and database activity per (variant, c)");
  p();
  const cpuRows: (string | number)[][] = [];
  for (const c of CONCURRENCY) {
    for (const v of ["a", "b", "floor"] as Variant[]) {
      const r = recOf(v, c);
      const busy = r.cpu.machineTotalJiffies
        ? (100 * r.cpu.machineBusyJiffies) / r.cpu.machineTotalJiffies
        : Number.NaN;
      const n = r.activity.samples || Number.NaN;
      const otherCpu = otherPct(r.cpu);
      cpuRows.push([
        VARIANT_LABEL[v],
        c,
        fmt(r.cpu.nodeMicros / r.ops, 0),
        fmt(r.cpu.pgMicros / r.ops, 0),
        fmt((100 * r.cpu.nodeMicros) / (r.elapsedMs * 1000), 0),
        fmt((100 * r.elu) / r.elapsedMs, 0),
        fmt(busy, 0),
        fmt(otherCpu, 0),
        fmt(r.activity.active / n, 1),
        fmt(r.activity.lockWait / n, 1),
        fmt(r.activity.ioWait / n, 1),
        fmt(r.activity.lwlockWait / n, 1),
        fmt(r.activity.foreignActive / n, 1),
      ]);
    }
  }
  p(
    table(
      [
        "variant",
        "c",
        "node CPU µs/op",
        "pg CPU µs/op",
        "node CPU % (all threads)",
        "event loop busy %",
        "machine busy %",
        "other processes % of machine",
        "active backends",
        "Lock-waiting",
        "IO-waiting",
        "LWLock-waiting",
        "other DBs active",
      ],
      cpuRows,
    ),
  );
  p();
  p("## Phases of one command at c=1 (p50, ms; measured, same run)");
  p();
  const a1 = recOf("a", 1);
  const b1 = recOf("b", 1);
  const phaseRows: (string | number)[][] = [];
  const s = (x: LatencySummary) => [fmt(x.p50, 3), fmt(x.p95, 3)];
  phaseRows.push(["a: prelude read query (round trip 1)", ...s(summarize(a1.prelude))]);
  phaseRows.push(["a: write statement (round trip 2, incl. commit/fsync)", ...s(summarize(a1.write))]);
  phaseRows.push(["a: whole command", ...s(summarize(a1.lat))]);
  phaseRows.push(["b: in-cell prelude query (awaited by readPrelude)", ...s(summarize(b1.cellPrelude))]);
  phaseRows.push(["b: in-cell write statement (awaited by writePlan)", ...s(summarize(b1.cellWrite))]);
  phaseRows.push(["b: server-side (Hono middleware span, from request log)", ...s(summarize(b1.server))]);
  const jsInHandler = summarize(b1.server).p50 - summarize(b1.cellPrelude).p50 - summarize(b1.cellWrite).p50;
  phaseRows.push([
    "b: handler work outside the 2 queries (span − prelude − write, medians)",
    fmt(jsInHandler, 3),
    "",
  ]);
  phaseRows.push([
    "b: outside the handler (client p50 − span p50: sockets, node:http, adapter, fetch client)",
    fmt(summarize(b1.lat).p50 - summarize(b1.server).p50, 3),
    "",
  ]);
  phaseRows.push(["b: in-process app.fetch(Request), no socket", ...s(summarize(appRec.get(1)!.lat))]);
  phaseRows.push(["b: whole request over loopback (client)", ...s(summarize(b1.lat))]);
  phaseRows.push(["floor: bare node:http POST over loopback", ...s(summarize(recOf("floor", 1).lat))]);
  phaseRows.push([
    "cell GET /healthz over loopback (Hono + node-server, no auth/DB)",
    ...s(summarize(healthLat)),
  ]);
  phaseRows.push([
    "cell POST rejected by zod over loopback (HTTP + Hono + JWT + body limit + body read, no DB)",
    ...s(summarize(rejectHttpLat)),
  ]);
  phaseRows.push(["JWT verify: authenticate() (jose HS256), mean", fmt(jwtMicros / 1000, 3), ""]);
  phaseRows.push(["zod transitionBody.parse + requestHash, mean", fmt(zodHashMicros / 1000, 3), ""]);
  phaseRows.push([
    "in-process app.fetch GET /healthz (Hono, middleware, Request/Response), mean",
    fmt(appHealthMicros / 1000, 3),
    "",
  ]);
  phaseRows.push([
    "in-process app.fetch POST rejected by zod (JWT + bodyLimit + body read + zod + problem), mean",
    fmt(appRejectMicros / 1000, 3),
    "",
  ]);
  p(table(["phase", "p50 ms", "p95 ms"], phaseRows));
  p();
  for (const c of [8, 32]) {
    const a = recOf("a", c);
    const b = recOf("b", c);
    p(
      `c=${c} p50: a prelude ${fmt(summarize(a.prelude).p50, 3)} / write ${fmt(summarize(a.write).p50, 3)} ms; ` +
        `b in-cell prelude ${fmt(summarize(b.cellPrelude).p50, 3)} / write ${fmt(summarize(b.cellWrite).p50, 3)} ms, ` +
        `server span ${fmt(summarize(b.server).p50, 3)} ms, client ${fmt(summarize(b.lat).p50, 3)} ms`,
    );
  }
  p();
  const app32 = appRec.get(32)!;
  p(
    `in-process app.fetch at c=32: ${fmt((app32.ops * 1000) / app32.elapsedMs, 0)} ops/s, ` +
      `p50 ${fmt(summarize(app32.lat).p50, 3)} ms, node CPU ${fmt(app32.nodeCpu, 0)} µs/op ` +
      `(b over HTTP at c=32: ${fmt(sum("b", 32).thr, 0)} ops/s, a: ${fmt(sum("a", 32).thr, 0)} ops/s)`,
  );
  p();
  p("## Diagnostic: HTTP client in a worker thread (cell event loop serves only; interleaved with a)");
  p();
  const wkRows: (string | number)[][] = [];
  for (const c of [1, 32]) {
    for (const v of ["a", "bw"]) {
      const r = wkOf(v, c);
      const ls = summarize(r.lat);
      wkRows.push([
        v === "a" ? VARIANT_LABEL.a : "b HTTP cell, client in worker",
        c,
        r.ops,
        fmt((r.ops * 1000) / r.elapsedMs, 0),
        fmt(ls.p50, 3),
        fmt(ls.p99, 3),
        v === "a" ? "" : fmt(summarize(r.server).p50, 3),
        fmt((100 * r.elu) / r.elapsedMs, 0),
        fmt(r.cpu.nodeMicros / r.ops, 0),
        fmt(otherPct(r.cpu), 0),
      ]);
    }
    const a = wkOf("a", c);
    const b = wkOf("bw", c);
    wkRows.push([
      "ratio b/a",
      c,
      "",
      fmt(b.ops / b.elapsedMs / (a.ops / a.elapsedMs), 3),
      `Δ ${fmt(summarize(b.lat).p50 - summarize(a.lat).p50, 3)}`,
      "",
      "",
      "",
      "",
      "",
    ]);
  }
  p(
    table(
      [
        "variant",
        "c",
        "ops",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "server span p50 ms",
        "main event loop busy %",
        "node CPU µs/op (all threads)",
        "other processes %",
      ],
      wkRows,
    ),
  );
  p();
  p("## Diagnostic: one tenant per worker at c=32 (2 rounds each, interleaved a b b a)");
  p();
  const mtRows: (string | number)[][] = [];
  for (const v of ["a", "b"] as const) {
    const m = mt.get(v)!;
    const single = sum(v, 32);
    const ms = summarize(m.lat);
    mtRows.push([
      VARIANT_LABEL[v],
      m.ops,
      fmt((m.ops * 1000) / m.elapsedMs, 0),
      fmt(single.thr, 0),
      fmt(ms.p50, 3),
      fmt(single.s.p50, 3),
      fmt(m.activity.lockWait / (m.activity.samples || Number.NaN), 1),
      fmt(single.r.activity.lockWait / (single.r.activity.samples || Number.NaN), 1),
      fmt(m.cpu.nodeMicros / m.ops, 0),
      fmt((100 * m.elu) / m.elapsedMs, 0),
      fmt(otherPct(m.cpu), 0),
    ]);
  }
  p(
    table(
      [
        "variant",
        "ops",
        "ops/s 32 tenants",
        "ops/s 1 tenant",
        "p50 ms 32 tenants",
        "p50 ms 1 tenant",
        "Lock-waiting 32 t.",
        "Lock-waiting 1 t.",
        "node CPU µs/op 32 t.",
        "event loop busy % 32 t.",
        "other processes % 32 t.",
      ],
      mtRows,
    ),
  );
  p(
    `multi-tenant b/a throughput: ${fmt(mt.get("b")!.ops / mt.get("b")!.elapsedMs / (mt.get("a")!.ops / mt.get("a")!.elapsedMs), 3)}`,
  );
  p();
  p("## Verification");
  p();
  p(
    table(
      [
        "correlation prefix",
        "commands ok",
        "audit rows",
        "audit cmd ids",
        "outbox rows",
        "outbox cmd ids",
        "command_log rows",
        "check",
      ],
      verify,
    ),
  );
  p();
  p(`case versions in the database match the client's tracking: ${versionsOk ? "yes" : "NO"}`);
  p(
    `audit hash chain of the main tenant: ${chain.ok ? `valid (${chain.checked} events)` : `BROKEN ${JSON.stringify(chain.firstBrokenAt)}`}`,
  );
  const totalErrors = [...errors.values()].reduce((x, y) => x + y, 0);
  p(`failed requests: ${totalErrors}`);
  for (const [k, n] of errors) p(`  ${n} × ${k}`);
  if (serverProblems.size) {
    p("server-side 4xx/5xx seen by the request log:");
    for (const [k, n] of serverProblems) p(`  ${n} × ${k}`);
  }
  p();
  p(`total wall time: ${fmt((performance.now() - began) / 1000, 1)} s`);
  process.stdout.write(`${out.join("\n")}\n`);
  return verified && totalErrors === 0 ? 0 : 1;
}

const watchdog = setTimeout(() => {
  log(`bench: watchdog: still running after ${WATCHDOG_MS / 1000} s, giving up`);
  void cleanup().finally(() => process.exit(3));
}, WATCHDOG_MS);

let code = 1;
try {
  code = await main();
} catch (e) {
  log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  code = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(code);
