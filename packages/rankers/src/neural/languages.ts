/**
 * The language of each text, for encoders with per-language adapters (X-MOD: DPR-XM, ColBERT-XM),
 * which run every query and document through its own language's adapter (see @crossrank/encode's
 * languages.ts). A text's language is its own `lang`, else the input's `queryLang` / `docLang`.
 * Encoders without adapters get no languages, so their calls and memo keys stay as they are.
 */
import type { Encoder, LanguageOptions } from "@crossrank/encode";

/** `{ languages }` (one per text: `lang ?? fallback`) for an encoder with language adapters; `{}` for any other. */
export function languagesFor(encoder: Encoder, items: readonly { lang?: string }[], fallback: string | undefined): LanguageOptions {
  if (encoder.languages === undefined) return {};
  return { languages: items.map((item) => item.lang ?? fallback) };
}
