export * from "./app-factory.js";
export * from "./auth.js";
export * from "./idempotency.js";
export * from "./lifecycle.js";
export * from "./log.js";
export * from "./problem.js";
export * from "./runtime.js";
export * from "./types.js";
