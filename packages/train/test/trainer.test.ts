import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCheckpoint, setCheckpointRenameHook } from "../src/checkpoint.js";
import { epochLossSummary, formatLogEntry, parseLog, progressBar } from "../src/log.js";
import { trainLoop } from "../src/trainer.js";
import { makeProblem, type ProblemOptions } from "./helpers/linear-problem.js";

const EPOCHS = 6; // 10 batches per epoch: 60 updates, a checkpoint every 3 and at every epoch end
const here = dirname(fileURLToPath(import.meta.url));

let root: string;
let reference: { weights: number[][]; log: string; steps: number; bestEpoch: number | undefined };

async function run(dir: string, options: ProblemOptions & { resume?: boolean } = {}) {
  const p = makeProblem({ epochs: EPOCHS, ...options });
  const before = options.resume ? ((await readCheckpoint(join(dir, "checkpoint")))?.step ?? 0) : 0;
  const result = await trainLoop({ ...p.options(dir), resume: options.resume ?? false });
  // A resumed run must really start from its checkpoint (restarting from scratch would end with
  // the same weights too): it computes only the updates after the checkpoint.
  expect(p.calls()).toBe(result.steps - before);
  return { result, weights: p.params.map((x) => Array.from(x)), resumedFrom: before };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "crossrank-trainer-"));
  const dir = join(root, "reference");
  const { result, weights } = await run(dir, { plot: true, fsync: true });
  reference = { weights, log: await readFile(join(dir, "log.jsonl"), "utf8"), steps: result.steps, bestEpoch: result.bestEpoch };
});

afterAll(async () => {
  setCheckpointRenameHook(undefined);
  await rm(root, { recursive: true, force: true });
});

async function expectReference(dir: string, outcome: { result: Awaited<ReturnType<typeof trainLoop>>; weights: number[][] }): Promise<void> {
  // Bit-identical: float32 values compared exactly (toEqual on numbers is Object.is equality).
  expect(outcome.weights).toEqual(reference.weights);
  expect(await readFile(join(dir, "log.jsonl"), "utf8")).toBe(reference.log);
  expect(outcome.result.log).toEqual(parseLog(reference.log));
  expect(outcome.result.steps).toBe(reference.steps);
  expect(outcome.result.bestEpoch).toBe(reference.bestEpoch);
}

describe("trainLoop", () => {
  it("trains the problem, logs every update, evaluates at epoch ends and writes the plot", async () => {
    expect(reference.steps).toBe(EPOCHS * 10);
    const log = parseLog(reference.log);
    expect(log.map((e) => e.step)).toEqual(Array.from({ length: EPOCHS * 10 }, (_, i) => i + 1));
    const devs = log.filter((e) => e.dev !== undefined);
    expect(devs.map((e) => e.step)).toEqual(Array.from({ length: EPOCHS }, (_, i) => 10 * (i + 1)));
    expect(devs.map((e) => e.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i));
    expect(devs[devs.length - 1]!.dev!.mse!).toBeLessThan(devs[0]!.dev!.mse! / 10);
    // Warmup (lr 0 at the first update) then linear decay; gradients clipped to norm 5.
    expect(log[0]!.lr).toBe(0);
    expect(log[3]!.lr).toBeGreaterThan(log[10]!.lr);
    expect(log.every((e) => typeof e.gradNorm === "number")).toBe(true);
    const files = await readdir(join(root, "reference"));
    expect(files.sort()).toEqual(expect.arrayContaining(["checkpoint", "log.jsonl", "plot.svg"]));
    expect(await readFile(join(root, "reference", "plot.svg"), "utf8")).toContain("<svg");
  });

  it("restores the best epoch's parameters and stops early after `patience` epochs without gain", async () => {
    const dir = join(root, "early");
    const p = makeProblem({ epochs: 20 });
    const base = p.options(dir);
    let evals = 0;
    let snapshot: number[][] = [];
    const result = await trainLoop({
      ...base,
      optimizer: { lr: 0.05 },
      evaluate: () => ({ score: [1, 3, 2, 3, 2.5, 9][evals++] ?? 0 }),
      earlyStopping: { measure: "score", patience: 3, halveLrOnNoGain: true },
      onEpochEnd: (epoch, params) => {
        if (epoch === 1) snapshot = params.map((x) => Array.from(x));
      },
      userState: undefined,
      plot: false,
    });
    expect(result.stoppedEarly).toBe(true);
    expect(result.bestEpoch).toBe(1);
    expect(result.bestMeasure).toBe(3);
    expect(result.steps).toBe(50); // epochs 0–4: no gain at 2, 3 (equal is no gain), 4
    expect(p.params.map((x) => Array.from(x))).toEqual(snapshot);
    const log = result.log;
    // lr halved after each epoch without gain: epochs 3 and 4 run at 1/2 and 1/4.
    expect(log[20]!.lr).toBe(0.05);
    expect(log[30]!.lr).toBe(0.025);
    expect(log[40]!.lr).toBe(0.0125);
  });

  it("with includeStart, keeps the starting parameters when no epoch beats them on dev", async () => {
    const dir = join(root, "include-start");
    const p = makeProblem({ epochs: 20 });
    const start = p.params.map((x) => Array.from(x));
    let evals = 0;
    // The first evaluation is of the starting parameters; the epochs only tie or fall below it.
    const result = await trainLoop({
      ...p.options(dir),
      optimizer: { lr: 0.05 },
      evaluate: () => ({ score: [5, 4, 5, 3][evals++] ?? 0 }),
      earlyStopping: { measure: "score", patience: 3, includeStart: true },
      userState: undefined,
      plot: false,
    });
    expect(evals).toBe(4);
    expect(result.bestEpoch).toBe(-1);
    expect(result.bestMeasure).toBe(5);
    expect(result.stoppedEarly).toBe(true);
    expect(result.steps).toBe(30);
    expect(p.params.map((x) => Array.from(x))).toEqual(start);

    // An epoch that beats the start wins as usual.
    const q = makeProblem({ epochs: 3 });
    let n = 0;
    const won = await trainLoop({ ...q.options(join(root, "include-start-2")), evaluate: () => ({ score: [5, 6, 1][n++] ?? 0 }), earlyStopping: { measure: "score", patience: 5, includeStart: true }, userState: undefined, plot: false });
    expect(won.bestEpoch).toBe(0);
    expect(won.bestMeasure).toBe(6);
  });

  it("starts afresh without resume, replacing an old run's checkpoint and log", async () => {
    const dir = join(root, "fresh");
    await run(dir, { epochs: 2 });
    const outcome = await run(dir);
    await expectReference(dir, outcome);
  });

  it("resuming a finished run returns its result without training", async () => {
    const dir = join(root, "finished");
    await run(dir);
    const p = makeProblem({ epochs: EPOCHS, crashAtCall: 1 }); // any step() call would throw
    const result = await trainLoop({ ...p.options(dir), resume: true });
    await expectReference(dir, { result, weights: p.params.map((x) => Array.from(x)) });
  });

  it("refuses a checkpoint of another run", async () => {
    const dir = join(root, "other");
    await run(dir, { epochs: 1 });
    const p = makeProblem({ epochs: EPOCHS });
    await expect(trainLoop({ ...p.options(dir), seed: 8, resume: true })).rejects.toThrow(/seed/);
    await expect(trainLoop({ ...p.options(dir), paramNames: ["w", "b"], resume: true })).rejects.toThrow(/parameters/);
  });
});

