/**
 * Hand-built tokenizer folders in the Hugging Face layout (tokenizer.json, tokenizer_config.json,
 * config.json), small enough that every expected id and offset in the tests can be worked out by hand.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary folder. */
export function tempDir(prefix = "crossrank-tokenize-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

async function writeJson(dir: string, name: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), JSON.stringify(value, null, 2));
}

const BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** Lowercase vocabulary: ids 0-4 are the specials, then these in order (so "the" = 5). */
export const UNCASED_WORDS = [
  "the", "quick", "brown", "fox", "jump", "##s", "over", "lazy", "dog",
  ".", ",", "!", "?", "'", "-",
  "un", "##aff", "##able", "cafe", "naive", "中", "文",
  "hello", "world", "s", "play", "##ing", "##ed", "##er", "token", "##ize",
  "a", "is", "it", "of", "in", "to", "and", "1", "2", "##3", "run", "##ner",
  "big", "##gest", "word", "##piece", "σ", "##ς", "ολ", "##ος", "x", "##y", "alpha", "beta",
];

/** Cased vocabulary (accents kept, no lowercasing). */
export const CASED_WORDS = [
  "The", "the", "Quick", "quick", "brown", "fox", "jump", "##s", "over", "lazy", "dog",
  ".", ",", "!", "?", "'", "-",
  "Un", "##aff", "##able", "Café", "café", "naïve", "Naïve", "中", "文",
  "Hello", "hello", "world", "World", "s", "play", "##ing",
];

function bertVocab(words: readonly string[]): Record<string, number> {
  const vocab: Record<string, number> = {};
  [...BERT_SPECIALS, ...words].forEach((w, i) => {
    if (w in vocab) throw new Error(`duplicate fixture token ${w}`);
    vocab[w] = i;
  });
  return vocab;
}

/** Options of {@link writeBertTokenizer}. */
export interface BertFixtureOptions {
  /** Lowercase + strip accents (an "uncased" BERT); default true. */
  lowercase?: boolean;
  /** tokenizer_config.json model_max_length; default 512; null leaves it out. */
  modelMaxLength?: number | null;
  /** config.json max_position_embeddings; default 64; null writes no config.json. */
  maxPositions?: number | null;
}

/** A WordPiece BERT tokenizer folder, as `BertTokenizerFast.save_pretrained` writes it. */
export async function writeBertTokenizer(dir: string, options: BertFixtureOptions = {}): Promise<string> {
  const lowercase = options.lowercase ?? true;
  const vocab = bertVocab(lowercase ? UNCASED_WORDS : CASED_WORDS);
  const cls = vocab["[CLS]"]!;
  const sep = vocab["[SEP]"]!;
  await writeJson(dir, "tokenizer.json", {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: lowercase ? null : false,
      lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [cls], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [sep], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  });
  const tokenizerConfig: Record<string, unknown> = {
    tokenizer_class: "BertTokenizer",
    do_lower_case: lowercase,
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    mask_token: "[MASK]",
  };
  const modelMaxLength = options.modelMaxLength === undefined ? 512 : options.modelMaxLength;
  if (modelMaxLength !== null) tokenizerConfig.model_max_length = modelMaxLength;
  await writeJson(dir, "tokenizer_config.json", tokenizerConfig);
  const maxPositions = options.maxPositions === undefined ? 64 : options.maxPositions;
  if (maxPositions !== null) {
    await writeJson(dir, "config.json", { model_type: "bert", max_position_embeddings: maxPositions, vocab_size: Object.keys(vocab).length });
  }
  return dir;
}

/** A SentencePiece-style Unigram tokenizer with Metaspace ("▁"), XLM-R's layout (<s> … </s>). */
export async function writeUnigramTokenizer(dir: string): Promise<string> {
  const pieces: [string, number][] = [
    ["<s>", 0], ["<pad>", 0], ["</s>", 0], ["<unk>", 0],
    ["▁", -2], ["▁the", -1], ["▁fox", -1], ["▁jump", -1.5], ["s", -2], ["▁over", -1], ["▁dog", -1],
    ["▁lazy", -1], ["▁hello", -1], ["▁world", -1], ["▁ca", -2], ["fé", -2], ["!", -1.5], [",", -1.5],
    ["▁naïve", -1.5], ["a", -3], ["b", -3], ["c", -3], ["d", -3], ["e", -3], ["f", -3], ["▁x", -2],
  ];
  await writeJson(dir, "tokenizer.json", {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: ["<s>", "<pad>", "</s>", "<unk>"].map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] },
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "</s>", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "</s>", type_id: 0 } },
        { Sequence: { id: "B", type_id: 0 } },
        { SpecialToken: { id: "</s>", type_id: 0 } },
      ],
      special_tokens: {
        "<s>": { id: "<s>", ids: [0], tokens: ["<s>"] },
        "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] },
      },
    },
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    model: { type: "Unigram", unk_id: 3, vocab: pieces, byte_fallback: false },
  });
  await writeJson(dir, "tokenizer_config.json", {
    tokenizer_class: "XLMRobertaTokenizer",
    bos_token: "<s>",
    eos_token: "</s>",
    cls_token: "<s>",
    sep_token: "</s>",
    pad_token: "<pad>",
    unk_token: "<unk>",
    mask_token: "<mask>",
    model_max_length: 1000000000000000019884624838656,
  });
  await writeJson(dir, "config.json", { model_type: "xlm-roberta", max_position_embeddings: 514 });
  return dir;
}

/** GPT-2's byte-to-unicode alphabet: the character standing for each byte in byte-level vocabularies. */
export function byteToUnicode(): string[] {
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.push(String.fromCodePoint(printable ? b : 256 + extra++));
  }
  return table;
}

/** A RoBERTa-style byte-level BPE tokenizer: the 256 byte symbols plus a few merges. */
export async function writeByteLevelTokenizer(dir: string): Promise<string> {
  const bytes = byteToUnicode();
  const vocab: Record<string, number> = { "<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3 };
  for (const symbol of bytes) vocab[symbol] = Object.keys(vocab).length;
  const merges = [
    "h e", "l l", "he ll", "hell o", "Ġ f", "o x", "Ġf ox", "Ġ c", "Ġc a", "Ġca f", "w o", "r l", "wo rl", "worl d",
  ];
  for (const merge of merges) vocab[merge.replace(" ", "")] = Object.keys(vocab).length;
  await writeJson(dir, "tokenizer.json", {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: ["<s>", "<pad>", "</s>", "<unk>"].map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  });
  await writeJson(dir, "tokenizer_config.json", {
    tokenizer_class: "RobertaTokenizer",
    bos_token: "<s>",
    eos_token: "</s>",
    cls_token: "<s>",
    sep_token: "</s>",
    pad_token: "<pad>",
    unk_token: "<unk>",
    model_max_length: 512,
  });
  return dir;
}
