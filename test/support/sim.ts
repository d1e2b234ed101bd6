import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidv7 } from "@homeroute/ids";

/** The simulation started as a user starts it (its own process tree), on ports of its own. */
export interface SimProcess {
  process: ChildProcess;
  stateDir: string;
  portBase: number;
  topo: any;
  secret: string;
  env: NodeJS.ProcessEnv;
  dbUrl(db: string): string;
  stop(): Promise<void>;
}

export const repoRoot = new URL("../../", import.meta.url).pathname;

export async function startSimProcess(extraEnv: Record<string, string> = {}): Promise<SimProcess> {
  const stateDir = await mkdtemp(join(tmpdir(), "hr-sim-"));
  // A simulation uses base … base+75. Bases 100 apart never overlap, and all stay below the
  // kernel's ephemeral range (32768+), where any test's outgoing connection or port-0 server could
  // take one of them first (a process then "exited before it was ready").
  const portBase = 20000 + Math.floor(Math.random() * 120) * 100;
  const env = {
    ...process.env,
    SIM_STATE_DIR: stateDir,
    SIM_PORT_BASE: String(portBase),
    LOG_LEVEL: "info",
    ...extraEnv,
  };
  // Through the tsx CLI, as `pnpm start` runs it (apps/sim: `tsx src/main.ts`): a signal then goes
  // to tsx, which relays it to the simulation, exactly the path a user's Ctrl-C takes.
  const child = spawn(
    process.execPath,
    [join(repoRoot, "apps/sim/node_modules/tsx/dist/cli.mjs"), "src/main.ts", "--fresh"],
    { cwd: join(repoRoot, "apps/sim"), env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes("homeroute is up")) {
        clearInterval(timer);
        resolve();
      } else if (output.includes("failed to start") || child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(output));
      }
    }, 100);
  });
  const topo = JSON.parse(readFileSync(join(stateDir, "topology.json"), "utf8"));
  const secret = JSON.parse(readFileSync(join(stateDir, "secrets.json"), "utf8")).jwtSecret as string;
  return {
    process: child,
    stateDir,
    portBase,
    topo,
    secret,
    env,
    dbUrl: (db) => `postgres://postgres:postgres@127.0.0.1:${portBase + 30}/${db}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export async function post(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "idempotency-key": uuidv7(),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}
