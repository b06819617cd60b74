/**
 * Reading a sentence-transformers model folder (`modules.json` and its module folders), so a
 * folder such as `sentence-transformers/LaBSE` gives the vectors Python's `SentenceTransformer`
 * gives: Transformer → Pooling → Dense* → Normalize.
 */
import { join } from "node:path";
import type { ModelSource } from "@crossrank/tokenize";
import type { DenseActivation, DenseLayer, Pooling } from "./pooling.js";
import { readSafetensors, type NamedTensor } from "./safetensors.js";

/** The pipeline a sentence-transformers folder declares. */
export interface SentenceTransformersConfig {
  /** Folder of the Transformer module relative to the model root ("" or e.g. "0_Transformer"). */
  transformerPath: string;
  /** `sentence_bert_config.json` max_seq_length: the truncation length sentence-transformers uses. */
  maxSeqLength?: number;
  /** `sentence_bert_config.json` do_lower_case: texts are lower-cased before tokenizing. */
  doLowerCase: boolean;
  /** The Pooling module's mode; absent when the folder has no Pooling module. */
  pooling?: Pooling;
  /** The Pooling module's word_embedding_dimension, checked against the model's hidden size. */
  poolingDim?: number;
  /** The Dense modules in order. */
  dense: (DenseLayer & { path: string })[];
  /** Whether a Normalize module ends the pipeline. */
  normalize: boolean;
  /**
   * `config_sentence_transformers.json` prompts by name (E5: {query: "query: ", passage: "passage: "}),
   * which sentence-transformers prepends to a text when asked for that prompt; empty when none.
   */
  prompts: Record<string, string>;
  /** The prompt sentence-transformers applies when none is asked for (`default_prompt_name`). */
  defaultPromptName?: string;
  /**
   * `config_sentence_transformers.json` similarity_fn_name: how the model's vectors are compared
   * (`SentenceTransformer.similarity`); absent in folders saved before sentence-transformers 3.
   */
  similarityFnName?: SimilarityFunctionName;
  /** Files whose contents define the pipeline (relative to the model root), for cache fingerprints. */
  files: string[];
}

/** The similarity functions sentence-transformers names (`SimilarityFunction`, sentence_transformers/similarity_functions.py). */
export const SIMILARITY_FUNCTION_NAMES = ["cosine", "dot", "euclidean", "manhattan"] as const;
export type SimilarityFunctionName = (typeof SIMILARITY_FUNCTION_NAMES)[number];

interface ModuleEntry {
  idx?: number;
  name?: string;
  path?: string;
  type?: string;
}

const MODULE_ORDER = ["Transformer", "Pooling", "Dense", "Normalize"] as const;
type ModuleKind = (typeof MODULE_ORDER)[number];

/**
 * Reads `modules.json` and the module configs of a sentence-transformers folder; `undefined` when
 * the folder has no `modules.json` (a plain Hugging Face model). Unsupported modules, pooling
 * modes or activations are Errors naming the file and what is supported.
 */
