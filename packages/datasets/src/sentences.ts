/**
 * Sentence splitting with the platform's ICU rules (`Intl.Segmenter`), keeping each sentence's
 * offsets in the original text so that answer spans can be mapped to sentences.
 */

/** A sentence of a text: `text` is `source.slice(start, end)`, trimmed of surrounding white space. */
export interface SentenceSpan {
  start: number;
  end: number;
  text: string;
}

const segmenters = new Map<string, Intl.Segmenter>();

/**
 * Splits `text` into sentences with `Intl.Segmenter(lang, {granularity: "sentence"})`, trims each
 * and drops the empty ones. ICU's rules break after abbreviations such as "U.S." or "Dr.", so a
 * sentence here is sometimes a fragment of a grammatical one.
 */
export function splitSentences(text: string, lang: string): SentenceSpan[] {
  let segmenter = segmenters.get(lang);
  if (segmenter === undefined) {
    segmenter = new Intl.Segmenter(lang, { granularity: "sentence" });
    segmenters.set(lang, segmenter);
  }
  const spans: SentenceSpan[] = [];
  for (const { segment, index } of segmenter.segment(text)) {
    const trimmed = segment.trim();
    if (trimmed === "") continue;
    const start = index + segment.indexOf(trimmed);
    spans.push({ start, end: start + trimmed.length, text: trimmed });
  }
  return spans;
}
