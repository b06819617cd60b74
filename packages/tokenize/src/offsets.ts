/**
 * Character offsets for tokens. transformers.js (tokenizers.js) returns token strings but no
 * offsets, so they are recovered here by aligning the token strings with the text.
 *
 * The text is turned into a stream of comparable units: each code point goes through the
 * tokenizer's own normalizer on its own (so lowercasing, accent stripping, NFKC, CJK spacing are
 * the tokenizer's), then through a canonical form (lowercase, NFKD) that absorbs what
 * per-character normalization cannot reproduce (composition across characters, context-dependent
 * casing). Whitespace produces no units but marks word starts. Tokens are
 * stripped of their markers ("##", "▁", byte-level "Ġ", end-of-word suffixes) and put in the same
 * canonical form, then matched left to right against the stream. Byte-level tokenizers compare
 * UTF-8 bytes instead, so a token holding part of a character gets that whole character.
 *
 * A token that does not match (an unknown-token, or a normalization this cannot model) never
 * throws: an unknown token covers its word (for WordPiece exactly the pre-tokenized word, split at
 * punctuation as BERT does), other mismatches cover the text up to where the next token matches,
 * or else the whitespace-delimited word around the cursor.
 */

/** How a tokenizer writes its tokens: what must be stripped before they can be found in the text. */
export interface TokenScheme {
  /** The tokenizer's normalizer, applied to one character at a time. */
  normalize: ((text: string) => string) | null;
  /** Byte-level BPE: tokens are bytes written with the GPT-2 byte-to-unicode alphabet. */
  byteLevel: boolean;
  /** Prefix of word-continuing pieces ("##" for WordPiece). */
  continuingPrefix: string | undefined;
  /** Suffix of word-final pieces ("</w>" in some BPE vocabularies). */
  endOfWordSuffix: string | undefined;
  /** Characters standing for a space in tokens (Metaspace's "▁"). */
  spaceMarkers: readonly string[];
  /** The unknown token, if the model has one. */
  unkToken: string | undefined;
  /** WordPiece: an unknown token stands for one whole pre-tokenized word, and BERT splits words at punctuation. */
  unkIsWord: boolean;
}

/** BERT's punctuation: Unicode P* plus the ASCII symbols it treats alike (as BertPreTokenizer). */
const PUNCT = /^[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]$/u;
const WHITESPACE = /^\s$/u;
const ASCII_SPACE_BYTES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]);
const BYTE_FALLBACK = /^<0x[0-9A-Fa-f]{2}>$/;
/** How far (in units) to look for the next token after one that does not match. */
const MAX_RESYNC = 256;

/** GPT-2's byte-to-unicode table, inverted: the character a byte-level token uses → the byte. */
function byteDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<string, number>();
  const isPrintable = new Set(printable);
  for (const b of printable) map.set(String.fromCodePoint(b), b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!isPrintable.has(b)) map.set(String.fromCodePoint(256 + n++), b);
  }
  return map;
}

const BYTE_DECODER = byteDecoder();
const ENCODER = new TextEncoder();

/** One comparable unit of a character: a code point of its canonical form, or a UTF-8 byte. */
type Piece = number | "space";

/** The stream of units the tokens are matched against, with where each unit came from. */
interface Stream {
  units: number[];
  start: number[];
  /** End of the unit's character, extended over following characters that produced no units (combining marks). */
  end: number[];
  wordStart: boolean[];
  punct: boolean[];
}

/** Aligns token strings with the text they came from; one instance per tokenizer (it caches per character and per token). */
export class OffsetAligner {
  private readonly charCache = new Map<string, Piece[]>();
  private readonly tokenCache = new Map<string, number[] | null>();

  constructor(private readonly scheme: TokenScheme) {}

