/**
 * gpu.js backends: `cpu` (kernels transpiled to JavaScript), `webasm` (WebAssembly with f32x4
 * SIMD, threaded over a worker pool) and `webgpu` (WGSL compute shaders, where an adapter exists).
 *
 * One batch is one `gpu.createPipeline` call: the cost kernel, the row/column minima, the kernel
 * matrix, every iteration (unrolled at trace time: 2 kernels per iteration) and the outputs are
 * recorded once per shape and replayed with the intermediates kept on the backend (one shared wasm
 * memory on webasm, storage buffers on webgpu); only costs, scalings and plans come back.
 *
 * Kernels loop over constants (n, m, d), and every kernel's `loopMaxIterations` is set above the
 * longest loop: gpu.js otherwise stops loops bounded by a non-constant at 1000 iterations,
 * silently dropping terms (d = 1024 would lose its last 24 products).
 */
import type { GPU as GPUType, IKernelRunShortcut, IPipelineRunShortcut } from "gpu.js";
import type { PairSolution } from "./backend-js.js";
import { type Prepared, inverseNorms, lengthMask, plan, SCALING_LIMITS } from "./prepare.js";

/** "webgl": a browser's WebGL 2 (WebGL 1 where 2 is missing), kernels as fragment shaders over float textures; Node has no WebGL. */
export type GpuJsMode = "cpu" | "webasm" | "webgpu" | "webgl";

/** gpu.js's own mode name for ours. */
function gpuJsMode(mode: GpuJsMode, GPU: GpuJsModule["GPU"]): string {
  if (mode !== "webgl") return mode;
  return GPU.isWebGL2Supported ? "webgl2" : "webgl";
}

type GpuJsModule = typeof import("gpu.js");

let gpuJsPromise: Promise<GpuJsModule> | undefined;
function loadGpuJs(): Promise<GpuJsModule> {
  gpuJsPromise ??= import("gpu.js").then((m) => ((m as unknown as { default?: GpuJsModule }).default ?? m) as GpuJsModule);
  return gpuJsPromise;
}

/** Penalty exponent for padding in log domain (exp(−BIG) = 0). */
const NEG = -1e30;

// ---- kernels (gpu.js dialect: `this.thread`, `this.constants`, no closures) -----------------------
// 3-D outputs are [x = j (document token), y = i (query token), z = p (pair)]; 2-D [x = token, y = pair].
// q = p · qs is the query item (qs = 0 when one query is broadcast).

const COST = `function (X, Y, ix, iy) {
  const j = this.thread.x;
  const i = this.thread.y;
  const p = this.thread.z;
  const q = p * this.constants.qs;
  const xo = (q * this.constants.n + i) * this.constants.d;
  const yo = (p * this.constants.m + j) * this.constants.d;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < this.constants.d4; k++) {
    const o = k * 4;
    s0 += X[xo + o] * Y[yo + o];
    s1 += X[xo + o + 1] * Y[yo + o + 1];
    s2 += X[xo + o + 2] * Y[yo + o + 2];
    s3 += X[xo + o + 3] * Y[yo + o + 3];
  }
  for (let k = this.constants.dTail; k < this.constants.d; k++) {
    s0 += X[xo + k] * Y[yo + k];
  }
  return 1 - (s0 + s1 + s2 + s3) * ix[q * this.constants.n + i] * iy[p * this.constants.m + j];
}`;

const GAMMA = `function (C, mx) {
  const j = this.thread.x;
  const p = this.thread.y;
  const q = p * this.constants.qs;
  let lo = 1e30;
  for (let i = 0; i < this.constants.n; i++) {
    if (mx[q * this.constants.n + i] > 0) {
      lo = Math.min(lo, C[p][i][j]);
    }
  }
  return lo;
}`;

