import { exitWhenParentDies } from "@homeroute/service-kit";
import { loadRelayEnv } from "./env.js";
import { startRelay } from "./server.js";

exitWhenParentDies();

try {
  const running = await startRelay(loadRelayEnv());
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
