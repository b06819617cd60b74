import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CellResult } from "@crossrank/bench";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crossrankWith, type CliResult } from "./run-cli.js";

// Every command loads onnxruntime (1–3 s); the fixture models are generated under a temporary
// CROSSRANK_CACHE_DIR on first use (`fixture:bert`), never under the user's cache, and the
// network is never tried.
const TIMEOUT = 60_000;

let dir: string;
let env: Record<string, string>;
const run = (...args: string[]): Promise<CliResult> => crossrankWith({ env, cwd: dir }, ...args);
const json = <T>(result: CliResult): T => {
  expect(result.stderr).not.toMatch(/^crossrank:/m);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
};
/** The one line a failing command prints. */
const failure = (result: CliResult): string => {
  expect(result.code).toBe(1);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^crossrank: /);
  return lines[0]!;
};

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-encode-"));
  env = { CROSSRANK_CACHE_DIR: join(dir, "cache"), CROSSRANK_OFFLINE: "1" };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BERT_FILES = [
  "config.json",
  "model.safetensors",
  "onnx/model.onnx",
  "onnx/model_quantized.onnx",
  "special_tokens_map.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
];
const ST_FILES = [
  ...BERT_FILES,
  "1_Pooling/config.json",
  "2_Dense/config.json",
  "2_Dense/model.safetensors",
  "config_sentence_transformers.json",
  "modules.json",
  "sentence_bert_config.json",
];

describe("crossrank fixture-model", { timeout: TIMEOUT }, () => {
  it("writes a BERT folder in the Hugging Face layout and lists its files", async () => {
    const out = join(dir, "fm-bert");
    const result = await run("fixture-model", "--out", out, "--kind", "bert");
    expect(result.code).toBe(0);
    const listed = result.stdout.trim().split("\n");
    expect([...listed].sort()).toEqual([...BERT_FILES].sort());
    for (const file of listed) expect(existsSync(join(out, file)), file).toBe(true);
    const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { model_type: string };
    expect(config.model_type).toBe("bert");
    expect(existsSync(join(out, "modules.json"))).toBe(false);
  });

  it("writes a sentence-transformers folder with pooling and dense modules", async () => {
    const out = join(dir, "fm-st");
    const result = await run("fixture-model", "--out", out, "--kind", "sentence-transformers");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n").sort()).toEqual([...ST_FILES].sort());
    for (const file of ST_FILES) expect(existsSync(join(out, file)), file).toBe(true);
    const modules = JSON.parse(await readFile(join(out, "modules.json"), "utf8")) as { type: string }[];
    expect(modules.map((m) => m.type.split(".").at(-1))).toEqual(["Transformer", "Pooling", "Dense", "Normalize"]);
  });

  it("rejects an unknown --kind in one line and writes nothing", async () => {
    const out = join(dir, "fm-gpt");
    const line = failure(await run("fixture-model", "--out", out, "--kind", "gpt"));
    expect(line).toContain('--kind: expected one of bert, sentence-transformers, xmod, got "gpt"');
    expect(existsSync(out)).toBe(false);
  });
});

interface TokenRow {
  tokens: string[];
  offsets: [number, number][];
  special: boolean[];
  embeddings: number[][];
}