export async function readSentenceTransformers(source: ModelSource): Promise<SentenceTransformersConfig | undefined> {
  const entries = await source.json<ModuleEntry[]>("modules.json", { optional: true });
  if (entries === undefined) return undefined;
  const where = `modules.json of ${source.spec}`;
  if (!Array.isArray(entries) || entries.length === 0) throw new Error(`${where}: expected a non-empty array of modules`);
  const modules = [...entries]
    .sort((a, b) => (a.idx ?? 0) - (b.idx ?? 0))
    .map((m) => ({ path: stripSlashes(m.path ?? ""), type: m.type ?? "", kind: moduleKind(m.type ?? "", where) }));
  // sentence-transformers applies modules in sequence; only the canonical order maps onto
  // "token embeddings → pooled vector → dense → unit length".
  let last = -1;
  for (const m of modules) {
    const rank = MODULE_ORDER.indexOf(m.kind);
    if (rank < last || (rank === last && m.kind !== "Dense")) {
      throw new Error(`${where}: modules must come in the order Transformer, Pooling, Dense…, Normalize (got ${modules.map((x) => x.kind).join(", ")})`);
    }
    last = rank;
  }
  if (modules[0]!.kind !== "Transformer") throw new Error(`${where}: the first module must be a Transformer (got ${modules[0]!.type})`);

  const transformerPath = modules[0]!.path;
  const config: SentenceTransformersConfig = { transformerPath, doLowerCase: false, dense: [], normalize: false, prompts: {}, files: ["modules.json"] };
  const stConfig = await source.json<{ prompts?: unknown; default_prompt_name?: unknown; similarity_fn_name?: unknown }>("config_sentence_transformers.json", { optional: true });
  if (stConfig !== undefined) {
    config.files.push("config_sentence_transformers.json");
    const where = `config_sentence_transformers.json of ${source.spec}`;
    if (stConfig.prompts !== undefined) {
      if (typeof stConfig.prompts !== "object" || stConfig.prompts === null || Object.values(stConfig.prompts).some((v) => typeof v !== "string")) {
        throw new Error(`${where}: prompts must map names to strings`);
      }
      config.prompts = { ...(stConfig.prompts as Record<string, string>) };
    }
    if (typeof stConfig.default_prompt_name === "string") {
      if (config.prompts[stConfig.default_prompt_name] === undefined) throw new Error(`${where}: default_prompt_name ${JSON.stringify(stConfig.default_prompt_name)} is not one of the prompts`);
      config.defaultPromptName = stConfig.default_prompt_name;
    }
    // null counts as absent: sentence-transformers' default (cosine) applies.
    const similarity = stConfig.similarity_fn_name;
    if (similarity !== undefined && similarity !== null) {
      if (!SIMILARITY_FUNCTION_NAMES.includes(similarity as SimilarityFunctionName)) {
        throw new Error(`${where}: similarity_fn_name must be one of ${SIMILARITY_FUNCTION_NAMES.map((n) => JSON.stringify(n)).join(", ")}, got ${JSON.stringify(similarity)}`);
      }
      config.similarityFnName = similarity as SimilarityFunctionName;
    }
  }
  const bertConfigPath = rel(transformerPath, "sentence_bert_config.json");
  const bertConfig = await source.json<{ max_seq_length?: number; do_lower_case?: boolean }>(bertConfigPath, { optional: true });
  if (bertConfig !== undefined) {
    config.files.push(bertConfigPath);
    if (typeof bertConfig.max_seq_length === "number") config.maxSeqLength = bertConfig.max_seq_length;
    config.doLowerCase = bertConfig.do_lower_case === true;
  }
  for (const m of modules.slice(1)) {
    if (m.kind === "Pooling") {
      const path = rel(m.path, "config.json");
      const pooling = await source.json<Record<string, unknown>>(path);
      config.files.push(path);
      config.pooling = poolingMode(pooling!, `${path} of ${source.spec}`);
      if (typeof pooling!.word_embedding_dimension === "number") config.poolingDim = pooling!.word_embedding_dimension;
    } else if (m.kind === "Dense") {
      config.dense.push(await readDense(source, m.path, config.files));
    } else if (m.kind === "Normalize") {
      config.normalize = true;
    }
  }
  return config;
}

/** A view of `source` rooted at its subfolder `sub` (the Transformer module of a sentence-transformers folder). */
export function moduleSource(source: ModelSource, sub: string): ModelSource {
  if (sub === "") return source;
  return {
    spec: `${source.spec}/${sub}`,
    kind: source.kind,
    folder: join(source.folder, sub),
    file: (relPath, options) => source.file(rel(sub, relPath), options),
    json: <T = unknown>(relPath: string, options?: { optional?: boolean }) => source.json<T>(rel(sub, relPath), options),
  };
}

function moduleKind(type: string, where: string): ModuleKind {
  // Module classes moved between sentence-transformers versions; the class name is stable.
  const name = type.split(".").pop() ?? "";
  const kind = MODULE_ORDER.find((k) => k === name);
  if (kind === undefined) {
    throw new Error(`${where}: unsupported module type "${type}" (supported: ${MODULE_ORDER.map((k) => `sentence_transformers.models.${k}`).join(", ")})`);
  }
  return kind;
}

