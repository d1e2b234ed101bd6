export * from "./connect.js";
export * from "./region-consumers.js";
export * from "./streams.js";
