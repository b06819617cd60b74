import { Tokenizer } from "@crossrank/tokenize";

/** The part of a standard tokenizer loader the static tests use. */
export interface HfTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
}

/**
 * The written `tokenizer.json` through the standard loader (`@crossrank/tokenize`, i.e.
 * transformers.js' AutoTokenizer on the local folder), ids without special tokens.
 */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const tokenizer = await Tokenizer.load(dir);
  return { encode: (text) => tokenizer.contentIds(text) };
}
