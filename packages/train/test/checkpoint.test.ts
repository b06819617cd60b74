import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Checkpoint, readCheckpoint, removeCheckpoint, setCheckpointRenameHook, writeCheckpoint } from "../src/checkpoint.js";
import { AdamW } from "../src/optim.js";
import { Rng } from "../src/rng.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "crossrank-ckpt-"));
});
afterEach(async () => {
  setCheckpointRenameHook(undefined);
  await rm(root, { recursive: true, force: true });
});

function sample(step: number): Checkpoint {
  const w = new Float32Array([1, 2, 3, 4, 5, 6]).map((x) => x * (step + 1) + 0.1);
  const b = new Float32Array([-0.5, step]);
  const opt = new AdamW([w.slice(), b.slice()], { lr: 0.01, weightDecay: 0.02, betas: [0.8, 0.99] });
  for (let t = 0; t < step; t++) opt.step([w.map((x) => x / 10), b.map((x) => -x)]);
  const rng = new Rng(step + 3);
  rng.next();
  return {
    weights: { weight: { data: w, shape: [2, 3] }, bias: { data: b, shape: [2] } },
    optimizer: opt.state(),
    tensors: { "best.weight": { data: w.map((x) => -x), shape: [2, 3] } },
    rng: rng.state(),
    step,
    epoch: Math.floor(step / 2),
    extra: { loop: { best: 0.25, stopped: false }, note: "x", list: [1, 2] },
  };
}

function same(a: Checkpoint | undefined, b: Checkpoint): void {
  expect(a).toBeDefined();
  expect(Object.keys(a!.weights)).toEqual(Object.keys(b.weights));
  for (const [name, t] of Object.entries(b.weights)) {
    expect(a!.weights[name]!.shape).toEqual(t.shape);
    expect(a!.weights[name]!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a!.weights[name]!.data)).toEqual(Array.from(t.data));
  }
  expect(a!.optimizer!.step).toBe(b.optimizer!.step);
  expect(a!.optimizer!.betas).toEqual(b.optimizer!.betas);
  expect(a!.optimizer!.weightDecay).toBe(b.optimizer!.weightDecay);
  expect(a!.optimizer!.m.map((x) => Array.from(x))).toEqual(b.optimizer!.m.map((x) => Array.from(x)));
  expect(a!.optimizer!.v.map((x) => Array.from(x))).toEqual(b.optimizer!.v.map((x) => Array.from(x)));
  expect(Array.from(a!.tensors!["best.weight"]!.data)).toEqual(Array.from(b.tensors!["best.weight"]!.data));
  expect(a!.rng).toBe(b.rng);
  expect(a!.step).toBe(b.step);
  expect(a!.epoch).toBe(b.epoch);
  expect(a!.extra).toEqual(b.extra);
}

describe("checkpoints", () => {
  it("round-trips weights, optimiser state, RNG state, counters and extra JSON", async () => {
    const dir = join(root, "run", "checkpoint");
    expect(await readCheckpoint(dir)).toBeUndefined();
    const c = sample(3);
    await writeCheckpoint(dir, c);
    same(await readCheckpoint(dir), c);
    expect((await readdir(dir)).sort()).toEqual(["checkpoint.json", "optimizer.safetensors", "tensors.safetensors", "weights.safetensors"]);
    // A restored optimiser continues as the original.
    const restored = (await readCheckpoint(dir))!;
    const opt = new AdamW([new Float32Array(6), new Float32Array(2)], { lr: 0.01 });
    opt.load(restored.optimizer!);
    expect(opt.stepCount).toBe(3);
  });

  it("replaces the previous checkpoint and leaves no temporary folders", async () => {
    const dir = join(root, "checkpoint");
    await writeCheckpoint(dir, sample(1));
    await writeCheckpoint(dir, sample(2));
    same(await readCheckpoint(dir), sample(2));
    expect(await readdir(root)).toEqual(["checkpoint"]);
  });

  it("writes a checkpoint without optimiser, tensors or extra", async () => {
    const dir = join(root, "c");
    await writeCheckpoint(dir, { weights: { w: { data: new Float32Array([1]), shape: [1] } }, rng: 5, step: 0, epoch: 0 });
    const back = await readCheckpoint(dir);
    expect(back).toEqual({ weights: { w: { data: new Float32Array([1]), shape: [1] } }, rng: 5, step: 0, epoch: 0 });
  });

  it("rejects inconsistent checkpoints", async () => {
    const bad = sample(1);
    bad.weights.weight!.shape = [4, 4];
    await expect(writeCheckpoint(join(root, "c"), bad)).rejects.toThrow(/shape/);
    await expect(writeCheckpoint(join(root, "c"), { ...sample(1), rng: -3 })).rejects.toThrow(/uint32/);
    expect(await readCheckpoint(join(root, "c"))).toBeUndefined();
  });

  it("a crash before the swap (first rename) leaves the old checkpoint; the partial temp folder is ignored and cleaned", async () => {
    const dir = join(root, "checkpoint");
    await writeCheckpoint(dir, sample(1));
    setCheckpointRenameHook(() => {
      throw new Error("crash");
    });
    await expect(writeCheckpoint(dir, sample(2))).rejects.toThrow("crash");
    setCheckpointRenameHook(undefined);
    // As a real crash would: a half-written temporary folder next to the checkpoint.
    const partial = join(root, ".checkpoint.tmp-999-dead");
    await mkdir(partial);
    await writeFile(join(partial, "weights.safetensors"), new Uint8Array([1, 2, 3]));
    same(await readCheckpoint(dir), sample(1));
    await writeCheckpoint(dir, sample(3));
    same(await readCheckpoint(dir), sample(3));
    expect(await readdir(root)).toEqual(["checkpoint"]);
  });

  it("a crash between the two renames leaves the old checkpoint readable, and the next write recovers", async () => {
    const dir = join(root, "checkpoint");
    await writeCheckpoint(dir, sample(1));
    let renames = 0;
    setCheckpointRenameHook(() => {
      renames += 1;
      if (renames === 2) throw new Error("crash");
    });
    await expect(writeCheckpoint(dir, sample(2))).rejects.toThrow("crash");
    setCheckpointRenameHook(undefined);
    const entries = await readdir(root);
    expect(entries).not.toContain("checkpoint");
    expect(entries.some((e) => e.startsWith(".checkpoint.old-"))).toBe(true);
    same(await readCheckpoint(dir), sample(1));
    await writeCheckpoint(dir, sample(4));
    same(await readCheckpoint(dir), sample(4));
    expect(await readdir(root)).toEqual(["checkpoint"]);
  });

  it("a crash on the very first checkpoint leaves none", async () => {
    const dir = join(root, "checkpoint");
    setCheckpointRenameHook(() => {
      throw new Error("crash");
    });
    await expect(writeCheckpoint(dir, sample(1))).rejects.toThrow("crash");
    setCheckpointRenameHook(undefined);
    expect(await readCheckpoint(dir)).toBeUndefined();
  });

  it("removeCheckpoint removes the folder and its leftovers", async () => {
    const dir = join(root, "checkpoint");
    await writeCheckpoint(dir, sample(1));
    await mkdir(join(root, ".checkpoint.tmp-1-x"));
    await mkdir(join(root, "other"));
    await removeCheckpoint(dir);
    expect(await readdir(root)).toEqual(["other"]);
    expect(await readCheckpoint(dir)).toBeUndefined();
  });
});
