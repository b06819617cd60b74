/**
 * The explanation page: search the collection in any language, compare two rankers, and open a
 * document to see LM-EMD's cost matrix and transport plan between the query and it — which query
 * token paid for which document token. The page talks to a {@link SearchBackend} only, so the same
 * code runs against `crossrank serve` and wholly in the browser.
 */
import type { BackendError, BackendInfo, Explanation, Hit, SearchBackend, SearchRequest } from "../backend.js";
import { detectLanguage, LANGUAGES } from "./detect.js";
import { format, Heatmap, type Selection } from "./heatmap.js";

/** Documents per result list. */
const K = 10;
/** Characters of a document's text shown under its title. */
const SNIPPET = 220;
/** Pairs listed for a selected token. */
const PAIRS_SHOWN = 8;
/** Labels of the other side marked for a selected token: those it moves most mass with. */
const PARTNERS_MARKED = 3;

const RANKER_LABELS: Readonly<Record<string, string>> = {
  hybrid: "hybrid (lexical + bi-encoder)",
  bm25: "BM25",
  "bm25-psq": "BM25-PSQ (dictionary translations)",
  "bi-encoder": "bi-encoder",
};

/** A ranker choice of the form as the backend's request: LM-EMD re-ranking is `rerank` over the first stage, or the hybrid's dense stage re-ranked by LM-EMD. */
export function rankerRequest(ranker: string, rerank: boolean): Pick<SearchRequest, "ranker" | "params"> {
  if (!rerank) return { ranker };
  if (ranker === "hybrid") return { ranker: "hybrid", params: { second: "lm-emd" } };
  return { ranker: "rerank", params: { first: ranker, second: "lm-emd" } };
}

function rankerLabel(ranker: string, rerank: boolean): string {
  return `${RANKER_LABELS[ranker] ?? ranker}${rerank ? " + LM-EMD re-ranking" : ""}`;
}

