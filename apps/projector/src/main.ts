import { exitWhenParentDies } from "@homeroute/service-kit";
import { loadProjectorEnv } from "./env.js";
import { startProjector } from "./server.js";

exitWhenParentDies();

try {
  const running = await startProjector(loadProjectorEnv());
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
