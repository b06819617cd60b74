/**
 * The ranking rule shared by evaluation, run output and anything else that turns scores into ranks.
 *
 * trec_eval ignores the rank column of a run and re-sorts each query's documents itself
 * (`comp_sim_docno` in trec_eval's `form_res_rels.c`): by score descending, ties broken by
 * `strcmp(docno2, docno1)`, i.e. by document id *descending*. Reproducing that exactly matters:
 * with tied scores the order decides P@k, RR and every other rank-based measure.
 */

/**
 * Compares two document ids the way C's `strcmp` compares their UTF-8 bytes.
 *
 * For ids made of ASCII (or any BMP characters below U+D800) this is plain JavaScript string order;
 * the only difference is that JavaScript orders UTF-16 surrogate pairs (characters above U+FFFF)
 * before U+E000–U+FFFF, while UTF-8 byte order puts them after. The fix-up is only reached at the
 * first differing code unit, so the common case costs one string comparison.
 */
export function compareDocIds(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (U+D800–U+DFFF) above U+E000–U+FFFF so code-unit order becomes code-point order. */
function codePointOrder(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * Orders two `[docid, score]` entries in trec_eval rank order: higher score first, then the higher
 * document id first. Scores must not be NaN (see {@link rankedDocuments}).
 */
export function compareRanked(a: readonly [string, number], b: readonly [string, number]): number {
  if (a[1] !== b[1]) return a[1] > b[1] ? -1 : 1;
  return compareDocIds(b[0], a[0]);
}

/**
 * The documents of one query in rank order (rank 1 first), by trec_eval's rule: score descending,
 * ties broken by document id descending (`"d9"` ranks above `"d10"`, `"b"` above `"a"`).
 *
 * @param scores document id → score for one query, e.g. `run.get(qid)`.
 * @throws RangeError if a score is NaN, which has no place in an order.
 */
export function rankedDocuments(scores: ReadonlyMap<string, number>): string[] {
  return sortedEntries(scores).map((entry) => entry[0]);
}

/** `[docid, score]` pairs in rank order; the shared core of {@link rankedDocuments} and run output. */
export function sortedEntries(scores: ReadonlyMap<string, number>, qid?: string): [string, number][] {
  const entries = Array.from(scores);
  for (const [docid, score] of entries) {
    if (Number.isNaN(score)) {
      const where = qid === undefined ? "" : ` of query "${qid}"`;
      throw new RangeError(`score of document "${docid}"${where} is NaN; scores must be numbers`);
    }
  }
  return entries.sort(compareRanked);
}
