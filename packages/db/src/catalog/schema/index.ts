export * from "./placement.js";
export * from "./publishing.js";
