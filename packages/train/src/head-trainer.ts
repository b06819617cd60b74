/**
 * Trainable heads over a frozen encoder's outputs: the forward pass of `@crossrank/encode`'s
 * `createHead(...).apply` (same arithmetic, same order, so the same float32 results) plus a
 * backward pass, the parameters as a flat list for the optimiser, and export to the head format
 * (`crossrank-head.json` + `head.safetensors`, written by `writeHead`).
 *
 *     linear:  y = W x + b                              W [output, input], b [output]
 *     mlp:     y = x + W2 act(W1 x + b1) + b2           W1 [hidden, input], W2 [output, hidden], output = input
 *
 * Only the head is trained (the encoder is frozen and its outputs cached); a backend that trains
 * the encoder itself would pass the head's `dx` on to it.
 */
import { createHead, type Head, type HeadConfig, type HeadWeights } from "@crossrank/encode";
import { checkCount, checkFloats, type Floats, gelu, geluDerivative } from "./math.js";

/** A source of uniform numbers in [0, 1): the package's `Rng` (anything with `next()`) or a plain function. */
export type UniformSource = { next(): number } | (() => number);

/** Options of {@link TrainableHead.init}. */
export interface HeadInitOptions {
  /**
   * Linear heads with input === output start at the identity; `noise` > 0 adds U(−noise, noise)
   * to every weight (default 0: step 0 reproduces the base encoder exactly).
   */
  noise?: number;
}

/** What {@link TrainableHead.forward} keeps for {@link TrainableHead.backward}. */
export interface HeadCache {
  /** A float64 copy of the input rows, [n, input]. */
  x: Float64Array;
  n: number;
  /** mlp: the pre-activations W1 x + b1, [n, hidden]. */
  pre?: Float64Array;
  /** mlp: the activations act(pre), [n, hidden]. */
  act?: Float64Array;
}

/** Fields of the config that {@link TrainableHead.toConfigAndWeights} may set or override. */
export type HeadMeta = Partial<Pick<HeadConfig, "encoder" | "encoderOptions" | "appliesTo" | "pooling" | "normalize" | "trainedBy">>;

type Activation = "gelu" | "relu" | "tanh";

/** The parameter names of each head type, in the order of {@link TrainableHead.params}. */
export const HEAD_PARAM_NAMES = { linear: ["weight", "bias"], mlp: ["w1", "b1", "w2", "b2"] } as const;

type ParamName = "weight" | "bias" | "w1" | "b1" | "w2" | "b2";

function uniform(rng: UniformSource): number {
  return typeof rng === "function" ? rng() : rng.next();
}

function activation(name: Activation): { f: (z: number) => number; df: (z: number) => number } {
  switch (name) {
    case "gelu":
      return { f: gelu, df: geluDerivative };
    case "relu":
      // PyTorch's convention: relu'(0) = 0.
      return { f: (z) => (z > 0 ? z : 0), df: (z) => (z > 0 ? 1 : 0) };
    case "tanh":
      return {
        f: Math.tanh,
        df: (z) => {
          const t = Math.tanh(z);
          return 1 - t * t;
        },
      };
  }
}

/**
 * A head whose weights are trained here. The weights are float32 arrays owned by the head and
 * updated in place by the optimiser through {@link params}.
 */
export class TrainableHead {
  readonly config: HeadConfig;
  readonly weights: HeadWeights;
  private readonly act: { f: (z: number) => number; df: (z: number) => number } | undefined;

  private constructor(config: HeadConfig, weights: HeadWeights) {
    // Validates the config and every shape (throws with the format's messages).
    createHead(config, weights);
    this.config = { ...config };
    this.weights = weights;
    this.act = config.type === "mlp" ? activation(config.activation!) : undefined;
  }

  /**
   * A freshly initialised head (the config is validated by `createHead`):
   * - linear, input === output: W = I, b = 0 (plus optional noise), so step 0 = the base encoder;
   * - linear, input ≠ output: W ~ U(−1/√input, 1/√input) (PyTorch's nn.Linear bound), b = 0;
   * - mlp: W1, b1 ~ U(−1/√input, 1/√input) (nn.Linear), W2 = 0, b2 = 0, so the residual head
   *   starts as the identity (W2 learns first; W1 gets gradient once W2 ≠ 0).
   * Draws from `rng` in a fixed order (weight, then w1, then b1), so a seed fixes the head.
   */
  static init(config: HeadConfig, rng: UniformSource, opts: HeadInitOptions = {}): TrainableHead {
    const I = config.input;
    const O = config.output;
    const noise = opts.noise ?? 0;
    if (typeof noise !== "number" || !Number.isFinite(noise) || noise < 0) throw new Error(`TrainableHead.init: noise must be a finite number >= 0, got ${String(noise)}`);
    if (!Number.isInteger(I) || I < 1 || !Number.isInteger(O) || O < 1) {
      // Let createHead produce the format's message.
      createHead(config, {});
    }
    const bound = 1 / Math.sqrt(I);
    if (config.type === "linear") {
      const weight = new Float32Array(O * I);
      if (I === O) {
        for (let k = 0; k < I; k++) weight[k * I + k] = 1;
        if (noise > 0) for (let k = 0; k < weight.length; k++) weight[k] = weight[k]! + (2 * uniform(rng) - 1) * noise;
      } else {
        for (let k = 0; k < weight.length; k++) weight[k] = (2 * uniform(rng) - 1) * bound;
      }
      return new TrainableHead(config, { weight, bias: new Float32Array(O) });
    }
    const H = config.hidden;
    if (typeof H !== "number" || !Number.isInteger(H) || H < 1) return new TrainableHead(config, {});
    const w1 = new Float32Array(H * I);
    const b1 = new Float32Array(H);
    for (let k = 0; k < w1.length; k++) w1[k] = (2 * uniform(rng) - 1) * bound;
    for (let k = 0; k < b1.length; k++) b1[k] = (2 * uniform(rng) - 1) * bound;
    return new TrainableHead(config, { w1, b1, w2: new Float32Array(O * H), b2: new Float32Array(O) });
  }

