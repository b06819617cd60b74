/**
 * A multilingual WordPiece vocabulary for static embedding models, and the `tokenizer.json` that
 * the standard loaders (Hugging Face tokenizers, @huggingface/transformers) read for it.
 *
 * Text pipeline (what the written tokenizer.json declares, and what {@link staticTokenize} does):
 *  - BertNormalizer: clean text, spaces around CJK ideographs (each Han character becomes a word of
 *    its own, as BERT does; kana and Hangul stay words), **lowercase: true, strip_accents: false**.
 *    Lower-casing merges sentence-initial and title-case forms (German nouns, headwords vs. glosses),
 *    which matters for a static model whose only signal is token identity. Accents are kept: they
 *    carry meaning in de/fr/es/pl/cs (`schon`/`schön`), and NFD accent stripping would also strip
 *    the dakuten of Japanese kana (が → か). Note that tokenizers' BertNormalizer strips accents
 *    when `strip_accents` is null and lowercase is on, so `false` is written explicitly.
 *  - BertPreTokenizer: whitespace split, every punctuation character a word of its own.
 *  - WordPiece, greedy longest match first, "##" continuation pieces, [UNK] for unmatched words.
 *
 * The learner is the fixture learner of @crossrank/encode (`fixture/wordpiece.ts`: HF
 * WordPieceTrainer-style BPE merges, deterministic tie-breaking), adapted to lower-case text and
 * to vocabularies beyond 32k symbols. It is duplicated because @crossrank/encode does not export it.
 */

/** Special tokens, in id order (ids 0…4). */
export const STATIC_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
const CONTINUATION = "##";
const MAX_INPUT_CHARS_PER_WORD = 100;

function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const PUNCT = "\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E";
const PUNCT_RE = new RegExp(`^[${PUNCT}]$`, "u");
const WORD_RE = new RegExp(`[^\\s${PUNCT}]+|[${PUNCT}]`, "gu");
const CONTROL_RE = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const SPACE_RE = /^\s$/u;
const SIMPLE_RE = /^[\x20-\x7e]*$/;

/** BertNormalizer{clean_text, handle_chinese_chars, lowercase: true, strip_accents: false}. */
export function staticNormalize(text: string): string {
  if (SIMPLE_RE.test(text)) return text.toLowerCase();
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp === 0 || cp === 0xfffd) continue;
    if (ch === "\t" || ch === "\n" || ch === "\r" || SPACE_RE.test(ch)) {
      out += " ";
      continue;
    }
    if (CONTROL_RE.test(ch)) continue;
    out += isChineseChar(cp) ? ` ${ch} ` : ch;
  }
  return out.toLowerCase();
}

/** Normalised words of a text (whitespace-separated, punctuation isolated, Han characters single). */
export function staticWords(text: string): string[] {
  return staticNormalize(text).match(WORD_RE) ?? [];
}

/** A WordPiece tokenizer over a learned vocabulary (no [CLS]/[SEP]: static models mean token rows). */
export class StaticTokenizer {
  readonly vocab: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
  private readonly cache = new Map<string, number[]>();
  readonly unkId: number;

  constructor(vocab: readonly string[]) {
    this.vocab = vocab;
    const ids = new Map<string, number>();
    vocab.forEach((t, i) => ids.set(t, i));
    this.ids = ids;
    const unk = ids.get("[UNK]");
    if (unk === undefined) throw new Error("StaticTokenizer: the vocabulary has no [UNK]");
    this.unkId = unk;
  }

  /** Pieces of one (normalised) word as ids; [UNK] alone when some part cannot be matched. */
  wordIds(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const chars = Array.from(word);
    let out: number[] = [];
    if (chars.length > MAX_INPUT_CHARS_PER_WORD) out = [this.unkId];
    else {
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: number | undefined;
        while (start < end) {
          const id = this.ids.get((start > 0 ? CONTINUATION : "") + chars.slice(start, end).join(""));
          if (id !== undefined) {
            found = id;
            break;
          }
          end--;
        }
        if (found === undefined) {
          out = [this.unkId];
          break;
        }
        out.push(found);
        start = end;
      }
    }
    if (this.cache.size < 500_000) this.cache.set(word, out);
    return out;
  }

  /** Token ids of a text (no special tokens). */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of staticWords(text)) for (const id of this.wordIds(w)) out.push(id);
    return out;
  }

  /** Token strings of a text (no special tokens). */
  tokenize(text: string): string[] {
    return this.encode(text).map((id) => this.vocab[id] as string);
  }
}