const KMAT = `function (C, gamma, mx, my, reg) {
  const j = this.thread.x;
  const i = this.thread.y;
  const p = this.thread.z;
  const q = p * this.constants.qs;
  let k = 1;
  if (mx[q * this.constants.n + i] > 0) {
    if (my[p * this.constants.m + j] > 0) {
      k = Math.exp((gamma[p][j] - C[p][i][j]) / reg);
    }
  }
  return k;
}`;

const VSTEP = `function (K, u, b) {
  const j = this.thread.x;
  const p = this.thread.y;
  let s = 0;
  for (let i = 0; i < this.constants.n; i++) {
    s += K[p][i][j] * u[p][i];
  }
  return b[p * this.constants.m + j] / s;
}`;

const USTEP = `function (K, v, a) {
  const i = this.thread.x;
  const p = this.thread.y;
  const q = p * this.constants.qs;
  let s = 0;
  for (let j = 0; j < this.constants.m; j++) {
    s += K[p][i][j] * v[p][j];
  }
  return a[q * this.constants.n + i] / s;
}`;

const KCOST = `function (C, K, u, v) {
  const p = this.thread.x;
  let s = 0;
  for (let i = 0; i < this.constants.n; i++) {
    let r = 0;
    for (let j = 0; j < this.constants.m; j++) {
      r += K[p][i][j] * v[p][j] * C[p][i][j];
    }
    s += u[p][i] * r;
  }
  return s;
}`;

const KMASS = `function (K, u, v) {
  const p = this.thread.x;
  let s = 0;
  for (let i = 0; i < this.constants.n; i++) {
    let r = 0;
    for (let j = 0; j < this.constants.m; j++) {
      r += K[p][i][j] * v[p][j];
    }
    s += u[p][i] * r;
  }
  return s;
}`;

const KPLAN = `function (K, u, v) {
  return u[this.thread.z][this.thread.y] * K[this.thread.z][this.thread.y][this.thread.x] * v[this.thread.z][this.thread.x];
}`;

// Log domain: M = −C/reg; potentials F (rows), G (columns) as in the ONNX graph; padding is
// skipped in every sum (and its potential set to NEG).
const MMAT = `function (C, reg) {
  return -C[this.thread.z][this.thread.y][this.thread.x] / reg;
}`;

const GSTEP = `function (M, F, mx, b) {
  const j = this.thread.x;
  const p = this.thread.y;
  const q = p * this.constants.qs;
  const bj = b[p * this.constants.m + j];
  let g = ${NEG};
  if (bj > 0) {
    let hi = ${NEG};
    for (let i = 0; i < this.constants.n; i++) {
      if (mx[q * this.constants.n + i] > 0) {
        hi = Math.max(hi, M[p][i][j] + F[p][i]);
      }
    }
    let s = 0;
    for (let i = 0; i < this.constants.n; i++) {
      if (mx[q * this.constants.n + i] > 0) {
        s += Math.exp(M[p][i][j] + F[p][i] - hi);
      }
    }
    g = Math.log(bj) - hi - Math.log(s);
  }
  return g;
}`;

const FSTEP = `function (M, G, a, my) {
  const i = this.thread.x;
  const p = this.thread.y;
  const q = p * this.constants.qs;
  const ai = a[q * this.constants.n + i];
  let f = ${NEG};
  if (ai > 0) {
    let hi = ${NEG};
    for (let j = 0; j < this.constants.m; j++) {
      if (my[p * this.constants.m + j] > 0) {
        hi = Math.max(hi, M[p][i][j] + G[p][j]);
      }
    }
    let s = 0;
    for (let j = 0; j < this.constants.m; j++) {
      if (my[p * this.constants.m + j] > 0) {
        s += Math.exp(M[p][i][j] + G[p][j] - hi);
      }
    }
    f = Math.log(ai) - hi - Math.log(s);
  }
  return f;
}`;

