import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A real nats-server per test file (own port, own store), so a test can stop, restart and pause
// the broker without touching anyone else's. Needs nats-server on PATH (the machine has it).

export interface TestNats {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function natsBinary(): string {
  const r = spawnSync("sh", ["-c", "command -v nats-server || echo /usr/sbin/nats-server"], {
    encoding: "utf8",
  });
  return r.stdout.trim();
}

export async function startTestNats(): Promise<TestNats> {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), "hr-nats-"));
  let child: ChildProcess | null = null;
  const bin = natsBinary();
  const start = async () => {
    child = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store], { stdio: "ignore" });
    // A test process that ends without its afterAll (a crash, a timeout) must not leave a broker behind.
    const spawned = child;
    process.once("exit", () => spawned.kill("SIGKILL"));
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(port, "127.0.0.1");
        s.once("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.once("error", () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("nats-server did not start");
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    start,
    stop,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    async destroy() {
      await stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}
