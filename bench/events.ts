import { type ChildProcess, fork } from "node:child_process";
import { release } from "node:os";
import { fileURLToPath } from "node:url";
import { domainEvent } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { projectorEnvSchema } from "@homeroute/projector";
import { relayEnvSchema } from "@homeroute/relay";
import { createTestDatabase, startTestNats, type TestDatabase, type TestNats } from "@homeroute/testkit";
import type postgres from "postgres";
import { hashAccessCode } from "../apps/cell/src/cases/access-code.js";
import {
  type ApplyStats,
  newApplyStats,
  type ParentMessage,
  type ServiceMessage,
  startInstrumented,
} from "./event-service.js";
import { rawSql } from "./raw-command.js";
import {
  allTicks,
  descendantPids,
  INTERNAL_TOKEN,
  othersBetween,
  type PlacedTenant,
  placeTenantViaEdge,
  postgresBackgroundPids,
  type Stack,
  startStack,
} from "./stack.js";
import { benchBackendPids, CLK_TCK, fmt, machineInfo, machineJiffies, summarize, table } from "./stats.js";

// Benchmark of the event path (issue: "a committed change is visible at the edge within
// ~50 ms p50 / 250 ms p99; the relay drains a backlog at ≥ 5,000 events/s").
// A real cell + catalog + the edge Worker in workerd (Miniflare) + outbox relay + projector on a
// nats-server of our own, wired as test/support/event-pipeline.ts wires them.
// 1. Steady load: ~200 creates/s for ~20 s; for each, poll the edge's public status route with
//    the access code until 200, and record commit-ack → visible.
// 2. Drain: relay stopped, a 50,000-event backlog inserted into the outbox (envelopes copied from
//    a real case.created, fresh ids), relay started: events/s until the backlog is 0, and how long
//    the projector takes to apply them (and the edge to show the last one).
// Polling every create every 10 ms would itself be ~800 requests/s on this 2-core machine (each
// costs ~0.4-0.7 ms of client CPU and ~0.6-1 ms of workerd CPU), so one create in POLL_EVERY is
// watched; every create is also timed through the pipeline's own stamps (outbox, projection, push).
// Usage: pnpm bench:events   (env: BENCH_RATE=200 BENCH_DURATION_MS=20000 BENCH_POLL_MS=10
//        BENCH_POLL_EVERY=4 BENCH_BACKLOG=50000 BENCH_VIA=cell|edge BENCH_SERVICES=process|inline)

const RATE = Number(process.env.BENCH_RATE ?? 200);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 20_000);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 10);
/** Poll the edge for one create in this many (all are timed through the pipeline's own stamps). */
const POLL_EVERY = Number(process.env.BENCH_POLL_EVERY ?? 4);
/** After the main run, shorter runs at these rates: the pipeline's latency when it is not saturated. */
const DIAG_RATES = (process.env.BENCH_DIAG_RATES ?? "50,100").split(",").filter(Boolean).map(Number);
const DIAG_DURATION_MS = Number(process.env.BENCH_DIAG_DURATION_MS ?? 10_000);
const VISIBLE_TIMEOUT_MS = 15_000;
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 50_000);
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_DRAIN_TIMEOUT_MS ?? 240_000);
const VIA = (process.env.BENCH_VIA ?? "cell") as "cell" | "edge";
/** `process`: relay and projector each in a child process of their own (as deployed); `inline`: in this one. */
const MODE = (process.env.BENCH_SERVICES ?? "process") as "process" | "inline";
const WATCHDOG_MS = 600_000;
const ACCESS_CODE = "BNCH-BNCH-BNCH";
// As test/support/event-pipeline.ts (the services' own defaults: POLL_MS 500, HEARTBEAT_MS 1000,
// PUSH_INTERVAL_MS 50).
const RELAY_POLL_MS = "200";
const RELAY_HEARTBEAT_MS = "500";
const PUSH_INTERVAL_MS = "30";

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wall-clock ms with sub-ms resolution (comparable with the database's timestamps). */
const wall = () => performance.timeOrigin + performance.now();

let stack: Stack | null = null;
let nats: TestNats | null = null;
let relay: Service | null = null;
let projector: Service | null = null;
let projectorDb: TestDatabase | null = null;
let cellSql: postgres.Sql<any> | null = null;
let projSql: postgres.Sql<any> | null = null;
const errors = new Map<string, number>();
const bump = (k: string) => errors.set(k, (errors.get(k) ?? 0) + 1);

async function cleanup(): Promise<void> {
  await projector?.stop().catch(() => {});
  projector = null;
  await relay?.stop().catch(() => {});
  relay = null;
  await nats?.destroy().catch(() => {});
  nats = null;
  await cellSql?.end({ timeout: 5 }).catch(() => {});
  await projSql?.end({ timeout: 5 }).catch(() => {});
  cellSql = projSql = null;
  await projectorDb?.drop().catch(() => {});
  projectorDb = null;
  await stack?.close().catch(() => {});
  stack = null;
}

interface Sample {
  caseId: string;
  caseNumber: string;
  scheduledAt: number;
  sentAt: number;
  ackAt: number;
  /** Completion of the first poll that answered 200 (upper bound of visibility). */
  visibleAt: number;
  /** Send time of the last poll that still answered 404 (lower bound), or the ack. */
  lastMissAt: number;
  polls: number;
}

const pollLat: number[] = [];

async function publicStatus(tenantId: string, caseNumber: string, code: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${stack!.edge.url}/v1/public/tenants/${tenantId}/cases/${caseNumber}/status`, {
    headers: { "x-access-code": code },
  });
  await res.arrayBuffer();
  pollLat.push(performance.now() - t0);
  return res.status;
}

async function createAndWatch(t: PlacedTenant, scheduledAt: number, watch = true): Promise<Sample | null> {
  const base = VIA === "edge" ? stack!.edge.url : stack!.cell.url;
  const key = uuidv7();
  const sentAt = wall();
  let created: { caseId: string; caseNumber: string; accessCode: string };
  try {
    const res = await fetch(`${base}/v1/tenants/${t.tenantId}/cases`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.token}`,
        "content-type": "application/json",
        "idempotency-key": key,
        "x-correlation-id": `bench-ev.${key}`,
      },
      body: JSON.stringify({
        category: "consumer_protection",
        countryCode: "ID",
        summary: "Mis-sold insurance",
        channel: "web",
      }),
    });
    created = (await res.json()) as typeof created;
    if (res.status !== 201) throw new Error(`create ${res.status} ${JSON.stringify(created).slice(0, 80)}`);
  } catch (e) {
    bump(`create: ${(e as Error).message}`);
    return null;
  }
  const ackAt = wall();
  if (!watch) {
    const nan = Number.NaN;
    return { ...created, scheduledAt, sentAt, ackAt, visibleAt: nan, lastMissAt: nan, polls: nan };
  }
  let lastMissAt = ackAt;
  let polls = 0;
  for (;;) {
    const sent = wall();
    polls++;
    const status = await publicStatus(t.tenantId, created.caseNumber, created.accessCode);
    if (status === 200) {
      return {
        caseId: created.caseId,
        caseNumber: created.caseNumber,
        scheduledAt,
        sentAt,
        ackAt,
        visibleAt: wall(),
        lastMissAt,
        polls,
      };
    }
    if (status !== 404) bump(`poll: HTTP ${status}`);
    lastMissAt = sent;
    if (wall() - ackAt > VISIBLE_TIMEOUT_MS) {
      bump("never visible within 15 s");
      return null;
    }
    // Every POLL_MS while an answer could still meet the aims; slower after that, so a pipeline
    // that is far behind is not also flooded by its observer.
    const since = wall() - ackAt;
    await sleep(since < 300 ? POLL_MS : since < 1000 ? 25 : 100);
  }
}

