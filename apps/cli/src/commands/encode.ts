import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { benchTexts, DEFAULT_ENCODER, encodeBench, loadEncoder, writeFixtureModel, type Encoder, type EncoderBackend, type FixtureKind, type Pooling } from "@crossrank/encode";
import { explainPair, type LmEmdOptions, type NeuralPreset, resolveLmEmd } from "@crossrank/rankers";
import { writeHeatmap, type Matrix } from "@crossrank/ot";
import { positiveInt, UsageError } from "../errors.js";
import { barProgress } from "../progress.js";

const POOLINGS: readonly Pooling[] = ["cls", "mean", "max"];
const BACKENDS: readonly EncoderBackend[] = ["transformers", "onnx"];
const DTYPES = ["fp32", "q8"] as const;
const FIXTURE_KINDS: readonly FixtureKind[] = ["bert", "sentence-transformers", "xmod"];

interface ModelFlags {
  model: string;
  backend?: string;
  dtype: string;
  batchSize: number;
  maxLength?: number;
  offline?: boolean;
}

/**
 * The flags every model-loading command shares. `defaultModel`: the model when --model is not
 * given (none: --model is required).
 */
function withModelFlags(command: Command, defaultModel?: string): Command {
  const help = "a Hugging Face hub id, a local model folder, crossrank-static (the shipped static model), or fixture:bert | fixture:sentence-transformers | fixture:static";
  return (defaultModel === undefined ? command.requiredOption("--model <spec>", help) : command.option("--model <spec>", help, defaultModel))
    .option("--backend <name>", `encoder backend: ${BACKENDS.join(" | ")} (default transformers; X-MOD models run on onnx)`)
    .option("--dtype <type>", `weights: ${DTYPES.join(" | ")} (q8 needs onnx/model_quantized.onnx)`, "fp32")
    .option("--batch-size <n>", "texts per model call", positiveInt("--batch-size"), 16)
    .option("--max-length <n>", "truncate texts to this many tokens (default: the model's maximum)", positiveInt("--max-length"))
    .option("--offline", "never use the network; fail naming the missing file instead (also CROSSRANK_OFFLINE=1)");
}

function openEncoder(flags: ModelFlags, backend = flags.backend): Promise<Encoder> {
  if (backend !== undefined && !BACKENDS.includes(backend as EncoderBackend)) throw new UsageError(`--backend: expected one of ${BACKENDS.join(", ")}, got "${backend}"`);
  if (!DTYPES.includes(flags.dtype as (typeof DTYPES)[number])) throw new UsageError(`--dtype: expected one of ${DTYPES.join(", ")}, got "${flags.dtype}"`);
  return loadEncoder(flags.model, {
    ...(backend !== undefined ? { backend: backend as EncoderBackend } : {}),
    dtype: flags.dtype as "fp32" | "q8",
    batchSize: flags.batchSize,
    ...(flags.maxLength !== undefined ? { maxLength: flags.maxLength } : {}),
    ...(flags.offline ? { offline: true } : {}),
  });
}

/** One text per line; an empty line is an error (it would silently become a zero vector), with its line number. */
async function readLines(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  // A byte-order mark (Windows editors) would otherwise become part of the first text.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === "") throw new UsageError(`${path}:${i + 1}: empty line (one text per line expected)`);
  });
  if (lines.length === 0) throw new UsageError(`${path}: no texts`);
  return lines;
}

/** Rounds to float32 precision in decimal, so JSON output stays readable and exact enough. */
const round = (v: number) => Number(v.toPrecision(7));

/** `crossrank fixture-model`: writes a tiny seeded BERT (or sentence-transformers) model folder in the Hugging Face layout. */
export function fixtureModelCommand(): Command {
  return new Command("fixture-model")
    .description("write a tiny seeded BERT model folder in the Hugging Face layout (the one the tests use)")
    .requiredOption("--out <dir>", "output folder")
    .option("--kind <kind>", `${FIXTURE_KINDS.join(" | ")}`, "bert")
    .option("--seed <n>", "weight seed", positiveInt("--seed"), 1)
    .action(async (options: { out: string; kind: string; seed: number }) => {
      if (!FIXTURE_KINDS.includes(options.kind as FixtureKind)) {
        throw new UsageError(`--kind: expected one of ${FIXTURE_KINDS.join(", ")}, got "${options.kind}"`);
      }
      const written = await writeFixtureModel(options.out, { kind: options.kind as FixtureKind, seed: options.seed });
      for (const file of written.files) console.log(file);
    });
}

