export { createServer, DEFAULTS, type ServerOptions } from "./server.js";
