#!/usr/bin/env node
// Thin launcher: the compiled trainer lives in dist/ (built by `pnpm install` via turbo); a bin
// that exists before the build lets pnpm link it on a fresh clone.
import "../dist/main.js";
