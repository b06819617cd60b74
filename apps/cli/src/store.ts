import { DEFAULT_SCHEMA, openIndex, openPostgresIndex, type SearchStore } from "@crossrank/index";
import { UsageError } from "./errors.js";

/** The options that name an index: a folder (`--index`) or a PostgreSQL database (`--store`, `--schema`). */
export interface StoreOptions {
  index?: string;
  store?: string;
  schema?: string;
}

export const STORE_HELP = "a PostgreSQL database holding an index written by crossrank index --store (postgres://user@host:port/db)";
export const SCHEMA_HELP = `with --store: the schema of the index's tables (default ${DEFAULT_SCHEMA})`;

/** A `postgres://` or `postgresql://` URL, else a usage error. */
export function postgresUrl(flag: string, value: string): string {
  if (!/^postgres(ql)?:\/\//.test(value)) throw new UsageError(`${flag} expects a postgres:// URL, got ${JSON.stringify(value)}`);
  return value;
}

/** Opens the index the options name: exactly one of --index DIR and --store URL. */
export async function openStore(options: StoreOptions): Promise<SearchStore> {
  if ((options.index === undefined) === (options.store === undefined)) throw new UsageError("give exactly one of --index DIR and --store postgres://…");
  if (options.store === undefined) {
    if (options.schema !== undefined) throw new UsageError("--schema applies to --store only");
    return openIndex(options.index!);
  }
  return openPostgresIndex(postgresUrl("--store", options.store), options.schema === undefined ? {} : { schema: options.schema });
}
