export type { Query, Document, RetrievalTask } from "./types.js";
export { resolveDatasetPath, findRepoRoot, defaultCacheDir, type ResolveDatasetOptions } from "./locate.js";
export { loadManifest, listDatasets, parseManifest, type DatasetManifest, type DatasetFile } from "./manifest.js";
export { loadJsonlTask, type JsonlTaskOptions } from "./jsonl.js";
export {
  readSquad,
  parseSquad,
  type SquadDataset,
  type SquadArticle,
  type SquadParagraph,
  type SquadQuestion,
  type SquadAnswer,
} from "./squad.js";
export {
  loadXquadTask,
  locateAnswer,
  XQUAD_LANGUAGES,
  XQUAD_TASKS,
  type XquadLanguage,
  type XquadTask,
  type XquadTaskOptions,
} from "./xquad.js";
export { splitSentences, type SentenceSpan } from "./sentences.js";
export { loadParallelTask, readParallelPairs, type ParallelPair, type ParallelTaskOptions } from "./parallel.js";
export { loadTrecTask, type TrecTaskOptions } from "./trec.js";
export { readTopics, type TrecTopic } from "./topics.js";
export { readCollection, streamCollection, collectionFormat } from "./collection.js";
export { readDdtp, parseDdtp, ddtpText, type DdtpDescription, type ReadDdtpOptions } from "./ddtp.js";
export { loadDdtpTask, ddtpLanguages, type DdtpTaskOptions } from "./ddtp-task.js";
export { loadSasaki18Task, readSasaki18File, type Sasaki18FileOptions, type Sasaki18TaskOptions } from "./sasaki18.js";
export { DEFAULT_DEV_FRACTION, hashKey, keySplitFilter, splitOf, type KeySplit } from "./split.js";
