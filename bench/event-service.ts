import {
  type ProjectorEnv,
  projectorEnvSchema,
  type RunningProjector,
  startProjector,
} from "@homeroute/projector";
import { type RunningRelay, relayEnvSchema, startRelay } from "@homeroute/relay";
import type postgres from "postgres";

// Child process of bench/events.ts: runs the real relay (startRelay) or the real projector
// (startProjector) in a process of its own, as in production, so its event loop is not shared with
// the cell, the catalog and the load generator. Instrumentation without touching src: the
// instance's methods are wrapped and what they see is sent to the parent over IPC.
//   argv[2] = "relay" | "projector"; env BENCH_SERVICE_ENV = the service's environment as JSON.

export type ServiceMessage =
  | { type: "loaded" }
  | { type: "ready" }
  | { type: "batch"; rows: number; totalMs: number; selectMs: number; updateMs: number }
  | { type: "push"; at: number; ms: number; sqlMs: number; caseIds: string[]; changes: number }
  | { type: "status"; id: number; applied: number; pending: number; apply: ApplyStats }
  | { type: "stopped" };

export type ParentMessage = { type: "go" } | { type: "stop" } | { type: "status"; id: number };

type Send = (m: ServiceMessage) => void;

/** The projector's per-event work since the last reset (ms): whole handle(), and its transaction's parts. */
export interface ApplyStats {
  handle: number[];
  begin: number[];
  body: number[];
  commit: number[];
}
export const newApplyStats = (): ApplyStats => ({ handle: [], begin: [], body: [], commit: [] });
const wall = () => performance.timeOrigin + performance.now();

function instrumentRelay(r: RunningRelay, send: Send): void {
  const inst = r.relay as unknown as { drainOnce(): Promise<number>; sql: postgres.Sql<any> };
  let current: { selectMs: number; updateMs: number } | null = null;
  const target = inst.sql;
  inst.sql = new Proxy(target, {
    apply(t, thisArg, args: unknown[]) {
      const q = Reflect.apply(t as never, thisArg, args) as Promise<unknown>;
      const strings = args[0] as readonly string[] | undefined;
      const batch = current;
      if (!batch || !Array.isArray(strings) || typeof strings[0] !== "string") return q;
      const kind = /^\s*SELECT seq/.test(strings[0])
        ? "selectMs"
        : /^\s*UPDATE outbox_event/.test(strings[0])
          ? "updateMs"
          : null;
      if (!kind) return q;
      const t0 = performance.now();
      q.then(
        () => {
          batch[kind] += performance.now() - t0;
        },
        () => {},
      );
      return q;
    },
  });
  const orig = inst.drainOnce.bind(inst);
  inst.drainOnce = async () => {
    const b = { selectMs: 0, updateMs: 0 };
    current = b;
    const t0 = performance.now();
    let rows = 0;
    try {
      rows = await orig();
      return rows;
    } finally {
      current = null;
      if (rows > 0) send({ type: "batch", rows, totalMs: performance.now() - t0, ...b });
    }
  };
}

