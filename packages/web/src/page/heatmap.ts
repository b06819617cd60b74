/**
 * A token-by-token matrix drawn on a canvas, with the query tokens as row labels and the document
 * tokens as column labels. The labels are buttons: pointing at one (or focusing it from the
 * keyboard) selects its row or column, which the page mirrors in the other heat map and in the
 * list of pairs. Cells are coloured on a perceptually ordered ramp (viridis' end points and middle)
 * from the smallest to the largest value.
 */

/** A selected row (query token) or column (document token); null: none. */
export type Selection = { axis: "row" | "col"; index: number } | null;

export interface HeatmapOptions {
  /** The figure's caption, also the canvas' accessible name with the sizes. */
  title: string;
  rows: readonly string[];
  cols: readonly string[];
  /** [row][col]. */
  values: readonly (readonly number[])[];
  /** Called when the pointer or the keyboard selects a row or column (null when it leaves). */
  onSelect: (selection: Selection) => void;
}

/** Pixels per cell. */
export const CELL = 18;

/** viridis at 0, 0.5 and 1, interpolated linearly between: dark purple → teal → yellow. */
const RAMP: readonly [number, number, number][] = [
  [68, 1, 84],
  [33, 145, 140],
  [253, 231, 37],
];

export function rampColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!;
  const b = RAMP[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

export class Heatmap {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly min: number;
  private readonly max: number;
  private selection: Selection = null;
  private readonly rowButtons: HTMLButtonElement[];
  private readonly colButtons: HTMLButtonElement[];

  constructor(private readonly options: HeatmapOptions) {
    const { rows, cols, values } = options;
    const flat = values.flat();
    this.min = Math.min(...flat);
    this.max = Math.max(...flat);
    const figure = document.createElement("figure");
    figure.className = "heatmap";
    const caption = document.createElement("figcaption");
    caption.textContent = options.title;
    const grid = document.createElement("div");
    grid.className = "heatmap-grid";
    grid.style.gridTemplateColumns = `auto ${cols.length * CELL}px`;
    grid.style.gridTemplateRows = `auto ${rows.length * CELL}px`;

    const corner = document.createElement("div");
    corner.className = "corner";
    corner.textContent = "query ↓ / document →";
    const colLabels = document.createElement("div");
    colLabels.className = "col-labels";
    colLabels.setAttribute("role", "group");
    colLabels.setAttribute("aria-label", `${options.title}: document tokens`);
    this.colButtons = cols.map((token, j) => this.label(token, `document token ${j + 1} of ${cols.length}: ${token}`, { axis: "col", index: j }));
    colLabels.append(...this.colButtons);
    const rowLabels = document.createElement("div");
    rowLabels.className = "row-labels";
    rowLabels.setAttribute("role", "group");
    rowLabels.setAttribute("aria-label", `${options.title}: query tokens`);
    this.rowButtons = rows.map((token, i) => this.label(token, `query token ${i + 1} of ${rows.length}: ${token}`, { axis: "row", index: i }));
    rowLabels.append(...this.rowButtons);

    this.canvas = document.createElement("canvas");
    this.canvas.width = cols.length * CELL;
    this.canvas.height = rows.length * CELL;
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `${options.title}: ${rows.length} query tokens by ${cols.length} document tokens, from ${format(this.min)} to ${format(this.max)}`);
    this.canvas.addEventListener("pointermove", (event) => {
      const rect = this.canvas.getBoundingClientRect();
      const i = Math.floor(((event.clientY - rect.top) / rect.height) * rows.length);
      if (i >= 0 && i < rows.length) options.onSelect({ axis: "row", index: i });
    });
    this.canvas.addEventListener("pointerleave", () => options.onSelect(null));

    grid.append(corner, colLabels, rowLabels, this.canvas);
    const scroller = document.createElement("div");
    scroller.className = "heatmap-scroll";
    scroller.append(grid);
    const legend = document.createElement("p");
    legend.className = "legend";
    const [lr, lg, lb] = rampColor(0);
    const [hr, hg, hb] = rampColor(1);
    legend.innerHTML = `<span class="swatch" style="background:rgb(${lr},${lg},${lb})"></span> ${format(this.min)} <span class="swatch" style="background:rgb(${hr},${hg},${hb})"></span> ${format(this.max)}`;
    figure.append(caption, scroller, legend);
    this.element = figure;
    this.draw();
  }

  /**
   * Shows `selection` (dims every other row or column; null shows the whole matrix) and marks the
   * labels of the other axis in `partners` (the tokens the selected one moves most mass with).
   */
  select(selection: Selection, partners: readonly number[] = []): void {
    this.selection = selection;
    for (const [axis, buttons] of [
      ["row", this.rowButtons],
      ["col", this.colButtons],
    ] as const) {
      buttons.forEach((b, i) => {
        b.classList.toggle("selected", selection?.axis === axis && selection.index === i);
        b.classList.toggle("partner", selection !== null && selection.axis !== axis && partners.includes(i));
      });
    }
    this.draw();
  }

  private label(token: string, name: string, selection: NonNullable<Selection>): HTMLButtonElement {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "token";
    b.textContent = token;
    b.setAttribute("aria-label", name);
    const on = () => this.options.onSelect(selection);
    const off = () => this.options.onSelect(null);
    b.addEventListener("pointerenter", on);
    b.addEventListener("focus", on);
    b.addEventListener("pointerleave", off);
    b.addEventListener("blur", off);
    return b;
  }

  private draw(): void {
    const ctx = this.canvas.getContext("2d");
    if (ctx === null) return;
    const { values } = this.options;
    const span = this.max - this.min || 1;
    const image = ctx.createImageData(this.canvas.width, this.canvas.height);
    const s = this.selection;
    values.forEach((row, i) =>
      row.forEach((v, j) => {
        const [r, g, b] = rampColor((v - this.min) / span);
        // Outside the selection, cells fade towards white so the selected row or column stands out.
        const dim = s !== null && !(s.axis === "row" ? s.index === i : s.index === j);
        const fade = (c: number) => (dim ? Math.round(c + (255 - c) * 0.75) : c);
        for (let y = i * CELL; y < (i + 1) * CELL; y++) {
          for (let x = j * CELL; x < (j + 1) * CELL; x++) {
            const o = (y * this.canvas.width + x) * 4;
            image.data[o] = fade(r);
            image.data[o + 1] = fade(g);
            image.data[o + 2] = fade(b);
            image.data[o + 3] = 255;
          }
        }
      }),
    );
    ctx.putImageData(image, 0, 0);
  }
}

/** A number as the page shows it: 3 significant digits. */
export function format(v: number): string {
  return Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : String(v);
}
