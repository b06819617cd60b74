/**
 * Parallel text pairs for training static embeddings: DDTP descriptions aligned with English by
 * `Description-md5` (short ↔ short, long ↔ long, short ↔ whole English description), dictionary
 * pairs (headword ↔ gloss) and gettext catalogue pairs (translated message ↔ English msgid), split
 * into train and dev by a seeded hash of the alignment key, and sampled per epoch with caps or budgets per source and language pair so that a few million
 * dictionary pairs do not drown the DDTP pairs.
 *
 * Pure data code: the readers are @crossrank/datasets (`readDdtp`) and, for dictionaries, any
 * object shaped like @crossrank/lexicon's `Dictionary` (`{ from, to, entries: { source, target }[] }`),
 * for catalogues like its `GettextCatalogue` plus a language (`{ lang, singularIndex, entries }`).
 */
import { join } from "node:path";
import { DEFAULT_DEV_FRACTION, readDdtp, splitOf, type DdtpDescription } from "@crossrank/datasets";
import { cleanGettextText } from "@crossrank/lexicon";
import { Rng, shuffle } from "../rng.js";

/** One parallel pair. */
export interface TextPair {
  /** Text in language `langA` (the translation / headword). */
  a: string;
  /** Text in language `langB` (English for DDTP; the gloss for dictionaries). */
  b: string;
  /**
   * Where it comes from: `ddtp-short`, `ddtp-long`, `ddtp-short-description`, `dict` (English on
   * one side), `dict-pivot` (two other languages), `gettext` (a catalogue's translation ↔ English).
   */
  source: string;
  /** Language pair, `de-en`, `fr-de`. */
  lang: string;
  /** Alignment key the split is made on (DDTP md5; dictionary: the headword; gettext: the English text, lower-cased). */
  key: string;
}

/** Minimal dictionary shape (what @crossrank/lexicon's `Dictionary` provides). */
export interface PairDictionary {
  from: string;
  to: string;
  entries: readonly { source: string; target: string }[];
}

/** Split options. */
export interface SplitOptions {
  /** Share of alignment keys that go to dev (default 0.1; the split is @crossrank/datasets' `splitOf`, which its DDTP tasks share). */
  devFraction?: number;
  /** Seed of the split hash (default 0). */
  seed?: number;
}

/**
 * Which DDTP pairs a description gives: `short` (short ↔ short), `long` (long ↔ long),
 * `short-description` (the translated short description ↔ the whole English description, short
 * and long: known-item search's shape, a title against a document).
 */
export type DdtpPairKind = "short" | "long" | "short-description";

/** Options of {@link ddtpPairs}. */
export interface DdtpPairOptions extends SplitOptions {
  /** Default `["short", "long"]`. */
  kinds?: readonly DdtpPairKind[];
}

/** Train and dev pairs. */
export interface PairSplit {
  train: TextPair[];
  dev: TextPair[];
}

