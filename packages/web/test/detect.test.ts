import { describe, expect, it } from "vitest";
import { detectLanguage } from "../src/page/detect.js";

describe("the query's language, detected", () => {
  it("reads the script where it says the language", () => {
    expect(detectLanguage("文本编辑器")).toBe("zh");
    expect(detectLanguage("テキストエディタ")).toBe("ja");
    expect(detectLanguage("텍스트 편집기")).toBe("ko");
    expect(detectLanguage("محرر نصوص")).toBe("ar");
    expect(detectLanguage("επεξεργαστής κειμένου")).toBe("el");
  });

  it("uses letters only some languages write before the trigram models, which misjudge short queries", () => {
    expect(detectLanguage("Texteditor für Programmierer")).toBe("de");
    expect(detectLanguage("Straße")).toBe("de");
    expect(detectLanguage("edytor tekstu dla programistów z podświetlaniem składni")).toBe("pl");
    expect(detectLanguage("textový editor pro programátory")).toBe("cs");
  });

  it("falls back to franc's trigrams, and to the Cyrillic letters of a short query", () => {
    expect(detectLanguage("Werkzeug zum Komprimieren von Dateien")).toBe("de");
    expect(detectLanguage("éditeur de texte pour les programmeurs")).toBe("fr");
    expect(detectLanguage("a text editor for programmers")).toBe("en");
    expect(detectLanguage("редактор")).toBe("ru");
    expect(detectLanguage("редактор і")).toBe("uk");
    expect(detectLanguage("x")).toBeUndefined();
  });
});
