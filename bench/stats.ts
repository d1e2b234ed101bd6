import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import type postgres from "postgres";

// Measurement helpers: latency samples, CPU accounting from /proc, and the machine description.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const s = [...values].sort((x, y) => x - y);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN;
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), mean };
}

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

function procCpuTicks(pid: string): { comm: string; ticks: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // exited meanwhile
  }
  const close = stat.lastIndexOf(")");
  const rest = stat.slice(close + 2).split(" ");
  // utime, stime are fields 14 and 15
  return { comm: stat.slice(stat.indexOf("(") + 1, close), ticks: Number(rest[11]) + Number(rest[12]) };
}

/**
 * CPU microseconds used so far by the bench's own postgres backends (`pids`, from pg_stat_activity
 * of the bench database) and by postgres' shared background processes (walwriter, checkpointer,
 * autovacuum...). Backends of other databases — other people's tests — are left out.
 */
export function postgresCpuMicros(pids: ReadonlySet<number>): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const p = procCpuTicks(pid);
    if (p?.comm !== "postgres") continue;
    if (pids.has(Number(pid))) {
      ticks += p.ticks;
      continue;
    }
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {}
    // client backends show "postgres: <cluster>: <user> <db> <addr> <state>"; skip foreign ones
    if (/\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(cmd)) continue;
    ticks += p.ticks;
  }
  return (ticks * 1e6) / CLK_TCK;
}

export interface CpuSnapshot {
  node: NodeJS.CpuUsage;
  pgMicros: number;
  machine: { busy: number; total: number };
}

/** The bench database's backend pids, so its postgres CPU can be told from other databases'. */
export async function benchBackendPids(sql: postgres.Sql<any>, dbName: string): Promise<Set<number>> {
  const rows = await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${dbName}`;
  return new Set(rows.map((r) => r.pid));
}

export function cpuSnapshot(pids: ReadonlySet<number>): CpuSnapshot {
  return { node: process.cpuUsage(), pgMicros: postgresCpuMicros(pids), machine: machineJiffies() };
}

export interface CpuDelta {
  nodeMicros: number;
  pgMicros: number;
  machineBusyJiffies: number;
  machineTotalJiffies: number;
}

export function cpuDelta(from: CpuSnapshot, to: CpuSnapshot): CpuDelta {
  return {
    nodeMicros: to.node.user + to.node.system - from.node.user - from.node.system,
    pgMicros: to.pgMicros - from.pgMicros,
    machineBusyJiffies: to.machine.busy - from.machine.busy,
    machineTotalJiffies: to.machine.total - from.machine.total,
  };
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  postgres: string;
  pgSettings: Record<string, string>;
  loadavg: string;
}

export async function machineInfo(sql: postgres.Sql<any>): Promise<MachineInfo> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  const [v] = await sql<{ version: string }[]>`SELECT version()`;
  const settings = await sql<{ name: string; setting: string; unit: string | null }[]>`
    SELECT name, setting, unit FROM pg_settings
    WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'shared_buffers', 'max_connections')`;
  const pgSettings: Record<string, string> = {};
  for (const s of settings) pgSettings[s.name] = s.unit ? `${s.setting} (${s.unit})` : s.setting;
  return {
    cpuModel: model.trim(),
    cores: cpus().length,
    node: process.version,
    postgres: v!.version,
    pgSettings,
    loadavg: readFileSync("/proc/loadavg", "utf8").trim(),
  };
}

/**
 * Samples pg_stat_activity every `everyMs` while a round runs: how many of the bench database's
 * backends are active, waiting on a heavyweight lock (row/tuple/transactionid) or on IO (WAL
 * sync), and how many backends of OTHER databases are active (someone else loading the machine).
 */
export class ActivitySampler {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  samples = 0;
  active = 0;
  lockWait = 0;
  ioWait = 0;
  lwlockWait = 0;
  foreignActive = 0;

  constructor(
    private readonly sql: postgres.Sql<any>,
    private readonly dbName: string,
    private readonly everyMs = 50,
  ) {}

  start(): void {
    this.samples = this.active = this.lockWait = this.ioWait = this.lwlockWait = this.foreignActive = 0;
    this.timer = setInterval(() => void this.tick(), this.everyMs);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [r] = await this.sql<
        { active: number; lock: number; io: number; lwlock: number; foreign: number }[]
      >`
        SELECT
          count(*) FILTER (WHERE datname = ${this.dbName} AND state = 'active')::int AS active,
          count(*) FILTER (WHERE datname = ${this.dbName} AND state = 'active' AND wait_event_type = 'Lock')::int AS lock,
          count(*) FILTER (WHERE datname = ${this.dbName} AND state = 'active' AND wait_event_type = 'IO')::int AS io,
          count(*) FILTER (WHERE datname = ${this.dbName} AND state = 'active' AND wait_event_type = 'LWLock')::int AS lwlock,
          count(*) FILTER (WHERE datname IS DISTINCT FROM ${this.dbName} AND state = 'active')::int AS foreign
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
      this.samples++;
      this.active += r!.active;
      this.lockWait += r!.lock;
      this.ioWait += r!.io;
      this.lwlockWait += r!.lwlock;
      this.foreignActive += r!.foreign;
    } catch {
      // a sampler hiccup must not fail the benchmark
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<{
    samples: number;
    active: number;
    lockWait: number;
    ioWait: number;
    lwlockWait: number;
    foreignActive: number;
  }> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    return {
      samples: this.samples,
      active: this.active,
      lockWait: this.lockWait,
      ioWait: this.ioWait,
      lwlockWait: this.lwlockWait,
      foreignActive: this.foreignActive,
    };
  }
}

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : "–");

/** A plain Markdown table (pasteable into RESULTS.md). */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const width = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(width[i]!)).join(" | ")} |`;
  return [
    line(head),
    `|${width.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map((r) => line(r.map(String))),
  ].join("\n");
}
