/**
 * Rankers by name, for configuration files and the command line: `createRanker("bm25", {k1: 0.9})`.
 * Each entry lists its parameters; unknown names, unknown parameters and ill-typed values are
 * rejected with a one-line message saying what is accepted.
 */
import { STATIC_MODEL_NAME } from "@crossrank/static-model";
import { Bm25PsqRanker } from "./bm25-psq-ranker.js";
import { Bm25Ranker } from "./bm25-ranker.js";
import { CrossEncoderRanker } from "./neural/cross-encoder-ranker.js";
import { LmEmdRanker } from "./neural/lm-emd-ranker.js";
import { MaxSimRanker } from "./neural/maxsim-ranker.js";
import { PassageRanker } from "./neural/passages.js";
import { type PooledKind, PooledRanker } from "./neural/pooled-ranker.js";
import { DEFAULT_DEPTH, DEFAULT_RERANK_FIRST_WEIGHT, LM_EMD_FIRST_WEIGHT, LM_EMD_LENGTH_GATE, MAXSIM_FIRST_WEIGHT, RerankRanker } from "./neural/rerank-ranker.js";
import type { CandidateRanker } from "./neural/common.js";
import type { NeuralPreset } from "./neural/settings.js";
import { DEFAULT_RRF_K, type FusionMethod } from "./fusion.js";
import { DEFAULT_HYBRID_DEPTH, DEFAULT_HYBRID_LEXICAL_WEIGHT, DEFAULT_RRF_LEXICAL_WEIGHT, HybridRanker, type LexicalChoice } from "./hybrid-ranker.js";
import type { Ranker } from "./ranker.js";

interface ParameterSpec {
  /** What values are accepted, e.g. "number >= 0": shown in error messages. */
  readonly accepts: string;
  readonly default: string;
  /** Whether `value` is acceptable. */
  readonly check: (value: unknown) => boolean;
  /** A required parameter: leaving it out is an error ("ranker X needs parameter P (accepts)"). */
  readonly required?: boolean;
}

interface RankerEntry {
  readonly params: Readonly<Record<string, ParameterSpec>>;
  readonly create: (params: Readonly<Record<string, unknown>>, stages: FirstStages) => Ranker;
}

/** The rankers a store can run itself as first stages (see {@link CreateRankerOptions}). */
export type FirstStageName = "bm25" | "bm25-psq" | "bi-encoder";

/** First stages by name, each replacing the registry's own where a composite ranker would create it. */
export type FirstStages = Readonly<Partial<Record<FirstStageName, Ranker>>>;

