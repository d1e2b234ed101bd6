export { createCatalogApp } from "./app.js";
export { type CatalogEnv, catalogEnvSchema, loadCatalogEnv } from "./env.js";
export { bumpTenantEpoch } from "./fences/bump-epoch.js";
export { type RunningCatalog, startCatalog } from "./server.js";
export { latestSnapshot, publishSnapshot } from "./snapshot/publish.js";
export { deliverPending } from "./sync/cell-sync.js";
