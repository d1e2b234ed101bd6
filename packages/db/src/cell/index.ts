export * from "./audit-chain.js";
export * as cellSchema from "./schema/index.js";