describe("crossrank encode", { timeout: TIMEOUT }, () => {
  const TEXTS = ["Paris is the capital of France.", "Der Hund schläft.", "the river"];
  let bert: string;
  let st: string;
  let input: string;

  beforeAll(async () => {
    bert = join(dir, "bert");
    st = join(dir, "st");
    const made = await Promise.all([
      run("fixture-model", "--out", bert, "--kind", "bert"),
      run("fixture-model", "--out", st, "--kind", "sentence-transformers"),
    ]);
    for (const result of made) expect(result.code, result.stderr).toBe(0);
    input = join(dir, "texts.txt");
    await writeFile(input, TEXTS.join("\n") + "\n");
  }, TIMEOUT);

  it("mean pooling without --normalize is the column mean of the --tokens rows", async () => {
    const [pooled, tokens] = await Promise.all([
      run("encode", "--model", bert, "--input", input, "--pooling", "mean", "--json"),
      run("encode", "--model", bert, "--input", input, "--tokens"),
    ]);
    const vectors = json<number[][]>(pooled);
    const items = json<TokenRow[]>(tokens);
    expect(vectors).toHaveLength(TEXTS.length);
    expect(items).toHaveLength(TEXTS.length);
    const dim = vectors[0]!.length;
    expect(dim).toBeGreaterThan(0);
    items.forEach((item, t) => {
      const n = item.tokens.length;
      expect(item.embeddings).toHaveLength(n);
      for (const row of item.embeddings) expect(row).toHaveLength(dim);
      const mean = Array.from({ length: dim }, (_, c) => item.embeddings.reduce((s, row) => s + row[c]!, 0) / n);
      const vector = vectors[t]!;
      expect(vector).toHaveLength(dim);
      // The JSON rounds to 7 significant digits.
      for (let c = 0; c < dim; c++) expect(Math.abs(vector[c]! - mean[c]!), `text ${t}, column ${c}`).toBeLessThan(1e-5);
      // Not normalised: a raw mean of hidden states is nowhere near unit length.
      expect(Math.abs(norm(vector) - 1)).toBeGreaterThan(1e-3);
    });
  });

  it("--tokens flags exactly [CLS] and [SEP] as special, with offsets into the text", async () => {
    const items = json<TokenRow[]>(await run("encode", "--model", bert, "--input", input, "--tokens"));
    items.forEach((item, t) => {
      expect(Object.keys(item).sort()).toEqual(["embeddings", "offsets", "special", "tokens"]);
      expect(item.tokens[0]).toBe("[CLS]");
      expect(item.tokens.at(-1)).toBe("[SEP]");
      expect(item.tokens).not.toContain("[PAD]");
      expect(item.special).toEqual(item.tokens.map((token) => token === "[CLS]" || token === "[SEP]"));
      expect(item.offsets).toHaveLength(item.tokens.length);
      item.tokens.forEach((token, i) => {
        const [start, end] = item.offsets[i]!;
        if (item.special[i]) expect([start, end]).toEqual([0, 0]);
        else expect(TEXTS[t]!.slice(start, end)).toBe(token.replace(/^##/, ""));
      });
    });
  });

  it("--normalize gives unit vectors", async () => {
    const vectors = json<number[][]>(await run("encode", "--model", bert, "--input", input, "--pooling", "cls", "--normalize"));
    expect(vectors).toHaveLength(TEXTS.length);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 5);
  });

  it("a sentence-transformers folder gives unit vectors of its Dense width", async () => {
    const dense = JSON.parse(await readFile(join(st, "2_Dense", "config.json"), "utf8")) as { in_features: number; out_features: number };
    expect(dense.out_features).not.toBe(dense.in_features);
    const vectors = json<number[][]>(await run("encode", "--model", st, "--input", input, "--json"));
    expect(vectors).toHaveLength(TEXTS.length);
    for (const v of vectors) {
      expect(v).toHaveLength(dense.out_features);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
  });

  it("an empty line is an error naming file:line, before any model is loaded", async () => {
    const bad = join(dir, "gap.txt");
    await writeFile(bad, "first text\n\nthird text\n");
    const line = failure(await run("encode", "--model", join(dir, "no-model-here"), "--input", bad));
    expect(line).toContain(`${bad}:2: empty line`);
  });

  it("a missing model folder is one line naming the folder", async () => {
    const missing = join(dir, "models", "missing");
    const line = failure(await run("encode", "--model", missing, "--input", input));
    expect(line).toContain(missing);
    expect(line).toContain("does not exist");
    // Written relative, it is still a folder (not a hub id) and named absolute.
    const relative = failure(await run("encode", "--model", "./models/missing", "--input", input));
    expect(relative).toContain(missing);
  });

  it("rejects --pooling or --normalize with --tokens", async () => {
    for (const flag of [["--pooling", "mean"], ["--normalize"]]) {
      expect(failure(await run("encode", "--model", bert, "--input", input, "--tokens", ...flag))).toContain("--tokens prints raw token embeddings");
    }
  });

  it("--language picks an X-MOD model's adapter (fixture:xmod, on onnx without --backend); without it, one line naming the model's languages", async () => {
    const [de, en] = await Promise.all([run("encode", "--model", "fixture:xmod", "--input", input, "--language", "de"), run("encode", "--model", "fixture:xmod", "--input", input, "--language", "en")]);
    const deVectors = json<number[][]>(de);
    const enVectors = json<number[][]>(en);
    expect(deVectors).toHaveLength(TEXTS.length);
    expect(Math.max(...deVectors[1]!.map((x, i) => Math.abs(x - enVectors[1]![i]!)))).toBeGreaterThan(1e-3);
    expect(failure(await run("encode", "--model", "fixture:xmod", "--input", input))).toMatch(/has no language.*pass languages .* or language; the model has ar_AR, de_DE/);
  });

  it("ignores a byte-order mark at the start of the input", async () => {
    const withBom = join(dir, "bom.txt");
    await writeFile(withBom, "\uFEFF" + TEXTS.join("\n"));
    const [plain, bom] = await Promise.all([
      run("encode", "--model", bert, "--input", input, "--tokens"),
      run("encode", "--model", bert, "--input", withBom, "--tokens"),
    ]);
    // The tokenizer drops U+FEFF anyway; kept, it would shift every offset of the first text by one.
    const [first, expected] = [json<TokenRow[]>(bom)[0]!, json<TokenRow[]>(plain)[0]!];
    expect(first.tokens).toEqual(expected.tokens);
    expect(first.offsets).toEqual(expected.offsets);
  });
});

interface BenchReport {
  model: string;
  texts: number;
  tokens: number;
  results: { backend: string; seconds: number; tokensPerSecond: number; textsPerSecond: number }[];
  transformersOverhead: number;
}

describe("crossrank encode-bench", { timeout: TIMEOUT }, () => {
  it("reports tokens/s of both backends", async () => {
    const report = json<BenchReport>(await run("encode-bench", "--model", "fixture:bert", "--texts", "32", "--rounds", "1", "--json"));
    expect(report.model).toBe("fixture:bert");
    expect(report.texts).toBe(32);
    expect(report.tokens).toBeGreaterThan(32);
    expect(report.results.map((r) => r.backend).sort()).toEqual(["onnx", "transformers"]);
    for (const r of report.results) {
      expect(r.tokensPerSecond).toBeGreaterThan(0);
      expect(r.tokensPerSecond).toBeCloseTo(report.tokens / r.seconds, 6);
      expect(r.textsPerSecond).toBeGreaterThan(0);
    }
    expect(Number.isFinite(report.transformersOverhead)).toBe(true);
  });

  it("credits the tokens the encoder ran: after a sentence-transformers max_seq_length cut", async () => {
    // A copy of the sentence-transformers fixture whose max_seq_length (8) is far below the
    // tokenizer's model_max_length: the long line is cut to 8 tokens.
    const short = join(dir, "st-short");
    expect((await run("fixture-model", "--out", short, "--kind", "sentence-transformers")).code).toBe(0);
    const configPath = join(short, "sentence_bert_config.json");
    const config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify({ ...config, max_seq_length: 8 }));
    const long = join(dir, "long.txt");
    await writeFile(long, "Rivers carry sediment from the mountains to the sea, building deltas over thousands of years.\nParis\n");
    const [bench, tokens] = await Promise.all([
      run("encode-bench", "--model", short, "--input", long, "--texts", "2", "--rounds", "1", "--json"),
      run("encode", "--model", short, "--input", long, "--tokens"),
    ]);
    const rows = json<TokenRow[]>(tokens).map((item) => item.tokens.length);
    expect(rows[0]).toBe(8);
    expect(json<BenchReport>(bench).tokens).toBe(rows[0]! + rows[1]!);
  });
});

interface Explanation {
  distance: number;
  queryTokens: string[];
  docTokens: string[];
  matches: { query: string; doc: string; mass: number }[];
}

describe("crossrank explain", { timeout: TIMEOUT }, () => {
  it("writes an SVG labelled with the tokens and prints the distance and matches", async () => {
    const out = join(dir, "explain.svg");
    const explanation = json<Explanation>(
      await run("explain", "--model", "fixture:bert", "--query", "the dog runs", "--doc", "der Hund läuft", "--out", out, "--json"),
    );
    expect(Number.isFinite(explanation.distance)).toBe(true);
    expect(explanation.distance).toBeGreaterThan(0);
    expect(explanation.queryTokens[0]).toBe("[CLS]");
    expect(explanation.docTokens.at(-1)).toBe("[SEP]");
    expect(explanation.matches.map((m) => m.query)).toEqual(explanation.queryTokens);
    for (const match of explanation.matches) {
      expect(explanation.docTokens).toContain(match.doc);
      expect(match.mass).toBeGreaterThan(0);
    }
    const svg = await readFile(out, "utf8");
    expect(svg.startsWith("<svg") || svg.startsWith("<?xml")).toBe(true);
    for (const token of [...explanation.queryTokens, ...explanation.docTokens]) expect(svg).toContain(`>${token}</text>`);
    expect(svg).toContain("transport plan");
  });

  it("--no-special leaves CLS and SEP out of the matrices", async () => {
    const out = join(dir, "explain-plain.svg");
    const explanation = json<Explanation>(
      await run("explain", "--model", "fixture:bert", "--query", "the dog", "--doc", "der Hund", "--out", out, "--no-special", "--json"),
    );
    for (const tokens of [explanation.queryTokens, explanation.docTokens]) {
      expect(tokens.length).toBeGreaterThan(0);
      expect(tokens).not.toContain("[CLS]");
      expect(tokens).not.toContain("[SEP]");
    }
  });

  it("takes the ranker's preset and Sinkhorn settings, and names what it used in the figure", async () => {
    const out = join(dir, "explain-faithful.svg");
    const faithful = json<Explanation>(await run("explain", "--model", "fixture:bert", "--query", "the dog runs", "--doc", "der Hund läuft", "--out", out, "--preset", "faithful", "--json"));
    expect(await readFile(out, "utf8")).toContain("γ 0.1, 500 iterations, kernel domain");
    const chosen = json<Explanation>(
      await run("explain", "--model", "fixture:bert", "--query", "the dog runs", "--doc", "der Hund läuft", "--out", out, "--gamma", "1", "--iterations", "50", "--domain", "log", "--ot-backend", "js", "--json"),
    );
    expect(await readFile(out, "utf8")).toContain("γ 1, 50 iterations, log domain");
    // A larger γ spreads the plan: another distance.
    expect(Math.abs(chosen.distance - faithful.distance)).toBeGreaterThan(1e-6);
    expect(failure(await run("explain", "--model", "fixture:bert", "--query", "a", "--doc", "b", "--out", out, "--preset", "exact"))).toContain("--preset: expected default or faithful");
    expect(failure(await run("explain", "--model", "fixture:bert", "--query", "a", "--doc", "b", "--out", out, "--domain", "dual"))).toContain("--domain: expected auto, kernel or log");
  });

  it("rejects an --out that is neither .png nor .svg", async () => {
    const out = join(dir, "explain.jpg");
    const line = failure(await run("explain", "--model", "fixture:bert", "--query", "a", "--doc", "b", "--out", out));
    expect(line).toContain("--out: expected a .png or .svg file");
    expect(existsSync(out)).toBe(false);
  });
});

/** One row of `crossrank bench --json`: the fields of a suite cell that the command prints. */
type BenchCell = Pick<CellResult, "ranker" | "params" | "label" | "queries" | "documents" | "measures">;

describe("crossrank bench --encoder", { timeout: TIMEOUT }, () => {
  let queries: string;
  let documents: string;

  beforeAll(async () => {
    // loadParallelTask: line i of the query file ↔ line i of the document file.
    const data = join(dir, "parallel");
    await mkdir(data, { recursive: true });
    queries = join(data, "q.de");
    documents = join(data, "d.en");
    await writeFile(queries, ["Der Hund läuft schnell.", "Die Katze schläft.", "Paris ist die Hauptstadt von Frankreich.", "Ich trinke gern Kaffee."].join("\n") + "\n");
    await writeFile(documents, ["The dog runs fast.", "The cat sleeps.", "Paris is the capital of France.", "I like drinking coffee."].join("\n") + "\n");
  });

  it("runs BM25 and the neural rankers with the fixture model", async () => {
    const cells = json<BenchCell[]>(
      await run(
        "bench", "--dataset", `parallel:${queries},${documents}`, "--query-lang", "de",
        "--rankers", "bm25,bert-mean,lm-emd,maxsim", "--encoder", "fixture:bert", "--measures", "R@1,MRR@10", "--json",
      ),
    );
    expect(cells.map((c) => c.ranker)).toEqual(["bm25", "bert-mean", "lm-emd", "maxsim"]);
    for (const cell of cells) {
      expect(cell.queries).toBe(4);
      expect(cell.documents).toBe(4);
      expect(Object.keys(cell.measures)).toEqual(["R@1", "MRR@10"]);
      for (const value of Object.values(cell.measures)) {
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(1);
      }
    }
    const [bm25, ...neural] = cells;
    expect(bm25!.params).toEqual({});
    expect(bm25!.label).not.toContain("encoder");
    for (const cell of neural) {
      expect(cell.label).toContain("encoder=fixture:bert");
      expect(cell.params.encoder).toBe("fixture:bert");
    }
    // The embedding cache defaults to crossrank's cache folder, here the test's.
    expect((await readdir(join(env.CROSSRANK_CACHE_DIR!, "embeddings"))).some((f) => f.endsWith(".emb"))).toBe(true);
  });

  it("resolves a relative --encoder folder against the working folder", async () => {
    const folder = join(dir, "bench-model");
    expect((await run("fixture-model", "--out", folder)).code).toBe(0);
    const cells = json<BenchCell[]>(
      await run("bench", "--dataset", `parallel:${queries},${documents}`, "--query-lang", "de", "--rankers", "bert-cls", "--encoder", "./bench-model", "--measures", "R@1", "--json"),
    );
    expect(cells).toHaveLength(1);
    expect(cells[0]!.params.encoder).toBe(folder);
    expect(cells[0]!.label).toContain(`encoder=${folder}`);
  });

  it("gives each --param to the listed rankers that take it", async () => {
    const cells = json<BenchCell[]>(
      await run(
        "bench", "--dataset", `parallel:${queries},${documents}`, "--query-lang", "de", "--rankers", "bm25,lm-emd",
        "--encoder", "fixture:bert", "--param", "k1=0.9", "--param", "iterations=5", "--measures", "R@1", "--json",
      ),
    );
    expect(cells.map((c) => [c.ranker, c.params])).toEqual([
      ["bm25", { k1: 0.9 }],
      ["lm-emd", { iterations: 5, encoder: "fixture:bert" }],
    ]);
    expect(cells[1]!.label).toContain("iterations=5");
    const line = failure(
      await run("bench", "--dataset", `parallel:${queries},${documents}`, "--query-lang", "de", "--rankers", "bm25,lm-emd", "--encoder", "fixture:bert", "--param", "gama=0.1"),
    );
    expect(line).toContain("--param gama: no ranker of --rankers bm25,lm-emd takes it");
  });

  it("runs a neural ranker without --encoder on the shipped static model", async () => {
    const result = await run("bench", "--dataset", `parallel:${queries},${documents}`, "--query-lang", "de", "--rankers", "bm25,bi-encoder", "--json");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("encoder=crossrank-static");
  });
});