function relayEnv(): Record<string, string> {
  return {
    REGION: stack!.region,
    DATABASE_URL: stack!.cellDb.url,
    NATS_URL: nats!.url,
    SUBJECT_ROOT: root,
    POLL_MS: RELAY_POLL_MS,
    HEARTBEAT_MS: RELAY_HEARTBEAT_MS,
    LOG_LEVEL: "silent",
  };
}
const root = `b${Math.floor(Math.random() * 1e9).toString(36)}`;

/** Backends of this bench's three databases (cell, catalog, projector). */
async function ourPgPids(): Promise<Set<number>> {
  const out = new Set<number>();
  for (const name of [stack!.cellDb.name, stack!.catalogDb.name, projectorDb!.name])
    for (const pid of await benchBackendPids(cellSql!, name)) out.add(pid);
  return out;
}

interface CpuWindow {
  node: number;
  relay: number;
  projector: number;
  edge: number;
  nats: number;
  pg: number;
  machine: number;
  others: number;
  othersTop: string;
  elu: number;
}

/**
 * CPU shares (% of one core) over a window. Postgres = this bench's databases' backends (also
 * those opened during the window) + postgres' background processes; `others` = every other
 * process on the machine, measured per process (with the top three).
 */
async function cpuWindow(
  edgePids: Set<number>,
  natsPids: Set<number>,
  relayPid: number | null | undefined,
  projPid: number | null | undefined,
) {
  const pg0 = await ourPgPids();
  const bg = postgresBackgroundPids();
  const all0 = allTicks();
  const j0 = machineJiffies();
  const c0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  return async (): Promise<CpuWindow> => {
    const pg1 = await ourPgPids();
    const all1 = allTicks();
    const us = (performance.now() - t0) * 1000;
    const c = process.cpuUsage(c0);
    const j = machineJiffies();
    const pct = (micros: number) => (100 * micros) / us;
    const delta = (pids: Iterable<number>) => {
      let t = 0;
      for (const pid of pids) t += (all1.get(pid) ?? all0.get(pid) ?? 0) - (all0.get(pid) ?? 0);
      return pct((t * 1e6) / CLK_TCK);
    };
    const pgAll = new Set([...pg0, ...pg1, ...bg]);
    const others = othersBetween(all0, all1, pgAll, us / 1e6);
    return {
      node: pct(c.user + c.system),
      relay: delta(relayPid ? [relayPid] : []),
      projector: delta(projPid ? [projPid] : []),
      edge: delta(edgePids),
      nats: delta(natsPids),
      pg: delta(pgAll),
      machine: (100 * (j.busy - j0.busy)) / (j.total - j0.total),
      others: others.pctOfCore,
      othersTop: others.top,
      elu: 100 * performance.eventLoopUtilization(elu0).utilization,
    };
  };
}

const QUIET_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT_MS ?? 90_000);
const QUIET_OTHERS_PCT = 15;

/**
 * Other people's processes share this machine. Before a measured phase, wait (at most
 * QUIET_WAIT_MS) for a 2 s window in which they use < QUIET_OTHERS_PCT % of a core.
 */
async function waitForQuiet(what: string, edgePids: Set<number>, natsPids: Set<number>): Promise<string> {
  const t0 = performance.now();
  let last = Number.NaN;
  while (performance.now() - t0 < QUIET_WAIT_MS) {
    const w = await cpuWindow(edgePids, natsPids, relay?.pid, projector?.pid);
    await sleep(2000);
    last = (await w()).others;
    if (last < QUIET_OTHERS_PCT) {
      return `${what}: other processes used ${fmt(last, 0)} % of a core in the 2 s before (waited ${fmt((performance.now() - t0) / 1000, 0)} s)`;
    }
  }
  return `${what}: machine not quiet after ${QUIET_WAIT_MS / 1000} s (other processes ${fmt(last, 0)} % of a core); measured anyway`;
}

