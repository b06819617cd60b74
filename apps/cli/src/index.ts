export { buildProgram } from "./program.js";
export { UsageError } from "./errors.js";