const POOLING_FLAGS: Record<string, Pooling | undefined> = {
  pooling_mode_cls_token: "cls",
  pooling_mode_mean_tokens: "mean",
  pooling_mode_max_tokens: "max",
  pooling_mode_mean_sqrt_len_tokens: undefined,
  pooling_mode_weightedmean_tokens: undefined,
  pooling_mode_lasttoken: undefined,
};

function poolingMode(config: Record<string, unknown>, where: string): Pooling {
  const on = Object.keys(POOLING_FLAGS).filter((k) => config[k] === true);
  if (on.length !== 1) {
    throw new Error(
      `${where}: exactly one pooling mode must be on, got ${on.length === 0 ? "none" : on.join(" + ")} (concatenated pooling modes are not supported)`,
    );
  }
  const mode = POOLING_FLAGS[on[0]!];
  if (mode === undefined) {
    throw new Error(`${where}: ${on[0]} is not supported (supported: pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_max_tokens)`);
  }
  return mode;
}

const ACTIVATIONS: Record<string, DenseActivation> = {
  Identity: "identity",
  Tanh: "tanh",
  ReLU: "relu",
  GELU: "gelu",
  Sigmoid: "sigmoid",
  SiLU: "silu",
};

async function readDense(source: ModelSource, path: string, files: string[]): Promise<DenseLayer & { path: string }> {
  const configPath = rel(path, "config.json");
  const cfg = (await source.json<{ in_features?: number; out_features?: number; bias?: boolean; activation_function?: string }>(configPath))!;
  files.push(configPath);
  const where = `${configPath} of ${source.spec}`;
  const inFeatures = cfg.in_features;
  const outFeatures = cfg.out_features;
  if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures)) throw new Error(`${where}: in_features and out_features must be integers`);
  // sentence-transformers' Dense default activation is Tanh.
  const activationName = cfg.activation_function ?? "torch.nn.modules.activation.Tanh";
  const activation = ACTIVATIONS[activationName.split(".").pop() ?? ""];
  if (activation === undefined) {
    throw new Error(`${where}: unsupported activation_function "${activationName}" (supported: ${Object.keys(ACTIVATIONS).map((a) => `torch.nn.${a}`).join(", ")})`);
  }

  const weightsPath = rel(path, "model.safetensors");
  const weightsFile = await source.file(weightsPath, { optional: true });
  if (weightsFile === undefined) {
    const binPath = rel(path, "pytorch_model.bin");
    if ((await source.file(binPath, { optional: true })) !== undefined) {
      throw new Error(
        `${source.spec}: ${binPath} is a PyTorch pickle, which is not read here; convert it to ${weightsPath} once with Python:\n` +
          `  python -c "import torch; from safetensors.torch import save_file; ` +
          `save_file({k: v.contiguous() for k, v in torch.load('${binPath}', map_location='cpu').items()}, '${weightsPath}')"\n` +
          `(run in the model folder; needs torch and safetensors)`,
      );
    }
    await source.file(weightsPath); // throws the MissingModelFileError naming the file
  }
  files.push(weightsPath);
  const tensors = await readSafetensors(weightsFile!);
  const weight = tensor(tensors, "linear.weight", [outFeatures!, inFeatures!], weightsPath);
  const hasBias = cfg.bias ?? tensors.has("linear.bias");
  const layer: DenseLayer & { path: string } = { path, inFeatures: inFeatures!, outFeatures: outFeatures!, weight, activation };
  if (hasBias) layer.bias = tensor(tensors, "linear.bias", [outFeatures!], weightsPath);
  return layer;
}

function tensor(tensors: Map<string, NamedTensor>, name: string, shape: number[], file: string): Float32Array {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`${file}: no tensor "${name}" (has: ${[...tensors.keys()].join(", ")})`);
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new Error(`${file}: tensor "${name}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}] from config.json`);
  }
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new Error(`${file}: tensor "${name}" has dtype ${t.dtype}, expected a float type`);
}

function stripSlashes(p: string): string {
  return p.replace(/^\.?\/+/, "").replace(/\/+$/, "");
}

function rel(dir: string, file: string): string {
  return dir === "" ? file : `${dir}/${file}`;
}
