// Node's file modules and sharp are imported by writeHeatmap, so that heatmapSvg (and a browser bundle of this package) needs neither.

/** A matrix to draw: row-major values (`Matrix` from this package fits, so do plans from the batched backends). */
export interface HeatmapMatrix {
  rows: number;
  cols: number;
  data: ArrayLike<number>;
}

/** One heatmap of a figure, e.g. the cost matrix or the transport plan. */
export interface HeatmapPanel {
  title: string;
  matrix: HeatmapMatrix;
  /** Colour scale: `viridis` (default) for costs, `blues` reads well for sparse plans. */
  palette?: "viridis" | "blues";
}

export interface HeatmapOptions {
  /** Row labels (query tokens), one per row; omitted rows get their index. */
  rowLabels?: readonly string[];
  /** Column labels (document tokens), one per column. */
  colLabels?: readonly string[];
  /** Figure title above the panels. */
  title?: string;
  /** Side of one cell in pixels; default fits the widest panel into about 900 px (4–28 px). */
  cellSize?: number;
}

const FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif";
const PALETTES: Record<NonNullable<HeatmapPanel["palette"]>, readonly (readonly [number, number, number])[]> = {
  // Matplotlib's viridis at 9 evenly spaced stops: perceptually uniform and readable in grey.
  viridis: [
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
  ],
  blues: [
    [247, 251, 255], [222, 235, 247], [198, 219, 239], [158, 202, 225], [107, 174, 214],
    [66, 146, 198], [33, 113, 181], [8, 81, 156], [8, 48, 107],
  ],
};

/**
 * Draws matrices as labelled heatmaps side by side, each with its own colour-scale legend (min and
 * max of that matrix), as the LM-EMD study's "president / USA" figure shows the cost and the
 * transport plan of one query–document pair. Rows are labelled with `rowLabels`, columns with
 * `colLabels` (rotated); labels are dropped when cells are too small to carry them.
 */
