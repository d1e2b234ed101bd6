export * from "./connect.js";
export * from "./streams.js";
