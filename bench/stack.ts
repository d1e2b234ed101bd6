import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { catalogEnvSchema, type RunningCatalog, startCatalog } from "@homeroute/catalog";
import { cellEnvSchema, type RunningCell, startCell } from "@homeroute/cell";
import { uuidv7 } from "@homeroute/ids";
import { bundleEdgeWorker, type RunningEdge, startEdge } from "@homeroute/sim";
import { createTestDatabase, makeToken, TEST_JWT_SECRET, type TestDatabase } from "@homeroute/testkit";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { CLK_TCK as CLK_TCK_LOCAL } from "./stats.js";

// The planet-like stack the edge and event benchmarks share: one real cell (Node, own fresh
// database), the real catalog (own fresh database) and the real edge Worker in workerd (Miniflare),
// wired both ways like test/support/planet.ts. Loopback only.

export const INTERNAL_TOKEN = "internal-bench-token-0123456789";
const benchDir = dirname(fileURLToPath(import.meta.url));

export interface Stack {
  region: string;
  cellDb: TestDatabase;
  catalogDb: TestDatabase;
  cell: RunningCell;
  catalog: RunningCatalog;
  edge: RunningEdge;
  opsToken: string;
  bundleDir: string;
  /** The bundled edge Worker (to start more edges with other bindings). */
  edgeScript: string;
  /** Waits until the catalog has delivered every queued call to this stack's cell. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(
  label: string,
  o: { region?: string; edgeBindings?: Record<string, string>; snapshotTtlSeconds?: number } = {},
): Promise<Stack> {
  const region = o.region ?? "ap-id";
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const f of closers.reverse()) await f().catch(() => {});
  };
  try {
    const bundleDir = await mkdtemp(join(tmpdir(), `hr-bench-${label}-`));
    closers.push(() => rm(bundleDir, { recursive: true, force: true }));
    const cellDb = await createTestDatabase("cell", `bench_${label}`);
    closers.push(() => cellDb.drop());
    const cell = await startCell(
      cellEnvSchema.parse({
        REGION: region,
        PORT: 0,
        DATABASE_URL: cellDb.url,
        INTERNAL_TOKEN,
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        OBJECT_STORE_DIR: bundleDir,
        LOG_LEVEL: "silent",
      }),
    );
    closers.push(() => cell.close());
    const catalogDb = await createTestDatabase("catalog", `bench_${label}`);
    closers.push(() => catalogDb.drop());
    const cellUrls = { [region]: cell.url };
    const catalog = await startCatalog(
      catalogEnvSchema.parse({
        PORT: 0,
        DATABASE_URL: catalogDb.url,
        INTERNAL_TOKEN,
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        CELL_URLS: JSON.stringify(cellUrls),
        SYNC_INTERVAL_MS: "200",
        HEALTH_INTERVAL_MS: "500",
        LOG_LEVEL: "silent",
      }),
    );
    closers.push(() => catalog.close());
    const edgeScript = await bundleEdgeWorker(join(bundleDir, "edge"));
    const edge = await startEdge({
      scriptPath: edgeScript,
      port: 0,
      catalogUrl: catalog.url,
      cellUrls,
      jwtSecret: TEST_JWT_SECRET,
      internalToken: INTERNAL_TOKEN,
      snapshotTtlSeconds: o.snapshotTtlSeconds,
      extraBindings: o.edgeBindings,
    });
    closers.push(() => edge.close());
    catalog.deps.env.EDGE_URL = edge.url;
    const stack: Stack = {
      region,
      cellDb,
      catalogDb,
      cell,
      catalog,
      edge,
      bundleDir,
      edgeScript,
      opsToken: await makeToken({ sub: uuidv7(), ops: true }),
      async settle() {
        for (let i = 0; i < 100; i++) {
          const [row] = await catalog.deps.sql<{ n: number }[]>`
            SELECT count(*)::int AS n FROM cell_sync_task WHERE done_at IS NULL AND region = ${region}`;
          if (row!.n === 0) return;
          catalog.deps.kickSync();
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error("cell sync did not settle");
      },
      close,
    };
    return stack;
  } catch (e) {
    await close();
    throw e;
  }
}

export interface PlacedTenant {
  tenantId: string;
  userId: string;
  token: string;
}

/** Places a tenant through the edge → catalog (as an operator would), then grants one user `role`. */
export async function placeTenantViaEdge(
  s: Stack,
  policy = "APAC_SHARED",
  role = "investigator",
): Promise<PlacedTenant> {
  const res = await fetch(`${s.edge.url}/v1/ops/tenants`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${s.opsToken}`,
      "content-type": "application/json",
      "idempotency-key": uuidv7(),
    },
    body: JSON.stringify({ name: "Bench Regulator", homeRegion: s.region, residencyPolicy: policy }),
  });
  const body = (await res.json()) as { tenantId: string };
  if (res.status !== 201) throw new Error(`placement failed: ${res.status} ${JSON.stringify(body)}`);
  await s.settle();
  const userId = uuidv7();
  const g = await fetch(`${s.cell.url}/internal/v1/tenants/${body.tenantId}/grants/${userId}/${role}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${INTERNAL_TOKEN}` },
  });
  if (!g.ok) throw new Error(`grant failed: ${g.status} ${await g.text()}`);
  await g.arrayBuffer();
  return { tenantId: body.tenantId, userId, token: await makeToken({ sub: userId, tid: body.tenantId }) };
}

/** Bundles a Worker under bench/ exactly as bundleEdgeWorker bundles the edge (ESM, workerd conditions). */
export async function bundleBenchWorker(entry: string, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, `${entry.replace(/\.[jt]s$/, "")}-${process.pid}.mjs`);
  await build({
    entryPoints: [join(benchDir, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["browser", "module", "main"],
    conditions: ["workerd", "worker", "browser", "import"],
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

/** A bench Worker in workerd via Miniflare, started the way apps/sim/src/edge.ts starts the edge. */
export async function startBenchWorker(
  name: string,
  scriptPath: string,
  bindings: Record<string, string>,
): Promise<{ mf: Miniflare; url: string; close(): Promise<void> }> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      name,
      modules: true,
      scriptPath,
      modulesRoot: dirname(scriptPath),
      compatibilityDate: "2026-11-01",
      bindings,
      host: "127.0.0.1",
      port: 0,
    }),
  );
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { mf, url, close: () => mf.dispose() };
}

// ---------------------------------------------------------------------------------------------
// Processes: CPU time of workerd (each Miniflare instance runs its own) and other children.

function statOf(pid: number): { comm: string; ppid: number; ticks: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const close = stat.lastIndexOf(")");
  const rest = stat.slice(close + 2).split(" ");
  return {
    comm: stat.slice(stat.indexOf("(") + 1, close),
    ppid: Number(rest[1]),
    ticks: Number(rest[11]) + Number(rest[12]),
  };
}

/** Pids of this process's descendants whose command name is `comm`. */
export function descendantPids(comm: string, root = process.pid): Set<number> {
  const parent = new Map<number, number>();
  const names = new Map<number, string>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const s = statOf(Number(d));
    if (!s) continue;
    parent.set(Number(d), s.ppid);
    names.set(Number(d), s.comm);
  }
  const out = new Set<number>();
  for (const [pid, name] of names) {
    if (name !== comm) continue;
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        out.add(pid);
        break;
      }
    }
  }
  return out;
}

/** utime + stime of `pids` in clock ticks (a pid that exited meanwhile counts 0). */
export function ticksOf(pids: Iterable<number>): number {
  let t = 0;
  for (const p of pids) t += statOf(p)?.ticks ?? 0;
  return t;
}

/** utime + stime ticks of every process on the machine, by pid. */
export function allTicks(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const s = statOf(Number(d));
    if (s) out.set(Number(d), s.ticks);
  }
  return out;
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
}

/**
 * CPU used between two allTicks() snapshots by processes that are not this bench's: neither this
 * process, nor its descendants, nor `ours` (e.g. the bench databases' postgres backends). A pid
 * born in the window counts whole; one that died in it is missed.
 */
export function othersBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  ours: Set<number>,
  seconds: number,
): { pctOfCore: number; top: string } {
  const mine = new Set([process.pid, ...ours]);
  const parent = new Map<number, number>();
  for (const pid of after.keys()) {
    const s = statOf(pid);
    if (s) parent.set(pid, s.ppid);
  }
  const isMine = (pid: number) => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p))
      if (mine.has(p)) return true;
    return false;
  };
  const byCmd = new Map<string, number>();
  let total = 0;
  for (const [pid, t] of after) {
    if (isMine(pid)) continue;
    const d = t - (before.get(pid) ?? 0);
    if (d <= 0) continue;
    total += d;
    const cmd = cmdlineOf(pid).slice(0, 70) || `pid ${pid}`;
    byCmd.set(cmd, (byCmd.get(cmd) ?? 0) + d);
  }
  const pct = (ticks: number) => (100 * ticks) / CLK_TCK_LOCAL / seconds;
  const top = [...byCmd.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([c, d]) => `${c} ${pct(d).toFixed(0)} %`)
    .join("; ");
  return { pctOfCore: pct(total), top };
}

/** Postgres processes that are not client backends (walwriter, checkpointer, autovacuum…). */
export function postgresBackgroundPids(): Set<number> {
  const out = new Set<number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() !== "postgres") continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (!/\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(cmd)) out.add(Number(d));
    } catch {}
  }
  return out;
}

/** CPU ticks `pids` used between two allTicks() snapshots (a pid born in the window counts whole). */
export function ticksBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  pids: Iterable<number>,
): number {
  let t = 0;
  for (const pid of pids) t += (after.get(pid) ?? before.get(pid) ?? 0) - (before.get(pid) ?? 0);
  return t;
}
