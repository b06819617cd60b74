import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadHfTokenizer } from "./helpers/hf-tokenizer.js";
import { learnVocabulary, StaticTokenizer, staticTokenizerConfig, staticTokenizerJson, staticWords } from "../src/index.js";

const SAMPLES: Record<string, string[]> = {
  en: ["The quick brown fox jumps over the lazy dog.", "Library for parsing JSON files", "Utilities for the GNU C compiler"],
  de: ["Der schnelle braune Fuchs springt über den faulen Hund.", "Bibliothek zum Einlesen von JSON-Dateien", "Werkzeuge für den GNU-C-Compiler"],
  fr: ["Le renard brun rapide saute par-dessus le chien paresseux.", "Bibliothèque pour analyser les fichiers JSON", "Utilitaires pour le compilateur C de GNU"],
  ja: ["JSONファイルを解析するためのライブラリ", "GNU Cコンパイラ用のユーティリティ", "素早い茶色の狐が怠け者の犬を飛び越える"],
  zh: ["用于解析JSON文件的库", "GNU C编译器的实用工具", "敏捷的棕色狐狸跳过了懒狗"],
  ru: ["Библиотека для разбора файлов JSON", "Утилиты для компилятора GNU C", "Быстрая коричневая лиса прыгает через ленивую собаку"],
  ko: ["JSON 파일을 구문 분석하기 위한 라이브러리", "GNU C 컴파일러용 유틸리티"],
};

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("learnVocabulary", () => {
  it("splits Han characters, lower-cases and keeps accents", () => {
    expect(staticWords("用于解析")).toEqual(["用", "于", "解", "析"]);
    expect(staticWords("Über Schön, é!")).toEqual(["über", "schön", ",", "é", "!"]);
    expect(staticWords("が")).toEqual(["が"]);
  });

  it("is deterministic and contains the special tokens and the alphabet", () => {
    const v1 = learnVocabulary(SAMPLES, { size: 400 });
    const v2 = learnVocabulary(SAMPLES, { size: 400 });
    expect(v1).toEqual(v2);
    expect(v1.slice(0, 5)).toEqual(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    expect(new Set(v1).size).toBe(v1.length);
    expect(v1.length).toBeLessThanOrEqual(400);
    const tok = new StaticTokenizer(v1);
    for (const texts of Object.values(SAMPLES)) for (const t of texts) expect(tok.encode(t)).not.toContain(tok.unkId);
  });

  it("writes a tokenizer.json that @huggingface/transformers loads and that agrees with ours", async () => {
    const vocab = learnVocabulary(SAMPLES, { size: 400 });
    const dir = await mkdtemp(join(tmpdir(), "static-vocab-"));
    dirs.push(dir);
    await writeFile(join(dir, "tokenizer.json"), staticTokenizerJson(vocab));
    await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(staticTokenizerConfig(vocab)));
    // @crossrank/train does not depend on transformers.js; borrow @crossrank/encode's copy.
    const hf = await loadHfTokenizer(dir);
    const ours = new StaticTokenizer(vocab);
    const extra = ["Schöne GRÜSSE aus Köln — naïve café", "未知の漢字：鬱", "ПРИВЕТ мир", "x".repeat(120)];
    for (const text of [...Object.values(SAMPLES).flat(), ...extra]) {
      const ids = hf.encode(text, { add_special_tokens: false });
      expect(ids, text).toEqual(ours.encode(text));
    }
  });

  it("learns a large vocabulary from many short texts quickly", () => {
    const rng = (() => {
      let s = 7;
      return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    })();
    const syll = ["ka", "ri", "to", "mu", "sen", "ber", "lin", "ö", "é", "qu", "ch", "st", "ung", "ion", "er"];
    const word = () => Array.from({ length: 1 + Math.floor(rng() * 4) }, () => syll[Math.floor(rng() * syll.length)]).join("");
    const texts: Record<string, string[]> = { a: [], b: [] };
    for (let i = 0; i < 20_000; i++) {
      texts.a?.push(Array.from({ length: 6 }, word).join(" "));
      texts.b?.push(Array.from({ length: 6 }, word).join(" ") + " 汉字");
    }
    const t0 = Date.now();
    const vocab = learnVocabulary(texts, { size: 8000 });
    const seconds = (Date.now() - t0) / 1000;
    console.log(`learnVocabulary: 40k texts, ${vocab.length} tokens in ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(30);
  });
});