/** Options of {@link learnVocabulary}. */
export interface LearnVocabularyOptions {
  /** Upper bound on the vocabulary size (special tokens and alphabet included). */
  size: number;
  /** A pair must occur this often to be merged (default 2). */
  minFrequency?: number;
  /**
   * Characters seen fewer times than this are left out of the alphabet (they become [UNK]); default 1
   * (keep all). Rare CJK characters otherwise take a large share of a small vocabulary.
   */
  minCharFrequency?: number;
  /**
   * Words seen (after balancing) fewer times than this take no part in the merges (default 1: all);
   * 2 drops the hapaxes, which makes learning on large corpora much faster.
   */
  minWordFrequency?: number;
  /**
   * Balance the languages: each language's word counts are scaled so that every language weighs as
   * much as the largest (default true), so that a big corpus (English) does not take all merges.
   */
  balance?: boolean;
}

/**
 * Learns one WordPiece vocabulary over the texts of all languages (`texts`: language → texts).
 * Deterministic: the result depends only on the texts and the options (no randomness is involved;
 * ties go to the pair whose merged string sorts first).
 */
export function learnVocabulary(texts: Readonly<Record<string, readonly string[]>> | ReadonlyMap<string, readonly string[]>, options: LearnVocabularyOptions): string[] {
  const minFrequency = options.minFrequency ?? 2;
  const entries = (texts instanceof Map ? [...texts.entries()] : Object.entries(texts)) as [string, readonly string[]][];
  entries.sort((a, b) => compareStrings(a[0], b[0]));
  const perLang: Map<string, number>[] = [];
  const totals: number[] = [];
  for (const [, list] of entries) {
    const c = new Map<string, number>();
    let total = 0;
    for (const text of list) {
      for (const w of staticWords(text)) {
        c.set(w, (c.get(w) ?? 0) + 1);
        total++;
      }
    }
    perLang.push(c);
    totals.push(total);
  }
  const maxTotal = Math.max(1, ...totals);
  const counts = new Map<string, number>();
  perLang.forEach((c, i) => {
    const scale = options.balance === false || (totals[i] as number) === 0 ? 1 : maxTotal / (totals[i] as number);
    for (const [w, n] of c) counts.set(w, (counts.get(w) ?? 0) + Math.max(1, Math.round(n * scale)));
  });
  const words = [...counts.keys()].sort(compareStrings);

  const charCount = new Map<string, number>();
  for (const w of words) for (const ch of w) charCount.set(ch, (charCount.get(ch) ?? 0) + (counts.get(w) as number));
  const minChar = options.minCharFrequency ?? 1;
  const alphabet = new Set<string>();
  for (let cp = 0x21; cp <= 0x7e; cp++) {
    const ch = String.fromCharCode(cp);
    if (ch === ch.toLowerCase()) alphabet.add(ch);
  }
  for (const [ch, n] of charCount) if (n >= minChar) alphabet.add(ch);
  const chars = [...alphabet].sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number));
  const vocab: string[] = [...STATIC_SPECIAL_TOKENS, ...chars];
  for (const ch of chars) if (!isChineseChar(ch.codePointAt(0) as number) && !PUNCT_RE.test(ch)) vocab.push(CONTINUATION + ch);
  if (vocab.length > options.size) throw new Error(`learnVocabulary: size ${options.size} is too small for the ${chars.length} characters of the corpus (at least ${vocab.length} needed; raise minCharFrequency or size)`);
  const known = new Set(vocab);

  const symbolNames: string[] = [];
  const symbolIds = new Map<string, number>();
  const sym = (name: string): number => {
    let id = symbolIds.get(name);
    if (id === undefined) {
      id = symbolNames.length;
      symbolNames.push(name);
      symbolIds.set(name, id);
    }
    return id;
  };
  // Words with a character outside the alphabet are [UNK] whatever the merges; they take no part.
  const minWord = options.minWordFrequency ?? 1;
  const kept = words.filter((w) => {
    if ((counts.get(w) as number) < minWord) return false;
    for (const ch of w) if (!alphabet.has(ch)) return false;
    return true;
  });
  const symbols = kept.map((w) => Array.from(w).map((ch, i) => sym(i === 0 ? ch : CONTINUATION + ch)));
  const freq = kept.map((w) => counts.get(w) as number);
  const SHIFT = 2 ** 21;
  const pairs = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const mergedName = new Map<number, string>();
  const nameOf = (key: number): string => {
    let m = mergedName.get(key);
    if (m === undefined) mergedName.set(key, (m = mergeNames(symbolNames[Math.floor(key / SHIFT)] as string, symbolNames[key % SHIFT] as string)));
    return m;
  };
  const before = (a: [number, number], b: [number, number]): boolean => {
    if (a[0] !== b[0]) return a[0] > b[0];
    const c = compareStrings(nameOf(a[1]), nameOf(b[1]));
    if (c !== 0) return c < 0;
    return compareStrings(symbolNames[Math.floor(a[1] / SHIFT)] as string, symbolNames[Math.floor(b[1] / SHIFT)] as string) < 0;
  };
  const heap = new BinaryHeap<[number, number]>(before);
  // Pairs whose count changed since the last flush: each gets one fresh heap entry per merge
  // (not one per word touched), which keeps the heap small on large corpora.
  const changed = new Set<number>();
  const flush = () => {
    for (const key of changed) {
      const c = pairs.get(key);
      if (c !== undefined && c >= minFrequency) heap.push([c, key]);
    }
    changed.clear();
  };
  const account = (wi: number, sign: 1 | -1) => {
    const s = symbols[wi] as number[];
    const f = (freq[wi] as number) * sign;
    for (let i = 0; i + 1 < s.length; i++) {
      const key = (s[i] as number) * SHIFT + (s[i + 1] as number);
      const c = (pairs.get(key) ?? 0) + f;
      if (c === 0) pairs.delete(key);
      else pairs.set(key, c);
      changed.add(key);
      if (sign > 0) {
        let ws = pairWords.get(key);
        if (ws === undefined) pairWords.set(key, (ws = new Set()));
        ws.add(wi);
      }
    }
  };
  for (let wi = 0; wi < symbols.length; wi++) account(wi, 1);
  flush();
  while (vocab.length < options.size) {
    let bestKey: number | undefined;
    while (heap.size > 0) {
      const [count, key] = heap.pop() as [number, number];
      if (pairs.get(key) === count) {
        bestKey = key;
        break;
      }
    }
    if (bestKey === undefined) break;
    const left = Math.floor(bestKey / SHIFT);
    const right = bestKey % SHIFT;
    const merged = nameOf(bestKey);
    const mergedId = sym(merged);
    if (mergedId >= SHIFT) throw new Error(`learnVocabulary: more than ${SHIFT} symbols`);
    const holders = [...(pairWords.get(bestKey) ?? [])].sort((a, b) => a - b);
    pairWords.delete(bestKey);
    for (const wi of holders) {
      const s = symbols[wi] as number[];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === left && s[i + 1] === right) has = true;
      if (!has) continue;
      account(wi, -1);
      const next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === left && s[i + 1] === right) {
          next.push(mergedId);
          i++;
        } else next.push(s[i] as number);
      }
      symbols[wi] = next;
      account(wi, 1);
    }
    flush();
    if (!known.has(merged)) {
      known.add(merged);
      vocab.push(merged);
    }
  }
  return vocab;
}

class BinaryHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i] as T, a[parent] as T)) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.before(a[l] as T, a[m] as T)) m = l;
      if (r < a.length && this.before(a[r] as T, a[m] as T)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m] as T, a[i] as T];
      i = m;
    }
    return top;
  }
}

function mergeNames(left: string, right: string): string {
  return left + (right.startsWith(CONTINUATION) ? right.slice(CONTINUATION.length) : right);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function addedToken(token: string, id: number): Record<string, unknown> {
  return { id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * tokenizer.json for the vocabulary (tokenizers' serialisation: BertNormalizer lowercase, accents
 * kept; BertPreTokenizer; WordPiece). No post-processor: a static model means the token rows of
 * the text itself, without [CLS]/[SEP] (model2vec's tokenizers are written the same way).
 */
export function staticTokenizerJson(vocab: readonly string[]): string {
  const id = (t: string) => vocab.indexOf(t);
  const doc = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: STATIC_SPECIAL_TOKENS.map((t) => addedToken(t, id(t))),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: null,
    decoder: { type: "WordPiece", prefix: CONTINUATION, cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: CONTINUATION,
      max_input_chars_per_word: MAX_INPUT_CHARS_PER_WORD,
      vocab: "\u0000VOCAB\u0000",
    },
  };
  const text = JSON.stringify(doc, null, 2);
  // Written in id order by hand: JSON.stringify would move integer-like keys ("7", "1990") first.
  const entries = vocab.map((t, i) => `      ${JSON.stringify(t)}: ${i}`).join(",\n");
  return `${text.replace(JSON.stringify("\u0000VOCAB\u0000"), `{\n${entries}\n    }`)}\n`;
}

/** tokenizer_config.json of the lower-casing BertTokenizer. */
export function staticTokenizerConfig(vocab: readonly string[]): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const t of STATIC_SPECIAL_TOKENS) {
    const { id, ...rest } = addedToken(t, vocab.indexOf(t));
    decoder[String(id)] = rest;
  }
  return {
    added_tokens_decoder: decoder,
    clean_up_tokenization_spaces: true,
    cls_token: "[CLS]",
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: "[MASK]",
    model_max_length: 1000000,
    never_split: null,
    pad_token: "[PAD]",
    sep_token: "[SEP]",
    strip_accents: false,
    tokenize_chinese_chars: true,
    tokenizer_class: "BertTokenizer",
    unk_token: "[UNK]",
  };
}