/** Options of {@link createRanker}. */
export interface CreateRankerOptions {
  /**
   * First stages to use instead of the registry's (rerank's `first`, hybrid's lexical ranker and
   * bi-encoder): a store that ranks its collection elsewhere (a PostgreSQL index searching in SQL)
   * passes its own, and the composite ranker fuses and re-ranks their runs as usual. They must rank
   * as the registry's rankers with the same parameters would.
   */
  firstStages?: FirstStages;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isWholeAtLeast = (min: number) => (v: unknown) => isFiniteNumber(v) && Number.isInteger(v) && v >= min;
const oneOf = (...values: string[]) => ({
  accepts: `string ${values.map((v) => JSON.stringify(v)).join(" or ")}`,
  check: (v: unknown) => typeof v === "string" && values.includes(v),
});

/** Parameters of every neural ranker: the encoder and how to load it, and the preset. */
const ENCODER_PARAMS: Readonly<Record<string, ParameterSpec>> = {
  encoder: {
    accepts: "hub id, a model folder, crossrank-static, or fixture:bert",
    default: `"${STATIC_MODEL_NAME}" (the static model shipped in @crossrank/static-model)`,
    check: (v) => typeof v === "string" && v !== "",
  },
  backend: { ...oneOf("transformers", "onnx"), default: '"transformers"' },
  dtype: { ...oneOf("fp32", "q8"), default: '"fp32"' },
  batchSize: { accepts: "whole number >= 1", default: "16", check: isWholeAtLeast(1) },
  maxLength: { accepts: "whole number >= 2", default: "the model's maximum", check: isWholeAtLeast(2) },
  cache: { accepts: "folder path", default: "none", check: (v) => typeof v === "string" && v !== "" },
  preset: { ...oneOf("default", "faithful"), default: '"default"' },
};
const INCLUDE_SPECIAL: ParameterSpec = { accepts: "boolean", default: "true", check: (v) => typeof v === "boolean" };
/** maxsim's ColBERT scoring (see MaxSimRankerOptions.colbert). */
const COLBERT: ParameterSpec = {
  accepts: 'string "auto" or a boolean',
  default:
    '"auto": a ColBERT checkpoint (artifact.metadata, the HF_ColBERT architecture, or linear.weight in a local model.safetensors) is scored as stanford-futuredata/ColBERT scores it ([Q]/[D] markers, [MASK] query augmentation, linear projection, punctuation skip-list); true: always (an error without linear.weight); false: the plain token rows',
  check: (v) => v === "auto" || typeof v === "boolean",
};
const LM_EMD_PARAMS: Readonly<Record<string, ParameterSpec>> = {
  gamma: { accepts: "number > 0", default: "0.1", check: (v) => isFiniteNumber(v) && v > 0 },
  iterations: { accepts: "whole number >= 1", default: '100 (500 with preset "faithful")', check: isWholeAtLeast(1) },
  includeSpecial: INCLUDE_SPECIAL,
  otBackend: { ...oneOf("auto", "onnx", "webasm", "cpu", "webgpu", "webgl", "js"), default: '"auto"' },
  domain: { ...oneOf("auto", "kernel", "log"), default: '"auto" ("kernel" with preset "faithful")' },
  marginals: { ...oneOf("uniform", "idf"), default: '"uniform"' },
};
const NEURAL_NAMES = ["bert-cls", "bert-max", "bert-mean", "bi-encoder", "maxsim", "lm-emd"] as const;
const SECOND_STAGES = [...NEURAL_NAMES, "cross-encoder"] as const;
/** How long documents are cut into passages: every neural ranker and the cross-encoder (see ./neural/passages.ts). */
const PASSAGE_PARAMS: Readonly<Record<string, ParameterSpec>> = {
  passages: { ...oneOf("first", "max", "sum"), default: '"first" (FirstP: the document\'s beginning, as truncation keeps it)' },
  passageLength: {
    accepts: "whole number >= 1",
    default: "passages max and sum: maxLength − 64 for the cross-encoder, else the encoder's maxLength less its special tokens and the title",
    check: isWholeAtLeast(1),
  },
  stride: { accepts: "whole number >= 0", default: "passageLength / 2 (passages max and sum)", check: isWholeAtLeast(0) },
};
/** A cross-encoder's model and how long documents are cut into passages (the `cross-encoder` ranker, and `rerank`'s second stage "cross-encoder"). */
const CROSS_ENCODER_PARAMS: Readonly<Record<string, ParameterSpec>> = {
  model: {
    accepts: "hub id or model folder of a sequence-classification model (a cross-encoder), fixture:cross-encoder, or a trained pair head folder",
    default: "none: required",
    check: (v) => typeof v === "string" && v !== "",
  },
  ...PASSAGE_PARAMS,
};
const isUnitInterval = (v: unknown) => isFiniteNumber(v) && v >= 0 && v <= 1;
/** The second stage of `rerank` (also of `hybrid` with dense rerank) and how its score is combined with the first's. */
const RERANK_PARAMS: Readonly<Record<string, ParameterSpec>> = {
  second: { ...oneOf(...SECOND_STAGES), default: '"lm-emd"' },
  firstWeight: {
    accepts: "number in [0, 1]",
    default: `${LM_EMD_FIRST_WEIGHT} with second stage lm-emd, ${MAXSIM_FIRST_WEIGHT} with maxsim, else ${DEFAULT_RERANK_FIRST_WEIGHT}; 0 with preset "faithful"`,
    check: isUnitInterval,
  },
  lengthGate: {
    accepts: "number >= 0 (0 turns it off)",
    default: `${LM_EMD_LENGTH_GATE} with second stage lm-emd, else 0; 0 with preset "faithful"`,
    check: (v) => isFiniteNumber(v) && v >= 0,
  },
  ...LM_EMD_PARAMS,
  ...CROSS_ENCODER_PARAMS,
  colbert: COLBERT,
};

/** `params` without the undefined values, typed as the options of a ranker class (values were checked against the specs). */
function defined<T>(params: Readonly<Record<string, unknown>>, keys?: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && (keys === undefined || keys.includes(key))) out[key] = value;
  }
  return out as T;
}

