import { runMigrations } from "@homeroute/db";
import { listen } from "@homeroute/service-kit";
import { createCatalogApp } from "./app.js";
import { type CatalogDeps, createCatalogDeps } from "./deps.js";
import type { CatalogEnv } from "./env.js";
import { recoverMigrations } from "./migration/migrate.js";
import { startHealthLoop } from "./regions/regions.js";
import { seedCatalog } from "./seed.js";
import { pushSnapshotToEdge } from "./snapshot/publish.js";
import { startSyncLoop } from "./sync/cell-sync.js";

export interface RunningCatalog {
  deps: CatalogDeps;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Migrate, seed from the topology, start the sync and health loops, then listen. */
export async function startCatalog(env: CatalogEnv): Promise<RunningCatalog> {
  await runMigrations(env.DATABASE_URL, "catalog");
  const deps = createCatalogDeps(env);
  await seedCatalog(deps);
  const recovered = await recoverMigrations(deps);
  if (recovered > 0) deps.log.info("migrations recovered at start", { recovered });
  const sync = startSyncLoop(deps);
  // After every commit that queued cell calls or a new snapshot: deliver, and tell the edge.
  deps.kickSync = () => {
    sync.kick();
    void pushSnapshotToEdge(deps);
  };
  const health = startHealthLoop(deps);
  deps.kickSync();
  const app = createCatalogApp(deps);
  const http = await listen(app.fetch, env.PORT, env.HOST);
  return {
    deps,
    port: http.port,
    url: http.url,
    async close() {
      health.stop();
      await sync.stop();
      await http.close();
      await deps.sql.end({ timeout: 5 });
    },
  };
}