/** What a hit is called on the page: its title, else its text's first line (a package description's synopsis), shortened. */
export function hitName(hit: Pick<Hit, "id" | "title" | "text">): string {
  const name = hit.title ?? hit.text.split("\n", 1)[0]!.trim();
  if (name === "") return hit.id;
  return name.length > 80 ? `${name.slice(0, 80)}…` : name;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function select(id: string, options: [string, string][], value: string): HTMLSelectElement {
  const s = el("select", { id, name: id });
  for (const [v, label] of options) s.append(el("option", { value: v }, label));
  s.value = value;
  return s;
}

/** Builds the page inside `root` and wires it to `backend`. Resolves once the backend's info is shown. */
export async function mountApp(root: HTMLElement, backend: SearchBackend): Promise<void> {
  root.replaceChildren();
  const status = el("p", { id: "status", role: "status", "aria-live": "polite" }, "Loading…");
  const query = el("input", { id: "query", name: "query", type: "search", required: "", autocomplete: "off", placeholder: "e.g. Werkzeug zum Komprimieren von Dateien" });
  const lang = select("lang", [["auto", "detect"], ...Object.entries(LANGUAGES).map(([code, l]): [string, string] => [code, `${l.name} (${code})`])], "auto");
  const ranker = select("ranker", [], "hybrid");
  const rerank = el("input", { id: "rerank", name: "rerank", type: "checkbox" });
  const compare = select("compare", [["none", "none"]], "none");
  const compareRerank = el("input", { id: "compare-rerank", name: "compare-rerank", type: "checkbox" });
  const submit = el("button", { type: "submit" }, "Search");
  const form = el(
    "form",
    { role: "search", "aria-label": "Search the collection" },
    el("div", { class: "field wide" }, el("label", { for: "query" }, "Query"), query),
    el("div", { class: "field" }, el("label", { for: "lang" }, "Query language"), lang),
    el("div", { class: "field" }, el("label", { for: "ranker" }, "Ranker"), ranker, el("label", { class: "check" }, rerank, " re-rank with LM-EMD")),
    el("div", { class: "field" }, el("label", { for: "compare" }, "Compare with"), compare, el("label", { class: "check" }, compareRerank, " re-rank with LM-EMD")),
    submit,
  );
  const results = el("div", { id: "results", class: "columns" });
  const explanation = el("section", { id: "explanation", "aria-label": "Explanation", hidden: "" });
  root.append(el("header", {}, el("h1", {}, "crossrank — see why"), el("p", { class: "lead" }, "Search across languages; open a result to see which query word paid for which document word (LM-EMD's transport plan).")), form, status, results, explanation);

  let info: BackendInfo;
  try {
    info = await backend.info();
  } catch (err) {
    status.textContent = `Could not reach the search backend: ${(err as Error).message}`;
    status.classList.add("error");
    return;
  }
  for (const r of info.rankers) ranker.append(el("option", { value: r }, RANKER_LABELS[r] ?? r));
  for (const r of info.rankers) compare.append(el("option", { value: r }, RANKER_LABELS[r] ?? r));
  ranker.value = info.rankers.includes("hybrid") ? "hybrid" : info.rankers[0]!;
  status.textContent = `${info.documents.toLocaleString("en")} documents${info.lang ? ` (${info.lang})` : ""}, ${info.mode === "server" ? "searched by crossrank serve" : "searched in this page"}.`;

  let lastQuery = "";
  let lastLang: string | undefined;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void run();
  });

  async function run(): Promise<void> {
    const text = query.value.trim();
    if (text === "") return;
    const detected = lang.value === "auto" ? detectLanguage(text) : lang.value;
    lastQuery = text;
    lastLang = detected;
    const langNote = lang.value === "auto" ? (detected ? `query language ${detected} (detected)` : "query language not detected") : `query language ${detected}`;
    const choices: { ranker: string; rerank: boolean }[] = [{ ranker: ranker.value, rerank: rerank.checked }];
    if (compare.value !== "none") choices.push({ ranker: compare.value, rerank: compareRerank.checked });
    status.classList.remove("error");
    status.textContent = `Searching… (${langNote})`;
    submit.disabled = true;
    explanation.hidden = true;
    try {
      const responses = await Promise.all(
        choices.map((c) =>
          patiently(
            () => backend.search({ query: text, k: K, ...rankerRequest(c.ranker, c.rerank), ...(detected ? { queryLang: detected } : {}) }),
            (attempt) => (status.textContent = `Still preparing the search (the first search in a language loads its dictionaries); asking again (${attempt} of ${RETRIES})…`),
          ),
        ),
      );
      results.replaceChildren(...responses.map((r, i) => resultList(rankerLabel(choices[i]!.ranker, choices[i]!.rerank), r.hits, r.took_ms, responses.length === 2 ? responses[1 - i]!.hits : undefined)));
      status.textContent = `${responses.map((r, i) => `${rankerLabel(choices[i]!.ranker, choices[i]!.rerank)}: ${r.hits.length} results in ${format(r.took_ms)} ms`).join("; ")} (${langNote}).`;
    } catch (err) {
      status.textContent = `Search failed: ${(err as Error).message}`;
      status.classList.add("error");
    } finally {
      submit.disabled = false;
    }
  }

  /** One ranker's results; with `other`, each hit says where the other ranker put it (or that it did not). */
  function resultList(title: string, hits: readonly Hit[], took: number, other: readonly Hit[] | undefined): HTMLElement {
    const heading = el("h2", {}, title);
    const section = el("section", { class: "result-list", "aria-label": `Results of ${title}` }, heading, el("p", { class: "took" }, `${hits.length} results, ${format(took)} ms`));
    if (hits.length === 0) {
      section.append(el("p", {}, "No document matches."));
      return section;
    }
    const list = el("ol", {});
    const otherRank = new Map((other ?? []).map((h) => [h.id, h.rank]));
    for (const hit of hits) {
      const name = hitName(hit);
      const explain = el("button", { type: "button", class: "explain", "aria-label": `Explain why ${name} ranks ${hit.rank}` }, "Explain");
      explain.addEventListener("click", () => void open(hit));
      const snippet = hit.text.length > SNIPPET ? `${hit.text.slice(0, SNIPPET)}…` : hit.text;
      const item = el(
        "li",
        { class: "hit", "data-id": hit.id },
        el("div", { class: "hit-head" }, el("span", { class: "hit-title" }, name), el("span", { class: "score", title: "score" }, format(hit.score))),
        el("p", { class: "snippet" }, snippet),
      );
      if (other !== undefined) {
        const r = otherRank.get(hit.id);
        const badge = el("span", { class: r === undefined ? "badge only" : r === hit.rank ? "badge same" : "badge moved" }, r === undefined ? "only here" : r === hit.rank ? "same rank" : `#${r} in the other`);
        item.querySelector(".hit-head")!.append(badge);
        if (r === undefined) item.classList.add("disagree");
      }
      item.append(explain);
      list.append(item);
    }
    section.append(list);
    return section;
  }

  let current: Hit | undefined;
  const gamma = el("input", { id: "gamma", name: "gamma", type: "number", min: "0.01", max: "10", step: "0.01", value: "0.1" });
  const marginals = select(
    "marginals",
    [
      ["uniform", "uniform"],
      ["idf", "idf (document tokens by their idf over the collection)"],
    ],
    "uniform",
  );
  for (const control of [gamma, marginals]) control.addEventListener("change", () => current && void open(current));

  async function open(hit: Hit): Promise<void> {
    current = hit;
    const g = Number(gamma.value);
    if (!(g > 0)) {
      status.textContent = "γ must be a number above 0.";
      status.classList.add("error");
      return;
    }
    status.classList.remove("error");
    status.textContent = `Computing the transport plan for ${hitName(hit)}…`;
    explanation.hidden = false;
    let e: Explanation;
    try {
      e = await backend.explain({ query: lastQuery, id: hit.id, gamma: g, marginals: marginals.value as "uniform" | "idf" });
    } catch (err) {
      status.textContent = `Explanation failed: ${(err as Error).message}`;
      status.classList.add("error");
      return;
    }
    renderExplanation(hit, e);
    status.textContent = `Explained ${hitName(hit)}: LM-EMD distance ${format(e.distance)} (γ ${format(g)}, ${marginals.value} marginals${lastLang ? `, query in ${lastLang}` : ""}).`;
  }

  function renderExplanation(hit: Hit, e: Explanation): void {
    const pairs = el("div", { id: "pairs", "aria-live": "polite" }, el("p", {}, "Point at a query token (or a document token) to see where its mass goes and what share of the total cost each pair carries."));
    let maps: Heatmap[] = [];
    const onSelect = (s: Selection) => {
      // The tokens of the other side that the selected one moves most mass with, marked on both maps.
      const partners = s === null ? [] : selectionPairs(e, s).slice(0, PARTNERS_MARKED).map((p) => p.index);
      for (const m of maps) m.select(s, partners);
      pairs.replaceChildren(...describeSelection(e, s));
    };
    const cost = new Heatmap({ title: "Cost (1 − cosine)", rows: e.queryTokens, cols: e.docTokens, values: e.cost, onSelect });
    const plan = new Heatmap({ title: "Transport plan", rows: e.queryTokens, cols: e.docTokens, values: e.plan, onSelect });
    maps = [cost, plan];
    const controls = el(
      "div",
      { class: "controls" },
      el("div", { class: "field" }, el("label", { for: "gamma" }, "γ (entropic regularisation)"), gamma),
      el("div", { class: "field" }, el("label", { for: "marginals" }, "Marginals"), marginals),
    );
    explanation.replaceChildren(
      el("h2", {}, `Why “${hitName(hit)}” for “${lastQuery}”`),
      el("p", { class: "distance" }, `LM-EMD distance Σ C⊙P = ${format(e.distance)}`),
      controls,
      el("div", { class: "maps" }, cost.element, plan.element),
      pairs,
    );
    explanation.scrollIntoView({ block: "start" });
  }
}