const cpuLine = (c: CpuWindow) =>
  (MODE === "inline"
    ? `bench process (cell + catalog + relay + projector + client) ${fmt(c.node, 0)} % of a core (event loop `
    : `relay process ${fmt(c.relay, 0)} % of a core, projector process ${fmt(c.projector, 0)} %, bench process ` +
      `(cell + catalog + client) ${fmt(c.node, 0)} % (event loop `) +
  `${fmt(c.elu, 0)} % busy), edge workerd ${fmt(c.edge, 0)} %, nats-server ${fmt(c.nats, 0)} %, postgres (this ` +
  `bench's backends + background) ${fmt(c.pg, 0)} %; machine ${fmt(c.machine, 0)} % busy; other people's processes ` +
  `${fmt(c.others, 0)} % (top: ${c.othersTop || "none"})`;

// ---------------------------------------------------------------------------------------------
// The relay and the projector, instrumented (bench/event-service.ts), in child processes or inline.

interface DrainBatch {
  rows: number;
  totalMs: number;
  selectMs: number;
  updateMs: number;
}
let drainBatches: DrainBatch[] | null = null;
/** When each case change was pushed to the edge (PUT /internal/v1/projections answered). */
const pushedAt = new Map<string, number>();
const pushes: { at: number; changes: number; ms: number; sqlMs: number }[] = [];

function onServiceMessage(m: ServiceMessage): void {
  if (m.type === "batch") drainBatches?.push(m);
  if (m.type === "push") {
    pushes.push({ at: m.at, changes: m.changes, ms: m.ms, sqlMs: m.sqlMs });
    for (const id of m.caseIds) if (!pushedAt.has(id)) pushedAt.set(id, m.at);
  }
}

interface Service {
  pid: number | null;
  status(): Promise<{ applied: number; pending: number; apply: ApplyStats }>;
  stop(): Promise<void>;
}

/**
 * Loads the service's process (`process` mode), then `go()` starts the service itself; `go`
 * resolves when it is running. Inline, loading is a no-op.
 */
