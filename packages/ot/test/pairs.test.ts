import { describe, expect, it } from "vitest";
import { availableBackends, batchedSinkhorn, batchedSinkhornPairs, type ConcreteOtBackend, type TokenItem, tokenBatch } from "../src/index.js";
import { mulberry32 } from "../src/random.js";

interface Item {
  embeddings: Float32Array;
  weights?: number[];
}

/** Seeded items of the given lengths (uniform [-1, 1) values), every other one with weights (one 0). */
function items(lengths: readonly number[], dim: number, seed: number, unit = false): Item[] {
  const random = mulberry32(seed);
  return lengths.map((len, i) => {
    const embeddings = Float32Array.from({ length: len * dim }, () => random() * 2 - 1);
    if (unit) {
      for (let t = 0; t < len; t++) {
        let s = 0;
        for (let k = t * dim; k < (t + 1) * dim; k++) s += embeddings[k]! ** 2;
        for (let k = t * dim; k < (t + 1) * dim; k++) embeddings[k] = embeddings[k]! / Math.sqrt(s);
      }
    }
    if (i % 2 === 0) return { embeddings };
    const weights = Array.from({ length: len }, (_, t) => (t === 0 && len > 1 ? 0 : 0.5 + random()));
    return { embeddings, weights };
  });
}

/** Pair k solved on its own, as LM-EMD solved each query's candidates before. */
async function alone(q: Item, d: Item, dim: number, options: Parameters<typeof batchedSinkhorn>[2]): Promise<{ cost: number; plan?: Float32Array }> {
  const r = await batchedSinkhorn(tokenBatch([q], dim), tokenBatch([d], dim), options);
  return { cost: r.costs[0]!, ...(r.plans ? { plan: r.plans[0]! } : {}) };
}

function expectClose(actual: number, expected: number, rel: number, what: string): void {
  if (!(Math.abs(actual - expected) <= rel * Math.max(1e-6, Math.abs(expected)))) throw new Error(`${what}: got ${actual}, expected ${expected}`);
}

const available = (await availableBackends()).filter((a) => a.available).map((a) => a.backend);
// gpu.js compiles a pipeline per batch shape: the ragged batches here would compile dozens.
const fast = available.filter((b) => b === "js" || b === "onnx");

const DIM = 12;
const QUERIES = items([3, 5, 1, 7, 4], DIM, 1);
// Lengths from 1 to 40: sorting pads little, one long document must not pad the others.
const DOCS = items([9, 1, 40, 2, 17, 5, 33, 8, 8, 12, 3, 26], DIM, 2);
// Every query against a few documents, in scrambled order, with a repeated pair and unused items.
const PAIRS: [number, number][] = [];
for (let q = 0; q < QUERIES.length - 1; q++) for (let d = (q * 5) % 7; d < DOCS.length - 1; d += 1 + (q % 3)) PAIRS.push([q, d]);
PAIRS.push([1, 2], [0, 0], [1, 2]);
const scramble = mulberry32(3);
for (let i = PAIRS.length - 1; i > 0; i--) {
  const j = Math.floor(scramble() * (i + 1));
  [PAIRS[i], PAIRS[j]] = [PAIRS[j]!, PAIRS[i]!];
}
const input = { queries: QUERIES, documents: DOCS, query: PAIRS.map((p) => p[0]), document: PAIRS.map((p) => p[1]), dim: DIM };

