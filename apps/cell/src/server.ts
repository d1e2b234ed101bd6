import { runMigrations } from "@homeroute/db";
import { listen } from "@homeroute/service-kit";
import { createApp } from "./app.js";
import { type CellDeps, createCellDeps } from "./deps.js";
import type { CellEnv } from "./env.js";
import { bootFence, startLeaseLoop } from "./fences/lease.js";

export interface RunningCell {
  deps: CellDeps;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Applies migrations, then listens. Used by main.ts and by tests that need a real HTTP cell. */
export async function startCell(env: CellEnv): Promise<RunningCell> {
  await runMigrations(env.DATABASE_URL, "cell");
  const deps = createCellDeps(env);
  let lease: { stop(): void } | null = null;
  if (env.CATALOG_URL) {
    await bootFence(deps);
    lease = startLeaseLoop(deps, env.CATALOG_URL);
  }
  deps.deferredUploads.start(env.DEFERRED_UPLOAD_INTERVAL_MS);
  const app = createApp(deps);
  const http = await listen(app.fetch, env.PORT, env.HOST);
  return {
    deps,
    port: http.port,
    url: http.url,
    async close() {
      lease?.stop();
      deps.deferredUploads.stop();
      await http.close();
      await deps.sql.end({ timeout: 5 });
    },
  };
}
