/**
 * A glossary from the Unicode CLDR data that Node's `Intl` carries (full ICU is built into Node):
 * names of languages, countries and currencies, calendar words (months, weekdays, "year",
 * "hour"…), relative times ("yesterday", "in 3 days", "last week") and measures ("5 kilometers").
 * Every entry is the same concept written in `lang` and in English, so the list is parallel text
 * of everyday words that neither Debian's dictionaries nor its software strings hold well, in
 * every language ICU knows (Korean, Ukrainian, Greek and Arabic as well as German). No download:
 * the data is in the Node binary, so the glossary is what the running Node's ICU version says.
 */

/** One glossary entry: `source` in the requested language, `target` in English. */
export interface CldrEntry {
  source: string;
  target: string;
  /** What it names: `language`, `region`, `currency`, `field`, `month`, `weekday`, `relative`, `unit`. */
  kind: string;
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const FIELDS = ["era", "year", "quarter", "month", "weekOfYear", "weekday", "day", "dayPeriod", "hour", "minute", "second", "timeZoneName"] as const;
const RELATIVE_UNITS = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"] as const;
const RELATIVE_VALUES = [-2, -1, 0, 1, 2, 3];
const UNIT_VALUES = [1, 5];

/** Every two-letter code (`aa`…`zz` or `AA`…`ZZ`). */
function twoLetterCodes(upper: boolean): string[] {
  const out: string[] = [];
  for (const a of LETTERS) for (const b of LETTERS) out.push(upper ? a + b : (a + b).toLowerCase());
  return out;
}

/**
 * The CLDR glossary of `lang` (a BCP 47 tag: `de`, `pt-BR`, `zh-CN`) against English. Names ICU
 * does not have in `lang` (it falls back to the code, or to English) are left out, and so are
 * entries whose two sides are equal. Throws for a tag `Intl` rejects.
 */
export function cldrGlossary(lang: string): CldrEntry[] {
  const [canonical] = Intl.getCanonicalLocales(lang);
  if (canonical === undefined) throw new Error(`cldrGlossary: not a language tag: ${JSON.stringify(lang)}`);
  const out: CldrEntry[] = [];
  const seen = new Set<string>();
  const add = (kind: string, source: string | undefined, target: string | undefined, code?: string) => {
    if (source === undefined || target === undefined || source === code || target === code) return;
    if (source.toLowerCase() === target.toLowerCase()) return;
    const key = `${source}\t${target}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ source, target, kind });
  };
  const names = (type: Intl.DisplayNamesType, codes: readonly string[], kind: string) => {
    const here = new Intl.DisplayNames([canonical], { type, fallback: "code" });
    const en = new Intl.DisplayNames(["en"], { type, fallback: "code" });
    for (const code of codes) add(kind, here.of(code), en.of(code), code);
  };
  names("language", twoLetterCodes(false), "language");
  names("region", twoLetterCodes(true), "region");
  names("currency", Intl.supportedValuesOf("currency"), "currency");
  names("dateTimeField", FIELDS, "field");

  // Months and weekdays: formatted from fixed dates (UTC), so the result does not depend on the clock.
  for (const [kind, options, dates] of [
    ["month", { month: "long" }, Array.from({ length: 12 }, (_, m) => Date.UTC(2024, m, 15))],
    ["weekday", { weekday: "long" }, Array.from({ length: 7 }, (_, d) => Date.UTC(2024, 0, 1 + d))],
  ] as const) {
    const here = new Intl.DateTimeFormat(canonical, { ...options, timeZone: "UTC" });
    const en = new Intl.DateTimeFormat("en", { ...options, timeZone: "UTC" });
    for (const date of dates) add(kind, here.format(date), en.format(date));
  }

  const relHere = new Intl.RelativeTimeFormat(canonical, { numeric: "auto" });
  const relEn = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const unit of RELATIVE_UNITS) for (const v of RELATIVE_VALUES) add("relative", relHere.format(v, unit), relEn.format(v, unit));

  for (const unit of Intl.supportedValuesOf("unit")) {
    const here = new Intl.NumberFormat(canonical, { style: "unit", unit, unitDisplay: "long" });
    const en = new Intl.NumberFormat("en", { style: "unit", unit, unitDisplay: "long" });
    for (const v of UNIT_VALUES) add("unit", here.format(v), en.format(v));
  }
  return out;
}
