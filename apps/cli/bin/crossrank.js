#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `pnpm install` via turbo).
import "../dist/main.js";