async function loadService(
  kind: "relay" | "projector",
  env: Record<string, string>,
): Promise<{ pid: number | null; go(): Promise<Service> }> {
  if (MODE === "inline") {
    return {
      pid: null,
      async go() {
        const svc = await startInstrumented(kind, env, onServiceMessage);
        return { pid: null, status: async () => svc.status(), stop: () => svc.stop() };
      },
    };
  }
  const child: ChildProcess = fork(fileURLToPath(new URL("./event-service.ts", import.meta.url)), [kind], {
    env: { ...process.env, BENCH_SERVICE_ENV: JSON.stringify(env) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiters = new Map<number, (s: { applied: number; pending: number; apply: ApplyStats }) => void>();
  let nextId = 1;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  await new Promise<void>((resolve, reject) => {
    child.on("message", (m: ServiceMessage) => {
      if (m.type === "loaded") resolve();
      else if (m.type === "ready") onReady();
      else if (m.type === "status") {
        waiters.get(m.id)?.(m);
        waiters.delete(m.id);
      } else onServiceMessage(m);
    });
    child.once("exit", (code) => reject(new Error(`${kind} exited during start (code ${code})`)));
  });
  const ask = (m: ParentMessage) => child.send(m);
  const service: Service = {
    pid: child.pid ?? null,
    status: () =>
      new Promise((resolve) => {
        const id = nextId++;
        waiters.set(id, resolve);
        ask({ type: "status", id });
      }),
    async stop() {
      if (child.exitCode !== null) return;
      ask({ type: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return {
    pid: child.pid ?? null,
    async go() {
      ask({ type: "go" });
      await Promise.race([ready, exited.then(() => Promise.reject(new Error(`${kind} exited`)))]);
      return service;
    },
  };
}

let applyAcc = newApplyStats();
/** The projector's counters; its apply timings since the last call go into applyAcc. */
async function projectorStatus(): Promise<{ applied: number; pending: number }> {
  const s = await projector!.status();
  for (const k of Object.keys(applyAcc) as (keyof ApplyStats)[]) applyAcc[k].push(...s.apply[k]);
  return s;
}

async function startService(kind: "relay" | "projector", env: Record<string, string>): Promise<Service> {
  return (await loadService(kind, env)).go();
}

// ---------------------------------------------------------------------------------------------

type SteadyResult = Awaited<ReturnType<typeof steadyPhase>>;

/** Creates at `rate`/s (open loop) for `durationMs`; one in POLL_EVERY watched at the edge. */
async function steadyPhase(
  rate: number,
  durationMs: number,
  tenant: PlacedTenant,
  edgePids: Set<number>,
  natsPids: Set<number>,
) {
  log(`bench:events: steady load ${rate}/s for ${durationMs / 1000} s (creates via ${VIA})`);
  pollLat.length = 0;
  pushes.length = 0;
  const applied0 = (await projectorStatus()).applied;
  applyAcc = newApplyStats();
  const total = Math.round((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const samples: Promise<Sample | null>[] = [];
  const steadyCpu = await cpuWindow(edgePids, natsPids, relay!.pid, projector!.pid);
  const start = wall() + 20;
  let lateMax = 0;
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - wall();
    if (wait > 1) await sleep(wait - 0.5);
    lateMax = Math.max(lateMax, wall() - due);
    samples.push(createAndWatch(tenant, due, i % POLL_EVERY === 0));
  }
  const sentDone = wall();
  const results = (await Promise.all(samples)).filter((s): s is Sample => s !== null);
  const steadyMs = wall() - start;
  const steadyCpuUse = await steadyCpu();
  const steadyPolls = pollLat.length;
  const steadyPollLat = summarize(pollLat);
  const steadyPushes = pushes.splice(0);
  log(`bench:events: ${results.length}/${total} visible; waiting for the pipeline to settle`);
  for (let i = 0; i < 600; i++) {
    const [r] = await cellSql!<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL`;
    const ps = await projectorStatus();
    if (r!.n === 0 && ps.applied - applied0 >= results.length && ps.pending === 0) break;
    await sleep(50);
  }
  await sleep(100);
  await projectorStatus();
  const steadyApply = applyAcc;
  applyAcc = newApplyStats();
  // Per-stage timestamps from the databases (same machine clock; now() = statement/tx start).
  const ids = results.map((s) => s.caseId);
  const outbox = await cellSql!<{ id: string; created: Date; published: Date | null }[]>`
    SELECT aggregate_id AS id, created_at AS created, published_at AS published FROM outbox_event
    WHERE event_type = 'case.created' AND aggregate_id = ANY(${ids}::uuid[])`;
  const applied = await projSql!<{ id: string; applied: Date }[]>`
    SELECT case_id AS id, applied_at AS applied FROM case_projection WHERE case_id = ANY(${ids}::uuid[])`;
  const commitOf = new Map(outbox.map((r) => [r.id, r.created.getTime()]));
  const publishedOf = new Map(outbox.map((r) => [r.id, r.published?.getTime() ?? Number.NaN]));
  const appliedOf = new Map(applied.map((r) => [r.id, r.applied.getTime()]));
  const stage = {
    ackToVisible: [] as number[],
    ackToLastMiss: [] as number[],
    commitToAck: [] as number[],
    commitToPublished: [] as number[],
    publishedToApplied: [] as number[],
    appliedToPushed: [] as number[],
    pushedToVisible: [] as number[],
    commitToVisible: [] as number[],
    commitToPushed: [] as number[],
    sendToAck: [] as number[],
    polls: [] as number[],
    startLag: [] as number[],
  };
  const trend = new Map<
    number,
    { pushed: number[]; visible: number[]; sendAck: number[]; pubApplied: number[]; appliedPushed: number[] }
  >();
  for (const s of results) {
    const bucket = Math.floor((s.scheduledAt - start) / 5000);
    if (!trend.has(bucket))
      trend.set(bucket, { pushed: [], visible: [], sendAck: [], pubApplied: [], appliedPushed: [] });
    const tb = trend.get(bucket)!;
    const commit = commitOf.get(s.caseId)!;
    const pub = publishedOf.get(s.caseId)!;
    const app = appliedOf.get(s.caseId)!;
    const push = pushedAt.get(s.caseId) ?? Number.NaN;
    stage.ackToVisible.push(s.visibleAt - s.ackAt);
    stage.ackToLastMiss.push(s.lastMissAt - s.ackAt);
    stage.commitToAck.push(s.ackAt - commit);
    stage.commitToPublished.push(pub - commit);
    stage.publishedToApplied.push(app - pub);
    stage.appliedToPushed.push(push - app);
    stage.pushedToVisible.push(s.visibleAt - push);
    stage.commitToVisible.push(s.visibleAt - commit);
    stage.commitToPushed.push(push - commit);
    tb.pushed.push(push - commit);
    tb.sendAck.push(s.ackAt - s.sentAt);
    tb.pubApplied.push(app - pub);
    tb.appliedPushed.push(push - app);
    if (Number.isFinite(s.visibleAt)) tb.visible.push(s.visibleAt - s.ackAt);
    stage.sendToAck.push(s.ackAt - s.sentAt);
    stage.polls.push(s.polls);
    stage.startLag.push(s.sentAt - s.scheduledAt);
  }
  return {
    rate,
    total,
    results,
    start,
    sentDone,
    steadyMs,
    lateMax,
    steadyCpuUse,
    steadyPolls,
    steadyPollLat,
    steadyPushes,
    steadyApply,
    stage,
    trend,
  };
}

async function main(): Promise<number> {
  const began = performance.now();
  log("bench:events: starting cell, catalog, edge (Miniflare), nats-server, relay, projector…");
  stack = await startStack("events");
  const edgePids = descendantPids("workerd");
  nats = await startTestNats();
  const natsPids = descendantPids("nats-server");
  relay = await startService("relay", relayEnv());
  projectorDb = await createTestDatabase("projector", "bench_events");
  const projectorRawEnv = {
    DATABASE_URL: projectorDb.url,
    NATS_URL: nats.url,
    REGIONS: stack.region,
    SUBJECT_ROOT: root,
    EDGE_URL: stack.edge.url,
    CATALOG_URL: stack.catalog.url,
    INTERNAL_TOKEN,
    PUSH_INTERVAL_MS,
    LOG_LEVEL: "silent",
  };
  const projectorEnv = projectorEnvSchema.parse(projectorRawEnv);
  projector = await startService("projector", projectorRawEnv);
  cellSql = rawSql(stack.cellDb.url, 2);
  projSql = rawSql(projectorDb.url, 2);
  const machine = await machineInfo(cellSql);
  const tenant = await placeTenantViaEdge(stack, "APAC_SHARED", "reporter");
  log(`bench:events: ready (${fmt((performance.now() - began) / 1000, 1)} s); warming up`);

  // Warm-up: a few creates end to end (JIT, connections, the projector's policy look-up).
  for (let i = 0; i < 20; i++) await createAndWatch(tenant, wall());
  pollLat.length = 0;
  pushes.length = 0;
  await sleep(300);
  await projectorStatus();
  applyAcc = newApplyStats();

  // ---- 1. steady load (then, shorter, lower rates: where is the floor?) ----
  const quiet: string[] = [];
  quiet.push(await waitForQuiet("before the steady load", edgePids, natsPids));
  log(`bench:events: ${quiet[0]}`);
  const steady = await steadyPhase(RATE, DURATION_MS, tenant, edgePids, natsPids);
  const {
    total,
    results,
    start,
    sentDone,
    steadyMs,
    lateMax,
    steadyCpuUse,
    steadyPolls,
    steadyPollLat,
    steadyPushes,
    steadyApply,
    stage,
    trend,
  } = steady;
  const lower: SteadyResult[] = [];
  for (const r of DIAG_RATES) {
    quiet.push(await waitForQuiet(`before ${r}/s`, edgePids, natsPids));
    lower.push(await steadyPhase(r, DIAG_DURATION_MS, tenant, edgePids, natsPids));
  }

  // ---- 2. relay drain of a backlog ----
  log("bench:events: stopping the relay");
  await relay.stop();
  relay = null;
  const [tpl] = await cellSql<{ envelope: Record<string, any>; tenant_id: string }[]>`
    SELECT envelope, tenant_id FROM outbox_event WHERE event_type = 'case.created' ORDER BY seq DESC LIMIT 1`;
  if (!tpl) throw new Error("no case.created event to copy");
  domainEvent.parse(tpl.envelope); // the template is valid as the relay will check it
  const prefix = String(tpl.envelope.payload.caseNumber).split("-")[0]!;
  const year = new Date().getUTCFullYear();
  const insertT0 = performance.now();
  let lastBacklog: { caseId: string; caseNumber: string } | null = null;
  const now = new Date().toISOString();
  for (let off = 0; off < BACKLOG; off += 5000) {
    const n = Math.min(5000, BACKLOG - off);
    const eventIds: string[] = [];
    const caseIds: string[] = [];
    const commandIds: string[] = [];
    const numbers: string[] = [];
    const hashes: string[] = [];
    for (let i = 0; i < n; i++) {
      const caseId = uuidv7();
      eventIds.push(uuidv7());
      caseIds.push(caseId);
      commandIds.push(uuidv7());
      numbers.push(`${prefix}-${year}-${String(90_000_000 + off + i).padStart(8, "0")}`);
      hashes.push(hashAccessCode(caseId, ACCESS_CODE));
    }
    await cellSql`
      INSERT INTO outbox_event (event_id, tenant_id, aggregate_type, aggregate_id, aggregate_version, event_type, envelope)
      SELECT e, ${tpl.tenant_id}, 'case', a, 1, 'case.created',
        ${cellSql.json(tpl.envelope as never)}::jsonb
          || jsonb_build_object('eventId', e, 'aggregateId', a, 'commandId', c, 'causationId', c,
               'correlationId', 'bench-backlog.' || c, 'occurredAt', ${now}::text, 'recordedAt', ${now}::text)
          || jsonb_build_object('payload', (${cellSql.json(tpl.envelope as never)}::jsonb -> 'payload')
               || jsonb_build_object('caseNumber', n, 'accessCodeHash', h))
      FROM unnest(${eventIds}::uuid[], ${caseIds}::uuid[], ${commandIds}::uuid[], ${numbers}::text[], ${hashes}::text[])
        AS t(e, a, c, n, h)`;
    lastBacklog = { caseId: caseIds[n - 1]!, caseNumber: numbers[n - 1]! };
  }
  const insertMs = performance.now() - insertT0;
  const [bl] = await cellSql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL`;
  if (bl!.n !== BACKLOG) throw new Error(`backlog is ${bl!.n}, expected ${BACKLOG}`);
  // Every copied envelope must pass the relay's own validation (a sample; the relay checks all).
  const sample = await cellSql<{ envelope: unknown }[]>`
    SELECT envelope FROM outbox_event WHERE published_at IS NULL ORDER BY random() LIMIT 50`;
  for (const s of sample) domainEvent.parse(s.envelope);
  const parseUs = (() => {
    const env = sample[0]!.envelope;
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) domainEvent.parse(env);
    return ((performance.now() - t0) * 1000) / 20_000;
  })();
  log(`bench:events: ${BACKLOG} outbox rows inserted in ${fmt(insertMs, 0)} ms; starting the relay`);

  const applied0 = (await projectorStatus()).applied;
  applyAcc = newApplyStats();
  drainBatches = [];
  const curve: { t: number; backlog: number; applied: number }[] = [];
  const loadedRelay = await loadService("relay", relayEnv());
  quiet.push(await waitForQuiet("before the drain", edgePids, natsPids));
  log(`bench:events: ${quiet[1]}`);
  const drainCpu = await cpuWindow(edgePids, natsPids, loadedRelay.pid, projector.pid);
  const drainStart = performance.now();
  relay = await loadedRelay.go();
  const relayStartMs = performance.now() - drainStart;
  let relayDoneMs = Number.NaN;
  let appliedDoneMs = Number.NaN;
  let visibleDoneMs = Number.NaN;
  let relayCpu: CpuWindow | null = null;
  let applyCpu: CpuWindow | null = null;
  while (performance.now() - drainStart < DRAIN_TIMEOUT_MS) {
    const [r] = await cellSql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL`;
    const t = performance.now() - drainStart;
    const ap = (await projectorStatus()).applied - applied0;
    curve.push({ t, backlog: r!.n, applied: ap });
    if (r!.n === 0 && Number.isNaN(relayDoneMs)) {
      relayDoneMs = t;
      relayCpu = await drainCpu();
    }
    if (ap >= BACKLOG && Number.isNaN(appliedDoneMs)) {
      appliedDoneMs = t;
      applyCpu = await drainCpu();
    }
    if (!Number.isNaN(appliedDoneMs) && Number.isNaN(visibleDoneMs)) {
      const st = await publicStatus(tenant.tenantId, lastBacklog!.caseNumber, ACCESS_CODE);
      if (st === 200) visibleDoneMs = performance.now() - drainStart;
    }
    if (!Number.isNaN(visibleDoneMs)) break;
    await sleep(Number.isNaN(relayDoneMs) ? 20 : 100);
  }
  await projectorStatus();
  const drainApply = applyAcc;

  // ---- 3. what one push costs the edge: PUT /internal/v1/projections of n public entries ----
  const putRows: (string | number)[][] = [];
  for (const n of [1, 10, 50, 200]) {
    const lat: number[] = [];
    for (let rep = 0; rep < 6; rep++) {
      const batch = {
        cases: Array.from({ length: n }, (_, i) => ({
          tenantId: tenant.tenantId,
          caseId: uuidv7(),
          caseNumber: `ZZ-${year}-${String(rep * 1000 + i).padStart(8, "0")}`,
          publicStatus: "RECEIVED",
          accessCodeHash: "0".repeat(64),
          homeRegion: stack!.region,
          version: 1,
          updatedAt: new Date().toISOString(),
          view: null,
        })),
        grants: [],
        watermarks: { [stack!.region]: new Date().toISOString() },
      };
      const t0 = performance.now();
      const res = await fetch(`${stack!.edge.url}/internal/v1/projections`, {
        method: "PUT",
        headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(batch),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`PUT projections: ${res.status}`);
      if (rep > 0) lat.push(performance.now() - t0);
    }
    const x = summarize(lat);
    putRows.push([n, fmt(x.p50, 2), fmt(x.p95, 2), fmt(x.p50 / n, 3)]);
  }
  const drainPushes = pushes.splice(0);
  const batches = drainBatches;
  drainBatches = null;

  // ---- report ----
  const out: string[] = [];
  const p = (s = "") => out.push(s);
  const row = (name: string, v: number[]) => {
    const s = summarize(v.filter(Number.isFinite));
    return [
      name,
      s.n,
      fmt(s.p50, 1),
      fmt(s.p95, 1),
      fmt(s.p99, 1),
      fmt(Math.max(...v.filter(Number.isFinite)), 1),
    ];
  };
  p(`# homeroute bench:events — ${new Date().toISOString()}`);
  p();
  p(`machine: ${machine.cpuModel}, ${machine.cores} cores, kernel ${release()}; node ${machine.node}`);
  p(`postgres: ${machine.postgres}`);
  p(`loadavg at start: ${machine.loadavg}`);
  p(
    `config: creates via ${VIA} at ${RATE}/s for ${DURATION_MS / 1000} s (open loop); one create in ${POLL_EVERY} ` +
      `watched: polled every ${POLL_MS} ms for 300 ms after the ack, then every 25 ms to 1 s, then every 100 ms; relay POLL_MS=${RELAY_POLL_MS} HEARTBEAT_MS=${RELAY_HEARTBEAT_MS} BATCH_SIZE=${relayEnvSchema.parse(relayEnv()).BATCH_SIZE}; ` +
      `projector PUSH_INTERVAL_MS=${PUSH_INTERVAL_MS} PUSH_BATCH=${projectorEnv.PUSH_BATCH}; one tenant, one region; relay and projector ${MODE === "process" ? "each in its own child process" : "in the bench process"}`,
  );
  for (const q of quiet) p(`- ${q}`);
  p();
  p("## 1. Commit → visible at the edge, steady load");
  p();
  p(
    `sent ${total} creates in ${fmt((sentDone - start) / 1000, 1)} s (${fmt((total * 1000) / (sentDone - start), 0)}/s; ` +
      `latest start ${fmt(lateMax, 1)} ms behind schedule); visible: ${results.length}; ` +
      `polls: ${steadyPolls} (${fmt((steadyPolls * 1000) / steadyMs, 0)}/s), poll round trip p50 ${fmt(steadyPollLat.p50, 2)} ms`,
  );
  p();
  const sAck = summarize(stage.ackToVisible.filter(Number.isFinite));
  p(
    table(
      ["interval (ms)", "n", "p50", "p95", "p99", "max"],
      [
        row("ack → visible (first 200 answered): the headline", stage.ackToVisible),
        row("ack → last 404 sent (lower bound)", stage.ackToLastMiss),
        row("commit → visible", stage.commitToVisible),
        row("create request: sent → ack", stage.sendToAck),
        row("commit → ack", stage.commitToAck),
        row("commit → published to JetStream (relay marked it)", stage.commitToPublished),
        row("published → applied (projector tx start)", stage.publishedToApplied),
        row("applied → pushed to the edge (PUT answered)", stage.appliedToPushed),
        row("commit → pushed (every create)", stage.commitToPushed),
        row("pushed → visible (first 200 answered)", stage.pushedToVisible),
        row("polls per case", stage.polls),
      ],
    ),
  );
  p();
  p(`- ack → visible p50 = ${fmt(sAck.p50, 1)} ms (aim ≤ 50 ms): ${sAck.p50 <= 50 ? "MET" : "MISSED"}`);
  p(`- ack → visible p99 = ${fmt(sAck.p99, 1)} ms (aim ≤ 250 ms): ${sAck.p99 <= 250 ? "MET" : "MISSED"}`);
  p();
  p("Over the run (by when the create was scheduled):");
  p();
  p(
    table(
      [
        "window s",
        "creates",
        "ack → visible p50 ms (watched)",
        "p99",
        "commit → pushed p50 ms",
        "p99",
        "sent → ack p99",
        "published → applied p99",
        "applied → pushed p99",
      ],
      [...trend.entries()]
        .sort((x, y) => x[0] - y[0])
        .map(([b, v]) => {
          const a = summarize(v.pushed);
          const w = summarize(v.visible);
          const p99 = (x: number[]) => fmt(summarize(x.filter(Number.isFinite)).p99, 1);
          return [
            `${b * 5}–${b * 5 + 5}`,
            a.n,
            fmt(w.p50, 1),
            fmt(w.p99, 1),
            fmt(a.p50, 1),
            fmt(a.p99, 1),
            p99(v.sendAck),
            p99(v.pubApplied),
            p99(v.appliedPushed),
          ];
        }),
    ),
  );
  p();
  const pushSum = summarize(steadyPushes.map((x) => x.ms));
  const pushSql = summarize(steadyPushes.map((x) => x.sqlMs));
  const pushPut = summarize(steadyPushes.map((x) => x.ms - x.sqlMs));
  const perPush = summarize(steadyPushes.map((x) => x.changes));
  p(
    `edge pushes during the run: ${steadyPushes.length} (${fmt((steadyPushes.length * 1000) / steadyMs, 1)}/s), ` +
      `changes per push p50 ${fmt(perPush.p50, 0)} max ${fmt(Math.max(...steadyPushes.map((x) => x.changes)), 0)}, ` +
      `flush p50 ${fmt(pushSum.p50, 1)} ms p99 ${fmt(pushSum.p99, 1)} ms, of which buildBatch's reads p50 ` +
      `${fmt(pushSql.p50, 1)} ms and the PUT to the edge (and the rest) p50 ${fmt(pushPut.p50, 1)} ms p99 ${fmt(pushPut.p99, 1)} ms`,
  );
  p(`CPU over the run: ${cpuLine(steadyCpuUse)}`);
  p();
  p("The projector's work per event (it applies one event at a time, each in its own transaction):");
  p();
  const applyRows = (name: string, a: ApplyStats) => {
    const h = summarize(a.handle);
    const r = (v: number[]) => {
      const x = summarize(v);
      return `${fmt(x.p50, 2)} / ${fmt(x.p95, 2)} / ${fmt(x.mean, 2)}`;
    };
    return [name, h.n, r(a.handle), r(a.begin), r(a.body), r(a.commit), fmt(1000 / h.mean, 0)];
  };
  p(
    table(
      [
        "phase",
        "events",
        "handle() ms p50 / p95 / mean",
        "BEGIN",
        "2 statements",
        "COMMIT (WAL flush)",
        "serial capacity events/s (1000 / mean)",
      ],
      [
        applyRows(`steady load ${RATE}/s`, steadyApply),
        ...lower.map((l) => applyRows(`steady load ${l.rate}/s`, l.steadyApply)),
        applyRows("backlog drain", drainApply),
      ],
    ),
  );
  p();
  p(`### The same pipeline at lower rates (${DIAG_DURATION_MS / 1000} s each, after the main run)`);
  p();
  const all = [steady, ...lower];
  const fin = (v: number[]) => summarize(v.filter(Number.isFinite));
  p(
    table(
      [
        "rate /s",
        "creates",
        "watched",
        "ack → visible p50 ms",
        "p95",
        "p99",
        "commit → ack",
        "commit → published",
        "published → applied",
        "applied → pushed",
        "pushed → visible",
        "commit → pushed p99",
        "sent → ack p50",
        "machine busy %",
      ],
      all.map((r) => {
        const v = fin(r.stage.ackToVisible);
        const m = (x: number[]) => fmt(fin(x).p50, 1);
        return [
          r.rate,
          r.results.length,
          v.n,
          fmt(v.p50, 1),
          fmt(v.p95, 1),
          fmt(v.p99, 1),
          m(r.stage.commitToAck),
          m(r.stage.commitToPublished),
          m(r.stage.publishedToApplied),
          m(r.stage.appliedToPushed),
          m(r.stage.pushedToVisible),
          fmt(fin(r.stage.commitToPushed).p99, 1),
          m(r.stage.sendToAck),
          fmt(r.steadyCpuUse.machine, 0),
        ];
      }),
    ),
  );
  p();
  p("(stage columns: p50 in ms; the database stamps have 1 ms resolution)");
  p();
  for (const r of lower) {
    const v = fin(r.stage.ackToVisible);
    p(
      `- at ${r.rate}/s: ack → visible p50 ${fmt(v.p50, 1)} ms (aim ≤ 50: ${v.p50 <= 50 ? "met" : "missed"}), ` +
        `p99 ${fmt(v.p99, 1)} ms (aim ≤ 250: ${v.p99 <= 250 ? "met" : "missed"})`,
    );
  }
  p();
  p("CPU per create, end to end (ms of CPU per command, each process; polling included):");
  p();
  p(
    table(
      [
        "rate /s",
        "bench process (cell + catalog + client)",
        "edge workerd",
        "postgres",
        "projector",
        "relay",
        "nats-server",
        "total",
        "cores needed at this rate",
        "others' processes % of a core",
      ],
      all.map((r) => {
        const c = r.steadyCpuUse;
        const per = (pct: number) => (pct * 10) / (r.results.length / (r.steadyMs / 1000)); // % of a core → ms per create
        const tot = c.node + c.edge + c.pg + c.projector + c.relay + c.nats;
        return [
          r.rate,
          fmt(per(c.node), 2),
          fmt(per(c.edge), 2),
          fmt(per(c.pg), 2),
          fmt(per(c.projector), 2),
          fmt(per(c.relay), 2),
          fmt(per(c.nats), 2),
          fmt(per(tot), 2),
          fmt(tot / 100, 2),
          fmt(c.others, 0),
        ];
      }),
    ),
  );
  p();
  p(`## 2. Relay drain of a ${BACKLOG}-event backlog`);
  p();
  p(
    `relay process loaded beforehand; startRelay → running took ${fmt(relayStartMs, 0)} ms (inside the drain time). ` +
      `backlog inserted in ${fmt(insertMs, 0)} ms (copies of a real case.created, fresh eventId/aggregateId/commandId ` +
      `(uuidv7), unique case numbers, recordedAt = insert time); domainEvent.parse in Node: ${fmt(parseUs, 1)} µs/event`,
  );
  p();
  const relayRate = (BACKLOG * 1000) / relayDoneMs;
  const applyRate = (BACKLOG * 1000) / appliedDoneMs;
  p(
    table(
      ["what", "time s", "events/s"],
      [
        ["relay: start → backlog 0", fmt(relayDoneMs / 1000, 2), fmt(relayRate, 0)],
        ["projector: start → all applied", fmt(appliedDoneMs / 1000, 2), fmt(applyRate, 0)],
        [
          "edge: start → last event visible",
          fmt(visibleDoneMs / 1000, 2),
          fmt((BACKLOG * 1000) / visibleDoneMs, 0),
        ],
      ],
    ),
  );
  p();
  p(`- relay drain = ${fmt(relayRate, 0)} events/s (aim ≥ 5,000/s): ${relayRate >= 5000 ? "MET" : "MISSED"}`);
  p();
  if (batches?.length) {
    const tot = summarize(batches.map((b) => b.totalMs));
    const sel = summarize(batches.map((b) => b.selectMs));
    const upd = summarize(batches.map((b) => b.updateMs));
    const pub = summarize(batches.map((b) => b.totalMs - b.selectMs - b.updateMs));
    const sumOf = (f: (b: DrainBatch) => number) => batches.reduce((a, b) => a + f(b), 0);
    const all = sumOf((b) => b.totalMs);
    p(
      `relay batches: ${batches.length}, rows per batch p50 ${fmt(summarize(batches.map((b) => b.rows)).p50, 0)}; ` +
        `time in drainOnce ${fmt(all, 0)} ms of ${fmt(relayDoneMs, 0)} ms`,
    );
    p();
    p(
      table(
        ["phase of one batch (ms)", "p50", "p95", "share of drainOnce time"],
        [
          [
            "SELECT unpublished rows",
            fmt(sel.p50, 1),
            fmt(sel.p95, 1),
            `${fmt((100 * sumOf((b) => b.selectMs)) / all, 0)} %`,
          ],
          [
            "zod parse + JetStream publish of the batch (all in flight)",
            fmt(pub.p50, 1),
            fmt(pub.p95, 1),
            `${fmt((100 * sumOf((b) => b.totalMs - b.selectMs - b.updateMs)) / all, 0)} %`,
          ],
          [
            "UPDATE published_at",
            fmt(upd.p50, 1),
            fmt(upd.p95, 1),
            `${fmt((100 * sumOf((b) => b.updateMs)) / all, 0)} %`,
          ],
          ["whole batch", fmt(tot.p50, 1), fmt(tot.p95, 1), "100 %"],
        ],
      ),
    );
    p();
  }
  if (relayCpu) p(`CPU while the relay drained: ${cpuLine(relayCpu)}`);
  if (applyCpu) p(`CPU from relay start until the projector had applied all: ${cpuLine(applyCpu)}`);
  const dp = summarize(drainPushes.map((x) => x.ms));
  p(
    `edge pushes while draining: ${drainPushes.length}, changes per push p50 ${fmt(summarize(drainPushes.map((x) => x.changes)).p50, 0)}, ` +
      `flush p50 ${fmt(dp.p50, 1)} ms`,
  );
  p();
  p("drain curve:");
  p();
  const curveRows: (string | number)[][] = [];
  let nextT = 0;
  for (const c of curve) {
    if (c.t < nextT) continue;
    curveRows.push([fmt(c.t / 1000, 1), c.backlog, c.applied]);
    nextT = c.t + Math.max(1000, (curve[curve.length - 1]?.t ?? 0) / 20);
  }
  const lastC = curve[curve.length - 1];
  if (lastC) curveRows.push([fmt(lastC.t / 1000, 1), lastC.backlog, lastC.applied]);
  p(table(["t s", "outbox backlog", "projector applied"], curveRows));
  p();
  p("## 3. One push at the edge (idle pipeline): PUT /internal/v1/projections with n public entries");
  p();
  p(table(["n entries", "p50 ms", "p95 ms", "p50 ms per entry"], putRows));
  p();
  const totalErrors = [...errors.values()].reduce((a, b) => a + b, 0);
  p(`failed requests / never visible: ${totalErrors}`);
  for (const [k, n] of errors) p(`  ${n} × ${k}`);
  p();
  p(`total wall time: ${fmt((performance.now() - began) / 1000, 1)} s`);
  process.stdout.write(`${out.join("\n")}\n`);
  const complete = !Number.isNaN(relayDoneMs) && !Number.isNaN(appliedDoneMs) && results.length === total;
  return complete && totalErrors === 0 ? 0 : 1;
}

const watchdog = setTimeout(() => {
  log(`bench:events: watchdog: still running after ${WATCHDOG_MS / 1000} s, giving up`);
  void cleanup().finally(() => process.exit(3));
}, WATCHDOG_MS);

let code = 1;
try {
  code = await main();
} catch (e) {
  log(`bench:events failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  code = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(code);