  /**
   * UTF-16 [start, end) of each token in `text`; tokens are the content tokens of `text` in order
   * (no template tokens such as [CLS]). Tokens with nothing to match (a lone "▁") get an empty
   * range where the next text starts.
   */
  align(text: string, tokens: readonly string[]): [number, number][] {
    const s = this.stream(text);
    const n = s.units.length;
    const units = tokens.map((t) => this.tokenUnits(t));
    const out: [number, number][] = [];
    let p = 0;
    const here = (): number => (p < n ? s.start[p]! : text.length);
    const span = (from: number, to: number): [number, number] => [s.start[from]!, s.end[to - 1]!];

    for (let i = 0; i < tokens.length; i++) {
      const u = units[i];
      if (u !== undefined && u !== null) {
        if (u.length === 0) {
          out.push([here(), here()]);
          continue;
        }
        if (matchesAt(s, u, p)) {
          out.push(span(p, p + u.length));
          p += u.length;
          continue;
        }
      }
      if (p >= n) {
        // Nothing left to give: the last word, or an empty range at the end.
        out.push(n === 0 ? [text.length, text.length] : span(wordBounds(s, n - 1)[0], n));
        continue;
      }
      const isUnk = tokens[i] === this.scheme.unkToken;
      if (isUnk && this.scheme.unkIsWord) {
        const end = bertWordEnd(s, p);
        out.push(span(p, end));
        p = end;
        continue;
      }
      // Find where the next matchable token starts; this token covers the text up to there.
      const [wordStart, wordEnd] = wordBounds(s, p);
      const next = this.nextAnchor(units, tokens, i);
      // Bounded, so that a text of mismatches in one very long "word" (unspaced scripts) stays linear.
      const limit = Math.min(isUnk ? wordEnd : nextWordEnd(s, wordEnd), p + MAX_RESYNC);
      let r = -1;
      if (next !== undefined) {
        // An unknown token stands for at least one character; another mismatch may stand for none.
        for (let q = isUnk ? p + 1 : p; q <= limit; q++) {
          if (matchesAt(s, next, q)) {
            r = q;
            break;
          }
        }
      }
      if (r > p) {
        out.push(span(p, r));
        p = r;
      } else if (isUnk) {
        out.push(span(p, wordEnd));
        p = wordEnd;
      } else {
        // Nothing to resynchronize on (or the next token starts right here): the covering word,
        // and the cursor stays for the next token.
        out.push(span(wordStart, wordEnd));
      }
    }
    return out;
  }

  /** Units of the next token (within a few) that can be matched, to resynchronize after a mismatch. */
  private nextAnchor(units: readonly (number[] | null)[], tokens: readonly string[], i: number): number[] | undefined {
    for (let j = i + 1; j < Math.min(tokens.length, i + 4); j++) {
      const u = units[j];
      if (u !== undefined && u !== null && u.length > 0 && tokens[j] !== this.scheme.unkToken) return u;
    }
    return undefined;
  }

  private stream(text: string): Stream {
    const s: Stream = { units: [], start: [], end: [], wordStart: [], punct: [] };
    let boundary = true;
    for (let i = 0; i < text.length; ) {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      const start = i;
      i += ch.length;
      // Byte-level vocabularies spell non-ASCII whitespace (NBSP, U+3000) as bytes inside tokens.
      if (WHITESPACE.test(ch) && (!this.scheme.byteLevel || ch.charCodeAt(0) < 0x80)) {
        boundary = true;
        continue;
      }
      const pieces = this.charPieces(ch);
      const isPunct = PUNCT.test(ch);
      let produced = false;
      for (const piece of pieces) {
        if (piece === "space") {
          boundary = true;
          continue;
        }
        s.units.push(piece);
        s.start.push(start);
        s.end.push(i);
        s.wordStart.push(boundary);
        s.punct.push(isPunct);
        boundary = false;
        produced = true;
      }
      // A character that normalizes to nothing (a combining mark, a control character) belongs to
      // the token before it, as long as no space came between.
      if (!produced && pieces.length === 0 && !boundary && s.end.length > 0) s.end[s.end.length - 1] = i;
    }
    return s;
  }

