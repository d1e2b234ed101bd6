import { runMigrations } from "@homeroute/db";
import { type ServerType, serve } from "@hono/node-server";
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
  const app = createApp(deps);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : env.PORT;
  return {
    deps,
    port,
    url: `http://${env.HOST}:${port}`,
    async close() {
      lease?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await deps.sql.end({ timeout: 5 });
    },
  };
}
