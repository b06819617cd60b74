import { describe, expect, it } from "vitest";
import { createAnalyzer } from "../src/index.js";

/**
 * The reference the hybrid tokenizer must match: the same normalization and folding, then
 * `Intl.Segmenter` alone, keeping word-like segments (runs of `_` alone are dropped by design).
 */
function segmenterWords(text: string, lang?: string): string[] {
  const prepared = text
    .normalize("NFKC")
    .replace(/\p{Default_Ignorable_Code_Point}/gu, "")
    .toLowerCase()
    .replace(/[ßς]/g, (c) => (c === "ß" ? "ss" : "σ"));
  const words: string[] = [];
  for (const s of new Intl.Segmenter(lang, { granularity: "word" }).segment(prepared)) {
    if (s.isWordLike && !/^\p{Pc}+$/u.test(s.segment)) words.push(s.segment);
  }
  return words;
}

const ENGLISH = [
  "The quick brown fox jumps over the lazy dog.",
  "0 A.D. (pronounced \"zero ey-dee\") is a free, open-source, cross-platform real-time strategy (RTS) game.",
  "Don't panic: it's only 3.14 or 1,000 times e.g. faster than U.S. tools; see https://www.debian.org/doc/ for more.",
  "This package contains python3.11 bindings for libfoo.so.2 (x86-64, ARMv7) -- version 2.0.1_beta.",
  "He said 'hello' and left at 10:30 on 2024-01-02; the file's size is 1'000 bytes.",
  "Multiple   spaces,\ttabs\nand newlines: __init__, _private, foo_bar, C++ and C#.",
];

const GERMAN = [
  "Echtzeit-Strategiespiel über antike Kriegsführung (Datendateien).",
  "Dieses Paket enthält die wichtigsten von 0 A.D. benötigten Datendateien, z.B. Karten.",
  "Die Straße ist 3,5 km lang; Größe: 1.000 m² – „Anführungszeichen“ und ‚einfache‘ ÄÖÜ.",
  "Er sagt: »Das geht’s nicht« und geht’s trotzdem an.",
];

describe("createAnalyzer: hybrid tokenizer agrees with Intl.Segmenter", () => {
  for (const [lang, sentences] of [
    ["en", ENGLISH],
    ["de", GERMAN],
  ] as const) {
    for (const sentence of sentences) {
      it(`${lang}: ${sentence.slice(0, 40)}…`, () => {
        expect(createAnalyzer({ lang }).analyze(sentence)).toEqual(segmenterWords(sentence, lang));
      });
    }
  }

  it.each([
    ["el", "Καλημέρα κόσμε, αυτό είναι ένα τεστ. ΟΔΟΣ και οδός."],
    ["ru", "Привет, мир! Это тест на 2,5 секунды."],
    ["ar", "مرحبا بالعالم، هذا اختبار ٣٫١٤ و ١٬٠٠٠."],
    ["ko", "한국어 문장을 테스트합니다. 데비안 2048을 만들어야 하는 a.d에"],
    ["he", "צה\"ל ש' ו-3"],
    ["hi", "यह एक परीक्षण वाक्य है।"],
  ])("%s sentence", (lang, sentence) => {
    expect(createAnalyzer({ lang }).analyze(sentence)).toEqual(segmenterWords(sentence, lang));
  });
});

