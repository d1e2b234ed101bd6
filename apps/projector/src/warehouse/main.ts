import { runMigrations } from "@homeroute/db";
import { runService } from "@homeroute/service-kit";
import { loadWarehouseEnv } from "./env.js";
import { startWarehouse } from "./server.js";

// The warehouse as its own process, with its own database in the analytics region.
await runService(async () => {
  const env = loadWarehouseEnv();
  await runMigrations(env.DATABASE_URL, "warehouse");
  return startWarehouse(env);
});
