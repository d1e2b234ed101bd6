export * as catalogSchema from "./schema/index.js";