/** A neural ranker by name (a member of NEURAL_NAMES) from checked parameters; passages "max" / "sum" wrap it in a PassageRanker. */
function createNeural(name: string, params: Readonly<Record<string, unknown>>): CandidateRanker {
  const { passages, passageLength, stride, ...own } = params;
  const ranker = createTruncating(name, own);
  if (passages === "max" || passages === "sum") {
    return new PassageRanker(ranker, defined(own, Object.keys(ENCODER_PARAMS)), {
      passages,
      ...(passageLength === undefined ? {} : { passageLength: passageLength as number }),
      ...(stride === undefined ? {} : { stride: stride as number }),
    });
  }
  if (passageLength !== undefined || stride !== undefined) throw new Error(`ranker ${name}: passageLength and stride apply to passages "max" and "sum" only`);
  return ranker;
}

function createTruncating(name: string, params: Readonly<Record<string, unknown>>): CandidateRanker {
  switch (name) {
    case "lm-emd":
      return new LmEmdRanker(defined(params));
    case "maxsim":
      return new MaxSimRanker(defined(params));
    default:
      return new PooledRanker(name as PooledKind, defined(params));
  }
}

/**
 * A RerankRanker over `first` from checked parameters (`second`, `firstWeight`, the second stage's
 * own parameters, the encoder and preset); `ranker` names the registry entry in errors.
 */
function createRerank(ranker: string, p: Readonly<Record<string, unknown>>, first: Ranker, depth: number | undefined): RerankRanker {
  const second = (p.second as string | undefined) ?? "lm-emd";
  // Second-stage parameters only where the second stage has them, so a typo'd combination fails
  // instead of being ignored.
  const secondParams =
    second === "lm-emd"
      ? [...Object.keys(LM_EMD_PARAMS), ...Object.keys(PASSAGE_PARAMS)]
      : second === "cross-encoder"
        ? Object.keys(CROSS_ENCODER_PARAMS)
        : second === "maxsim"
          ? ["includeSpecial", "colbert", ...Object.keys(PASSAGE_PARAMS)]
          : ["bert-max", "bert-mean"].includes(second)
            ? ["includeSpecial", ...Object.keys(PASSAGE_PARAMS)]
            : Object.keys(PASSAGE_PARAMS);
  for (const key of [...Object.keys(LM_EMD_PARAMS), ...Object.keys(CROSS_ENCODER_PARAMS), "colbert"]) {
    if (p[key] !== undefined && !secondParams.includes(key)) throw new Error(`parameter ${key} of ranker ${ranker} does not apply to second stage ${second}`);
  }
  if (second === "cross-encoder" && p.model === undefined) throw new Error(`ranker ${ranker} with second stage cross-encoder needs parameter model (${CROSS_ENCODER_PARAMS.model!.accepts})`);
  return new RerankRanker({
    first,
    second:
      second === "cross-encoder"
        ? createCrossEncoder(p)
        : createNeural(second, defined(p, [...Object.keys(ENCODER_PARAMS), ...secondParams])),
    ...(depth === undefined ? {} : { depth }),
    ...(p.firstWeight === undefined ? {} : { firstWeight: p.firstWeight as number }),
    ...(p.lengthGate === undefined ? {} : { lengthGate: p.lengthGate as number }),
    ...(p.preset === undefined ? {} : { preset: p.preset as NeuralPreset }),
  });
}

/** A cross-encoder ranker from checked parameters: the model and passages, and the encoder loading options (not the encoder itself, which is a first stage's). */
function createCrossEncoder(p: Readonly<Record<string, unknown>>): CrossEncoderRanker {
  return new CrossEncoderRanker(defined(p, ["model", "backend", "dtype", "batchSize", "maxLength", "passages", "passageLength", "stride"]));
}

