export { buildIndex, type BuildIndexOptions, type BuildProgress, DEFAULT_DOC_LANG, DEFAULT_LEXICAL, type LexicalPart } from "./build.js";
export { DEFAULT_SEARCH_RANKER, openIndex, SearchIndex, type SearchHit, type SearchOptions, type SearchStore } from "./open.js";
export { updateIndex, type UpdateIndexOptions, type UpdateResult } from "./update.js";
export { INDEX_FORMAT, INDEX_FORMAT_VERSION, type IndexManifest, type ManifestEncoder, type ManifestFile, type ManifestPart } from "./format.js";
export { DEFAULT_SCHEMA, openPostgresIndex, PostgresIndex, type PostgresOptions, POSTGRES_LAYOUT_VERSION, redactUrl, writePostgresIndex } from "./postgres.js";
export { DEFAULT_EF, defaultPartitions, HNSW_BUILD, LANCE_INDEX } from "./lance.js";
