// The queries of the scale benchmarks (bench:scale, bench:postgres): the first `count` DDTP dev
// (task a) German short descriptions (de → en) and the same packages' English short descriptions
// (en → en), each relevant to its English description; and those descriptions, the collection's
// base. Exits 0 with a message naming the benchmark when the DDTP data is missing.
import { loadDdtpTask } from "@crossrank/datasets";

/** { base: the English descriptions, querySets: [label, queries, query language, qrels][] } */
export async function scaleQueries(benchmark, count) {
  let de;
  let en;
  try {
    de = await loadDdtpTask({ queryLang: "de", docLang: "en", queryField: "short", docField: "description", split: { part: "dev" } });
    en = await loadDdtpTask({ queryLang: "en", docLang: "en", queryField: "short", docField: "description", split: { part: "dev" } });
  } catch (err) {
    console.log(`${benchmark}: skipped: DDTP data not found (${err.message})`);
    process.exit(0);
  }
  const pick = (task) => [...task.queries].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, count);
  return {
    base: de.documents,
    querySets: [
      ["de → en", pick(de), "de", de.qrels],
      ["en → en", pick(en), "en", en.qrels],
    ],
  };
}
