export * from "./audit-replica.js";
export * from "./cases.js";
export * from "./events.js";
export * from "./tenancy.js";
