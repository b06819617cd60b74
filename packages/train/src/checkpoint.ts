/**
 * Training checkpoints: a folder holding the weights and the optimiser moments as safetensors and
 * everything else (step, epoch, RNG state, optimiser step count and hyper-parameters, caller's
 * JSON) as `checkpoint.json`.
 *
 * Writes are atomic at folder level. The new checkpoint is written into a temporary folder next to
 * the target (`.<name>.tmp-…`, every file fsynced, `checkpoint.json` last), then the old folder is
 * renamed aside (`.<name>.old-…`), the temporary folder renamed into place, and the old one removed.
 * A crash at any moment therefore leaves either the old or the new checkpoint:
 * - before the first rename: the target is the old checkpoint, a partial temporary folder is ignored;
 * - between the two renames: the target is missing; readers take the renamed-aside old checkpoint
 *   (and the next write renames it back before starting);
 * - after the second rename: the target is the new checkpoint, the old one is garbage.
 * Leftover temporary and old folders are removed by the next write.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { encodeSafetensors, readSafetensors, type NamedTensor } from "@crossrank/encode";
import type { AdamWState } from "./optim.js";
import type { RngState } from "./rng.js";

/** A float32 tensor: row-major data and its shape. */
export interface CheckpointTensor {
  data: Float32Array;
  shape: number[];
}

/** What a checkpoint holds. */
export interface Checkpoint {
  /** The trainable tensors by name (in this order in the file's listing). */
  weights: Record<string, CheckpointTensor>;
  /** Optimiser state; its moments are in the order of `weights`. */
  optimizer?: AdamWState;
  /** Other tensors to keep (e.g. the best parameters so far), stored beside the weights. */
  tensors?: Record<string, CheckpointTensor>;
  /** RNG state (a uint32). */
  rng: RngState;
  /** Optimiser updates done. */
  step: number;
  /** Epoch (0-based) the next update belongs to. */
  epoch: number;
  /** Caller's state: any JSON value (no typed arrays). */
  extra?: Record<string, unknown>;
}

export const CHECKPOINT_FORMAT = "crossrank-checkpoint";
const STATE_FILE = "checkpoint.json";
const WEIGHTS_FILE = "weights.safetensors";
const OPTIMIZER_FILE = "optimizer.safetensors";
const TENSORS_FILE = "tensors.safetensors";

interface StateJson {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  step: number;
  epoch: number;
  rng: RngState;
  weights: string[];
  tensors?: string[];
  optimizer?: { step: number; lr: number; betas: [number, number]; eps: number; weightDecay: number };
  extra?: Record<string, unknown>;
}

/** Options of {@link writeCheckpoint}. */
export interface WriteCheckpointOptions {
  /**
   * fsync every file and the folders (default true), so that the checkpoint also survives a power
   * loss; without it the write is still atomic with respect to a crash of the process.
   */
  fsync?: boolean;
}