  private charPieces(ch: string): Piece[] {
    let pieces = this.charCache.get(ch);
    if (pieces === undefined) {
      pieces = [];
      const normalized = this.scheme.normalize === null ? ch : this.scheme.normalize(ch);
      for (const c of normalized) {
        if (WHITESPACE.test(c)) pieces.push("space");
        else if (this.scheme.spaceMarkers.includes(c)) continue; // a marker from the normalizer, e.g. Prepend("▁")
        else if (this.scheme.byteLevel) pieces.push(...ENCODER.encode(c));
        else pieces.push(...canonical(c));
      }
      this.charCache.set(ch, pieces);
    }
    return pieces;
  }

  /** Comparable units of a token, or null when it cannot be spelled as text (byte-fallback "<0x..>", foreign symbols in a byte-level vocabulary). */
  private tokenUnits(token: string): number[] | null {
    let units = this.tokenCache.get(token);
    if (units !== undefined) return units;
    units = this.computeTokenUnits(token);
    this.tokenCache.set(token, units);
    return units;
  }

  private computeTokenUnits(token: string): number[] | null {
    const { continuingPrefix: prefix, endOfWordSuffix: suffix } = this.scheme;
    let surface = token;
    if (prefix && surface.length > prefix.length && surface.startsWith(prefix)) surface = surface.slice(prefix.length);
    if (suffix && surface.length > suffix.length && surface.endsWith(suffix)) surface = surface.slice(0, -suffix.length);
    if (this.scheme.byteLevel) {
      const bytes: number[] = [];
      for (const c of surface) {
        const b = BYTE_DECODER.get(c);
        if (b === undefined) return null;
        if (!ASCII_SPACE_BYTES.has(b)) bytes.push(b);
      }
      return bytes;
    }
    if (BYTE_FALLBACK.test(surface)) return null;
    const units: number[] = [];
    for (const c of surface) {
      if (WHITESPACE.test(c) || this.scheme.spaceMarkers.includes(c)) continue;
      units.push(...canonical(c));
    }
    return units;
  }
}

/**
 * Lowercase and compatibility-decomposed: the form both sides are compared in. Decomposing both
 * sides makes composition irrelevant (a normalizer composing "e" + U+0301 into "é" across two
 * characters cannot be reproduced one character at a time, but both decompose to the same units).
 */
function canonical(c: string): number[] {
  const out: number[] = [];
  // Final sigma is context-dependent in toLowerCase; per-character lowering would give σ.
  for (const d of c.toLowerCase().replace(/ς/gu, "σ").normalize("NFKD")) {
    if (!WHITESPACE.test(d)) out.push(d.codePointAt(0)!);
  }
  return out;
}

function matchesAt(s: Stream, units: readonly number[], p: number): boolean {
  if (p + units.length > s.units.length) return false;
  for (let k = 0; k < units.length; k++) if (s.units[p + k] !== units[k]) return false;
  return true;
}

/** [first, end) unit indices of the whitespace-delimited word holding unit p. */
function wordBounds(s: Stream, p: number): [number, number] {
  let ws = p;
  while (ws > 0 && !s.wordStart[ws]) ws--;
  return [ws, nextWordEnd(s, p)];
}

/** Index of the first word start after p (or the stream length). */
function nextWordEnd(s: Stream, p: number): number {
  let we = p + 1;
  while (we < s.units.length && !s.wordStart[we]) we++;
  return Math.min(we, s.units.length);
}

/** End of the BERT pre-tokenized word starting at p: one punctuation character, or a run up to whitespace or punctuation. */
function bertWordEnd(s: Stream, p: number): number {
  if (s.punct[p]) {
    // A punctuation character may normalize to several units (NFKC); keep them together.
    let q = p + 1;
    while (q < s.units.length && s.start[q] === s.start[p]) q++;
    return q;
  }
  let q = p + 1;
  while (q < s.units.length && !s.wordStart[q] && !s.punct[q]) q++;
  return q;
}