export function heatmapSvg(panels: readonly HeatmapPanel[], options: HeatmapOptions = {}): string {
  if (panels.length === 0) throw new Error("heatmap: nothing to draw (no panels)");
  const rows = panels[0]!.matrix.rows;
  const cols = panels[0]!.matrix.cols;
  for (const panel of panels) {
    const { rows: r, cols: c, data } = panel.matrix;
    if (r !== rows || c !== cols) throw new Error(`heatmap: panel "${panel.title}" is ${r}×${c}, expected ${rows}×${cols} like the first`);
    if (data.length !== r * c) throw new Error(`heatmap: panel "${panel.title}" has ${data.length} values for ${r}×${c}`);
    if (r === 0 || c === 0) throw new Error(`heatmap: panel "${panel.title}" is empty`);
  }
  checkLabels(options.rowLabels, rows, "rowLabels");
  checkLabels(options.colLabels, cols, "colLabels");

  const cell = options.cellSize ?? Math.max(4, Math.min(28, Math.floor(900 / Math.max(cols, rows))));
  const showRowLabels = cell >= 9;
  const showColLabels = cell >= 9;
  const fontSize = Math.min(12, Math.max(8, cell - 4));
  const rowLabels = Array.from({ length: rows }, (_, i) => options.rowLabels?.[i] ?? String(i));
  const colLabels = Array.from({ length: cols }, (_, j) => options.colLabels?.[j] ?? String(j));
  const labelWidth = (labels: string[]) => Math.ceil(Math.max(...labels.map((l) => l.length)) * fontSize * 0.62) + 8;
  const left = showRowLabels ? Math.min(220, labelWidth(rowLabels)) : 12;
  // Column labels are rotated by −60°, so their vertical extent is length·sin(60°).
  const top = (options.title ? 34 : 10) + 22 + (showColLabels ? Math.min(200, Math.ceil(labelWidth(colLabels) * 0.87)) : 4);
  const gridWidth = cols * cell;
  const gridHeight = rows * cell;
  const legendHeight = 46;
  const panelWidth = left + gridWidth + 24;
  const width = panelWidth * panels.length;
  const height = top + gridHeight + legendHeight + 10;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  if (options.title) {
    parts.push(`<text x="${width / 2}" y="22" font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(options.title)}</text>`);
  }
  panels.forEach((panel, p) => {
    const x0 = p * panelWidth + left;
    const { data } = panel.matrix;
    const { min, max } = range(data);
    const colours = PALETTES[panel.palette ?? "viridis"];
    parts.push(
      `<text x="${x0 + gridWidth / 2}" y="${top - (showColLabels ? Math.min(200, Math.ceil(labelWidth(colLabels) * 0.87)) : 4) - 8}" font-size="13" text-anchor="middle">${escapeXml(panel.title)}</text>`,
    );
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const value = data[i * cols + j]!;
        const t = max > min ? (value - min) / (max - min) : 0.5;
        parts.push(
          `<rect x="${x0 + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${colour(colours, t)}"><title>${escapeXml(`${rowLabels[i]} → ${colLabels[j]}: ${format(value)}`)}</title></rect>`,
        );
      }
    }
    if (showRowLabels) {
      rowLabels.forEach((label, i) => {
        parts.push(
          `<text x="${x0 - 4}" y="${top + i * cell + cell / 2}" font-size="${fontSize}" text-anchor="end" dominant-baseline="middle">${escapeXml(label)}</text>`,
        );
      });
    }
    if (showColLabels) {
      colLabels.forEach((label, j) => {
        const x = x0 + j * cell + cell / 2;
        parts.push(
          `<text x="${x}" y="${top - 4}" font-size="${fontSize}" transform="rotate(-60 ${x} ${top - 4})" text-anchor="start" dominant-baseline="middle">${escapeXml(label)}</text>`,
        );
      });
    }
    parts.push(...legend(x0, top + gridHeight + 12, Math.max(120, Math.min(gridWidth, 300)), colours, min, max, `${panel.title}-${p}`));
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/**
 * Writes the heatmap figure to `path`: SVG as drawn, or PNG (by the extension) rasterised at twice
 * the SVG's resolution with sharp (libvips + librsvg), so labels stay legible.
 */
export async function writeHeatmap(path: string, panels: readonly HeatmapPanel[], options: HeatmapOptions = {}): Promise<void> {
  const svg = heatmapSvg(panels, options);
  const [{ writeFile }, { extname }] = await Promise.all([import("node:fs/promises"), import("node:path")]);
  const extension = extname(path).toLowerCase();
  if (extension === ".svg") {
    await writeFile(path, svg);
  } else if (extension === ".png") {
    const { default: sharp } = await import("sharp");
    await sharp(Buffer.from(svg), { density: 144 }).png().toFile(path);
  } else {
    throw new Error(`heatmap: ${path}: unsupported extension "${extension}" (use .png or .svg)`);
  }
}

function legend(
  x: number,
  y: number,
  width: number,
  colours: readonly (readonly [number, number, number])[],
  min: number,
  max: number,
  id: string,
): string[] {
  const gradientId = `scale-${id.replace(/[^\w-]/g, "_")}`;
  const stops = colours.map(
    (c, i) => `<stop offset="${(i / (colours.length - 1)).toFixed(3)}" stop-color="rgb(${c[0]},${c[1]},${c[2]})"/>`,
  );
  return [
    `<defs><linearGradient id="${gradientId}" x1="0" x2="1" y1="0" y2="0">${stops.join("")}</linearGradient></defs>`,
    `<rect x="${x}" y="${y}" width="${width}" height="12" fill="url(#${gradientId})" stroke="#444" stroke-width="0.5"/>`,
    `<text x="${x}" y="${y + 26}" font-size="11" text-anchor="start">${escapeXml(format(min))}</text>`,
    `<text x="${x + width}" y="${y + 26}" font-size="11" text-anchor="end">${escapeXml(format(max))}</text>`,
  ];
}

function colour(stops: readonly (readonly [number, number, number])[], t: number): string {
  const position = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(position));
  const f = position - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  const mix = (k: 0 | 1 | 2) => Math.round(a[k] + (b[k] - a[k]) * f);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}

function range(data: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) throw new Error(`heatmap: value ${i} is ${v}; only finite values can be drawn`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

function checkLabels(labels: readonly string[] | undefined, expected: number, name: string): void {
  if (labels !== undefined && labels.length !== expected) {
    throw new Error(`heatmap: ${name} has ${labels.length} labels for ${expected} ${name === "rowLabels" ? "rows" : "columns"}`);
  }
}

function format(value: number): string {
  return Math.abs(value) >= 0.01 || value === 0 ? value.toFixed(3) : value.toExponential(2);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}