const LPLAN = `function (M, F, G) {
  const p = this.thread.z;
  const i = this.thread.y;
  const j = this.thread.x;
  let x = 0;
  if (F[p][i] > ${NEG / 2}) {
    if (G[p][j] > ${NEG / 2}) {
      x = Math.exp(M[p][i][j] + F[p][i] + G[p][j]);
    }
  }
  return x;
}`;

const LCOST = `function (C, P) {
  const p = this.thread.x;
  let s = 0;
  for (let i = 0; i < this.constants.n; i++) {
    for (let j = 0; j < this.constants.m; j++) {
      s += P[p][i][j] * C[p][i][j];
    }
  }
  return s;
}`;

const LMASS = `function (P) {
  const p = this.thread.x;
  let s = 0;
  for (let i = 0; i < this.constants.n; i++) {
    for (let j = 0; j < this.constants.m; j++) {
      s += P[p][i][j];
    }
  }
  return s;
}`;

// ---- pipelines ----------------------------------------------------------------------------------

interface Compiled {
  gpu: GPUType;
  pipeline: IPipelineRunShortcut;
}

const instances = new Map<string, Promise<Compiled>>();

async function compile(mode: GpuJsMode, B: number, n: number, m: number, d: number, qs: number, iterations: number, domain: "kernel" | "log", plans: boolean): Promise<Compiled> {
  const { GPU } = await loadGpuJs();
  if (mode === "webgpu") await ensureWebGpu();
  const gpu = new GPU({ mode: gpuJsMode(mode, GPU) as never });
  const d4 = Math.floor(d / 4);
  const constants = { n, m, d, d4, dTail: d4 * 4, qs };
  const loopMax = Math.max(n, m, d) + 8;
  const kernel = (source: string, output: number[]): IKernelRunShortcut => {
    const k = gpu.createKernel(source, { output, constants, precision: "single", tactic: "precision" } as never) as IKernelRunShortcut;
    k.setLoopMaxIterations(loopMax);
    return k;
  };
  const out3 = [m, n, B];
  const rows = [n, B];
  const cols = [m, B];
  let pipeline: IPipelineRunShortcut;
  if (domain === "kernel") {
    const cost = kernel(COST, out3);
    const gamma = kernel(GAMMA, cols);
    const kmat = kernel(KMAT, out3);
    const vstep = kernel(VSTEP, cols);
    const ustep = kernel(USTEP, rows);
    const kcost = kernel(KCOST, [B]);
    const kmass = kernel(KMASS, [B]);
    const kplan = plans ? kernel(KPLAN, out3) : undefined;
    pipeline = gpu.createPipeline(function (this: { constants: Record<string, unknown> }, X: unknown, Y: unknown, ix: unknown, iy: unknown, a: unknown, b: unknown, mx: unknown, my: unknown, reg: unknown, u0: unknown) {
      const C = cost(X, Y, ix, iy);
      const K = kmat(C, gamma(C, mx), mx, my, reg);
      let u = u0;
      let v = undefined as unknown;
      for (let t = 0; t < iterations; t++) {
        v = vstep(K, u, b);
        u = ustep(K, v, a);
      }
      const result: Record<string, unknown> = { cost: kcost(C, K, u, v), mass: kmass(K, u, v), u, v };
      if (kplan !== undefined) result.plan = kplan(K, u, v);
      return result;
    });
  } else {
    const cost = kernel(COST, out3);
    const mmat = kernel(MMAT, out3);
    const gstep = kernel(GSTEP, cols);
    const fstep = kernel(FSTEP, rows);
    const lplan = kernel(LPLAN, out3);
    const lcost = kernel(LCOST, [B]);
    const lmass = kernel(LMASS, [B]);
    pipeline = gpu.createPipeline(function (this: { constants: Record<string, unknown> }, X: unknown, Y: unknown, ix: unknown, iy: unknown, a: unknown, b: unknown, mx: unknown, my: unknown, reg: unknown, f0: unknown) {
      const C = cost(X, Y, ix, iy);
      const M = mmat(C, reg);
      let F = f0;
      let G = undefined as unknown;
      for (let t = 0; t < iterations; t++) {
        G = gstep(M, F, mx, b);
        F = fstep(M, G, a, my);
      }
      const P = lplan(M, F, G);
      const result: Record<string, unknown> = { cost: lcost(C, P), mass: lmass(P) };
      if (plans) result.plan = P;
      return result;
    });
  }
  return { gpu, pipeline };
}

