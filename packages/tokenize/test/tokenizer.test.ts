import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MissingModelFileError, Tokenizer, type TokenizedText } from "../src/index.js";
import {
  tempDir,
  writeBertTokenizer,
  writeByteLevelTokenizer,
  writeUnigramTokenizer,
} from "./fixtures.js";

let root: string;
let uncased: Tokenizer;
let cased: Tokenizer;

beforeAll(async () => {
  root = await tempDir();
  uncased = await Tokenizer.load(await writeBertTokenizer(join(root, "uncased")));
  cased = await Tokenizer.load(await writeBertTokenizer(join(root, "cased"), { lowercase: false }));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The text each content token covers. */
function surfaces(t: TokenizedText): string[] {
  return t.offsets.map(([s, e]) => t.text.slice(s, e));
}

/** What an uncased BERT makes of a piece of text: lowercase, accents stripped. */
function uncasedForm(s: string): string {
  return s.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
}

describe("WordPiece (uncased BERT)", () => {
  it("gives the ids, tokens, offsets and special flags of a plain sentence", () => {
    const t = uncased.tokenize("The quick brown fox jumps over the lazy dog.");
    expect(t.tokens).toEqual(["[CLS]", "the", "quick", "brown", "fox", "jump", "##s", "over", "the", "lazy", "dog", ".", "[SEP]"]);
    expect(t.ids).toEqual([2, 5, 6, 7, 8, 9, 10, 11, 5, 12, 13, 14, 3]);
    expect(t.offsets).toEqual([
      [0, 0], [0, 3], [4, 9], [10, 15], [16, 19], [20, 24], [24, 25], [26, 30], [31, 34], [35, 39], [40, 43], [43, 44], [0, 0],
    ]);
    expect(t.special).toEqual([true, ...Array<boolean>(11).fill(false), true]);
    expect(t.truncated).toBe(false);
  });

  it("maps lowercased, accent-stripped and split words back to the original characters", () => {
    const text = "Unaffable Café, naïve!";
    const t = uncased.tokenize(text);
    expect(t.tokens).toEqual(["[CLS]", "un", "##aff", "##able", "cafe", ",", "naive", "!", "[SEP]"]);
    expect(t.offsets).toEqual([[0, 0], [0, 2], [2, 5], [5, 9], [10, 14], [14, 15], [16, 21], [21, 22], [0, 0]]);
    // Every content token is its span of the text, once normalized as the tokenizer does.
    t.tokens.forEach((token, i) => {
      if (!t.special[i]) expect(uncasedForm(surfaces(t)[i]!)).toBe(token.replace(/^##/, ""));
    });
  });

  it("keeps a combining accent with its letter and gives [UNK] the whole unknown word", () => {
    // "cafe" + U+0301, an unknown word, punctuation inside a word, an astral emoji (two UTF-16 units).
    const text = "cafe\u0301 xyzzy fox's \u{1F600} dog";
    const t = uncased.tokenize(text);
    expect(t.tokens).toEqual(["[CLS]", "cafe", "[UNK]", "fox", "'", "s", "[UNK]", "dog", "[SEP]"]);
    expect(t.offsets).toEqual([[0, 0], [0, 5], [6, 11], [12, 15], [15, 16], [16, 17], [18, 20], [21, 24], [0, 0]]);
    expect(surfaces(t).slice(1, -1)).toEqual(["cafe\u0301", "xyzzy", "fox", "'", "s", "\u{1F600}", "dog"]);
    // [UNK] for an unknown word is content, not a special token.
    expect(t.special).toEqual([true, false, false, false, false, false, false, false, true]);
  });

  it("ends an unknown word at punctuation, as BERT's pre-tokenizer splits it", () => {
    const t = uncased.tokenize("xyzzy-fox xy");
    expect(t.tokens.slice(1, -1)).toEqual(["[UNK]", "-", "fox", "x", "##y"]);
    expect(surfaces(t).slice(1, -1)).toEqual(["xyzzy", "-", "fox", "x", "y"]);
  });

  it("handles CJK characters, runs of whitespace, tabs and newlines", () => {
    const t = uncased.tokenize("中文abc  hello\tworld\n");
    expect(t.tokens.slice(1, -1)).toEqual(["中", "文", "[UNK]", "hello", "world"]);
    expect(t.offsets.slice(1, -1)).toEqual([[0, 1], [1, 2], [2, 5], [7, 12], [13, 18]]);
  });

  it("lowercases Greek final sigma as the tokenizer does", () => {
    const t = uncased.tokenize("ΟΛΟΣ σς");
    expect(t.tokens.slice(1, -1)).toEqual(["ολ", "##ος", "σ", "##ς"]);
    expect(surfaces(t).slice(1, -1)).toEqual(["ΟΛ", "ΟΣ", "σ", "ς"]);
  });

  it("flags a special token typed in the text", () => {
    const t = uncased.tokenize("fox [SEP] dog");
    expect(t.tokens).toEqual(["[CLS]", "fox", "[SEP]", "dog", "[SEP]"]);
    expect(t.special).toEqual([true, false, true, false, true]);
    expect(t.offsets).toEqual([[0, 0], [0, 3], [0, 0], [10, 13], [0, 0]]);
  });

  it("tokenizes an empty text to the special tokens alone", () => {
    const t = uncased.tokenize("");
    expect(t.tokens).toEqual(["[CLS]", "[SEP]"]);
    expect(uncased.tokenize("", { addSpecialTokens: false }).ids).toEqual([]);
  });

  it("reads the length limit, pad id and vocabulary size", async () => {
    expect(uncased.modelMaxLength).toBe(64); // model_max_length 512, capped by max_position_embeddings 64
    expect(uncased.padTokenId).toBe(0);
    expect(uncased.vocabSize).toBe(60);
    expect(uncased.source.kind).toBe("folder");
    const noConfig = await Tokenizer.load(await writeBertTokenizer(join(root, "no-config"), { maxPositions: null }));
    expect(noConfig.modelMaxLength).toBe(512);
    const sentinel = await Tokenizer.load(
      await writeBertTokenizer(join(root, "sentinel"), { maxPositions: null, modelMaxLength: 1e30 }),
    );
    expect(sentinel.modelMaxLength).toBe(512);
  });

  it("looks token strings up by id, the same answer on every call", () => {
    const t = uncased.tokenize("the quick fox");
    expect(t.tokens.map((token) => uncased.tokenId(token))).toEqual(t.ids);
    expect(uncased.tokenId("[UNK]")).toBe(uncased.tokenId("[UNK]"));
    expect(uncased.tokenId("quick")).toBe(6);
    expect(uncased.tokenId("no-such-token")).toBeUndefined();
    expect(uncased.tokenId("hasOwnProperty")).toBeUndefined();
  });
});

describe("WordPiece (cased BERT)", () => {
  it("keeps case and accents, and every content token is exactly its span of the text", () => {
    const text = "The Quick brown fox jumps. Unaffable Café, naïve! Hello world";
    const t = cased.tokenize(text);
    expect(t.tokens).toEqual([
      "[CLS]", "The", "Quick", "brown", "fox", "jump", "##s", ".", "Un", "##aff", "##able", "Café", ",", "naïve", "!", "Hello", "world", "[SEP]",
    ]);
    t.tokens.forEach((token, i) => {
      if (!t.special[i]) expect(surfaces(t)[i]).toBe(token.replace(/^##/, ""));
    });
  });

  it("gives [UNK] to a decomposed accent it has no piece for, spanning the word", () => {
    const t = cased.tokenize("cafe\u0301 fox");
    expect(t.tokens.slice(1, -1)).toEqual(["[UNK]", "fox"]);
    expect(t.offsets.slice(1, -1)).toEqual([[0, 5], [6, 9]]);
  });
});

describe("truncation", () => {
  const text = "The quick brown fox";

  it("cuts content to maxLength, special tokens included", () => {
    const t = uncased.tokenize(text, { maxLength: 5 });
    expect(t.tokens).toEqual(["[CLS]", "the", "quick", "brown", "[SEP]"]);
    expect(t.offsets).toEqual([[0, 0], [0, 3], [4, 9], [10, 15], [0, 0]]);
    expect(t.truncated).toBe(true);
    expect(uncased.tokenize(text, { maxLength: 6 }).truncated).toBe(false);
  });

  it("counts only content when special tokens are left out", () => {
    const t = uncased.tokenize(text, { maxLength: 3, addSpecialTokens: false });
    expect(t.tokens).toEqual(["the", "quick", "brown"]);
    expect(t.special).toEqual([false, false, false]);
  });

  it("throws instead when truncation is off, or when maxLength is unusable", () => {
    expect(() => uncased.tokenize(text, { maxLength: 5, truncation: false })).toThrow(/text has 6 tokens \(special tokens included\), more than maxLength 5/);
    expect(() => uncased.tokenize(text, { maxLength: 1 })).toThrow(/no room/);
    expect(() => uncased.tokenize(text, { maxLength: 0 })).toThrow(/maxLength must be an integer >= 1/);
  });

  it("defaults to modelMaxLength", () => {
    const long = Array(100).fill("fox").join(" ");
    const t = uncased.tokenize(long);
    expect(t.ids.length).toBe(64);
    expect(t.truncated).toBe(true);
    expect(t.tokens.at(-1)).toBe("[SEP]");
  });
});

describe("encodeBatch", () => {
  it("pads to the longest item with the pad id and masks the padding", () => {
    const batch = uncased.encodeBatch(["the fox", "the lazy dog ."]);
    expect(batch.batchSize).toBe(2);
    expect(batch.seqLength).toBe(6);
    expect(batch.inputIds).toBeInstanceOf(BigInt64Array);
    expect([...batch.inputIds]).toEqual([2n, 5n, 8n, 3n, 0n, 0n, 2n, 5n, 12n, 13n, 14n, 3n]);
    expect([...batch.attentionMask]).toEqual([1n, 1n, 1n, 1n, 0n, 0n, 1n, 1n, 1n, 1n, 1n, 1n]);
    expect([...batch.tokenTypeIds]).toEqual(Array(12).fill(0n));
    expect(batch.items.map((t) => t.ids.length)).toEqual([4, 6]);
  });

  it("pads to maxLength with padding max_length, truncating longer texts", () => {
    const batch = uncased.encodeBatch(["the fox", "the quick brown fox jumps"], { padding: "max_length", maxLength: 5 });
    expect(batch.seqLength).toBe(5);
    expect([...batch.inputIds]).toEqual([2n, 5n, 8n, 3n, 0n, 2n, 5n, 6n, 7n, 3n]);
    expect([...batch.attentionMask]).toEqual([1n, 1n, 1n, 1n, 0n, 1n, 1n, 1n, 1n, 1n]);
    expect(batch.items[1]!.truncated).toBe(true);
  });

  it("takes already tokenized items, and refuses ones longer than maxLength", () => {
    const windows = uncased.windows("alpha beta alpha beta alpha beta", { maxLength: 5, stride: 1 });
    const batch = uncased.encodeBatch([...windows, "fox"]);
    expect(batch.batchSize).toBe(windows.length + 1);
    expect(batch.items.slice(0, -1)).toEqual(windows);
    expect(batch.seqLength).toBe(5);
    const long = uncased.tokenize("the quick brown fox");
    expect(() => uncased.encodeBatch([long], { maxLength: 4 })).toThrow(/batch item 0 has 6 tokens, more than maxLength 4/);
  });

  it("leaves out of the attention mask the tokens an item's attention marks false (they keep their ids)", () => {
    const t = uncased.tokenize("the fox");
    const mask = uncased.maskTokenId!;
    expect(mask).toBe(4);
    const augmented: TokenizedText = { ...t, ids: [...t.ids, mask, mask], tokens: [...t.tokens, "[MASK]", "[MASK]"], offsets: [...t.offsets, [0, 0], [0, 0]], special: [...t.special, true, true], attention: [true, true, true, true, false, false] };
    const batch = uncased.encodeBatch([augmented, "the lazy dog . ."]);
    expect([...batch.inputIds.subarray(0, 7)]).toEqual([2n, 5n, 8n, 3n, 4n, 4n, 0n]);
    expect([...batch.attentionMask.subarray(0, 7)]).toEqual([1n, 1n, 1n, 1n, 0n, 0n, 0n]);
    expect([...batch.attentionMask.subarray(7)]).toEqual(Array(7).fill(1n));
  });

  it("gives an empty batch for no input", () => {
    const batch = uncased.encodeBatch([]);
    expect(batch.batchSize).toBe(0);
    expect(batch.seqLength).toBe(0);
    expect(batch.inputIds.length).toBe(0);
  });
});

describe("windows", () => {
  const words = (n: number): string => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? "alpha" : "beta")).join(" ");

  it("covers a long text with windows that share stride content tokens", () => {
    const text = words(11);
    const whole = uncased.tokenize(text, { addSpecialTokens: false });
    const windows = uncased.windows(text, { maxLength: 6, stride: 2 });
    // 4 content tokens per window, advancing by 4 - 2: [0,4) [2,6) [4,8) [6,10) [8,11).
    expect(windows.length).toBe(5);
    const starts = [0, 2, 4, 6, 8];
    windows.forEach((w, k) => {
      const from = starts[k]!;
      const to = Math.min(from + 4, 11);
      expect(w.tokens[0]).toBe("[CLS]");
      expect(w.tokens.at(-1)).toBe("[SEP]");
      expect(w.ids.length).toBeLessThanOrEqual(6);
      expect(w.ids.slice(1, -1)).toEqual(whole.ids.slice(from, to));
      // Offsets stay relative to the whole text.
      expect(w.offsets.slice(1, -1)).toEqual(whole.offsets.slice(from, to));
      expect(w.truncated).toBe(true);
      expect(w.text).toBe(text);
    });
    for (let k = 0; k + 1 < windows.length; k++) {
      expect(windows[k]!.offsets.slice(-3, -1)).toEqual(windows[k + 1]!.offsets.slice(1, 3));
    }
    expect(windows[4]!.ids.length).toBe(5); // the last window is shorter
  });

  it("gives one window for a short text", () => {
    const windows = uncased.windows("the lazy dog", { maxLength: 6, stride: 2 });
    expect(windows).toEqual([uncased.tokenize("the lazy dog")]);
  });

  it("rejects a stride that would not advance", () => {
    expect(() => uncased.windows(words(9), { maxLength: 6, stride: 4 })).toThrow(/stride 4 must be smaller than the 4/);
    expect(() => uncased.windows(words(9), { maxLength: 2, stride: 0 })).toThrow(/no room/);
    expect(() => uncased.windows(words(9), { maxLength: 6, stride: -1 })).toThrow(/stride must be an integer >= 0/);
  });
});

describe("SentencePiece Unigram with Metaspace", () => {
  let unigram: Tokenizer;
  beforeAll(async () => {
    unigram = await Tokenizer.load(await writeUnigramTokenizer(join(root, "unigram")));
  });

  it("strips the ▁ marker and leaves spaces out of the offsets", () => {
    const t = unigram.tokenize("The fox jumps over the lazy dog");
    expect(t.tokens).toEqual(["<s>", "▁the", "▁fox", "▁jump", "s", "▁over", "▁the", "▁lazy", "▁dog", "</s>"]);
    expect(t.ids).toEqual([0, 5, 6, 7, 8, 9, 5, 11, 10, 2]);
    expect(t.offsets).toEqual([[0, 0], [0, 3], [4, 7], [8, 12], [12, 13], [14, 18], [19, 22], [23, 27], [28, 31], [0, 0]]);
    expect(unigram.padTokenId).toBe(1);
    expect(unigram.modelMaxLength).toBe(514); // the sentinel model_max_length is ignored
  });

  it("aligns pieces after NFKC composition and around unknown characters", () => {
    const t = unigram.tokenize("Cafe\u0301, hello \u2603 world!");
    // The Unigram model emits unknown characters under their own text (id of <unk>).
    expect(t.tokens.slice(1, -1)).toEqual(["▁ca", "fé", ",", "▁hello", "▁", "\u2603", "▁world", "!"]);
    expect(t.ids[6]).toBe(3);
    expect(t.special[6]).toBe(false);
    expect(t.offsets.slice(1, -1)).toEqual([[0, 2], [2, 5], [5, 6], [7, 12], [13, 13], [13, 14], [15, 20], [20, 21]]);
  });
});

describe("byte-level BPE", () => {
  it("gives a token holding part of a character that whole character", async () => {
    const bpe = await Tokenizer.load(await writeByteLevelTokenizer(join(root, "bytes")));
    const t = bpe.tokenize("hello fox café");
    expect(t.tokens).toEqual(["<s>", "hello", "Ġfox", "Ġcaf", "Ã", "©", "</s>"]);
    expect(t.offsets).toEqual([[0, 0], [0, 5], [6, 9], [10, 13], [13, 14], [13, 14], [0, 0]]);
  });
});

describe("loading errors", () => {
  it("names the missing folder, the missing file and the bad spec", async () => {
    await expect(Tokenizer.load(join(root, "nowhere"))).rejects.toThrow(/model folder .*nowhere does not exist/);
    const empty = join(root, "empty");
    await mkdir(empty);
    const err = await Tokenizer.load(empty).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelFileError);
    expect((err as MissingModelFileError).file).toBe("tokenizer.json");
    expect((err as Error).message).toMatch(/model folder .*empty has no tokenizer\.json \(needed for the tokenizer/);
    await expect(Tokenizer.load("not a model id!")).rejects.toThrow(/neither an existing folder nor a Hugging Face hub id/);
  });

  it("says transformers.js needs tokenizer_config.json", async () => {
    const dir = await writeBertTokenizer(join(root, "no-tokenizer-config"));
    await rm(join(dir, "tokenizer_config.json"));
    await expect(Tokenizer.load(dir)).rejects.toThrow(/has no tokenizer_config\.json .*transformers\.js requires it/);
  });
});

describe("offsets on random text", () => {
  /** Deterministic LCG, so a failure reproduces. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }
  const pool = [
    "the", "quick", "fox", "jumps", "Unaffable", "Café", "naïve", "cafe\u0301", "\u0301", "ΟΛΟΣ", "σς", "中文", "hello",
    "xyzzy", "-", "—", "'", "«", "!", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u{1F600}", "ﬁ", "Ⅻ", "\u200b", "\u0000",
    "İ", "ß", "ｆｏｘ", "[SEP]", "[UNK]", "<s>", "\ud800",
  ];
  const ignorable = /[\s\p{Cc}\p{Cf}\p{Cs}]/gu;
  /** A loose normal form for comparing a span of the text with a token. */
  const loose = (s: string): string =>
    s.normalize("NFKC").toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "").replace(/ς/gu, "σ").replace(ignorable, "");

  it("stay in bounds, in order, and cover text that reads as the token", async () => {
    const tokenizers = [uncased, cased, await Tokenizer.load(await writeUnigramTokenizer(join(root, "unigram-random")))];
    const next = random(7);
    for (let n = 0; n < 400; n++) {
      let text = "";
      const words = Math.floor(next() * 12);
      for (let k = 0; k < words; k++) text += pool[Math.floor(next() * pool.length)]! + (next() < 0.5 ? " " : "");
      for (const tokenizer of tokenizers) {
        const t = tokenizer.tokenize(text);
        let lastStart = 0;
        t.tokens.forEach((token, i) => {
          const [start, end] = t.offsets[i]!;
          expect(start).toBeGreaterThanOrEqual(0);
          expect(end).toBeLessThanOrEqual(text.length);
          expect(start).toBeLessThanOrEqual(end);
          if (t.special[i]) return;
          expect(start).toBeGreaterThanOrEqual(lastStart);
          lastStart = start;
          if (t.ids[i] === 1 && tokenizer !== tokenizers[2]) return; // [UNK]
          // A token inside a ligature ("ﬁ" → "f", "i") covers the whole character, hence "contains".
          expect(loose(text.slice(start, end))).toContain(loose(token.replace(/^##|▁/gu, "")));
        });
      }
    }
  });
});
