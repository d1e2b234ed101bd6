import { runService } from "@homeroute/service-kit";
import { loadCatalogEnv } from "./env.js";
import { startCatalog } from "./server.js";

await runService(async () => {
  const catalog = await startCatalog(loadCatalogEnv());
  catalog.deps.log.info("catalog listening", { url: catalog.url });
  return catalog;
});
