/**
 * Per-text language adapters (X-MOD, Pfeiffer et al. 2022; DPR-XM and ColBERT-XM are built on it):
 * the model holds one adapter per language in config.json `languages` ("en_XX", "de_DE"…) and runs
 * each text through its own language's adapter. In Python that is `model.set_default_language("de_DE")`
 * or a `lang_ids` tensor of indices into `languages` (transformers' modeling_xmod.py, XmodModel.forward);
 * here the caller names each text's language and the encoder feeds the ONNX export's `lang_ids`.
 */

/** The languages of an encode call (ignored by models without language adapters). */
export interface LanguageOptions {
  /** The language of every text without its own entry in `languages`: an ISO code ("de") or the model's name ("de_DE"). */
  language?: string;
  /** Per text, parallel to the texts; an undefined entry falls back to `language`, then to config.json's `default_language`. */
  languages?: readonly (string | undefined)[];
}

/** A model's language adapters, from config.json. */
export interface AdapterLanguages {
  /** config.json `languages`, in order: a lang id is an index into it. */
  readonly languages: readonly string[];
  /** config.json `default_language` when set (what XmodModel uses when no lang_ids are given). */
  readonly defaultLanguage: string | undefined;
}

/**
 * The adapter languages config.json declares: for model_type "xmod" (or when `graphTakesLanguage`:
 * an export with a `lang_ids` input) the list and the default; undefined for any other model (whose
 * config may hold a `languages` list for other purposes). `where` names the file in errors.
 */
export function adapterLanguagesOf(config: Record<string, unknown>, where: string, graphTakesLanguage = false): AdapterLanguages | undefined {
  const list = config.languages;
  if (config.model_type !== "xmod" && !graphTakesLanguage) return undefined;
  if (!Array.isArray(list) || list.length === 0 || !list.every((l) => typeof l === "string" && l !== "")) {
    throw new Error(`${where}: an X-MOD config needs "languages", a non-empty list of language codes (got ${JSON.stringify(list)})`);
  }
  const languages = list as string[];
  const d = config.default_language;
  if (d !== undefined && d !== null && (typeof d !== "string" || !languages.includes(d))) {
    throw new Error(`${where}: default_language ${JSON.stringify(d)} is not one of its languages (${languages.join(", ")})`);
  }
  return { languages, defaultLanguage: typeof d === "string" ? d : undefined };
}

/**
 * The index in `model.languages` of `code`: the model's own name ("de_DE"; case and "-" / "_"
 * ignored, so "de-DE" works), else an ISO 639-1 code ("de") that exactly one of the model's
 * languages starts with. An unknown or ambiguous ("zh": zh_CN, zh_TW) code is an Error naming the
 * model's languages.
 */
export function languageIndex(code: string, model: AdapterLanguages, modelId: string): number {
  const exact = model.languages.indexOf(code);
  if (exact >= 0) return exact;
  const norm = (s: string) => s.toLowerCase().replace(/-/g, "_");
  const wanted = norm(code);
  const same = model.languages.findIndex((l) => norm(l) === wanted);
  if (same >= 0) return same;
  const iso = wanted.split("_")[0]!;
  const matches = model.languages.map((l, i) => [l, i] as const).filter(([l]) => norm(l).split("_")[0] === iso);
  if (matches.length === 1) return matches[0]![1];
  if (matches.length > 1) throw new Error(`encoder ${modelId}: language ${JSON.stringify(code)} matches several of its adapters (${matches.map(([l]) => l).join(", ")}); name one of them`);
  throw new Error(`encoder ${modelId}: no language adapter for ${JSON.stringify(code)}; the model has ${model.languages.join(", ")}`);
}

/**
 * Each text's lang id: its `languages` entry, else `language`, else the model's default language;
 * an Error when a text has none of these or `languages` is not parallel to the texts.
 */
export function languageIds(count: number, options: LanguageOptions, model: AdapterLanguages, modelId: string): Int32Array {
  const { languages, language } = options;
  if (languages !== undefined && languages.length !== count) throw new Error(`encoder ${modelId}: ${languages.length} languages for ${count} texts (languages must be parallel to the texts)`);
  const known = new Map<string, number>();
  const index = (code: string): number => {
    let i = known.get(code);
    if (i === undefined) known.set(code, (i = languageIndex(code, model, modelId)));
    return i;
  };
  const ids = new Int32Array(count);
  for (let t = 0; t < count; t++) {
    const code = languages?.[t] ?? language ?? model.defaultLanguage;
    if (code === undefined) {
      throw new Error(
        `encoder ${modelId}: text ${t} has no language, and this model picks a language adapter per text (X-MOD): pass languages (one per text) or language; the model has ${model.languages.join(", ")} and no default_language`,
      );
    }
    ids[t] = index(code);
  }
  return ids;
}