  /**
   * A head with the given weights (validated; copied unless `copy` is false), e.g. a student
   * starting from its teacher, a checkpoint, or `readHead(folder)`'s result.
   */
  static fromWeights(config: HeadConfig, weights: HeadWeights, copy = true): TrainableHead {
    const w: HeadWeights = {};
    for (const name of ["weight", "bias", "w1", "b1", "w2", "b2"] as const) {
      const t = weights[name];
      if (t !== undefined) w[name] = copy ? Float32Array.from(t) : t;
    }
    return new TrainableHead(config, w);
  }

  /** A deep copy. */
  clone(): TrainableHead {
    return TrainableHead.fromWeights(this.config, this.weights, true);
  }

  get input(): number {
    return this.config.input;
  }

  get output(): number {
    return this.config.output;
  }

  /** The parameter names in the order of {@link params}: linear [weight, bias]; mlp [w1, b1, w2, b2]. */
  paramNames(): ParamName[] {
    return [...HEAD_PARAM_NAMES[this.config.type]];
  }

  /**
   * The parameters as a flat list in a fixed order ({@link paramNames}): the head's own arrays, so
   * an optimiser updating them in place updates the head.
   */
  params(): Float32Array[] {
    return this.paramNames().map((name) => this.weights[name]!);
  }

  /** Zero gradient buffers, one per parameter (for accumulating several backward passes). */
  zeroGrads(): HeadWeights {
    const g: HeadWeights = {};
    for (const name of this.paramNames()) g[name] = new Float32Array(this.weights[name]!.length);
    return g;
  }

  /** Gradients in the order of {@link params}. */
  gradList(grads: HeadWeights): Float32Array[] {
    return this.paramNames().map((name) => {
      const g = grads[name];
      if (g === undefined) throw new Error(`TrainableHead.gradList: missing gradient "${name}"`);
      return g;
    });
  }

  /**
   * Applies the head to [n, input] rows → [n, output] (float32; accumulated in float64 in the order
   * of `@crossrank/encode`'s head, so the values are identical to `createHead(...).apply`), and
   * the cache for {@link backward}.
   */
  forward(x: Floats, n: number): { y: Float32Array; cache: HeadCache } {
    const fn = "TrainableHead.forward";
    checkCount(n, "n", fn);
    const I = this.config.input;
    const O = this.config.output;
    checkFloats(x, n * I, "x", fn);
    const xs = Float64Array.from(x);
    const y = new Float32Array(n * O);
    if (this.config.type === "linear") {
      const W = this.weights.weight!;
      const b = this.weights.bias!;
      for (let r = 0; r < n; r++) {
        const xr = r * I;
        for (let o = 0; o < O; o++) {
          let s = b[o]!;
          const w = o * I;
          for (let i = 0; i < I; i++) s += W[w + i]! * xs[xr + i]!;
          y[r * O + o] = s;
        }
      }
      return { y, cache: { x: xs, n } };
    }
    const H = this.config.hidden!;
    const { w1, b1, w2, b2 } = this.weights as Required<HeadWeights>;
    const f = this.act!.f;
    const pre = new Float64Array(n * H);
    const act = new Float64Array(n * H);
    for (let r = 0; r < n; r++) {
      const xr = r * I;
      const hr = r * H;
      for (let j = 0; j < H; j++) {
        let s = b1[j]!;
        const w = j * I;
        for (let i = 0; i < I; i++) s += w1[w + i]! * xs[xr + i]!;
        pre[hr + j] = s;
        act[hr + j] = f(s);
      }
      for (let o = 0; o < O; o++) {
        let s = xs[xr + o]! + b2[o]!;
        const w = o * H;
        for (let j = 0; j < H; j++) s += w2[w + j]! * act[hr + j]!;
        y[r * O + o] = s;
      }
    }
    return { y, cache: { x: xs, n, pre, act } };
  }

