/** Prebuilt parts (`@crossrank/rankers`' CollectionPart) to and from safetensors bytes. */
import type { Document } from "@crossrank/datasets";
import { encodeSafetensors, readSafetensors, readSafetensorsMetadata } from "@crossrank/encode";
import { type Analyzer, Bm25Index, type CollectionPart } from "@crossrank/rankers";
import { stringTensors, tensorStrings } from "./format.js";

/** A part as safetensors bytes (document ids are not stored: they are the documents file's). */
export function encodePart(part: CollectionPart): Uint8Array {
  if (part.kind === "vectors") {
    const { rows, dim, data } = part.matrix;
    return encodeSafetensors({ vectors: { dtype: "F32", shape: [rows, dim], data } }, { kind: "vectors", key: part.key });
  }
  if (part.kind === "ann") throw new Error(`part ${part.key}: an approximate index is written by its store (./lance.ts), not as a safetensors part`);
  const a = part.index.toArrays();
  const terms = stringTensors(a.terms);
  return encodeSafetensors(
    {
      offsets: { dtype: "I32", shape: [a.offsets.length], data: a.offsets },
      docs: { dtype: "I32", shape: [a.docs.length], data: a.docs },
      tfs: { dtype: "I32", shape: [a.tfs.length], data: a.tfs },
      impacts: { dtype: "F32", shape: [a.impacts.length], data: a.impacts },
      lengths: { dtype: "F32", shape: [a.lengths.length], data: a.lengths },
      terms: terms.bytes,
      term_offsets: terms.offsets,
    },
    { kind: "bm25", key: part.key, k1: String(a.k1), b: String(a.b), averageDocumentLength: String(a.averageDocumentLength) },
  );
}

/**
 * A part back from `encodePart`'s bytes. `analyzer` is the documents' analyzer of a BM25 part
 * (code, recreated from the ranker's settings); `path` names the file in errors.
 */
export async function decodePart(bytes: Uint8Array, kind: "bm25" | "vectors", key: string, documents: readonly Document[], analyzer: Analyzer | undefined, path: string): Promise<CollectionPart> {
  let tensors;
  let metadata: Record<string, string>;
  try {
    tensors = await readSafetensors(bytes);
    metadata = await readSafetensorsMetadata(bytes);
  } catch (err) {
    throw new Error(`${path}: not a readable part (${(err as Error).message})`);
  }
  if (metadata.kind !== kind || metadata.key !== key) throw new Error(`${path}: holds part ${metadata.kind} ${metadata.key ?? "?"}, the manifest says ${kind} ${key}`);
  if (kind === "vectors") {
    const v = tensors.get("vectors");
    if (v?.dtype !== "F32" || v.shape.length !== 2) throw new Error(`${path}: no float32 [rows, dim] tensor "vectors"`);
    return { kind, key, matrix: { rows: v.shape[0]!, dim: v.shape[1]!, data: v.data as Float32Array } };
  }
  const get = (name: string, dtype: "I32" | "F32") => {
    const t = tensors.get(name);
    if (t?.dtype !== dtype) throw new Error(`${path}: no ${dtype} tensor "${name}"`);
    return t.data;
  };
  const number = (name: string) => {
    const v = Number(metadata[name]);
    if (metadata[name] === undefined || !Number.isFinite(v)) throw new Error(`${path}: metadata ${name} is missing or not a number`);
    return v;
  };
  try {
    const index = Bm25Index.fromArrays(
      {
        k1: number("k1"),
        b: number("b"),
        averageDocumentLength: number("averageDocumentLength"),
        terms: tensorStrings(tensors.get("terms"), tensors.get("term_offsets"), path),
        ids: documents.map((d) => d.id),
        offsets: get("offsets", "I32") as Int32Array,
        docs: get("docs", "I32") as Int32Array,
        tfs: get("tfs", "I32") as Int32Array,
        impacts: get("impacts", "F32") as Float32Array,
        lengths: get("lengths", "F32") as Float32Array,
      },
      analyzer!,
    );
    return { kind, key, index };
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
