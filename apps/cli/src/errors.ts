/**
 * An error in what the user asked for (a flag, a file's content): the CLI prints its message as
 * one line and exits with status 1, without a stack trace.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses a comma-separated flag value into trimmed, non-empty items. */
export function list(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Parses a positive integer flag value, naming the flag when it is not one. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got "${value}"`);
    return n;
  };
}

/**
 * Parses `key=value` pairs (repeatable flag) into a parameter map; numbers and booleans are typed
 * so rankers receive `k1: 0.9`, not `"0.9"`.
 */
export function collectParam(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new UsageError(`--param expects key=value, got "${value}"`);
  const key = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1).trim();
  const parsed: unknown =
    raw === "true" ? true : raw === "false" ? false : raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { ...previous, [key]: parsed };
}
