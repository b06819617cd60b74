import { isAbsolute, resolve } from "node:path";
import {
  loadDdtpTask,
  loadJsonlTask,
  loadParallelTask,
  loadSasaki18Task,
  loadTrecTask,
  loadXquadTask,
  resolveDatasetPath,
  type RetrievalTask,
} from "@crossrank/datasets";
import type { DatasetSpec } from "./suite.js";

/** One retrieval task of a suite, loaded on demand so that large collections are not all held at once. */
export interface SuiteTask {
  dataset: string;
  task: string;
  queryLang?: string;
  docLang?: string;
  load(): Promise<RetrievalTask>;
  /** The dataset's own training part (sasaki18's train file), which train blocks train on instead of splitting the task. */
  loadTrain?(): Promise<RetrievalTask>;
}

/**
 * DDTP task families (issue 8's tasks (a) and (b)): the query side's field → the English side's
 * full description (short + long), over every English description.
 */
const DDTP_TASKS: Record<string, { queryField: "short" | "description"; docField: "description" }> = {
  short: { queryField: "short", docField: "description" },
  description: { queryField: "description", docField: "description" },
};

/** Lists the tasks a dataset entry of a suite stands for: one per task family × query language. */
export function suiteTasks(spec: DatasetSpec, baseDir: string): SuiteTask[] {
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  switch (spec.dataset) {
    case "xquad":
      return spec.tasks.flatMap((task) =>
        spec.queryLangs.map((queryLang) => ({
          dataset: "xquad",
          task,
          queryLang,
          docLang: spec.docLang,
          load: () =>
            loadXquadTask({
              task: task as Parameters<typeof loadXquadTask>[0]["task"],
              queryLang,
              docLang: spec.docLang,
              ...(spec.dir ? { dir: path(spec.dir) } : {}),
            }),
        })),
      );
    case "ddtp":
      return spec.tasks.flatMap((task) => {
        const fields = DDTP_TASKS[task];
        if (!fields) {
          throw new Error(`ddtp task "${task}" is not one of ${Object.keys(DDTP_TASKS).join(", ")}`);
        }
        return spec.queryLangs.map((queryLang) => ({
          dataset: "ddtp",
          task,
          queryLang,
          docLang: spec.docLang,
          load: async () => {
            const loaded = await loadDdtpTask({
              queryLang,
              docLang: spec.docLang,
              ...fields,
              ...(spec.dir ? { dir: path(spec.dir) } : {}),
              ...(spec.split ? { split: spec.split } : {}),
            });
            return spec.limit === undefined ? loaded : firstQueries(loaded, spec.limit);
          },
        }));
      });
    case "jsonl":
      return spec.queryLangs.map((queryLang) => ({
        dataset: "jsonl",
        task: "same-id",
        queryLang,
        docLang: spec.docLang,
        load: async () =>
          loadJsonlTask(spec.data === undefined ? path(spec.path!) : await resolveDatasetPath(spec.data.name, spec.data.file, { download: false }), {
            queryLang,
            docLang: spec.docLang,
            ...(spec.limit ? { limit: spec.limit } : {}),
            ...(spec.documentLimit ? { documentLimit: spec.documentLimit } : {}),
            ...(spec.queryLimit ? { queryLimit: spec.queryLimit } : {}),
          }),
      }));
    case "parallel":
      return [
        {
          dataset: spec.name ?? "parallel",
          task: "line",
          queryLang: spec.queryLang,
          docLang: spec.docLang,
          load: async () => {
            const loaded = await loadParallelTask(path(spec.queries), path(spec.documents), {
              ...(spec.queryLang ? { queryLang: spec.queryLang } : {}),
              ...(spec.docLang ? { docLang: spec.docLang } : {}),
            });
            return spec.limit === undefined ? loaded : spacedQueries(loaded, spec.limit);
          },
        },
      ];
    case "sasaki18":
      return spec.docLangs.map((docLang) => {
        const dir = spec.dir === undefined ? {} : { dir: path(spec.dir) };
        return {
          dataset: "sasaki18",
          task: spec.test ?? "test1",
          queryLang: "en",
          docLang,
          load: async () => leadingQueries(await loadSasaki18Task({ docLang, split: spec.test ?? "test1", ...dir }), spec.limit),
          loadTrain: async () => leadingQueries(await loadSasaki18Task({ docLang, split: spec.train ?? "train", ...dir }), spec.trainLimit),
        };
      });
    case "trec":
      return [
        {
          dataset: "trec",
          task: "topics",
          queryLang: spec.queryLang,
          docLang: spec.docLang,
          load: () =>
            loadTrecTask({
              topics: path(spec.topics),
              qrels: path(spec.qrels),
              collection: path(spec.collection),
              ...(spec.queryLang ? { queryLang: spec.queryLang } : {}),
              ...(spec.docLang ? { docLang: spec.docLang } : {}),
            }),
        },
      ];
  }
}

/**
 * The task with only its `limit` queries of smallest id (and their qrels): a deterministic sample
 * that does not depend on file order. The collection is unchanged.
 */
export function firstQueries(task: RetrievalTask, limit: number): RetrievalTask {
  if (task.queries.length <= limit) return task;
  const queries = [...task.queries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
  const qrels = new Map(queries.flatMap((q) => (task.qrels.has(q.id) ? [[q.id, task.qrels.get(q.id)!] as const] : [])));
  return { ...task, queries, qrels, warnings: [...(task.warnings ?? []), `${limit} of ${task.queries.length} queries (smallest ids)`] };
}

/**
 * A task with candidate sets cut to its first `limit` queries in file order, their qrels and
 * candidates, and the documents those candidates name (unchanged without a limit).
 */
export function leadingQueries(task: RetrievalTask, limit: number | undefined): RetrievalTask {
  if (limit === undefined || task.queries.length <= limit) return task;
  const queries = task.queries.slice(0, limit);
  const keep = new Set(queries.map((q) => q.id));
  const candidates = new Map([...(task.candidates ?? [])].filter(([qid]) => keep.has(qid)));
  const named = new Set([...candidates.values()].flat());
  const qrels = new Map([...task.qrels].filter(([qid]) => keep.has(qid)));
  const documents = task.candidates === undefined ? task.documents : task.documents.filter((d) => named.has(d.id));
  return { ...task, queries, qrels, documents, ...(task.candidates === undefined ? {} : { candidates }), warnings: [...(task.warnings ?? []), `${limit} of ${task.queries.length} queries (the first in the file)`] };
}

/**
 * The task with `limit` of its queries, evenly spaced through the file (query ⌊i·n/limit⌋ for
 * i < limit), and their qrels: parallel files are written in topic blocks, so a prefix would hold
 * the first topics only. The collection is unchanged.
 */
export function spacedQueries(task: RetrievalTask, limit: number): RetrievalTask {
  const n = task.queries.length;
  if (n <= limit) return task;
  const queries = Array.from({ length: limit }, (_, i) => task.queries[Math.floor((i * n) / limit)]!);
  const qrels = new Map(queries.flatMap((q) => (task.qrels.has(q.id) ? [[q.id, task.qrels.get(q.id)!] as const] : [])));
  return { ...task, queries, qrels, warnings: [...(task.warnings ?? []), `${limit} of ${n} queries, evenly spaced`] };
}