function getCompiled(mode: GpuJsMode, B: number, p: Prepared, domain: "kernel" | "log"): Promise<Compiled> {
  const qs = p.qCount === 1 ? 0 : 1;
  const key = [mode, B, p.n, p.m, p.d, qs, p.iterations, domain, p.returnPlans].join("|");
  let c = instances.get(key);
  if (c === undefined) {
    c = compile(mode, B, p.n, p.m, p.d, qs, p.iterations, domain, p.returnPlans);
    c.catch(() => instances.delete(key));
    instances.set(key, c);
    // Keep the cache small: pipelines hold their buffers.
    if (instances.size > 8) {
      const [oldKey, old] = instances.entries().next().value as [string, Promise<Compiled>];
      instances.delete(oldKey);
      void old.then((o) => o.pipeline.destroy()).catch(() => undefined);
    }
  }
  return c;
}

/** Default pairs per pipeline call. */
export function defaultGpuJsBatch(mode: GpuJsMode, p: Prepared): number {
  const perPair = p.m * p.d + 4 * p.n * p.m;
  const budget = mode === "webgpu" ? 64e6 : mode === "webasm" ? 8e6 : 2e6;
  return Math.max(1, Math.min(mode === "webgpu" ? 512 : 64, Math.floor(budget / perPair), p.pairs));
}

function rowsOf(x: unknown): ArrayLike<number>[] {
  return Array.from(x as ArrayLike<ArrayLike<number>>);
}

/** Solves every pair of `p` with gpu.js in `mode`. */
export async function solveGpuJs(mode: GpuJsMode, p: Prepared, domain: "kernel" | "log", batchSize?: number): Promise<PairSolution[]> {
  const results = new Array<PairSolution>(p.pairs);
  const size = batchSize ?? defaultGpuJsBatch(mode, p);
  for (const { batch, pairs } of plan(p, size)) {
    // Every call of one pipeline has the same shape: pad the last (short) batch with copies of
    // its first pair, whose results are dropped.
    const q = batch.pairs === size || size >= p.pairs ? batch : padBatch(batch, size);
    const B = q.pairs;
    const { pipeline } = await getCompiled(mode, B, q, domain);
    const ix = q.ix ?? inverseNorms(q.X, q.qCount * q.n, q.d, q.normalize);
    const iy = q.iy ?? inverseNorms(q.Y, B * q.m, q.d, q.normalize);
    // Start: u = 1 (F = 0) on real tokens, u = 0 (F = NEG) on padding.
    const start = Array.from({ length: B }, (_, k) => {
      const len = q.qLen[q.qCount === 1 ? 0 : k]!;
      return new Float32Array(q.n).fill(domain === "kernel" ? 1 : 0, 0, len).fill(domain === "kernel" ? 0 : NEG, len);
    });
    const mx = lengthMask(q.qLen, q.n);
    const my = lengthMask(q.dLen, q.m);
    const out = (await pipeline(q.X, q.Y, ix, iy, q.a, q.b, mx, my, q.reg, start)) as Record<string, unknown>;
    const cost = out.cost as ArrayLike<number>;
    const mass = out.mass as ArrayLike<number>;
    const u = out.u === undefined ? undefined : rowsOf(out.u);
    const v = out.v === undefined ? undefined : rowsOf(out.v);
    const P = out.plan === undefined ? undefined : (out.plan as ArrayLike<ArrayLike<ArrayLike<number>>>);
    for (let k = 0; k < batch.pairs; k++) {
      const c = cost[k]!;
      let healthy = Number.isFinite(c) && Math.abs(mass[k]! - 1) < 1e-3;
      const qi = q.qCount === 1 ? 0 : k;
      const nq = q.qLen[qi]!;
      const md = q.dLen[k]!;
      if (u !== undefined && v !== undefined) {
        for (let i = 0; i < nq; i++) {
          const x = u[k]![i]!;
          if (q.a[qi * q.n + i]! > 0 && !(x >= SCALING_LIMITS.min && x <= SCALING_LIMITS.max)) healthy = false;
        }
        for (let j = 0; j < md; j++) {
          const x = v[k]![j]!;
          if (q.b[k * q.m + j]! > 0 && !(x >= SCALING_LIMITS.min && x <= SCALING_LIMITS.max)) healthy = false;
        }
      }
      const sol: PairSolution = { cost: c, healthy };
      if (P !== undefined) {
        const planK = new Float32Array(nq * md);
        const block = P[k]!;
        for (let i = 0; i < nq; i++) {
          const row = block[i]!;
          for (let j = 0; j < md; j++) planK[i * md + j] = row[j]!;
        }
        sol.plan = planK;
      }
      results[pairs[k]!] = sol;
    }
  }
  return results;
}