function instrumentProjector(
  p: RunningProjector,
  pushBatch: number,
  send: Send,
  stats: { a: ApplyStats },
): void {
  const inst = p.projector as unknown as {
    handle(region: string, m: { subject: string }): Promise<void>;
    sql: postgres.Sql<any>;
    flush(): Promise<void>;
    pending: { kind: string; caseId?: string }[];
    flushing: Promise<void> | null;
    lastPushError: string | null;
  };
  // handle(): one event, validated and applied in its own transaction (BEGIN, 2 statements, COMMIT).
  const handle = inst.handle.bind(inst);
  inst.handle = async (region, m) => {
    const t0 = performance.now();
    await handle(region, m);
    if (!m.subject.includes(".heartbeat.")) stats.a.handle.push(performance.now() - t0);
  };
  const sql = inst.sql as unknown as { begin: (fn: (tx: unknown) => Promise<unknown>) => Promise<unknown> };
  const begin = sql.begin.bind(sql);
  sql.begin = async (fn) => {
    const t0 = performance.now();
    let t1 = 0;
    let t2 = 0;
    const r = await begin(async (tx) => {
      t1 = performance.now();
      const out = await fn(tx);
      t2 = performance.now();
      return out;
    });
    const t3 = performance.now();
    stats.a.begin.push(t1 - t0);
    stats.a.body.push(t2 - t1);
    stats.a.commit.push(t3 - t2);
    return r;
  };
  // flush(): buildBatch's reads (case_projection, grant_projection, region_watermark), then the PUT.
  let flushSql: { ms: number } | null = null;
  const target = inst.sql;
  inst.sql = new Proxy(target, {
    apply(t, thisArg, args: unknown[]) {
      const q = Reflect.apply(t as never, thisArg, args) as Promise<unknown>;
      const strings = args[0] as readonly string[] | undefined;
      const acc = flushSql;
      if (!acc || !Array.isArray(strings) || typeof strings[0] !== "string") return q;
      if (
        !/^\s*SELECT (\*|region, as_of) FROM (case_projection|grant_projection|region_watermark)/.test(
          strings[0],
        )
      )
        return q;
      const t0 = performance.now();
      q.then(
        () => {
          acc.ms += performance.now() - t0;
        },
        () => {},
      );
      return q;
    },
  });
  const orig = inst.flush.bind(inst);
  inst.flush = async () => {
    const taking = inst.flushing ? [] : inst.pending.slice(0, pushBatch);
    const mine = taking.length ? { ms: 0 } : null;
    if (mine) flushSql = mine;
    const t0 = performance.now();
    await orig();
    if (mine && flushSql === mine) flushSql = null;
    if (mine && inst.lastPushError === null) {
      send({
        type: "push",
        at: wall(),
        ms: performance.now() - t0,
        sqlMs: mine.ms,
        changes: taking.length,
        caseIds: taking.flatMap((c) => (c.caseId ? [c.caseId] : [])),
      });
    }
  };
}

export interface InstrumentedService {
  /** Counters; the apply timings since the previous call (they are reset). */
  status(): { applied: number; pending: number; apply: ApplyStats };
  stop(): Promise<void>;
}

/** Starts the relay or the projector, instrumented; what it sees goes to `send`. */
export async function startInstrumented(
  kind: string,
  rawEnv: Record<string, string>,
  send: Send,
): Promise<InstrumentedService> {
  if (kind === "relay") {
    const r = await startRelay(relayEnvSchema.parse(rawEnv));
    instrumentRelay(r, send);
    return { status: () => ({ applied: 0, pending: 0, apply: newApplyStats() }), stop: () => r.close() };
  }
  if (kind === "projector") {
    const env: ProjectorEnv = projectorEnvSchema.parse(rawEnv);
    const p = await startProjector(env);
    const stats = { a: newApplyStats() };
    instrumentProjector(p, env.PUSH_BATCH, send, stats);
    const inst = p.projector as unknown as { pending: unknown[] };
    return {
      status: () => {
        const apply = stats.a;
        stats.a = newApplyStats();
        return { applied: p.projector.applied, pending: inst.pending.length, apply };
      },
      stop: () => p.close(),
    };
  }
  throw new Error(`unknown service ${kind}`);
}

if (process.env.BENCH_SERVICE_ENV && process.send) {
  const send: Send = (m) => process.send?.(m);
  const rawEnv = JSON.parse(process.env.BENCH_SERVICE_ENV);
  let svc: InstrumentedService | null = null;
  // Loaded (modules compiled and imported) first; the service starts on "go", so the parent can
  // time the service's own start, not the process start.
  process.on("message", (m: ParentMessage) => {
    if (m.type === "go") {
      void startInstrumented(process.argv[2] ?? "", rawEnv, send).then((s) => {
        svc = s;
        send({ type: "ready" });
      });
    }
    if (m.type === "status")
      send({
        type: "status",
        id: m.id,
        ...(svc?.status() ?? { applied: 0, pending: 0, apply: newApplyStats() }),
      });
    if (m.type === "stop") {
      if (!svc) process.exit(0);
      void svc
        .stop()
        .catch(() => {})
        .finally(() => {
          send({ type: "stopped" });
          process.disconnect?.();
          process.exit(0);
        });
    }
  });
  // The parent going away (crash, watchdog) must not leave this process behind.
  process.on("disconnect", () => process.exit(0));
  send({ type: "loaded" });
}