describe.each(fast)("batchedSinkhornPairs on %s", (backend: ConcreteOtBackend) => {
  for (const domain of ["kernel", "log", "auto"] as const) {
    it(`${domain}: every pair's cost and plan equal the pair solved alone (pair order kept)`, async () => {
      const options = { reg: 0.1, iterations: 50, backend, domain, returnPlans: true };
      const r = await batchedSinkhornPairs(input, options);
      expect(r.backend).toBe(backend);
      expect(r.costs).toHaveLength(PAIRS.length);
      expect(r.plans).toHaveLength(PAIRS.length);
      for (let k = 0; k < PAIRS.length; k++) {
        const [q, d] = PAIRS[k]!;
        const solo = await alone(QUERIES[q]!, DOCS[d]!, DIM, options);
        expectClose(r.costs[k]!, solo.cost, 1e-5, `pair ${k} (${q}, ${d}) cost`);
        expect(r.plans![k]).toHaveLength(solo.plan!.length);
        for (let e = 0; e < solo.plan!.length; e++) expect(Math.abs(r.plans![k]![e]! - solo.plan![e]!)).toBeLessThan(1e-6);
      }
    });
  }

  it("batchSize and normalize: false give the same costs (unit inputs)", async () => {
    const unitQueries = items([3, 5, 1, 7, 4], DIM, 1, true);
    const unitDocs = items([9, 1, 40, 2, 17, 5, 33, 8, 8, 12, 3, 26], DIM, 2, true);
    const unitInput = { ...input, queries: unitQueries, documents: unitDocs };
    const base = await batchedSinkhornPairs(unitInput, { reg: 0.1, iterations: 30, backend });
    const small = await batchedSinkhornPairs(unitInput, { reg: 0.1, iterations: 30, backend, batchSize: 3 });
    const raw = await batchedSinkhornPairs(unitInput, { reg: 0.1, iterations: 30, backend, normalize: false });
    for (let k = 0; k < PAIRS.length; k++) {
      expectClose(small.costs[k]!, base.costs[k]!, 1e-5, `pair ${k} with batchSize 3`);
      expectClose(raw.costs[k]!, base.costs[k]!, 1e-4, `pair ${k} with normalize false`);
    }
  });

  it("items given as rows of a table equal the same vectors given directly", async () => {
    // Every query and document token as one row of a shared table, in scrambled row order.
    const rowsOf = (list: Item[]) => list.map((it) => it.embeddings.length / DIM);
    const total = [...rowsOf(QUERIES), ...rowsOf(DOCS)].reduce((x, y) => x + y, 0);
    const order = Array.from({ length: total }, (_, i) => (i * 37) % total);
    expect(new Set(order).size).toBe(total);
    const table = new Float32Array(total * DIM);
    let next = 0;
    const toTable = (it: Item): TokenItem => {
      const rows: number[] = [];
      for (let t = 0; t < it.embeddings.length / DIM; t++) {
        const row = order[next++]!;
        table.set(it.embeddings.subarray(t * DIM, (t + 1) * DIM), row * DIM);
        rows.push(row);
      }
      return it.weights === undefined ? { table, rows } : { table, rows, weights: it.weights };
    };
    const tabled = { ...input, queries: QUERIES.map(toTable), documents: DOCS.map(toTable) };
    for (const normalize of [true, false]) {
      const options = { reg: 0.1, iterations: 30, backend, normalize, returnPlans: true };
      const direct = await batchedSinkhornPairs(input, options);
      const viaTable = await batchedSinkhornPairs(tabled, options);
      expect(Array.from(viaTable.costs)).toEqual(Array.from(direct.costs));
      expect(viaTable.plans).toEqual(direct.plans);
    }
    await expect(batchedSinkhornPairs({ ...tabled, documents: [{ table, rows: [total] }], query: [0], document: [0] }, { reg: 0.1, iterations: 5, backend })).rejects.toThrow(
      `document 0: row ${total} is outside the table's [0, ${total})`,
    );
    await expect(batchedSinkhornPairs({ ...tabled, documents: [{ table, rows: [] }], query: [0], document: [0] }, { reg: 0.1, iterations: 5, backend })).rejects.toThrow("document 0: no rows");
    const broken = Float32Array.from(table);
    broken[5] = Number.POSITIVE_INFINITY;
    await expect(batchedSinkhornPairs({ ...tabled, documents: [{ table: broken, rows: [3] }], query: [0], document: [0] }, { reg: 0.1, iterations: 5, backend, normalize: false })).rejects.toThrow(
      "document 0: its table: an embedding value is not finite",
    );
  });

  it("one query against its candidates equals batchedSinkhorn's broadcast call", async () => {
    const docs = [0, 2, 4, 5, 6, 9, 11];
    const r = await batchedSinkhornPairs({ queries: QUERIES, documents: DOCS, query: docs.map(() => 3), document: docs, dim: DIM }, { reg: 0.1, iterations: 40, backend });
    const b = await batchedSinkhorn(
      tokenBatch([QUERIES[3]!], DIM),
      tokenBatch(
        docs.map((d) => DOCS[d]!),
        DIM,
      ),
      { reg: 0.1, iterations: 40, backend },
    );
    docs.forEach((_, k) => expectClose(r.costs[k]!, b.costs[k]!, 1e-5, `candidate ${k}`));
  });
});

