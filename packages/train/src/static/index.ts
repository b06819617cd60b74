export * from "./vocab.js";
export * from "./pairs.js";
export * from "./model.js";
