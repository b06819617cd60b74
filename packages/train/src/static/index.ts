export * from "./vocab.js";
export * from "./pairs.js";
export * from "./model.js";
export * from "./recipe.js";
export * from "./in-batch-onnx.js";