/** Collapses whitespace; the long description's "\n" paragraphs become spaces. */
function clean(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * DDTP pairs of one language with English: for each translated md5 that English also has, a
 * short ↔ short pair and (when both are non-empty) a long ↔ long pair. The whole md5 goes to one
 * side of the split, so no description is on both sides.
 */
export function ddtpPairs(english: readonly DdtpDescription[], translated: readonly DdtpDescription[], options: DdtpPairOptions = {}): PairSplit {
  const kinds = new Set(options.kinds ?? ["short", "long"]);
  const devFraction = options.devFraction ?? DEFAULT_DEV_FRACTION;
  const seed = options.seed ?? 0;
  const en = new Map<string, DdtpDescription>();
  for (const d of english) en.set(d.md5, d);
  const out: PairSplit = { train: [], dev: [] };
  for (const t of translated) {
    const e = en.get(t.md5);
    if (e === undefined) continue;
    const lang = `${t.lang}-${e.lang}`;
    const side = out[splitOf(t.md5, devFraction, seed)];
    const sa = clean(t.short);
    const sb = clean(e.short);
    const la = clean(t.long);
    const lb = clean(e.long);
    if (kinds.has("short") && sa !== "" && sb !== "") side.push({ a: sa, b: sb, source: "ddtp-short", lang, key: t.md5 });
    if (kinds.has("long") && la !== "" && lb !== "") side.push({ a: la, b: lb, source: "ddtp-long", lang, key: t.md5 });
    const desc = clean(`${e.short} ${e.long}`);
    if (kinds.has("short-description") && sa !== "" && desc !== "") side.push({ a: sa, b: desc, source: "ddtp-short-description", lang, key: t.md5 });
  }
  return out;
}

/** Reads `Translation-en` and `Translation-<lang>` for each language from `dir` and returns their pairs. */
export async function loadDdtpPairs(dir: string, langs: readonly string[], options: DdtpPairOptions = {}): Promise<PairSplit> {
  const english = await readTranslation(dir, "en");
  const out: PairSplit = { train: [], dev: [] };
  for (const lang of langs) {
    const p = ddtpPairs(english, await readTranslation(dir, lang), options);
    out.train.push(...p.train);
    out.dev.push(...p.dev);
  }
  return out;
}

async function readTranslation(dir: string, lang: string): Promise<DdtpDescription[]> {
  try {
    return await readDdtp(join(dir, `Translation-${lang}.gz`));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    return readDdtp(join(dir, `Translation-${lang}`));
  }
}

/** Source of dictionary pairs with English on one side (`de-en`, `en-fi`). */
export const DICTIONARY_SOURCE = "dict";
/** Source of dictionary pairs between two other languages (`fr-de`, `ja-de`): the pivot pairs. */
export const PIVOT_DICTIONARY_SOURCE = "dict-pivot";

/**
 * Dictionary pairs (headword ↔ gloss) of every dictionary, whatever its languages (`fr-de` as well
 * as `de-en`). Duplicates (same pair of the same language pair) are dropped. Split by headword, so
 * that all glosses of a headword are on the same side. Pairs with English on one side are source
 * `dict`, the others `dict-pivot`: two sources so that a budget can favour the pairs that tie a
 * language to the English collection over the pivot pairs, which outnumber them two to one.
 */
export function dictionaryPairs(dictionaries: readonly PairDictionary[], options: SplitOptions = {}): PairSplit {
  const devFraction = options.devFraction ?? DEFAULT_DEV_FRACTION;
  const seed = options.seed ?? 0;
  const out: PairSplit = { train: [], dev: [] };
  const seen = new Set<string>();
  for (const d of dictionaries) {
    const lang = `${d.from}-${d.to}`;
    const source = d.from === "en" || d.to === "en" ? DICTIONARY_SOURCE : PIVOT_DICTIONARY_SOURCE;
    for (const e of d.entries) {
      const a = clean(e.source);
      const b = clean(e.target);
      if (a === "" || b === "") continue;
      const id = `${lang}\u0000${a}\u0000${b}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const key = `${d.from}:${a.toLowerCase()}`;
      out[splitOf(key, devFraction, seed)].push({ a, b, source, lang, key });
    }
  }
  return out;
}

/** Source of CLDR glossary pairs (a name or calendar/measure phrase ↔ its English form, `de-en`). */
export const CLDR_SOURCE = "cldr";

/**
 * Pairs of CLDR glossaries (@crossrank/lexicon's `cldrGlossary`: `{ lang, entries }` with the
 * entries' `source` in `lang`, `target` in English), source {@link CLDR_SOURCE}, language `lang-en`;
 * split by the English side, so a concept is on one side of the split in every language.
 */
export function cldrPairs(glossaries: readonly { lang: string; entries: readonly { source: string; target: string }[] }[], options: SplitOptions = {}): PairSplit {
  const devFraction = options.devFraction ?? DEFAULT_DEV_FRACTION;
  const seed = options.seed ?? 0;
  const out: PairSplit = { train: [], dev: [] };
  for (const g of glossaries) {
    for (const e of g.entries) {
      const a = clean(e.source);
      const b = clean(e.target);
      if (a === "" || b === "") continue;
      const key = `cldr:${b.toLowerCase()}`;
      out[splitOf(key, devFraction, seed)].push({ a, b, source: CLDR_SOURCE, lang: `${g.lang}-en`, key });
    }
  }
  return out;
}

/** Source of gettext catalogue pairs (translation ↔ English message, `de-en`). */
export const GETTEXT_SOURCE = "gettext";

/** Minimal catalogue shape (what @crossrank/lexicon's `GettextCatalogue` provides, plus the language). */
export interface PairCatalogue {
  /** The translations' language (`de`, `pt`); English is the other side. */
  lang: string;
  /** Index in a plural entry's `msgstr` of the singular form; undefined: unknown (plural entries are dropped). */
  singularIndex: number | undefined;
  entries: readonly { msgid: string; msgidPlural?: string; msgstr: readonly string[] }[];
}

/** Why {@link gettextPairs} dropped catalogue entries, in the order the checks run. */
export const GETTEXT_DROP_REASONS = ["setting", "plural", "empty", "no-letter", "untranslated", "too-long", "duplicate"] as const;
export type GettextDropReason = (typeof GETTEXT_DROP_REASONS)[number];

/** Options of {@link gettextPairs}. */
export interface GettextPairOptions extends SplitOptions {
  /** Pairs with a side longer than this many characters (after clean-up) are dropped (default 300). */
  maxLength?: number;
}

/** What {@link gettextPairs} returns: the pairs and how many entries each check dropped. */
export interface GettextPairSplit extends PairSplit {
  dropped: Record<GettextDropReason, number>;
}

/**
 * A msgid that is a setting for the program, not a message (GTK's `default:LTR`,
 * `calendar:week_start:0`, `default:mm`): a lower-case key, a colon and a value, no space.
 */
const GETTEXT_SETTING = /^[a-z][\w-]*:[\w:-]+$/;

/**
 * Pairs of gettext catalogue entries: the singular translation (`msgstr`, or for a plural entry the
 * form for n = 1) ↔ the English msgid, both cleaned by @crossrank/lexicon's `cleanGettextText`
 * (accelerators, placeholders, markup and line breaks removed; the msgctxt is never part of the
 * text). An entry is dropped, and counted under the first reason that applies, when its msgid is a
 * program setting (`default:LTR`), its singular form is unknown (`plural`), a side is empty after
 * clean-up, the English side has no letter (`%H:%M`), the translation equals the English ignoring
 * case (`untranslated`: copies such as `BMP`), a side is longer than `maxLength`, or the same
 * (language, translation, English) pair came earlier (`duplicate`: catalogues of many packages share
 * strings). Split by the English text, lower-cased, so that a string and its case variants are on
 * one side of the split in every language.
 */
export function gettextPairs(catalogues: readonly PairCatalogue[], options: GettextPairOptions = {}): GettextPairSplit {
  const devFraction = options.devFraction ?? DEFAULT_DEV_FRACTION;
  const seed = options.seed ?? 0;
  const maxLength = options.maxLength ?? 300;
  const out: GettextPairSplit = { train: [], dev: [], dropped: Object.fromEntries(GETTEXT_DROP_REASONS.map((r) => [r, 0])) as Record<GettextDropReason, number> };
  const seen = new Set<string>();
  for (const c of catalogues) {
    const lang = `${c.lang}-en`;
    for (const e of c.entries) {
      const p = gettextPair(c, e, lang, maxLength);
      if (typeof p === "string") {
        out.dropped[p]++;
        continue;
      }
      const id = `${lang}\u0000${p.a}\u0000${p.b}`;
      if (seen.has(id)) {
        out.dropped.duplicate++;
        continue;
      }
      seen.add(id);
      out[splitOf(p.key, devFraction, seed)].push(p);
    }
  }
  return out;
}

const LETTER = /\p{L}/u;

/** One entry's pair, or why it has none (all checks but `duplicate`). */
function gettextPair(c: PairCatalogue, e: PairCatalogue["entries"][number], lang: string, maxLength: number): TextPair | Exclude<GettextDropReason, "duplicate"> {
  if (GETTEXT_SETTING.test(e.msgid)) return "setting";
  const translation = e.msgidPlural === undefined ? e.msgstr[0] : c.singularIndex === undefined ? undefined : e.msgstr[c.singularIndex];
  if (translation === undefined) return "plural";
  const a = cleanGettextText(translation);
  const b = cleanGettextText(e.msgid);
  if (a === "" || b === "") return "empty";
  if (!LETTER.test(b)) return "no-letter";
  const key = b.toLowerCase();
  if (a.toLowerCase() === key) return "untranslated";
  if (a.length > maxLength || b.length > maxLength) return "too-long";
  return { a, b, source: GETTEXT_SOURCE, lang, key };
}

/** Groups pairs by `source/lang`, in sorted group order. */
export function groupPairs(pairs: readonly TextPair[]): Map<string, TextPair[]> {
  const groups = new Map<string, TextPair[]>();
  for (const p of pairs) {
    const g = `${p.source}/${p.lang}`;
    let list = groups.get(g);
    if (list === undefined) groups.set(g, (list = []));
    list.push(p);
  }
  return new Map([...groups.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)));
}

/** Options of {@link sampleEpoch}. */
export interface SampleOptions {
  /** At most this many pairs of one `source/lang` group per epoch (default: no cap). */
  capPerGroup?: number;
  /** Per-source caps overriding `capPerGroup` (e.g. `{ dict: 20000 }`). */
  capBySource?: Readonly<Record<string, number>>;
  /**
   * Pairs per epoch of a whole source (e.g. `{ dict: 150000 }`), shared by its groups as evenly as
   * their sizes allow (water-filling: a group smaller than its share gives all it has and the rest
   * goes to the larger ones). Overrides both caps for that source. This is how a few million
   * dictionary pairs over dozens of language pairs are kept from drowning the DDTP pairs.
   */
  budgetBySource?: Readonly<Record<string, number>>;
  /** Seed; the epoch's sample is a function of (seed, epoch) alone. */
  seed: number;
  /** Epoch (0-based). */
  epoch: number;
}

/**
 * The pairs of one epoch: from each `source/lang` group at most its cap, drawn so that successive
 * epochs walk through the group (epoch e takes the e-th window of a fixed seeded permutation of the
 * group, wrapping around), then all shuffled together. Deterministic in (pairs, seed, epoch).
 */
export function sampleEpoch(groups: ReadonlyMap<string, readonly TextPair[]>, options: SampleOptions): TextPair[] {
  const out: TextPair[] = [];
  const shares = budgetShares(groups, options.budgetBySource ?? {});
  let gi = 0;
  for (const [name, list] of groups) {
    const source = name.slice(0, name.indexOf("/"));
    const cap = shares.get(name) ?? Math.min(list.length, options.capBySource?.[source] ?? options.capPerGroup ?? list.length);
    const order = shuffle(
      Array.from(list, (_, i) => i),
      new Rng((options.seed * 7919 + gi * 104729 + 17) >>> 0),
    );
    const start = (options.epoch * cap) % Math.max(1, list.length);
    for (let k = 0; k < cap; k++) out.push(list[order[(start + k) % list.length] as number] as TextPair);
    gi++;
  }
  return shuffle(out, new Rng((options.seed * 31 + options.epoch * 1000003 + 1) >>> 0));
}

/** Each budgeted source's budget split over its groups by water-filling (smallest groups first). */
function budgetShares(groups: ReadonlyMap<string, readonly TextPair[]>, budgets: Readonly<Record<string, number>>): Map<string, number> {
  const shares = new Map<string, number>();
  for (const [source, budget] of Object.entries(budgets)) {
    if (!(Number.isInteger(budget) && budget >= 0)) throw new Error(`sampleEpoch: budgetBySource.${source} must be a whole number >= 0, got ${String(budget)}`);
    const members = [...groups].filter(([name]) => name.slice(0, name.indexOf("/")) === source).sort((x, y) => x[1].length - y[1].length || (x[0] < y[0] ? -1 : 1));
    let left = budget;
    members.forEach(([name, list], i) => {
      const take = Math.min(list.length, Math.floor(left / (members.length - i)));
      shares.set(name, take);
      left -= take;
    });
  }
  return shares;
}