function pooledEntry(kind: PooledKind): RankerEntry {
  const params: Record<string, ParameterSpec> = { ...ENCODER_PARAMS };
  if (kind === "bert-max" || kind === "bert-mean") params.includeSpecial = INCLUDE_SPECIAL;
  params.exact = {
    accepts: "boolean",
    default: "false: where the collection has an approximate index (a crossrank index's LanceDB table), its candidates, scored exactly",
    check: (v) => typeof v === "boolean",
  };
  params.title = { accepts: "boolean", default: "true: the title on a line before the text (false: the text alone, as the LaBSE / DistilUSE notebook encodes)", check: (v) => typeof v === "boolean" };
  params.similarity = {
    ...oneOf("cosine", "dot"),
    default:
      kind === "bi-encoder"
        ? "the model folder's: its similarity_fn_name, else dot without a Normalize module (DistilUSE), else cosine"
        : '"cosine" (the LM-EMD study\'s baselines)',
  };
  Object.assign(params, PASSAGE_PARAMS);
  return { params, create: (p) => createNeural(kind, p) };
}

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
  ["bert-cls", pooledEntry("bert-cls")],
  ["bert-max", pooledEntry("bert-max")],
  ["bert-mean", pooledEntry("bert-mean")],
  ["bi-encoder", pooledEntry("bi-encoder")],
  ["maxsim", { params: { ...ENCODER_PARAMS, includeSpecial: INCLUDE_SPECIAL, colbert: COLBERT, ...PASSAGE_PARAMS }, create: (p) => createNeural("maxsim", p) }],
  ["lm-emd", { params: { ...ENCODER_PARAMS, ...LM_EMD_PARAMS, ...PASSAGE_PARAMS }, create: (p) => createNeural("lm-emd", p) }],
  [
    "cross-encoder",
    {
      params: {
        ...CROSS_ENCODER_PARAMS,
        model: { ...CROSS_ENCODER_PARAMS.model!, required: true },
        backend: ENCODER_PARAMS.backend!,
        dtype: ENCODER_PARAMS.dtype!,
        batchSize: ENCODER_PARAMS.batchSize!,
        maxLength: ENCODER_PARAMS.maxLength!,
      },
      create: (p) => createCrossEncoder(p),
    },
  ],
  [
    "rerank",
    {
      params: {
        ...ENCODER_PARAMS,
        first: {
          accepts: "ranker name other than rerank and hybrid (bm25, bi-encoder…)",
          default: '"bm25"',
          check: (v) => typeof v === "string" && v !== "rerank" && v !== "hybrid" && REGISTRY.has(v),
        },
        depth: { accepts: "whole number >= 1", default: String(DEFAULT_DEPTH), check: isWholeAtLeast(1) },
        ...RERANK_PARAMS,
      },
      create: (p, stages) => {
        const first = (p.first as string | undefined) ?? "bm25";
        // A neural first stage uses the same encoder (and loading options); others their defaults.
        const firstRanker =
          stages[first as FirstStageName] ??
          ((NEURAL_NAMES as readonly string[]).includes(first) ? createNeural(first, defined(p, Object.keys(ENCODER_PARAMS))) : createRanker(first));
        return createRerank("rerank", p, firstRanker, p.depth as number | undefined);
      },
    },
  ],
  [
    "hybrid",
    {
      params: {
        ...ENCODER_PARAMS,
        lexical: { ...oneOf("auto", "bm25", "bm25-psq"), default: '"auto" (bm25-psq where a dictionary for the pair is installed, else bm25)' },
        dense: { ...oneOf("bi-encoder", "rerank"), default: '"rerank" (the bi-encoder\'s top depth re-ranked; second stage maxsim unless second says otherwise)' },
        depth: { accepts: "whole number >= 1", default: String(DEFAULT_HYBRID_DEPTH), check: isWholeAtLeast(1) },
        fusion: { ...oneOf("rrf", "interpolate"), default: '"interpolate"' },
        rrfK: { accepts: "number >= 0", default: String(DEFAULT_RRF_K), check: (v) => isFiniteNumber(v) && v >= 0 },
        lexicalWeight: {
          accepts: "number in [0, 1]",
          default: `${DEFAULT_RRF_LEXICAL_WEIGHT} with fusion "rrf", ${DEFAULT_HYBRID_LEXICAL_WEIGHT} with "interpolate"`,
          check: isUnitInterval,
        },
        ...RERANK_PARAMS,
      },
      create: (p, stages) => {
        const dense = (p.dense as string | undefined) ?? "rerank";
        const fusion = (p.fusion as FusionMethod | undefined) ?? "interpolate";
        if (p.rrfK !== undefined && fusion !== "rrf") throw new Error(`parameter rrfK of ranker hybrid does not apply to fusion ${fusion}`);
        if (dense !== "rerank") {
          for (const key of Object.keys(RERANK_PARAMS)) {
            if (p[key] !== undefined) throw new Error(`parameter ${key} of ranker hybrid does not apply to dense ${dense} (only to dense rerank)`);
          }
        }
        const biEncoder = stages["bi-encoder"] ?? createNeural("bi-encoder", defined(p, Object.keys(ENCODER_PARAMS)));
        return new HybridRanker({
          ...(stages.bm25 === undefined ? {} : { bm25: stages.bm25 }),
          ...(stages["bm25-psq"] === undefined ? {} : { psq: stages["bm25-psq"] }),
          // The hybrid's re-ranking defaults to MaxSim (rerank's own default is LM-EMD): on a short
          // query against long documents MaxSim helps where LM-EMD does not (see HybridRanker).
          dense: dense === "rerank" ? createRerank("hybrid", { second: "maxsim", ...defined<Record<string, unknown>>(p) }, biEncoder, (p.depth as number | undefined) ?? DEFAULT_HYBRID_DEPTH) : biEncoder,
          ...(p.lexical === undefined ? {} : { lexical: p.lexical as LexicalChoice }),
          ...(p.depth === undefined ? {} : { depth: p.depth as number }),
          fusion,
          ...(p.rrfK === undefined ? {} : { rrfK: p.rrfK as number }),
          ...(p.lexicalWeight === undefined ? {} : { lexicalWeight: p.lexicalWeight as number }),
        });
      },
    },
  ],
]);

