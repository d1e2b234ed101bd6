export * from "./cases.js";
export * from "./events.js";
export * from "./tenancy.js";
