export type { Query, Document, RetrievalTask } from "./types.js";