/** `crossrank encode`: sentence vectors or token embeddings of the lines of a file. */
export function encodeCommand(): Command {
  return withModelFlags(new Command("encode").description("encode texts (one per line) into sentence vectors or token embeddings"), DEFAULT_ENCODER)
    .requiredOption("--input <file>", "text file, one text per line")
    .option("--pooling <mode>", `${POOLINGS.join(" | ")} (default: the model's sentence-transformers pooling, else mean)`)
    .option("--normalize", "L2-normalise the sentence vectors (default: as the model's modules.json says)")
    .option("--tokens", "print {tokens, embeddings, special} per text over the non-padding positions instead of one vector")
    .option("--language <code>", "the texts' language, for models with per-language adapters (X-MOD: an ISO code such as de, or the model's name such as de_DE); ignored by other models")
    .option("--json", "print JSON (the only output format; accepted for symmetry with other commands)")
    .action(async (options: ModelFlags & { input: string; pooling?: string; normalize?: boolean; tokens?: boolean; language?: string }) => {
      if (options.pooling !== undefined && !POOLINGS.includes(options.pooling as Pooling)) {
        throw new UsageError(`--pooling: expected one of ${POOLINGS.join(", ")}, got "${options.pooling}"`);
      }
      if (options.tokens && (options.pooling !== undefined || options.normalize)) {
        throw new UsageError("--tokens prints raw token embeddings; --pooling and --normalize do not apply");
      }
      const texts = await readLines(options.input);
      const encoder = await openEncoder(options);
      const progress = barProgress("encoding", texts.length);
      try {
        if (options.tokens) {
          const items = await encoder.encodeTokens(texts, { onProgress: progress.update, ...(options.language !== undefined ? { language: options.language } : {}) });
          progress.stop();
          const out = items.map((item) => {
            const embeddings: number[][] = [];
            for (let r = 0; r < item.tokens.length; r++) {
              embeddings.push(Array.from(item.embeddings.subarray(r * item.dim, (r + 1) * item.dim), round));
            }
            return { tokens: item.tokens, offsets: item.offsets, special: item.special, embeddings };
          });
          console.log(JSON.stringify(out));
        } else {
          const matrix = await encoder.encode(texts, {
            ...(options.pooling !== undefined ? { pooling: options.pooling as Pooling } : {}),
            ...(options.normalize ? { normalize: true } : {}),
            ...(options.language !== undefined ? { language: options.language } : {}),
            onProgress: progress.update,
          });
          progress.stop();
          const out: number[][] = [];
          for (let r = 0; r < matrix.rows; r++) out.push(Array.from(matrix.data.subarray(r * matrix.dim, (r + 1) * matrix.dim), round));
          console.log(JSON.stringify(out));
        }
      } finally {
        progress.stop();
        await encoder.dispose();
      }
    });
}

/** `crossrank encode-bench`: tokens/s of the transformers.js backend and the raw onnxruntime-node backend on the same model and batches. */
export function encodeBenchCommand(): Command {
  return withModelFlags(new Command("encode-bench").description("tokens/s of both encoder backends (transformers.js and raw onnxruntime-node) on the same model and batches; --backend is ignored"))
    .option("--input <file>", "texts, one per line (default: the fixture corpus, 13 languages, sentences and paragraphs)")
    .option("--texts <n>", "texts encoded per backend (the input is repeated to reach it)", positiveInt("--texts"), 512)
    .option("--rounds <n>", "timed rounds per backend, alternating backends; the best round counts", positiveInt("--rounds"), 3)
    .option("--json", "print the measurement as JSON")
    .action(async (options: ModelFlags & { input?: string; texts: number; rounds: number; json?: boolean }) => {
      const sample = options.input ? await readLines(options.input) : await benchTexts();
      if (options.backend !== undefined && !BACKENDS.includes(options.backend as EncoderBackend)) throw new UsageError(`--backend: expected one of ${BACKENDS.join(", ")}, got "${options.backend}"`);
      if (!DTYPES.includes(options.dtype as (typeof DTYPES)[number])) throw new UsageError(`--dtype: expected one of ${DTYPES.join(", ")}, got "${options.dtype}"`);
      const report = await encodeBench({
        model: options.model,
        texts: Array.from({ length: options.texts }, (_, i) => sample[i % sample.length]!),
        rounds: options.rounds,
        dtype: options.dtype as "fp32" | "q8",
        batchSize: options.batchSize,
        ...(options.maxLength !== undefined ? { maxLength: options.maxLength } : {}),
        ...(options.offline ? { offline: true } : {}),
      });
      if (options.json) {
        console.log(JSON.stringify(report));
        return;
      }
      for (const r of report.results) {
        console.log(`${r.backend.padEnd(12)} ${Math.round(r.tokensPerSecond)} tokens/s (${Math.round(r.textsPerSecond)} texts/s, ${r.seconds.toFixed(3)} s best of ${report.rounds})`);
      }
      console.log(`transformers.js overhead vs raw onnxruntime-node: ${(report.transformersOverhead * 100).toFixed(1)}%`);
    });
}

