import { exitWhenParentDies } from "@homeroute/service-kit";
import { loadCatalogEnv } from "./env.js";
import { startCatalog } from "./server.js";

exitWhenParentDies();

try {
  const catalog = await startCatalog(loadCatalogEnv());
  catalog.deps.log.info("catalog listening", { url: catalog.url });
  const stop = async () => {
    await catalog.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
