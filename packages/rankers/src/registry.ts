/**
 * Rankers by name, for configuration files and the command line: `createRanker("bm25", {k1: 0.9})`.
 * Each entry lists its parameters; unknown names, unknown parameters and ill-typed values are
 * rejected with a one-line message saying what is accepted.
 */
import { Bm25PsqRanker } from "./bm25-psq-ranker.js";
import { Bm25Ranker } from "./bm25-ranker.js";
import type { Ranker } from "./ranker.js";

interface ParameterSpec {
  /** What values are accepted, e.g. "number >= 0": shown in error messages. */
  readonly accepts: string;
  readonly default: string;
  /** Whether `value` is acceptable. */
  readonly check: (value: unknown) => boolean;
}

interface RankerEntry {
  readonly params: Readonly<Record<string, ParameterSpec>>;
  readonly create: (params: Readonly<Record<string, unknown>>) => Ranker;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

const REGISTRY: ReadonlyMap<string, RankerEntry> = new Map<string, RankerEntry>([
  [
    "bm25",
    {
      params: {
        k1: { accepts: "number >= 0", default: "1.2", check: (v) => isFiniteNumber(v) && v >= 0 },
        b: { accepts: "number in [0, 1]", default: "0.75", check: (v) => isFiniteNumber(v) && v >= 0 && v <= 1 },
        k3: { accepts: "number >= 0", default: "Infinity (query terms count per occurrence)", check: (v) => isFiniteNumber(v) && v >= 0 },
      },
      create: (p) =>
        new Bm25Ranker({
          ...(p.k1 === undefined ? {} : { k1: p.k1 as number }),
          ...(p.b === undefined ? {} : { b: p.b as number }),
          ...(p.k3 === undefined ? {} : { k3: p.k3 as number }),
        }),
    },
  ],
  [
    "bm25-psq",
    {
      params: {
        k1: { accepts: "number >= 0", default: "1.2", check: (v) => isFiniteNumber(v) && v >= 0 },
        b: { accepts: "number in [0, 1]", default: "0.75", check: (v) => isFiniteNumber(v) && v >= 0 && v <= 1 },
        k3: { accepts: "number >= 0", default: "Infinity (query terms count per occurrence)", check: (v) => isFiniteNumber(v) && v >= 0 },
        maxTranslations: {
          accepts: "whole number >= 1",
          default: "all",
          check: (v) => isFiniteNumber(v) && Number.isInteger(v) && v >= 1,
        },
        stem: { accepts: "boolean", default: "false", check: (v) => typeof v === "boolean" },
        weighting: { accepts: 'string "uniform" or "weighted"', default: '"uniform"', check: (v) => v === "uniform" || v === "weighted" },
        dictionary: {
          accepts: "path to a .tsv, dictd .index or CEDICT file",
          default: "the installed dictionaries for the pair",
          check: (v) => typeof v === "string" && v !== "",
        },
      },
      create: (p) =>
        new Bm25PsqRanker({
          ...(p.k1 === undefined ? {} : { k1: p.k1 as number }),
          ...(p.b === undefined ? {} : { b: p.b as number }),
          ...(p.k3 === undefined ? {} : { k3: p.k3 as number }),
          ...(p.maxTranslations === undefined ? {} : { maxTranslations: p.maxTranslations as number }),
          ...(p.stem === undefined ? {} : { stem: p.stem as boolean }),
          ...(p.weighting === undefined ? {} : { weighting: p.weighting as "uniform" | "weighted" }),
          ...(p.dictionary === undefined ? {} : { dictionary: p.dictionary as string }),
        }),
    },
  ],
]);

/** Names accepted by `createRanker`, sorted. */
export function rankerNames(): string[] {
  return [...REGISTRY.keys()].sort();
}

/**
 * A ranker by registry name with the given parameters (numbers must be numbers, not strings).
 * Throws an Error with a one-line message for an unknown name, an unknown parameter or a bad value.
 */
export function createRanker(name: string, params: Readonly<Record<string, unknown>> = {}): Ranker {
  const entry = REGISTRY.get(name);
  if (entry === undefined) {
    throw new Error(`unknown ranker ${JSON.stringify(name)}; known rankers: ${rankerNames().join(", ")}`);
  }
  const accepted = () =>
    Object.entries(entry.params)
      .map(([key, spec]) => `${key} (${spec.accepts}, default ${spec.default})`)
      .join(", ") || "no parameters";
  for (const [key, value] of Object.entries(params)) {
    const spec = Object.hasOwn(entry.params, key) ? entry.params[key] : undefined;
    if (spec === undefined) {
      throw new Error(`unknown parameter ${JSON.stringify(key)} for ranker ${name}; accepted: ${accepted()}`);
    }
    if (value !== undefined && !spec.check(value)) {
      throw new Error(`parameter ${key} of ranker ${name} must be a ${spec.accepts}; got ${describe(value)}`);
    }
  }
  return entry.create(params);
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number") return String(value);
  if (value === null) return "null";
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}
