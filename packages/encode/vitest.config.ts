import { defineConfig } from "vitest/config";

// Tests here load onnxruntime, generate fixture models or train small heads end to end: seconds
// each, more on a loaded 2-core CI machine, so the default 5 s per test is too tight.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
