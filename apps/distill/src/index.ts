/**
 * @crossrank/distill — the three-stage CL-ReLKT trainer (warmup, teacher, distillation) over a
 * frozen encoder's cached sentence vectors; each stage trains a sentence head, written as a head
 * folder that `loadEncoder` accepts wherever an encoder spec is.
 */
export {
  ConfigError,
  configHash,
  configJson,
  DEFAULT_HELD_OUT_LANGS,
  DEFAULT_TRAIN_LANGS,
  type DataConfig,
  type DistillConfig,
  type DistillStageConfig,
  type EncoderSettings,
  type HeadSettings,
  loadDistillConfig,
  parseDistillConfig,
  type SplitConfig,
  type StageArg,
  type StageCommon,
  type StageName,
  STAGES,
  type TeacherConfig,
  type TripletLossConfig,
  type WarmupConfig,
} from "./config.js";
export { type ArticleSplit, buildCorpus, type CorpusParagraph, type CorpusQuestion, loadXquadCorpus, paragraphsOf, questionsOf, splitArticles, warmupNegatives, type XquadCorpus } from "./data.js";
export { type LangScores, MEASURES, type MeasureName, meanOver, type SplitEvaluation, SplitEvaluator } from "./evaluate.js";
export { type DistillProgress, silentProgress, type StepInfo, terminalProgress } from "./progress.js";
export { type DistillRunResult, runDistill, type RunDistillOptions, stageHeadPath, type StageResult, type StageSummary } from "./run.js";
export { DistillInterruptedError, headConfigFor, type StageContext, stageSeed, type StageTraining, trainDistill, trainTeacher, trainWarmup } from "./stages.js";
export { buildTable, CLRELKT_REFERENCE_P1, type TableInput, type TableJson, type TableRow } from "./table.js";
export { backward, type BaseVectors, encodeBase, forward, type ForwardPass, gather, project, stack } from "./vectors.js";
export { type DistillArgs, parseDistillArgs, runCli, USAGE, UsageError } from "./cli.js";
