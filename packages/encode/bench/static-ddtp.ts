/**
 * Static embedding models at collection scale: encode every distinct English DDTP description
 * (61,486) and run a brute-force first stage (German short descriptions as queries, cosine top-100
 * over all document vectors, one thread, a tight dot-product loop over one Float32Array).
 *
 *   pnpm --filter @crossrank/encode bench:static [-- --model DIR_OR_HUB_ID ...] [--queries N]
 *
 * Models: fixture:static (always) plus every --model given (a model2vec or sentence-transformers
 * StaticEmbedding folder or hub id, e.g. minishlab/potion-multilingual-128M with a network).
 * Needs the DDTP files (shared/datasets/ddtp, found by @crossrank/datasets; the message says what
 * is missing otherwise; @crossrank/datasets is a dev dependency, for this benchmark only). Writes
 * `<repo>/results/static-ddtp.json`. A benchmark, not a test: targets are < 10 s to encode the
 * 61k descriptions and < 20 ms a query.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDdtpTask } from "@crossrank/datasets";
import { loadEncoder, type StaticEncoder } from "@crossrank/encode";

interface Text {
  id: string;
  text: string;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "pnpm-workspace.yaml"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("static bench: not inside the crossrank workspace");
    dir = up;
  }
  return dir;
}

function parseArgs(argv: string[]): { models: string[]; queries: number } {
  const models = ["fixture:static"];
  let queries = 1000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") continue;
    if (a === "--model") models.push(argv[++i] ?? "");
    else if (a === "--queries") queries = Number(argv[++i]);
    else throw new Error(`static bench: unknown argument ${a} (--model SPEC, --queries N)`);
  }
  if (!Number.isInteger(queries) || queries < 1) throw new Error("static bench: --queries must be a positive integer");
  return { models, queries };
}

/** Indices of the k largest scores, best first (a bounded min-heap). */
function topK(scores: Float32Array, k: number): Int32Array {
  const heapIdx = new Int32Array(k);
  const heapVal = new Float32Array(k);
  let size = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (size < k) {
      let j = size++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (heapVal[p]! <= s) break;
        heapVal[j] = heapVal[p]!;
        heapIdx[j] = heapIdx[p]!;
        j = p;
      }
      heapVal[j] = s;
      heapIdx[j] = i;
    } else if (s > heapVal[0]!) {
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= k) break;
        const r = l + 1;
        const c = r < k && heapVal[r]! < heapVal[l]! ? r : l;
        if (heapVal[c]! >= s) break;
        heapVal[j] = heapVal[c]!;
        heapIdx[j] = heapIdx[c]!;
        j = c;
      }
      heapVal[j] = s;
      heapIdx[j] = i;
    }
  }
  const order = Array.from({ length: size }, (_, i) => i).sort((a, b) => heapVal[b]! - heapVal[a]! || heapIdx[a]! - heapIdx[b]!);
  return Int32Array.from(order, (i) => heapIdx[i]!);
}

const root = repoRoot();
const { models, queries: queryLimit } = parseArgs(process.argv.slice(2));
let task: { queries: Text[]; documents: Text[] };
try {
  task = await loadDdtpTask({ queryLang: "de", docLang: "en", queryField: "short", docField: "description" });
} catch (e) {
  console.log(`static bench: skipped — the DDTP data is not available: ${(e as Error).message.split("\n")[0]}`);
  process.exit(0);
}
const docs = task.documents;
const queries = task.queries.slice(0, queryLimit);
console.log(`DDTP: ${docs.length} English descriptions, ${queries.length} of ${task.queries.length} German short-description queries; ${cpus().length} CPUs, Node ${process.version}`);