/** Writes `checkpoint` as folder `dir`, atomically replacing any checkpoint there (see the module comment). */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint, options: WriteCheckpointOptions = {}): Promise<void> {
  validate(checkpoint);
  const fsync = options.fsync ?? true;
  const writeDurable = (path: string, bytes: Uint8Array): Promise<void> => writeBytes(path, bytes, fsync);
  const syncDir = (path: string): Promise<void> => (fsync ? syncFolder(path) : Promise.resolve());
  const parent = dirname(dir);
  const name = basename(dir);
  await mkdir(parent, { recursive: true });
  await recover(dir);
  await removeLeftovers(dir);

  const names = Object.keys(checkpoint.weights);
  const tmp = join(parent, `.${name}.tmp-${process.pid}-${randomUUID()}`);
  await mkdir(tmp);
  try {
    await writeDurable(join(tmp, WEIGHTS_FILE), encodeSafetensors(toNamed(checkpoint.weights), { format: CHECKPOINT_FORMAT }));
    const state: StateJson = {
      format: CHECKPOINT_FORMAT,
      version: 1,
      step: checkpoint.step,
      epoch: checkpoint.epoch,
      rng: checkpoint.rng,
      weights: names,
    };
    if (checkpoint.optimizer !== undefined) {
      const o = checkpoint.optimizer;
      const moments: Record<string, NamedTensor> = {};
      for (let k = 0; k < names.length; k++) {
        const m = o.m[k] as Float32Array;
        const v = o.v[k] as Float32Array;
        moments[`exp_avg.${k}`] = { dtype: "F32", shape: [m.length], data: m };
        moments[`exp_avg_sq.${k}`] = { dtype: "F32", shape: [v.length], data: v };
      }
      await writeDurable(join(tmp, OPTIMIZER_FILE), encodeSafetensors(moments, { format: CHECKPOINT_FORMAT }));
      state.optimizer = { step: o.step, lr: o.lr, betas: [o.betas[0], o.betas[1]], eps: o.eps, weightDecay: o.weightDecay };
    }
    if (checkpoint.tensors !== undefined && Object.keys(checkpoint.tensors).length > 0) {
      state.tensors = Object.keys(checkpoint.tensors);
      await writeDurable(join(tmp, TENSORS_FILE), encodeSafetensors(toNamed(checkpoint.tensors), { format: CHECKPOINT_FORMAT }));
    }
    if (checkpoint.extra !== undefined) state.extra = checkpoint.extra;
    // Last: its presence marks a complete folder.
    await writeDurable(join(tmp, STATE_FILE), new TextEncoder().encode(`${JSON.stringify(state, null, 1)}\n`));
    await syncDir(tmp);

    const old = join(parent, `.${name}.old-${process.pid}-${randomUUID()}`);
    let hadOld = false;
    if (await exists(dir)) {
      await renameStep(dir, old);
      hadOld = true;
    }
    await renameStep(tmp, dir);
    await syncDir(parent);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * Reads the checkpoint in folder `dir`; undefined when there is none. When a crash interrupted a
 * write between its two renames, the renamed-aside previous checkpoint is read. Throws when a
 * checkpoint exists but is malformed.
 */
export async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  let folder: string | undefined = dir;
  if (!(await isComplete(dir))) folder = await findAside(dir);
  if (folder === undefined) return undefined;
  const state = JSON.parse(await readFile(join(folder, STATE_FILE), "utf8")) as StateJson;
  if (state.format !== CHECKPOINT_FORMAT || state.version !== 1) throw new Error(`${folder}: not a ${CHECKPOINT_FORMAT} version 1 checkpoint`);
  const weightFile = await readSafetensors(join(folder, WEIGHTS_FILE));
  const weights = fromNamed(weightFile, state.weights, join(folder, WEIGHTS_FILE));
  const checkpoint: Checkpoint = { weights, rng: state.rng, step: state.step, epoch: state.epoch };
  if (state.optimizer !== undefined) {
    const file = await readSafetensors(join(folder, OPTIMIZER_FILE));
    const m: Float32Array[] = [];
    const v: Float32Array[] = [];
    for (let k = 0; k < state.weights.length; k++) {
      m.push(f32(file.get(`exp_avg.${k}`), `exp_avg.${k}`, folder));
      v.push(f32(file.get(`exp_avg_sq.${k}`), `exp_avg_sq.${k}`, folder));
    }
    const o = state.optimizer;
    checkpoint.optimizer = { step: o.step, m, v, lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay };
  }
  if (state.tensors !== undefined) {
    checkpoint.tensors = fromNamed(await readSafetensors(join(folder, TENSORS_FILE)), state.tensors, join(folder, TENSORS_FILE));
  }
  if (state.extra !== undefined) checkpoint.extra = state.extra;
  return checkpoint;
}

/** Removes the checkpoint folder `dir` and any temporary or renamed-aside folders of it. */
export async function removeCheckpoint(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const leftover of await siblings(dir, ["tmp", "old"])) await rm(leftover, { recursive: true, force: true });
}

// A hook for tests: simulates a crash at a given point of writeCheckpoint by throwing there.
let renameHook: ((from: string, to: string) => void) | undefined;
/** @internal Test hook: called before each rename of `writeCheckpoint`; may throw to simulate a crash. */
export function setCheckpointRenameHook(hook: ((from: string, to: string) => void) | undefined): void {
  renameHook = hook;
}

async function renameStep(from: string, to: string): Promise<void> {
  renameHook?.(from, to);
  await rename(from, to);
}