/** `batch` grown to `size` pairs by repeating its first pair. */
function padBatch(batch: Prepared, size: number): Prepared {
  const extra = size - batch.pairs;
  const { n, m, d } = batch;
  const grow = <T extends Float32Array | Int32Array>(src: T, per: number, make: (len: number) => T): T => {
    const out = make(size * per);
    out.set(src.subarray(0, batch.pairs * per));
    for (let e = 0; e < extra; e++) out.set(src.subarray(0, per), (batch.pairs + e) * per);
    return out;
  };
  const f32 = (len: number): Float32Array => new Float32Array(len);
  const i32 = (len: number): Int32Array => new Int32Array(len);
  const broadcast = batch.qCount === 1;
  return {
    ...batch,
    pairs: size,
    Y: grow(batch.Y, m * d, f32),
    b: grow(batch.b, m, f32),
    dLen: grow(batch.dLen, 1, i32),
    X: broadcast ? batch.X : grow(batch.X, n * d, f32),
    a: broadcast ? batch.a : grow(batch.a, n, f32),
    qLen: broadcast ? batch.qLen : grow(batch.qLen, 1, i32),
    ix: broadcast || batch.ix === undefined ? batch.ix : grow(batch.ix, n, f32),
    iy: batch.iy === undefined ? undefined : grow(batch.iy, m, f32),
    qCount: broadcast ? 1 : size,
  };
}

// ---- availability -------------------------------------------------------------------------------

let webGpuPromise: Promise<void> | undefined;

/**
 * Makes `navigator.gpu` exist in Node (from the `webgpu` Dawn package that gpu.js depends on)
 * and checks that an adapter answers. Rejects with the reason otherwise (e.g. the Dawn binary needs
 * GLIBCXX_3.4.32, which Debian 12 lacks; or no adapter). Probed once per process.
 */
export function ensureWebGpu(): Promise<void> {
  webGpuPromise ??= (async () => {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (g.navigator?.gpu === undefined) {
      // Node only (a browser has navigator.gpu or no WebGPU at all): imported here so that a browser bundle holds no Node module.
      const [{ createRequire }, { pathToFileURL }] = await Promise.all([import("node:module"), import("node:url")]);
      const require = createRequire(import.meta.url);
      const gpuJsEntry = require.resolve("gpu.js");
      const webgpuPath = createRequire(gpuJsEntry).resolve("webgpu");
      const dawn = (await import(pathToFileURL(webgpuPath).href)) as { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
      for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
      const gpu = patchDawn(dawn.create([]));
      if (g.navigator === undefined) Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
      else Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true });
    }
    const { GPU } = await loadGpuJs();
    const available = await withTimeout(GPU.isWebGPUAvailable(), 10_000, "requestAdapter timed out");
    if (!available) throw new Error("navigator.gpu.requestAdapter() returned no adapter");
  })();
  return webGpuPromise;
}

