/**
 * Ranking under a dataset's own candidate sets (sasaki18: each query is ranked against the
 * documents listed for it, as the LM-EMD study evaluates), for any ranker that can score given
 * candidates (`CandidateRanker`: the neural rankers, rerank).
 */
import type { Run } from "@crossrank/metrics";
import { type CandidateMap, isCandidateRanker } from "./neural/common.js";
import type { Ranker, RankingInput, RankOptions } from "./ranker.js";

/**
 * Ranks each query of `input` against its candidates only (document ids, each in `input.documents`;
 * a query without a list gets an empty result). Throws when `ranker` cannot score given candidates,
 * or when a listed id is not a document of the input.
 */
export async function rankCandidateSets(ranker: Ranker, input: RankingInput, candidates: ReadonlyMap<string, readonly string[]>, options: RankOptions = {}): Promise<Run> {
  if (!isCandidateRanker(ranker)) {
    throw new Error(`ranker ${ranker.name} cannot rank per-query candidate sets (the task gives one per query); the neural rankers and rerank can`);
  }
  const position = new Map<string, number>();
  input.documents.forEach((d, i) => position.set(d.id, i));
  const map: CandidateMap = new Map(
    [...candidates].map(([qid, ids]) => [
      qid,
      Int32Array.from(ids, (id) => {
        const p = position.get(id);
        if (p === undefined) throw new Error(`the candidates of query ${JSON.stringify(qid)} list document ${JSON.stringify(id)}, which is not in the collection`);
        return p;
      }),
    ]),
  );
  return ranker.rankCandidates(input, map, options);
}
