export { expandGrid, loadSuite, parseSuite, resolveModelSpec, SuiteError } from "./suite.js";
export type { DatasetSpec, RankerSpec, Suite, TableSpec } from "./suite.js";
export { suiteTasks } from "./tasks.js";
export type { SuiteTask } from "./tasks.js";
export { runSuite, writeSuiteResult } from "./run.js";
export type { CellResult, Environment, RunSuiteOptions, SuiteProgress, SuiteResult } from "./run.js";
export { formatMarkdown, pairLabel } from "./report.js";
export { terminalProgress } from "./progress.js";
export { defaultResultsDir } from "./paths.js";
