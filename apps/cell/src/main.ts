import { exitWhenParentDies } from "@homeroute/service-kit";
import { loadCellEnv } from "./env.js";
import { startCell } from "./server.js";

exitWhenParentDies();

try {
  const env = loadCellEnv();
  const cell = await startCell(env);
  cell.deps.log.info("cell listening", { region: env.REGION, url: cell.url });
  const stop = async () => {
    await cell.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
