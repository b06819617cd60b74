/**
 * Word tokenization: a hand-written scanner implementing the UAX #29 word-boundary rules that matter
 * between letters and digits, with `Intl.Segmenter` for runs of scripts written without spaces.
 *
 * Why not `Intl.Segmenter` for everything: it is exact but slow through the JavaScript iterator.
 * On the 25.4 M characters of the DDTP English descriptions (Node 20.20, ICU 78) it takes 8.4 s
 * against 0.8 s for this analyzer, normalization included; on French 36 s against 0.5 s
 * (`pnpm --filter @crossrank/rankers bench:tokenizer`). The scanner gives the same word-like
 * segments as the segmenter (tested on English, German, Greek, Russian, Arabic, Korean, Hebrew and
 * Hindi sentences; `bench:tokenizer` finds no difference on any of the 192,246 DDTP descriptions
 * in 15 languages nor on the 17,160 XQuAD paragraphs and questions in 12, Chinese, Japanese, Korean
 * and Thai included), and hands the text from the first run containing a Han, kana, Thai, Lao,
 * Khmer or Myanmar character on to the segmenter, so Chinese, Japanese and Thai get its
 * dictionary-based segmentation.
 *
 * Rules kept (UAX #29 numbering):
 *  - letters, digits and `_` run together (WB5, WB8–WB10, WB13a/b); marks and format characters
 *    stay inside a word (WB4);
 *  - a single `'` `’` `.` `:` `·` between two letters joins them (WB6/7): `don't`, `l'homme`,
 *    `e.g`, `example.com`, `l·l`;
 *  - a single `.` `,` `;` `'` `’` between two digits joins them (WB11/12): `3.14`, `1,000`, `1.2.3`;
 *  - Hebrew: `"` between two Hebrew letters joins them, `'` after a Hebrew letter stays (WB7a–c);
 *  - as in ICU, a run of Hangul syllables is one word and never joins anything else (`2048을` is
 *    `2048` `을`; plain UAX #29 would keep it whole).
 * Everything else breaks; only word-like segments (containing a letter or digit) are returned, so
 * punctuation, symbols and emoji are dropped. A run of `_` alone is dropped too (the segmenter calls
 * `__` word-like, which is of no use for ranking).
 */
import {
  astralClass,
  BMP_CLASSES,
  COMPLEX,
  CONNECTOR,
  DIGIT,
  DOUBLE_QUOTE,
  HANGUL,
  HEBREW,
  isWordStart,
  LETTER,
  MARK,
  MID_LETTER,
  MID_NUM,
  MID_NUM_LET,
  SINGLE_QUOTE,
  SURROGATE,
} from "./word-classes.js";

/**
 * Splits `text` into words and appends them to `out`, in text order; returns `out`. From the first
 * run containing a character of a script written without spaces to the end of the text, the words
 * are `segmenter`'s (granularity "word"): one call for the rest of the text is cheaper than one per
 * run, and the scanner agrees with the segmenter on everything before.
 */
export function tokenize(text: string, segmenter: Intl.Segmenter, out: string[] = []): string[] {
  const n = text.length;
  const table = BMP_CLASSES;
  let i = 0;
  while (i < n) {
    let c = table[text.charCodeAt(i)] ?? 0;
    let width = 1;
    if (c === SURROGATE) {
      const cp = text.codePointAt(i) ?? 0;
      c = cp > 0xffff ? astralClass(cp) : 0;
      width = cp > 0xffff ? 2 : 1;
    }
    if (!isWordStart(c)) {
      i += width;
      continue;
    }
    const start = i;
    if (c === COMPLEX) return segmentRest(text, start, segmenter, out);
    let alnum = c !== CONNECTOR;
    let last = c; // class of the last non-mark character of the word so far
    i += width;
    while (i < n) {
      c = table[text.charCodeAt(i)] ?? 0;
      width = 1;
      if (c === SURROGATE) {
        const cp = text.codePointAt(i) ?? 0;
        c = cp > 0xffff ? astralClass(cp) : 0;
        width = cp > 0xffff ? 2 : 1;
      }
      if (c >= LETTER && c <= COMPLEX) {
        if (c === COMPLEX) return segmentRest(text, start, segmenter, out);
        if ((c === HANGUL) !== (last === HANGUL)) break; // Hangul syllables join only each other
        if (c !== CONNECTOR) alnum = true;
        last = c;
        i += width;
        continue;
      }
      if (c === MARK) {
        i += width;
        continue;
      }
      if (c >= MID_LETTER && c <= DOUBLE_QUOTE && i + 1 < n) {
        let next = table[text.charCodeAt(i + 1)] ?? 0;
        let nextWidth = 1;
        if (next === SURROGATE) {
          const cp = text.codePointAt(i + 1) ?? 0;
          next = cp > 0xffff ? astralClass(cp) : 0;
          nextWidth = cp > 0xffff ? 2 : 1;
        }
        if (next === COMPLEX) return segmentRest(text, start, segmenter, out);
        if (joins(last, c, next)) {
          if (next !== CONNECTOR) alnum = true;
          last = next;
          i += 1 + nextWidth;
          continue;
        }
        if (last === HEBREW && c === SINGLE_QUOTE) i += 1; // WB7a: Hebrew_Letter × Single_Quote
      } else if (last === HEBREW && c === SINGLE_QUOTE) {
        i += 1; // the apostrophe is the last character of the text
      }
      break;
    }
    if (alnum) out.push(text.slice(start, i));
  }
  return out;
}

const CONNECTORS_ONLY = /^\p{Pc}+$/u;

/** Appends the word-like segments of `text` from `start` on (a word boundary) to `out`. */
function segmentRest(text: string, start: number, segmenter: Intl.Segmenter, out: string[]): string[] {
  for (const s of segmenter.segment(start === 0 ? text : text.slice(start))) {
    if (s.isWordLike && !CONNECTORS_ONLY.test(s.segment)) out.push(s.segment);
  }
  return out;
}

/**
 * Whether the joiner of class `mid` between a word ending in `last` and the character class `next`
 * keeps the word together (UAX #29 WB6/7, WB7b/c, WB11/12).
 */
function joins(last: number, mid: number, next: number): boolean {
  const lastLetter = last === LETTER || last === HEBREW;
  const nextLetter = next === LETTER || next === HEBREW;
  if (lastLetter && nextLetter) {
    if (mid === MID_LETTER || mid === MID_NUM_LET || mid === SINGLE_QUOTE) return true;
    return mid === DOUBLE_QUOTE && last === HEBREW && next === HEBREW;
  }
  if (last === DIGIT && next === DIGIT) {
    return mid === MID_NUM || mid === MID_NUM_LET || mid === SINGLE_QUOTE;
  }
  return false;
}
