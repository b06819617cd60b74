/**
 * Optimisation: AdamW (as `torch.optim.AdamW`), the linear warmup + linear decay schedule (as
 * `transformers.get_linear_schedule_with_warmup`) and global gradient-norm clipping (as
 * `torch.nn.utils.clip_grad_norm_`).
 *
 * Parameters and moments are float32 (as in PyTorch); each update is computed in float64 and
 * rounded once when stored, so the same inputs give bit-identical results on every run.
 */

/** AdamW hyper-parameters (PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01). */
export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** The serialisable state of an {@link AdamW}: step count, first and second moments per parameter. */
export interface AdamWState {
  /** Number of updates done (PyTorch's `state["step"]`; bias corrections use it). */
  step: number;
  /** First moments (`exp_avg`), one per parameter, same lengths. */
  m: Float32Array[];
  /** Second moments (`exp_avg_sq`). */
  v: Float32Array[];
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * AdamW, decoupled weight decay (Loshchilov & Hutter 2019) exactly as `torch.optim.AdamW`
 * (amsgrad off, maximize off): for each parameter p with gradient g, at step t (1-based),
 *
 *   p ← p · (1 − lr·λ)
 *   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 *
 * Parameters are updated in place (the arrays given to the constructor).
 */
export class AdamW {
  readonly params: Float32Array[];
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(params: Float32Array[], opts: AdamWOptions) {
    this.params = params;
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    checkLr(this.lr);
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new RangeError(`AdamW betas must be in [0, 1), got [${String(b1)}, ${String(b2)}]`);
    if (!(this.eps >= 0)) throw new RangeError(`AdamW eps must be >= 0, got ${String(this.eps)}`);
    if (!(this.weightDecay >= 0)) throw new RangeError(`AdamW weightDecay must be >= 0, got ${String(this.weightDecay)}`);
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  /** Number of updates done so far. */
  get stepCount(): number {
    return this.t;
  }

  /** One update with `grads` (one per parameter, same lengths) at learning rate `lr` (default: `this.lr`). */
  step(grads: Float32Array[], lr: number = this.lr): void {
    checkLr(lr);
    if (grads.length !== this.params.length) throw new Error(`AdamW.step: ${grads.length} gradients for ${this.params.length} parameters`);
    const [b1, b2] = this.betas;
    const eps = this.eps;
    this.t += 1;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, this.t));
    const stepSize = lr / bc1;
    const decay = 1 - lr * this.weightDecay;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k] as Float32Array;
      const g = grads[k] as Float32Array;
      const m = this.m[k] as Float32Array;
      const v = this.v[k] as Float32Array;
      if (g.length !== p.length) throw new Error(`AdamW.step: gradient ${k} has ${g.length} values for a parameter of ${p.length}`);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        const mi = b1 * (m[i] as number) + (1 - b1) * gi;
        const vi = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        // PyTorch rounds the moments to float32 before using them; do the same.
        const mf = m[i] as number;
        const vf = v[i] as number;
        const decayed = (p[i] as number) * decay;
        p[i] = decayed - (stepSize * mf) / (Math.sqrt(vf) / bc2Sqrt + eps);
      }
    }
  }

  /** A copy of the optimiser state (moments copied, so later steps do not change it). */
  state(): AdamWState {
    return {
      step: this.t,
      m: this.m.map((a) => a.slice()),
      v: this.v.map((a) => a.slice()),
      lr: this.lr,
      betas: [this.betas[0], this.betas[1]],
      eps: this.eps,
      weightDecay: this.weightDecay,
    };
  }

  /**
   * Restores a saved state: step count and moments (copied in). The hyper-parameters of the saved
   * state are not applied except `lr`; a state for other parameter shapes throws.
   */
  load(state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`AdamW.load: bad step ${String(state.step)}`);
    if (state.m.length !== this.params.length || state.v.length !== this.params.length) {
      throw new Error(`AdamW.load: state has ${state.m.length}/${state.v.length} moments for ${this.params.length} parameters`);
    }
    for (let k = 0; k < this.params.length; k++) {
      const n = (this.params[k] as Float32Array).length;
      const m = state.m[k] as Float32Array;
      const v = state.v[k] as Float32Array;
      if (m.length !== n || v.length !== n) throw new Error(`AdamW.load: moments of parameter ${k} have ${m.length}/${v.length} values, expected ${n}`);
      (this.m[k] as Float32Array).set(m);
      (this.v[k] as Float32Array).set(v);
    }
    this.t = state.step;
    this.lr = state.lr;
  }
}

function checkLr(lr: number): void {
  if (typeof lr !== "number" || !Number.isFinite(lr) || lr < 0) throw new RangeError(`learning rate must be a finite number >= 0, got ${String(lr)}`);
}

/**
 * Learning rate for the update after `step` updates (0 for the first): linear warmup from 0 to
 * `baseLr` over `warmupSteps`, then linear decay to 0 at `totalSteps` — the lambda of
 * `transformers.get_linear_schedule_with_warmup`:
 *
 *   step < warmup: baseLr · step / max(1, warmup)
 *   otherwise:     baseLr · max(0, (total − step) / max(1, total − warmup))
 *
 * (As there, with warmup > 0 the first update has lr 0.)
 */
export function linearWarmupDecay(step: number, totalSteps: number, warmupSteps: number, baseLr: number): number {
  if (step < warmupSteps) return (baseLr * step) / Math.max(1, warmupSteps);
  return baseLr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/**
 * Linear warmup then constant (`transformers.get_constant_schedule_with_warmup`):
 * baseLr · min(1, step / warmup); baseLr throughout when warmup is 0.
 */
export function constantWithWarmup(step: number, warmupSteps: number, baseLr: number): number {
  if (step < warmupSteps) return (baseLr * step) / Math.max(1, warmupSteps);
  return baseLr;
}

/**
 * Scales `grads` in place so that their global L2 norm (all arrays together) is at most `maxNorm`
 * (`torch.nn.utils.clip_grad_norm_`: factor maxNorm / (norm + 1e-6) when below 1). Returns the norm
 * before clipping (Infinity or NaN propagate; nothing is scaled then).
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${String(maxNorm)}`);
  const norm = gradNorm(grads);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * coef;
  }
  return norm;
}

/** Global L2 norm of all arrays together (accumulated in float64). */
export function gradNorm(grads: Float32Array[]): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += (g[i] as number) * (g[i] as number);
  return Math.sqrt(sum);
}