/** `crossrank explain`: the LM-EMD cost and transport matrices of one query–document pair, labelled with their tokens. */
export function explainCommand(): Command {
  return withModelFlags(new Command("explain").description("draw the LM-EMD cost matrix and transport plan of a query and a document, labelled with their tokens"), DEFAULT_ENCODER)
    .requiredOption("--query <text>", "query text")
    .requiredOption("--doc <text>", "document text")
    .requiredOption("--out <file>", "output image: .png or .svg")
    .option("--preset <name>", 'the ranker\'s presets: "default", or "faithful" (the LM-EMD study\'s: 500 kernel-domain iterations)', "default")
    .option("--gamma <reg>", "entropic regularisation γ (default 0.1)", (v) => positiveNumber("--gamma", v))
    .option("--iterations <n>", "Sinkhorn iterations (default 100; 500 with --preset faithful)", positiveInt("--iterations"))
    .option("--domain <name>", 'Sinkhorn domain: "auto", "kernel" or "log" (default auto; kernel with --preset faithful)')
    .option("--ot-backend <name>", 'solver backend: "auto", "onnx", "webasm", "cpu", "webgpu" or "js" (default auto)')
    .option("--no-special", "leave CLS/SEP out of the marginals")
    .option("--query-lang <code>", "the query's language, for models with per-language adapters (X-MOD); ignored by other models")
    .option("--doc-lang <code>", "the document's language, likewise")
    .option("--json", "also print tokens, distance and the top matches as JSON")
    .action(async (options: ModelFlags & { query: string; doc: string; out: string; preset: string; gamma?: number; iterations?: number; domain?: string; otBackend?: string; special: boolean; queryLang?: string; docLang?: string; json?: boolean }) => {
      if (!/\.(png|svg)$/i.test(options.out)) throw new UsageError(`--out: expected a .png or .svg file, got "${options.out}"`);
      if (options.preset !== "default" && options.preset !== "faithful") throw new UsageError(`--preset: expected default or faithful, got "${options.preset}"`);
      if (options.domain !== undefined && !["auto", "kernel", "log"].includes(options.domain)) throw new UsageError(`--domain: expected auto, kernel or log, got "${options.domain}"`);
      if (options.otBackend !== undefined && !["auto", "onnx", "webasm", "cpu", "webgpu", "webgl", "js"].includes(options.otBackend)) {
        throw new UsageError(`--ot-backend: expected auto, onnx, webasm, cpu, webgpu, webgl or js, got "${options.otBackend}"`);
      }
      // Only what was given: the preset chooses the rest, as for the ranker.
      const settings = {
        preset: options.preset as NeuralPreset,
        includeSpecial: options.special,
        ...(options.gamma === undefined ? {} : { gamma: options.gamma }),
        ...(options.iterations === undefined ? {} : { iterations: options.iterations }),
        ...(options.domain === undefined ? {} : { domain: options.domain as LmEmdOptions["domain"] }),
        ...(options.otBackend === undefined ? {} : { otBackend: options.otBackend as LmEmdOptions["otBackend"] }),
      };
      const resolved = resolveLmEmd(settings, "explain");
      const encoder = await openEncoder(options);
      try {
        const languages = { ...(options.queryLang === undefined ? {} : { queryLang: options.queryLang }), ...(options.docLang === undefined ? {} : { docLang: options.docLang }) };
        const explanation = await explainPair(encoder, options.query, options.doc, { ...settings, ...languages });
        const rows = explanation.queryTokens.length;
        const cols = explanation.docTokens.length;
        const asMatrix = (data: Float32Array): Matrix => ({ rows, cols, data: Float64Array.from(data) });
        await writeHeatmap(
          options.out,
          [
            { title: "cost 1 − cos", matrix: asMatrix(explanation.cost) },
            { title: "transport plan", matrix: asMatrix(explanation.plan), palette: "blues" },
          ],
          {
            rowLabels: explanation.queryTokens,
            colLabels: explanation.docTokens,
            title: `LM-EMD (${encoder.id}), γ ${resolved.gamma}, ${resolved.iterations} iterations, ${resolved.domain} domain: distance ${explanation.distance.toFixed(4)}`,
          },
        );
        console.error(`wrote ${options.out}`);
        if (options.json) {
          const matches = explanation.queryTokens.map((token, i) => {
            let best = 0;
            for (let j = 1; j < cols; j++) if (explanation.plan[i * cols + j]! > explanation.plan[i * cols + best]!) best = j;
            return { query: token, doc: explanation.docTokens[best], mass: round(explanation.plan[i * cols + best]!) };
          });
          console.log(JSON.stringify({ distance: explanation.distance, queryTokens: explanation.queryTokens, docTokens: explanation.docTokens, matches }));
        }
      } finally {
        await encoder.dispose();
      }
    });
}

function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} expects a positive number, got "${value}"`);
  return n;
}