describe("batchedSinkhornPairs", () => {
  it("auto re-solves unreliable pairs in log domain, as batchedSinkhorn does", async () => {
    // reg 0.004 on float32 kernels: exp(−Δ/reg) underflows for most pairs.
    const options = { reg: 0.004, iterations: 30, backend: "onnx" as const };
    if (!fast.includes("onnx")) return;
    const r = await batchedSinkhornPairs(input, options);
    expect(r.logDomainPairs).toBeGreaterThan(0);
    for (let k = 0; k < PAIRS.length; k++) {
      const [q, d] = PAIRS[k]!;
      expectClose(r.costs[k]!, (await alone(QUERIES[q]!, DOCS[d]!, DIM, options)).cost, 1e-4, `pair ${k}`);
    }
  });

  it("zero pairs, and the input checks", async () => {
    const none = await batchedSinkhornPairs({ ...input, query: [], document: [] }, { reg: 0.1, iterations: 5, backend: "js" });
    expect(none.costs).toHaveLength(0);
    expect(none.logDomainPairs).toBe(0);
    const opts = { reg: 0.1, iterations: 5, backend: "js" as const };
    await expect(batchedSinkhornPairs({ ...input, query: [0], document: [99] }, opts)).rejects.toThrow("batchedSinkhornPairs: pair 0: document index 99 is outside [0, 12)");
    await expect(batchedSinkhornPairs({ ...input, query: [-1], document: [0] }, opts)).rejects.toThrow("batchedSinkhornPairs: pair 0: query index -1 is outside [0, 5)");
    await expect(batchedSinkhornPairs({ ...input, query: [0.5], document: [0] }, opts)).rejects.toThrow(/query index 0.5 is outside/);
    await expect(batchedSinkhornPairs({ ...input, query: [0, 1], document: [0] }, opts)).rejects.toThrow("2 query indices for 1 document indices");
    await expect(batchedSinkhornPairs({ ...input, dim: 5 }, opts)).rejects.toThrow(/is not a positive multiple of dim 5/);
    const bad = [{ embeddings: Float32Array.from([1, Number.NaN, ...new Array<number>(DIM - 2).fill(0)]) }];
    await expect(batchedSinkhornPairs({ ...input, documents: bad, query: [0], document: [0] }, { ...opts, normalize: false })).rejects.toThrow("document 0: an embedding value is not finite");
    await expect(batchedSinkhornPairs({ ...input, documents: bad, query: [0], document: [0] }, { ...opts, normalize: true })).rejects.toThrow("document 0: token 0 has a non-finite value");
    const weights = [{ embeddings: DOCS[1]!.embeddings, weights: [0] }];
    await expect(batchedSinkhornPairs({ ...input, documents: weights, query: [0], document: [0] }, opts)).rejects.toThrow("document 0: the weights sum to 0");
    await expect(batchedSinkhornPairs({ ...input, documents: [{ embeddings: DOCS[1]!.embeddings, weights: [1, 2] }], query: [0], document: [0] }, opts)).rejects.toThrow("2 weights for 1 tokens");
    // Items no pair names are not checked.
    expect((await batchedSinkhornPairs({ ...input, documents: [...DOCS, ...bad], query: [0], document: [0] }, opts)).costs).toHaveLength(1);
    await expect(batchedSinkhornPairs(input, { reg: 0, iterations: 5 })).rejects.toThrow("batchedSinkhornPairs: reg must be a finite number > 0, got 0");
    await expect(batchedSinkhornPairs(input, { reg: 0.1, iterations: 5, domain: "fast" as "log" })).rejects.toThrow('batchedSinkhornPairs: domain must be "auto", "kernel" or "log", got "fast"');
    await expect(batchedSinkhornPairs(input, { reg: 0.1, iterations: 5, backend: "gpu" as "js" })).rejects.toThrow('batchedSinkhornPairs: unknown backend "gpu"');
  });
});
