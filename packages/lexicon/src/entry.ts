/**
 * Dictionary entries and gloss clean-up shared by the readers.
 */
import { primaryLanguage, scriptLetter } from "./languages.js";

/** One translation pair as a dictionary lists it: a source word or phrase and one of its glosses. */
export interface DictionaryEntry {
  source: string;
  target: string;
  /** An explicit weight (TSV's third column); dictd and CEDICT entries have none. */
  weight?: number;
}

/** A dictionary read from files: its pairs and where they came from. */
export interface Dictionary {
  /** Source and target language tags (`de`, `en`). */
  from: string;
  to: string;
  entries: DictionaryEntry[];
  /** The files read, for messages and reports. */
  files: string[];
  /** Number of headword entries (dictd articles, CEDICT lines, TSV rows) read. */
  headwords: number;
}

/** Glosses longer than this many words are definitions or examples, not translations, and are dropped. */
export const MAX_GLOSS_WORDS = 4;

/**
 * Placeholders for an object in glosses (`misguide sb.`, `jdn. irreleiten`): grammar, not words of
 * the translation.
 */
const PLACEHOLDER = /^(?:sb|sth|so|sb's|sth's|one's|o\.s|jd|jdn|jdm|jds|etw|algn|algo)\.?$/i;
/** English glosses write verbs as `to go` and nouns as `a house`: the particle is grammar. */
const ENGLISH_PARTICLE = /^(?:to|a|an|the)\s+/i;

/**
 * Splits one line of translations into clean glosses: sense numbers (`1.`), part-of-speech tags
 * (`<n>`), labels and notes in brackets or parentheses (`[fin.]`, `(coll.)`, `{स्थिति}`) and object
 * placeholders are removed; `,` `;` and a sentence-ending `. ` separate glosses; `_` and `~` (which
 * some dictionaries write between the words of a phrase) become spaces; an English gloss loses a
 * leading `to`/`a`/`an`/`the`. Glosses of more than `MAX_GLOSS_WORDS` words are dropped, and so are
 * glosses not written in the target language's script (notes in the source language) when the
 * scripts of both languages are known.
 */
export function cleanGlosses(line: string, from: string, to: string): string[] {
  const stripped = line
    .replace(/^\s*\d+\.\s*/, "")
    .replace(/<[^>]*>|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}/g, " ")
    .replace(/[_~]/g, " ");
  const target = scriptLetter(to);
  const source = scriptLetter(from);
  const sameScript = target !== undefined && source !== undefined && target.source === source.source;
  const english = primaryLanguage(to) === "en";
  const glosses: string[] = [];
  for (const piece of stripped.split(/[,;]|\.\s+|…/)) {
    let words = piece
      .trim()
      .split(/\s+/)
      .filter((w) => w !== "" && !PLACEHOLDER.test(w));
    let gloss = words.join(" ").replace(/[.:!?]+$/, "");
    if (english && ENGLISH_PARTICLE.test(gloss) && words.length > 1) {
      gloss = gloss.replace(ENGLISH_PARTICLE, "");
      words = words.slice(1);
    }
    if (gloss === "" || words.length > MAX_GLOSS_WORDS) continue;
    if (target !== undefined && !target.test(gloss)) continue;
    if (source !== undefined && !sameScript && source.test(gloss)) continue;
    glosses.push(gloss);
  }
  return glosses;
}

/** The entries with source and target swapped: an X→Y dictionary read as Y→X. */
export function reverseDictionary(dictionary: Dictionary): Dictionary {
  return {
    from: dictionary.to,
    to: dictionary.from,
    entries: dictionary.entries.map((e) =>
      e.weight === undefined ? { source: e.target, target: e.source } : { source: e.target, target: e.source, weight: e.weight },
    ),
    files: dictionary.files,
    headwords: dictionary.headwords,
  };
}
