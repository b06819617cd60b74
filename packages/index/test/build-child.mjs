// Builds an index in a child process, for the kill -9 test: node build-child.mjs OUT DOCS.jsonl ENCODER
import { streamCollection } from "@crossrank/datasets";
import { buildIndex } from "../dist/index.js";

const [out, docs, encoder] = process.argv.slice(2);
await buildIndex(out, streamCollection(docs), { encoder });
