export { createApp } from "./app.js";
export { createCellDeps } from "./deps.js";
export { type CellEnv, cellEnvSchema, loadCellEnv } from "./env.js";
export { type RunningCell, startCell } from "./server.js";