/**
 * The parameters a ranker accepts, in declaration order (e.g. so a harness can hand the suite's
 * encoder to exactly the rankers that take one). Throws for an unknown name, like `createRanker`.
 */
export function rankerParameterNames(name: string): string[] {
  const entry = REGISTRY.get(name);
  if (entry === undefined) throw new Error(`unknown ranker ${JSON.stringify(name)}; known rankers: ${rankerNames().join(", ")}`);
  return Object.keys(entry.params);
}

/** Names accepted by `createRanker`, sorted. */
export function rankerNames(): string[] {
  return [...REGISTRY.keys()].sort();
}

/**
 * A ranker by registry name with the given parameters (numbers must be numbers, not strings).
 * Throws an Error with a one-line message for an unknown name, an unknown parameter or a bad value.
 */
export function createRanker(name: string, params: Readonly<Record<string, unknown>> = {}, options: CreateRankerOptions = {}): Ranker {
  const entry = REGISTRY.get(name);
  if (entry === undefined) {
    throw new Error(`unknown ranker ${JSON.stringify(name)}; known rankers: ${rankerNames().join(", ")}`);
  }
  const accepted = () =>
    Object.entries(entry.params)
      .map(([key, spec]) => `${key} (${spec.accepts}, default ${spec.default})`)
      .join(", ") || "no parameters";
  for (const [key, spec] of Object.entries(entry.params)) {
    if (spec.required === true && params[key] === undefined) throw new Error(`ranker ${name} needs parameter ${key} (a ${spec.accepts})`);
  }
  for (const [key, value] of Object.entries(params)) {
    const spec = Object.hasOwn(entry.params, key) ? entry.params[key] : undefined;
    if (spec === undefined) {
      throw new Error(`unknown parameter ${JSON.stringify(key)} for ranker ${name}; accepted: ${accepted()}`);
    }
    if (value !== undefined && !spec.check(value)) {
      throw new Error(`parameter ${key} of ranker ${name} must be a ${spec.accepts}; got ${describe(value)}`);
    }
  }
  // Rankers that take an encoder and are given none use the shipped static model.
  const stages = options.firstStages ?? {};
  if (Object.hasOwn(entry.params, "encoder") && params.encoder === undefined) return entry.create({ ...params, encoder: STATIC_MODEL_NAME }, stages);
  return entry.create(params, stages);
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number") return String(value);
  if (value === null) return "null";
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}
