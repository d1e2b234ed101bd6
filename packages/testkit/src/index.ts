export * from "./databases.js";
export * from "./nats.js";
export * from "./tokens.js";
