import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleEdgeWorker, type RunningEdge, startEdge as startSimEdge } from "@homeroute/sim";

export type { RunningEdge };

let bundled: Promise<string> | null = null;

export interface EdgeOptions {
  catalogUrl: string;
  cellUrls: Record<string, string>;
  jwtSecret: string;
  internalToken: string;
  snapshotTtlSeconds?: number;
  cellTimeoutMs?: number;
  extraBindings?: Record<string, string>;
}

/** The real Worker in workerd (Miniflare), bundled once per test process, on a free port. */
export async function startEdge(o: EdgeOptions): Promise<RunningEdge> {
  bundled ??= bundleEdgeWorker(join(tmpdir(), "homeroute-edge-bundles"));
  // A generous cell timeout: two cores run every test file at once here; tests of the bound set their own.
  return startSimEdge({ cellTimeoutMs: 5000, ...o, scriptPath: await bundled, port: 0 });
}
