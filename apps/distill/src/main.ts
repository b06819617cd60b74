#!/usr/bin/env node
// crossrank-distill warmup|teacher|distill|all --config FILE [--resume] [--out DIR] (see cli.ts).
import { runCli } from "./cli.js";

process.exitCode = await runCli(process.argv.slice(2));
