import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";

// Each service of the simulation is a real OS process, so faults are real: SIGKILL takes it away,
// SIGSTOP freezes it mid-request, and heal starts it again with the same environment and data.

export type ProcessState = "starting" | "running" | "paused" | "killed" | "exited" | "stopped";

export interface ProcessSpec {
  name: string;
  /** Module to run with tsx, relative to the repository root... */
  entry?: string;
  /** ...or a binary and its arguments (nats-server). */
  command?: string[];
  env: Record<string, string>;
  /** URL polled until it answers 2xx. */
  readyUrl: string;
}

export class ManagedProcess {
  state: ProcessState = "stopped";
  child: ChildProcess | null = null;
  private log: WriteStream;
  restarts = 0;

  constructor(
    readonly spec: ProcessSpec,
    private readonly root: string,
    logDir: string,
  ) {
    this.log = createWriteStream(join(logDir, `${spec.name.replace(/[^\w-]/g, "_")}.log`), { flags: "a" });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 45_000): Promise<void> {
    this.state = "starting";
    const [cmd, ...args] = this.spec.command ?? [
      process.execPath,
      "--import",
      "tsx",
      join(this.root, this.spec.entry!),
    ];
    const child = spawn(cmd!, args, {
      cwd: this.root,
      env: { ...process.env, ...this.spec.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.state !== "killed" && this.state !== "stopped") this.state = "exited";
      this.log.write(`${JSON.stringify({ msg: "process exited", code, signal })}\n`);
    });
    await waitForReady(this.spec.readyUrl, timeoutMs, () => this.child === child);
    this.state = "running";
  }

  /** SIGKILL, resolved once the process is gone (reaped, so its pid no longer answers). */
  async kill(): Promise<void> {
    this.state = "killed";
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  pause(): void {
    if (!this.child?.pid) return;
    process.kill(this.child.pid, "SIGSTOP");
    this.state = "paused";
  }

  resume(): void {
    if (!this.child?.pid) return;
    process.kill(this.child.pid, "SIGCONT");
    this.state = "running";
  }

  async restart(): Promise<void> {
    this.restarts++;
    await this.start();
  }

  /** Graceful stop (SIGTERM, then SIGKILL after a grace period); resumes a paused process first. */
  async stop(graceMs = 3000): Promise<void> {
    const child = this.child;
    this.state = "stopped";
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (child.pid) process.kill(child.pid, "SIGCONT");
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export async function waitForReady(
  url: string,
  timeoutMs: number,
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${url}: the process exited before it was ready (see its log)`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url}: not ready after ${timeoutMs} ms`);
}