const docIndex = new Map(docs.map((d, i) => [d.id, i]));
const rows: Record<string, unknown>[] = [];
for (const spec of models) {
  const loadStart = performance.now();
  const encoder = (await loadEncoder(spec, { cache: false })) as StaticEncoder;
  const loadSeconds = (performance.now() - loadStart) / 1000;
  if (encoder.backend !== "static") throw new Error(`static bench: ${spec} is not a static embedding model (backend ${encoder.backend})`);
  const texts = docs.map((d) => d.text);
  // Cold: a fresh encoder, its per-word id memo empty — the number that counts.
  let start = performance.now();
  const docVectors = await encoder.encode(texts);
  const encodeSeconds = (performance.now() - start) / 1000;
  start = performance.now();
  await encoder.encode(texts);
  const warmSeconds = (performance.now() - start) / 1000;
  // Reference: @crossrank/tokenize's full tokenize() (offsets included) on a sample, no memo.
  const sample = texts.slice(0, 2000);
  start = performance.now();
  let sampleTokens = 0;
  for (const t of sample) sampleTokens += encoder.tokenizer.tokenize(t, { addSpecialTokens: false, maxLength: 1e9 }).ids.length;
  const tokenizeSampleSeconds = (performance.now() - start) / 1000;

  // The memoised ids must equal the tokenizer's: checked on a sample of documents and queries.
  let mismatches = 0;
  const checkSample = [...texts.slice(0, 3000), ...queries.slice(0, 3000).map((q) => q.text)];
  for (const t of checkSample) {
    const full = encoder.tokenizer.tokenize(t, { addSpecialTokens: false, maxLength: 1e9 });
    const expected = full.ids.filter((_, k) => full.tokens[k] !== "[UNK]" && full.tokens[k] !== "<unk>").slice(0, encoder.maxLength);
    const got = encoder.ids(t);
    if (got.length !== expected.length || expected.some((id, k) => id !== got[k])) mismatches++;
  }
  const qVectors = await encoder.encode(queries.map((q) => q.text));
  const dim = docVectors.dim;
  const D = docVectors.data;
  const n = docs.length;
  const scores = new Float32Array(n);
  let hits1 = 0;
  let hits10 = 0;
  let hits100 = 0;
  start = performance.now();
  for (let q = 0; q < queries.length; q++) {
    const qo = q * dim;
    const qv = qVectors.data.subarray(qo, qo + dim);
    // Both sides are L2-normalised by the model (or scored by dot product when it does not normalise).
    const dim4 = dim - (dim % 4);
    for (let i = 0, o = 0; i < n; i++, o += dim) {
      // Four accumulators: independent adds pipeline better than one chain.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let d = 0;
      for (; d < dim4; d += 4) {
        s0 += D[o + d]! * qv[d]!;
        s1 += D[o + d + 1]! * qv[d + 1]!;
        s2 += D[o + d + 2]! * qv[d + 2]!;
        s3 += D[o + d + 3]! * qv[d + 3]!;
      }
      for (; d < dim; d++) s0 += D[o + d]! * qv[d]!;
      scores[i] = s0 + s1 + s2 + s3;
    }
    const top = topK(scores, 100);
    const gold = docIndex.get(queries[q]!.id);
    const rank = gold === undefined ? -1 : top.indexOf(gold);
    if (rank === 0) hits1++;
    if (rank >= 0 && rank < 10) hits10++;
    if (rank >= 0) hits100++;
  }
  const firstStageMs = (performance.now() - start) / queries.length;
  await encoder.dispose();
  const row = {
    model: spec,
    format: encoder.format,
    modules: encoder.modules,
    dim,
    loadSeconds,
    documents: n,
    encodeSeconds,
    textsPerSecond: n / encodeSeconds,
    warmEncodeSeconds: warmSeconds,
    tokenizeTextsPerSecond: sample.length / tokenizeSampleSeconds,
    sampleTokensPerText: sampleTokens / sample.length,
    idsChecked: checkSample.length,
    idsMismatches: mismatches,
    queries: queries.length,
    firstStageMsPerQuery: firstStageMs,
    recallAt1: hits1 / queries.length,
    recallAt10: hits10 / queries.length,
    recallAt100: hits100 / queries.length,
  };
  rows.push(row);
  console.log(
    `${spec}: load ${loadSeconds.toFixed(2)} s; encode ${n} docs ${encodeSeconds.toFixed(2)} s (${Math.round(n / encodeSeconds)} texts/s; warm ${warmSeconds.toFixed(2)} s); ` +
      `full tokenize() alone ${Math.round(row.tokenizeTextsPerSecond)} texts/s; first stage ${firstStageMs.toFixed(2)} ms/query (dim ${dim}, top-100); R@1 ${row.recallAt1.toFixed(3)} R@10 ${row.recallAt10.toFixed(3)} R@100 ${row.recallAt100.toFixed(3)}; ids ≠ tokenizer on ${mismatches} of ${checkSample.length} sampled texts`,
  );
}

const out = join(root, "results", "static-ddtp.json");
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, command: "pnpm --filter @crossrank/encode bench:static", rows }, null, 2)}\n`);
console.log(`wrote ${out}`);