/** How many times a search the backend answered "not ready yet" (503) is asked again. */
const RETRIES = 12;

/**
 * `work()`, asked again while the backend answers 503 (its work goes on: the server's first search
 * in a language builds the dictionaries' translation table, which can outlast its timeout).
 */
async function patiently<T>(work: () => Promise<T>, onRetry: (attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if ((err as BackendError).status !== 503 || attempt > RETRIES) throw err;
      onRetry(attempt);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** The pairs of the selected token, largest transported mass first, with each pair's share of Σ C⊙P. */
export function selectionPairs(e: Explanation, s: NonNullable<Selection>): { index: number; token: string; mass: number; share: number }[] {
  const total = e.distance || 1;
  const out =
    s.axis === "row"
      ? e.docTokens.map((token, j) => ({ index: j, token, mass: e.plan[s.index]![j]!, share: (e.cost[s.index]![j]! * e.plan[s.index]![j]!) / total }))
      : e.queryTokens.map((token, i) => ({ index: i, token, mass: e.plan[i]![s.index]!, share: (e.cost[i]![s.index]! * e.plan[i]![s.index]!) / total }));
  return out.sort((a, b) => b.mass - a.mass);
}

function describeSelection(e: Explanation, s: Selection): Node[] {
  if (s === null) return [document.createTextNode("Point at a query token (or a document token) to see where its mass goes and what share of the total cost each pair carries.")];
  const token = s.axis === "row" ? e.queryTokens[s.index]! : e.docTokens[s.index]!;
  const own = s.axis === "row" ? e.queryMass[s.index]! : e.docMass[s.index]!;
  const heading = document.createElement("p");
  heading.textContent = `${s.axis === "row" ? "Query" : "Document"} token “${token}” carries ${format(own * 100)}% of the mass; it ${s.axis === "row" ? "sends it to" : "receives it from"}:`;
  const table = document.createElement("table");
  table.innerHTML = `<thead><tr><th scope="col">${s.axis === "row" ? "document" : "query"} token</th><th scope="col">mass moved</th><th scope="col">share of the cost</th></tr></thead>`;
  const body = document.createElement("tbody");
  for (const p of selectionPairs(e, s).slice(0, PAIRS_SHOWN)) {
    const tr = document.createElement("tr");
    for (const cell of [p.token, `${format(p.mass * 100)}%`, `${format(p.share * 100)}%`]) {
      const td = document.createElement("td");
      td.textContent = cell;
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  return [heading, table];
}