describe("log helpers", () => {
  it("parseLog stops at a line cut by a crash", () => {
    const a = { step: 1, epoch: 0, loss: 0.5, lr: 0.1, seconds: 0.25 };
    const b = { step: 2, epoch: 0, loss: 0.25, lr: 0.1, seconds: 0.5, dev: { "P@1": 0.5 } };
    const text = `${formatLogEntry(a)}\n${formatLogEntry(b)}\n{"step":3,"epo`;
    expect(parseLog(text)).toEqual([a, b]);
    expect(formatLogEntry({ dev: { x: 1 }, seconds: 1, lr: 2, loss: 3, epoch: 4, step: 5 })).toBe('{"step":5,"epoch":4,"loss":3,"lr":2,"seconds":1,"dev":{"x":1}}');
  });

  it("epochLossSummary: mean losses of epoch 0 and of the last epoch logged, absent without updates", () => {
    const entry = (step: number, epoch: number, loss: number) => ({ step, epoch, loss, lr: 0.1, seconds: step });
    expect(epochLossSummary([entry(1, 0, 1), entry(2, 0, 3), entry(3, 1, 5), entry(4, 2, 0.5), entry(5, 2, 1.5)])).toEqual({ firstEpochLoss: 2, lastEpochLoss: 1 });
    // Without an epoch 0 in the log there is no first-epoch loss.
    expect(epochLossSummary([entry(3, 1, 5)])).toEqual({ lastEpochLoss: 5 });
    expect(epochLossSummary([])).toEqual({});
  });

  it("progressBar prints plain lines without a TTY", () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar({ stream, label: "warmup", every: 5, width: 10 });
    for (let step = 1; step <= 10; step++) bar({ step, totalSteps: 10, epoch: 0, loss: 1 });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^warmup \[#{10}\] 10\/10 epoch 0 loss 1\.000 eta/);
  });
});

