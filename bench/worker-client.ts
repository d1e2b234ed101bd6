import { Worker } from "node:worker_threads";

// Diagnostic: the same HTTP transition as variant (b), but the fetch client runs in a worker
// thread, so the cell's event loop serves requests only (as it would with remote clients).
// The worker is plain JavaScript (eval), so it needs no TypeScript loader.

export interface WorkerLane {
  path: string;
  token: string;
  status: "INVESTIGATING" | "UNDER_REVIEW";
  version: number;
}

export interface WorkerResult {
  ops: number;
  elapsedMs: number;
  committed: number;
  lat: number[];
  errors: Record<string, number>;
  lanes: WorkerLane[];
}

const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { randomUUID } = require("node:crypto");
const { baseUrl, lanes, durationMs, warmupMs, reason, prefix } = workerData;
const errors = {};
async function op(l) {
  const key = randomUUID();
  const res = await fetch(baseUrl + l.path, {
    method: "POST",
    headers: {
      authorization: "Bearer " + l.token,
      "content-type": "application/json",
      "idempotency-key": key,
      "x-correlation-id": prefix + "." + key,
    },
    body: JSON.stringify({
      to: l.status === "INVESTIGATING" ? "UNDER_REVIEW" : "INVESTIGATING",
      expectedVersion: l.version,
      reason,
    }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error("HTTP " + res.status + " " + (body.code || ""));
  l.status = body.status;
  l.version = body.version;
}
async function run(ms, lat) {
  const start = performance.now();
  const deadline = start + ms;
  let ops = 0;
  await Promise.all(lanes.map(async (l) => {
    while (!l.dead && performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await op(l);
        ops++;
        if (lat) lat.push(performance.now() - t0);
      } catch (e) {
        const m = "worker client: " + (e && e.message ? e.message : String(e));
        errors[m] = (errors[m] || 0) + 1;
        l.dead = true; // the main thread resyncs this lane afterwards
      }
    }
  }));
  return { ops, elapsedMs: performance.now() - start };
}
(async () => {
  const warm = await run(warmupMs, null);
  parentPort.postMessage({ type: "start" });
  const lat = [];
  const r = await run(durationMs, lat);
  parentPort.postMessage({
    type: "done",
    ops: r.ops,
    elapsedMs: r.elapsedMs,
    committed: warm.ops + r.ops,
    lat,
    errors,
    lanes: lanes.map(({ dead, ...l }) => l),
  });
})();
`;

/** Runs the worker; `onStart` fires when the measured phase begins (after the warm-up). */
export function runWorkerClient(
  opts: {
    baseUrl: string;
    lanes: WorkerLane[];
    durationMs: number;
    warmupMs: number;
    reason: string;
    prefix: string;
  },
  onStart: () => void,
): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(SOURCE, { eval: true, workerData: opts });
    w.on("message", (m: { type: string } & WorkerResult) => {
      if (m.type === "start") onStart();
      else if (m.type === "done") {
        void w.terminate();
        resolve(m);
      }
    });
    w.on("error", reject);
  });
}
