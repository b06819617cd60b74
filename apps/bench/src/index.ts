export { expandGrid, loadSuite, parseSuite, resolveModelSpec, SuiteError } from "./suite.js";
export type { DatasetSpec, RankerSpec, Suite, TableSpec } from "./suite.js";
export { suiteTasks } from "./tasks.js";
export type { SuiteTask } from "./tasks.js";
export { runSuite, writeSuiteResult } from "./run.js";
export type { CellResult, Environment, RunSuiteOptions, SuiteProgress, SuiteResult } from "./run.js";
export { formatMarkdown, pairLabel } from "./report.js";
export { terminalProgress } from "./progress.js";
export { defaultResultsDir } from "./paths.js";
export { rankerConfigs, withSuiteDefaults } from "./run.js";
export type { RankerConfig } from "./run.js";
export { checkTrainSpec, resolveTrainConfig, TRAIN_DEFAULTS, TRAIN_KEYS, trainLabel, TRAINABLE_RANKERS } from "./train-spec.js";
export type { TrainConfig, TrainSpecProblem } from "./train-spec.js";
// train.ts (splitTask, trainedHead) is not re-exported: it loads @crossrank/train and the encoder stack, which runSuite imports only for suites that train.
export type { SplitSummary, TaskSplit, TrainedHead } from "./train.js";
