export { createServer, DEFAULTS, type ServerOptions } from "./server.js";
export { DEFAULT_MAX_BATCH, SearchBatcher } from "./batcher.js";
