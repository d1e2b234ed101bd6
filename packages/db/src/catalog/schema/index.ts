export * from "./backups.js";
export * from "./placement.js";
export * from "./publishing.js";