function validate(c: Checkpoint): void {
  if (!Number.isInteger(c.step) || c.step < 0) throw new Error(`writeCheckpoint: bad step ${String(c.step)}`);
  if (!Number.isInteger(c.epoch) || c.epoch < 0) throw new Error(`writeCheckpoint: bad epoch ${String(c.epoch)}`);
  if (!Number.isInteger(c.rng) || c.rng < 0 || c.rng > 0xffffffff) throw new Error(`writeCheckpoint: rng state must be a uint32, got ${String(c.rng)}`);
  const names = Object.keys(c.weights);
  for (const [name, t] of Object.entries({ ...c.weights, ...(c.tensors ?? {}) })) {
    const count = t.shape.reduce((p, d) => p * d, 1);
    if (count !== t.data.length) throw new Error(`writeCheckpoint: tensor ${name} has ${t.data.length} values for shape [${t.shape.join(", ")}]`);
  }
  if (c.optimizer !== undefined) {
    if (c.optimizer.m.length !== names.length || c.optimizer.v.length !== names.length) {
      throw new Error(`writeCheckpoint: optimizer has ${c.optimizer.m.length} moments for ${names.length} weights`);
    }
    names.forEach((name, k) => {
      const n = (c.weights[name] as CheckpointTensor).data.length;
      if (c.optimizer?.m[k]?.length !== n || c.optimizer.v[k]?.length !== n) throw new Error(`writeCheckpoint: optimizer moments of ${name} do not match its ${n} values`);
    });
  }
}

function toNamed(tensors: Record<string, CheckpointTensor>): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { dtype: "F32", shape: [...t.shape], data: t.data };
  return out;
}

function fromNamed(file: Map<string, NamedTensor>, names: string[], where: string): Record<string, CheckpointTensor> {
  const out: Record<string, CheckpointTensor> = {};
  for (const name of names) {
    const t = file.get(name);
    out[name] = { data: f32(t, name, where), shape: [...(t as NamedTensor).shape] };
  }
  return out;
}

function f32(t: NamedTensor | undefined, name: string, where: string): Float32Array {
  if (t === undefined) throw new Error(`${where}: tensor ${name} is missing`);
  if (t.dtype !== "F32" || !(t.data instanceof Float32Array)) throw new Error(`${where}: tensor ${name} is ${t.dtype}, expected F32`);
  return t.data;
}

async function writeBytes(path: string, bytes: Uint8Array, fsync: boolean): Promise<void> {
  const handle = await open(path, "w");
  try {
    await handle.writeFile(bytes);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a folder so renames in it survive a power loss (not possible on every platform: ignored then). */
async function syncFolder(path: string): Promise<void> {
  try {
    const handle = await open(path, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open folders; the renames are still atomic there.
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

async function isComplete(folder: string): Promise<boolean> {
  return exists(join(folder, STATE_FILE));
}

/** Temporary ("tmp") or renamed-aside ("old") folders of checkpoint `dir`. */
async function siblings(dir: string, kinds: ("tmp" | "old")[]): Promise<string[]> {
  const parent = dirname(dir);
  const name = basename(dir);
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return entries.filter((e) => kinds.some((k) => e.startsWith(`.${name}.${k}-`))).sort().map((e) => join(parent, e));
}

/** The renamed-aside complete checkpoint of `dir` (the one with the highest step), if any. */
async function findAside(dir: string): Promise<string | undefined> {
  let best: { folder: string; step: number } | undefined;
  for (const folder of await siblings(dir, ["old"])) {
    if (!(await isComplete(folder))) continue;
    try {
      const state = JSON.parse(await readFile(join(folder, STATE_FILE), "utf8")) as StateJson;
      if (best === undefined || state.step > best.step) best = { folder, step: state.step };
    } catch {
      // unreadable: not a candidate
    }
  }
  return best?.folder;
}

/** After a crash between the two renames: put the renamed-aside checkpoint back in place. */
async function recover(dir: string): Promise<void> {
  if (await isComplete(dir)) return;
  const aside = await findAside(dir);
  if (aside === undefined) return;
  // An incomplete folder at `dir` (not written by us: we only rename complete folders there) is replaced.
  await rm(dir, { recursive: true, force: true });
  await rename(aside, dir);
}

async function removeLeftovers(dir: string): Promise<void> {
  for (const leftover of await siblings(dir, ["tmp", "old"])) await rm(leftover, { recursive: true, force: true });
}