  /**
   * Backward pass: given dy = ∂L/∂y ([n, output]), the gradient in the input rows and in every
   * parameter, summed over the rows:
   *
   *     linear:  dW = Σ_r dy_r x_rᵀ,  db = Σ_r dy_r,  dx_r = Wᵀ dy_r
   *     mlp:     dW2 = Σ_r dy_r h_rᵀ,  db2 = Σ_r dy_r,  dz_r = (W2ᵀ dy_r) ⊙ act'(z_r),
   *              dW1 = Σ_r dz_r x_rᵀ,  db1 = Σ_r dz_r,  dx_r = dy_r + W1ᵀ dz_r
   *
   * with z = W1 x + b1, h = act(z); act' of gelu is Φ(z) + z φ(z), of tanh 1 − tanh², of relu
   * [z > 0]. Uses the current weights (call before the optimiser step). With `into` (e.g. from
   * {@link zeroGrads}) the parameter gradients are added to it and it is returned as `grads`.
   */
  backward(cache: HeadCache, dy: Floats, into?: HeadWeights): { dx: Float32Array; grads: HeadWeights } {
    const fn = "TrainableHead.backward";
    const { n, x } = cache;
    const I = this.config.input;
    const O = this.config.output;
    checkFloats(dy, n * O, "dy", fn);
    if (x.length !== n * I) throw new Error(`${fn}: the cache holds ${x.length} input values, expected ${n}×${I}`);
    const dx = new Float64Array(n * I);
    const acc: Partial<Record<ParamName, Float64Array>> = {};
    if (this.config.type === "linear") {
      const W = this.weights.weight!;
      const dW = new Float64Array(O * I);
      const db = new Float64Array(O);
      for (let r = 0; r < n; r++) {
        const xr = r * I;
        for (let o = 0; o < O; o++) {
          const g = dy[r * O + o]!;
          if (g === 0) continue;
          db[o] = db[o]! + g;
          const w = o * I;
          for (let i = 0; i < I; i++) {
            dW[w + i] = dW[w + i]! + g * x[xr + i]!;
            dx[xr + i] = dx[xr + i]! + g * W[w + i]!;
          }
        }
      }
      acc.weight = dW;
      acc.bias = db;
    } else {
      const H = this.config.hidden!;
      const { pre, act } = cache;
      if (pre === undefined || act === undefined || pre.length !== n * H) throw new Error(`${fn}: the cache is not from this mlp head's forward`);
      const { w1, w2 } = this.weights as Required<HeadWeights>;
      const df = this.act!.df;
      const dW1 = new Float64Array(H * I);
      const db1 = new Float64Array(H);
      const dW2 = new Float64Array(O * H);
      const db2 = new Float64Array(O);
      const dz = new Float64Array(H);
      for (let r = 0; r < n; r++) {
        const xr = r * I;
        const hr = r * H;
        dz.fill(0);
        for (let o = 0; o < O; o++) {
          const g = dy[r * O + o]!;
          // Residual path.
          dx[xr + o] = dx[xr + o]! + g;
          if (g === 0) continue;
          db2[o] = db2[o]! + g;
          const w = o * H;
          for (let j = 0; j < H; j++) {
            dW2[w + j] = dW2[w + j]! + g * act[hr + j]!;
            dz[j] = dz[j]! + g * w2[w + j]!;
          }
        }
        for (let j = 0; j < H; j++) {
          const g = dz[j]! * df(pre[hr + j]!);
          if (g === 0) continue;
          db1[j] = db1[j]! + g;
          const w = j * I;
          for (let i = 0; i < I; i++) {
            dW1[w + i] = dW1[w + i]! + g * x[xr + i]!;
            dx[xr + i] = dx[xr + i]! + g * w1[w + i]!;
          }
        }
      }
      acc.w1 = dW1;
      acc.b1 = db1;
      acc.w2 = dW2;
      acc.b2 = db2;
    }
    const grads: HeadWeights = into ?? {};
    for (const name of this.paramNames()) {
      const g = acc[name]!;
      const target = grads[name];
      if (target === undefined) {
        grads[name] = Float32Array.from(g);
        continue;
      }
      if (target.length !== g.length) throw new Error(`${fn}: into.${name} has ${target.length} values, expected ${g.length}`);
      for (let k = 0; k < g.length; k++) target[k] = target[k]! + g[k]!;
    }
    return { dx: Float32Array.from(dx), grads };
  }

  /**
   * The head in `@crossrank/encode`'s format, ready for `writeHead(folder, …)`: the config with
   * `meta` merged in (encoder spec, appliesTo, pooling, normalize, trainedBy provenance…) and copies
   * of the weights (weight/bias or w1/b1/w2/b2). Validated by `createHead`.
   */
  toConfigAndWeights(meta: HeadMeta = {}): { config: HeadConfig; weights: HeadWeights } {
    const config: HeadConfig = { ...this.config, ...definedFields(meta) };
    const weights: HeadWeights = {};
    for (const name of this.paramNames()) weights[name] = Float32Array.from(this.weights[name]!);
    createHead(config, weights);
    return { config, weights };
  }

  /** A forward-only `Head` (`createHead`) over copies of the current weights. */
  toHead(meta: HeadMeta = {}): Head {
    const { config, weights } = this.toConfigAndWeights(meta);
    return createHead(config, weights);
  }
}

function definedFields(meta: HeadMeta): HeadMeta {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (v !== undefined) out[k] = v;
  return out as HeadMeta;
}