describe("resume: a killed run resumes to the same weights and log as an uninterrupted run", () => {
  // Crash while computing update s (s-th step() call): 1 = before any checkpoint; 3/4 = right
  // before/after the first checkpoint (written after update 3); 10/11 = last update of epoch 0 and
  // first of epoch 1; mid-epoch points; 60 = the last update.
  for (const s of [1, 3, 4, 10, 11, 17, 25, 43, 59, 60]) {
    it(`crash at update ${s}`, async () => {
      const dir = join(root, `crash-${s}`);
      await expect(run(dir, { crashAtCall: s })).rejects.toThrow("simulated crash");
      const resumed = await run(dir, { resume: true });
      await expectReference(dir, resumed);
      // The last checkpoint before update s: every 3 updates and at epoch ends (every 10).
      const expected = Math.max(3 * Math.floor((s - 1) / 3), 10 * Math.floor((s - 1) / 10));
      expect(resumed.resumedFrom).toBe(expected);
    });
  }

  it("crash during an evaluation", async () => {
    const dir = join(root, "crash-eval");
    await expect(run(dir, { crashAtEvaluation: 3 })).rejects.toThrow("simulated crash in evaluate");
    await expectReference(dir, await run(dir, { resume: true }));
  });

  it("repeated crashes, each resumed", async () => {
    const dir = join(root, "crash-repeated");
    await expect(run(dir, { crashAtCall: 7 })).rejects.toThrow("simulated crash");
    await expect(run(dir, { crashAtCall: 20, resume: true })).rejects.toThrow("simulated crash"); // update ~26
    await expect(run(dir, { crashAtCall: 1, resume: true })).rejects.toThrow("simulated crash");
    await expectReference(dir, await run(dir, { resume: true }));
  });

  // A checkpoint write does two renames when a previous checkpoint exists (old aside, new in place).
  for (const [label, failAt] of [
    ["before the swap", 5],
    ["between the two renames", 6],
    ["at the first checkpoint", 1],
  ] as const) {
    it(`crash while writing a checkpoint (${label})`, async () => {
      const dir = join(root, `crash-ckpt-${failAt}`);
      let renames = 0;
      setCheckpointRenameHook(() => {
        renames += 1;
        if (renames === failAt) throw new Error("simulated crash in rename");
      });
      try {
        await expect(run(dir)).rejects.toThrow("simulated crash in rename");
      } finally {
        setCheckpointRenameHook(undefined);
      }
      // And, as after a real crash, a half-written temporary folder next to the checkpoint.
      const partial = join(dir, `.checkpoint.tmp-1-${randomUUID()}`);
      await mkdir(partial, { recursive: true });
      await writeFile(join(partial, "weights.safetensors"), "partial");
      await expectReference(dir, await run(dir, { resume: true }));
      expect((await readdir(dir)).filter((e) => e.startsWith("."))).toEqual([]);
    });
  }

  it("child process killed with SIGKILL at random moments, then resumed in-process", { timeout: 30_000 }, async () => {
    const work = join(here, "..", "node_modules", ".cache", `crossrank-resume-${randomUUID()}`);
    const dir = join(root, "sigkill");
    try {
      // The child runs the same sources, transpiled (Node 20 cannot run TypeScript itself).
      for (const file of ["src/trainer.ts", "src/checkpoint.ts", "src/log.ts", "src/optim.ts", "src/plot.ts", "src/rng.ts", "test/helpers/linear-problem.ts"]) {
        const source = await readFile(join(here, "..", file), "utf8");
        const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
        await mkdir(dirname(join(work, file)), { recursive: true });
        await writeFile(join(work, file.replace(/\.ts$/, ".js")), out);
      }
      await writeFile(join(work, "package.json"), '{"type":"module"}');
      await writeFile(
        join(work, "child.js"),
        `import { trainLoop } from "./src/trainer.js";
import { makeProblem } from "./test/helpers/linear-problem.js";
const p = makeProblem({ epochs: ${EPOCHS}, slowMs: 12, fsync: true });
await trainLoop({ ...p.options(process.argv[2]), resume: true });
process.stdout.write("finished\\n");
`,
      );
      const delays: number[] = [];
      let lastStep = 0;
      for (let kill = 0; kill < 2; kill++) {
        const child = spawn(process.execPath, [join(work, "child.js"), dir], { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
        // Wait until the child has written a checkpoint beyond the previous one, then kill it a
        // random moment later (possibly in the middle of writing the next checkpoint).
        await waitFor(async () => ((await readCheckpointQuietly(join(dir, "checkpoint"))) ?? 0) > lastStep, child, () => output);
        const delay = Math.floor(Math.random() * 150);
        delays.push(delay);
        await new Promise((r) => setTimeout(r, delay));
        child.kill("SIGKILL");
        const { signal } = await exited;
        // The first child is always killed mid-run; a later one may (on a stalled machine) have
        // finished before the signal, which still leaves a valid run to resume.
        if (kill > 0 && signal === null && output.includes("finished")) break;
        expect(signal, `child output: ${output}; delays ${delays.join(", ")}`).toBe("SIGKILL");
        lastStep = (await readCheckpointQuietly(join(dir, "checkpoint"))) ?? 0;
        expect(lastStep).toBeLessThan(EPOCHS * 10);
      }
      const resumed = await run(dir, { resume: true });
      expect(resumed.resumedFrom).toBeGreaterThan(0);
      await expectReference(dir, resumed);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

async function readCheckpointQuietly(dir: string): Promise<number | undefined> {
  try {
    return (await readCheckpoint(dir))?.step;
  } catch {
    return undefined; // read while the child was swapping folders: try again
  }
}

async function waitFor(condition: () => Promise<boolean>, child: ChildProcess, output: () => string): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await condition()) return;
    if (child.exitCode !== null) throw new Error(`child exited (${child.exitCode}) before the condition: ${output()}`);
    if (Date.now() - start > 15_000) throw new Error(`timed out waiting for the child: ${output()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
