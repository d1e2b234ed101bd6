export * from "./case-number.js";
export * from "./uuidv7.js";