describe("createAnalyzer: words", () => {
  const analyze = (text: string, lang?: string) => createAnalyzer(lang === undefined ? {} : { lang }).analyze(text);

  it("keeps inner apostrophes and periods between letters, and decimal points and separators between digits", () => {
    expect(analyze("Don't l'homme e.g. example.com 3.14 1,000 1.2.3")).toEqual([
      "don't",
      "l'homme",
      "e.g",
      "example.com",
      "3.14",
      "1,000",
      "1.2.3",
    ]);
  });

  it("breaks at hyphens, slashes, sentence ends and at a period between a letter and a digit", () => {
    expect(analyze("x86-64 and/or end. Start a1.b2 v.2")).toEqual(["x86", "64", "and", "or", "end", "start", "a1", "b2", "v", "2"]);
  });

  it("drops punctuation, symbols, emoji and runs of _ alone", () => {
    expect(analyze("!!! -- 😀 __ _ ... €")).toEqual([]);
    expect(analyze("")).toEqual([]);
  });

  it("segments Chinese with the dictionary", () => {
    expect(analyze("我爱北京天安门，这是一个测试。", "zh")).toEqual(["我", "爱", "北京", "天安门", "这", "是", "一个", "测试"]);
  });

  it("segments Japanese, including Latin words next to kana", () => {
    expect(analyze("Linuxカーネル 東京都に住んでいます。", "ja")).toEqual([
      "linux",
      "カーネル",
      "東京",
      "都",
      "に",
      "住",
      "んで",
      "い",
      "ます",
    ]);
  });

  it("segments Thai", () => {
    expect(analyze("ภาษาไทยเป็นภาษาที่ยาก สวัสดีครับ", "th")).toEqual(["ภาษา", "ไทย", "เป็น", "ภาษา", "ที่", "ยาก", "สวัสดี", "ครับ"]);
  });

  it("keeps English words before and after a Chinese run", () => {
    expect(analyze("Debian 是一个 free system", "zh")).toEqual(["debian", "是", "一个", "free", "system"]);
  });

  it("splits Arabic, Russian and Greek at spaces and punctuation", () => {
    expect(analyze("مرحبا بالعالم، هذا اختبار", "ar")).toEqual(["مرحبا", "بالعالم", "هذا", "اختبار"]);
    expect(analyze("Привет, мир! Это тест.", "ru")).toEqual(["привет", "мир", "это", "тест"]);
    expect(analyze("Καλημέρα κόσμε", "el")).toEqual(["καλημέρα", "κόσμε"]);
  });

  it("keeps a run of Hangul syllables whole but apart from Latin letters and digits (as ICU does)", () => {
    expect(analyze("한국어 문장을 2048을 a.d에", "ko")).toEqual(["한국어", "문장을", "2048", "을", "a.d", "에"]);
  });
});

describe("createAnalyzer: normalization and case folding", () => {
  const analyze = (text: string) => createAnalyzer().analyze(text);

  it("applies NFKC: ligatures, full-width forms, circled digits", () => {
    expect(analyze("ﬁle Ｆｕｌｌ ①")).toEqual(["file", "full", "1"]);
  });

  it("removes default-ignorable code points such as the soft hyphen and zero-width joiner", () => {
    expect(analyze("Ver\u00ADsion a\u200Db")).toEqual(["version", "ab"]);
  });

  it("folds final sigma and sharp s", () => {
    expect(analyze("ΟΔΟΣ οδος οδοσ")).toEqual(["οδοσ", "οδοσ", "οδοσ"]);
    expect(analyze("Straße STRASSE Strasse ẞ")).toEqual(["strasse", "strasse", "strasse", "ss"]);
  });

  it("composes decomposed accents, so NFD and NFC text meet", () => {
    expect(analyze("Cafe\u0301 Café")).toEqual(["café", "café"]);
  });

  it("can leave text as given", () => {
    const raw = createAnalyzer({ normalization: "none", caseFold: false });
    expect(raw.analyze("ﬁle Straße ΟΔΟΣ")).toEqual(["ﬁle", "Straße", "ΟΔΟΣ"]);
  });

  it("drops words shorter than minLength code points", () => {
    expect(createAnalyzer({ minLength: 2 }).analyze("a an the 𝒳")).toEqual(["an", "the"]);
    expect(createAnalyzer({ lang: "zh", minLength: 2 }).analyze("我爱北京")).toEqual(["北京"]);
  });

  it("accepts gettext-style tags and rejects malformed ones", () => {
    expect(createAnalyzer({ lang: "pt_BR" }).lang).toBe("pt_BR");
    expect(() => createAnalyzer({ lang: "not a tag!" })).toThrow(RangeError);
    expect(() => createAnalyzer({ minLength: -1 })).toThrow(RangeError);
  });
});