/**
 * Dawn's node binding rejects gpu.js's `device.onuncapturederror = fn` ("object is not of the
 * correct interface type (invalid value to onuncapturederror)"); give each device an own
 * `onuncapturederror` accessor that routes to addEventListener instead, leaving the native object
 * itself (and its brand checks) untouched.
 */
function patchDawn(gpu: unknown): unknown {
  const raw = gpu as { requestAdapter: (o?: unknown) => Promise<unknown> };
  const requestAdapter = raw.requestAdapter.bind(raw);
  const wrapped = Object.create(raw as object) as { requestAdapter: (o?: unknown) => Promise<unknown> };
  wrapped.requestAdapter = async (o?: unknown) => {
    const adapter = (await requestAdapter(o)) as { requestDevice: (d?: unknown) => Promise<unknown> } | null;
    if (adapter === null) return null;
    const requestDevice = adapter.requestDevice.bind(adapter);
    try {
      Object.defineProperty(adapter, "requestDevice", {
        configurable: true,
        value: async (desc?: unknown) => {
          const device = (await requestDevice(desc)) as { addEventListener?: (t: string, f: unknown) => void };
          let handler: unknown = null;
          try {
            Object.defineProperty(device, "onuncapturederror", {
              configurable: true,
              get: () => handler,
              set: (fn: unknown) => {
                handler = fn;
                if (typeof fn === "function") device.addEventListener?.("uncapturederror", fn);
              },
            });
          } catch {
            // A binding that accepts the handler natively needs no patch.
          }
          return device;
        },
      });
    } catch {
      // Frozen adapter: leave it as is.
    }
    return adapter;
  };
  return wrapped;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
    // Node: the timer alone does not keep the process alive (a browser's timer id is a number).
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Whether `mode` loads and solves a tiny problem correctly here. */
export async function probeGpuJs(mode: GpuJsMode): Promise<void> {
  const { GPU } = await loadGpuJs();
  if (mode === "webasm" && !GPU.isWebAssemblySupported) throw new Error("WebAssembly is not supported on this platform");
  if (mode === "webgl" && !GPU.isWebGL2Supported && !GPU.isWebGLSupported) throw new Error("no WebGL here (a browser's canvas gives it; Node has none)");
  if (mode === "webgpu") await ensureWebGpu();
  const tiny: Prepared = {
    pairs: 1,
    n: 1,
    m: 2,
    d: 2,
    X: new Float32Array([1, 0]),
    Y: new Float32Array([1, 0, 0, 1]),
    qCount: 1,
    qLen: new Int32Array([1]),
    dLen: new Int32Array([2]),
    a: new Float32Array([1]),
    b: new Float32Array([0.5, 0.5]),
    ix: undefined,
    iy: undefined,
    reg: 0.1,
    iterations: 3,
    normalize: true,
    returnPlans: false,
  };
  const [r] = await withTimeout(solveGpuJs(mode, tiny, "kernel"), 60_000, `${mode} probe timed out`);
  if (r === undefined || !(Math.abs(r.cost - 0.5) < 1e-4)) throw new Error(`${mode} probe: cost ${r?.cost}, expected 0.5`);
  const instance = await getCompiled(mode, 1, tiny, "kernel");
  const kind = instance.pipeline.backend;
  // gpu.js names its WebGL kernels' family "gpu".
  if (kind !== null && kind !== (mode === "webgl" ? "gpu" : mode)) throw new Error(`gpu.js ran the ${mode} probe on "${kind}" (${instance.pipeline.fallbackReason ?? "no reason given"})`);
}
