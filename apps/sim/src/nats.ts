import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ManagedProcess } from "./supervisor.js";

export interface SimNats {
  url: string;
  /** The nats-server we started, or null when NATS_URL points elsewhere. */
  process: ManagedProcess | null;
}

const INSTALL_HELP = `NATS with JetStream is required for the simulation.
  Either set NATS_URL to a running server started with -js, or install nats-server:
    Debian/Ubuntu:  apt-get install nats-server
    macOS:          brew install nats-server
    other:          https://docs.nats.io/running-a-nats-service/introduction/installation`;

function findNatsServer(): string | null {
  const r = spawnSync("sh", ["-c", "command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null"], {
    encoding: "utf8",
  });
  const path = r.stdout.trim().split("\n")[0];
  return path ? path : null;
}

/** NATS_URL if given, else a nats-server from PATH with JetStream and its store under the state dir. */
export async function startNats(
  stateDir: string,
  port: number,
  root: string,
  logDir: string,
): Promise<SimNats> {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, process: null };
  const bin = findNatsServer();
  if (!bin) throw new Error(INSTALL_HELP);
  const store = join(stateDir, "nats");
  mkdirSync(store, { recursive: true });
  const monitorPort = port + 1;
  const proc = new ManagedProcess(
    {
      name: "nats-server",
      command: [bin, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store, "-m", String(monitorPort)],
      env: {},
      readyUrl: `http://127.0.0.1:${monitorPort}/healthz`,
    },
    root,
    logDir,
  );
  await proc.start(20_000);
  return { url: `nats://127.0.0.1:${port}`, process: proc };
}
