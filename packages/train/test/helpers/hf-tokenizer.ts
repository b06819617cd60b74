import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** The part of a transformers.js tokenizer the static tests use. */
export interface HfTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
}

/**
 * transformers.js' AutoTokenizer on a local folder. @crossrank/train does not depend on
 * @huggingface/transformers, so the tests borrow @crossrank/encode's copy.
 */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const require = createRequire(new URL("../../../encode/package.json", import.meta.url));
  const mod = (await import(pathToFileURL(require.resolve("@huggingface/transformers")).href)) as {
    AutoTokenizer: { from_pretrained(dir: string, options: { local_files_only: boolean }): Promise<HfTokenizer> };
  };
  return mod.AutoTokenizer.from_pretrained(dir, { local_files_only: true });
}
