export * from "./auth.js";
export * from "./case-status.js";
export * from "./cases.js";
export * from "./common.js";
export * from "./consistency-token.js";
export * from "./control.js";
export * from "./errors.js";
export * from "./events.js";
