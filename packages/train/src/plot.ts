/**
 * Plot of a training log: the loss per update on the left axis and the dev measures (at epoch
 * ends) on a right axis, as a self-contained SVG; PNG through sharp.
 */
import { rename, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import type { LogEntry } from "./log.js";

/** Options of {@link lossCurveSvg}. */
export interface PlotOptions {
  /** Title (default "Training loss and dev measures"). */
  title?: string;
  /** Size in pixels (default 800 × 450). */
  width?: number;
  height?: number;
  /** More loss points than this are averaged in consecutive buckets (default 2000). */
  maxPoints?: number;
}

const LOSS_COLOR = "#1f77b4";
const DEV_COLORS = ["#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/**
 * An SVG line chart of `entries`: loss against step (left axis, labelled "loss"), each dev measure
 * against the step it was evaluated at (right axis, labelled "dev", one coloured line with markers
 * per measure), x axis "step", a title and a legend. Entries with a non-finite loss are skipped.
 */
export function lossCurveSvg(entries: readonly LogEntry[], options: PlotOptions = {}): string {
  const width = options.width ?? 800;
  const height = options.height ?? 450;
  const title = options.title ?? "Training loss and dev measures";
  const maxPoints = options.maxPoints ?? 2000;
  const m = { left: 70, right: 70, top: 44, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;

  const loss = downsample(
    entries.filter((e) => Number.isFinite(e.loss) && Number.isFinite(e.step)).map((e) => [e.step, e.loss] as [number, number]),
    maxPoints,
  );
  const measures: string[] = [];
  for (const e of entries) for (const k of Object.keys(e.dev ?? {})) if (!measures.includes(k)) measures.push(k);
  const dev = measures.map((name) => ({
    name,
    points: entries.flatMap((e) => {
      const v = e.dev?.[name];
      return typeof v === "number" && Number.isFinite(v) ? [[e.step, v] as [number, number]] : [];
    }),
  }));

  const allSteps = [...loss.map((p) => p[0]), ...dev.flatMap((d) => d.points.map((p) => p[0]))];
  const xTicks = niceTicks(0, allSteps.length > 0 ? Math.max(...allSteps) : 1, 6);
  const lossValues = loss.map((p) => p[1]);
  const yTicks = niceTicks(lossValues.length > 0 ? Math.min(...lossValues) : 0, lossValues.length > 0 ? Math.max(...lossValues) : 1, 5);
  const devValues = dev.flatMap((d) => d.points.map((p) => p[1]));
  const y2Ticks = devValues.length > 0 ? niceTicks(Math.min(...devValues), Math.max(...devValues), 5) : undefined;

  const [x0, x1] = [first(xTicks), last(xTicks)];
  const [y0, y1] = [first(yTicks), last(yTicks)];
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0 || 1)) * pw;
  const sy = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0 || 1)) * ph;
  const sy2 = (y: number): number => (y2Ticks ? m.top + ph - ((y - first(y2Ticks)) / (last(y2Ticks) - first(y2Ticks) || 1)) * ph : 0);

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text class="title" x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`);

  // Grid and axes.
  out.push(`<g class="grid" stroke="#e5e5e5" stroke-width="1">`);
  for (const t of yTicks) out.push(`<line x1="${f(m.left)}" y1="${f(sy(t))}" x2="${f(m.left + pw)}" y2="${f(sy(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${f(sx(t))}" y1="${f(m.top)}" x2="${f(sx(t))}" y2="${f(m.top + ph)}"/>`);
  out.push(`</g>`);
  out.push(`<g class="axes" stroke="#333333" stroke-width="1" fill="none">`);
  out.push(`<line x1="${f(m.left)}" y1="${f(m.top + ph)}" x2="${f(m.left + pw)}" y2="${f(m.top + ph)}"/>`);
  out.push(`<line x1="${f(m.left)}" y1="${f(m.top)}" x2="${f(m.left)}" y2="${f(m.top + ph)}"/>`);
  if (y2Ticks) out.push(`<line x1="${f(m.left + pw)}" y1="${f(m.top)}" x2="${f(m.left + pw)}" y2="${f(m.top + ph)}"/>`);
  out.push(`</g>`);
  out.push(`<g class="ticks" fill="#333333">`);
  for (const t of xTicks) out.push(`<text x="${f(sx(t))}" y="${f(m.top + ph + 18)}" text-anchor="middle">${esc(label(t, xTicks))}</text>`);
  for (const t of yTicks) out.push(`<text x="${f(m.left - 6)}" y="${f(sy(t) + 4)}" text-anchor="end">${esc(label(t, yTicks))}</text>`);
  if (y2Ticks) for (const t of y2Ticks) out.push(`<text x="${f(m.left + pw + 6)}" y="${f(sy2(t) + 4)}" text-anchor="start">${esc(label(t, y2Ticks))}</text>`);
  out.push(`</g>`);
  out.push(`<text class="xlabel" x="${f(m.left + pw / 2)}" y="${f(height - 12)}" text-anchor="middle">step</text>`);
  out.push(`<text class="ylabel" x="18" y="${f(m.top + ph / 2)}" text-anchor="middle" transform="rotate(-90 18 ${f(m.top + ph / 2)})" fill="${LOSS_COLOR}">loss</text>`);
  if (y2Ticks) {
    const x = width - 14;
    out.push(`<text class="y2label" x="${x}" y="${f(m.top + ph / 2)}" text-anchor="middle" transform="rotate(90 ${x} ${f(m.top + ph / 2)})">dev</text>`);
  }

  // Series.
  if (loss.length > 0) {
    out.push(`<polyline class="series loss" data-series="loss" fill="none" stroke="${LOSS_COLOR}" stroke-width="1.5" points="${loss.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(" ")}"/>`);
  }
  dev.forEach((d, i) => {
    const color = DEV_COLORS[i % DEV_COLORS.length] as string;
    out.push(`<g class="series dev" data-series="${esc(d.name)}" stroke="${color}" fill="${color}">`);
    out.push(`<polyline fill="none" stroke-width="1.5" points="${d.points.map(([x, y]) => `${f(sx(x))},${f(sy2(y))}`).join(" ")}"/>`);
    for (const [x, y] of d.points) out.push(`<circle cx="${f(sx(x))}" cy="${f(sy2(y))}" r="3"/>`);
    out.push(`</g>`);
  });

  // Legend.
  const legend = [...(loss.length > 0 ? [{ name: "loss", color: LOSS_COLOR }] : []), ...dev.map((d, i) => ({ name: `dev ${d.name}`, color: DEV_COLORS[i % DEV_COLORS.length] as string }))];
  if (legend.length > 0) {
    const lx = m.left + pw - 150;
    out.push(`<g class="legend">`);
    out.push(`<rect x="${f(lx - 8)}" y="${f(m.top + 6)}" width="150" height="${legend.length * 18 + 8}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
    legend.forEach((l, i) => {
      const y = m.top + 20 + i * 18;
      out.push(`<line x1="${f(lx)}" y1="${f(y - 4)}" x2="${f(lx + 20)}" y2="${f(y - 4)}" stroke="${l.color}" stroke-width="2"/>`);
      out.push(`<text x="${f(lx + 26)}" y="${f(y)}">${esc(l.name)}</text>`);
    });
    out.push(`</g>`);
  }
  if (loss.length === 0 && dev.length === 0) {
    out.push(`<text x="${f(m.left + pw / 2)}" y="${f(m.top + ph / 2)}" text-anchor="middle" fill="#777777">no data</text>`);
  }
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}

/**
 * Writes the plot of `entries` to `path`: `.svg` as text, `.png` rendered by sharp (throws when
 * sharp cannot be loaded). Atomic (temporary file + rename).
 */
export async function writePlot(path: string, entries: readonly LogEntry[], options: PlotOptions = {}): Promise<void> {
  const svg = lossCurveSvg(entries, options);
  const ext = extname(path).toLowerCase();
  const tmp = `${path}.${process.pid}.tmp`;
  if (ext === ".svg") {
    await writeFile(tmp, svg);
  } else if (ext === ".png") {
    const sharp = (await import("sharp")).default;
    await sharp(Buffer.from(svg), { density: 144 }).png().toFile(tmp);
  } else {
    throw new Error(`writePlot: ${path}: use a .svg or .png file name`);
  }
  await rename(tmp, path);
}

/** Consecutive buckets averaged down to at most `max` points. */
function downsample(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max || max < 1) return points;
  const out: [number, number][] = [];
  const size = points.length / max;
  for (let b = 0; b < max; b++) {
    const from = Math.floor(b * size);
    const to = Math.floor((b + 1) * size);
    let sx = 0;
    let sy = 0;
    for (let i = from; i < to; i++) {
      const p = points[i] as [number, number];
      sx += p[0];
      sy += p[1];
    }
    out.push([sx / (to - from), sy / (to - from)]);
  }
  return out;
}

/** About `count` round tick values covering [min, max] (1, 2, 5 × 10^k steps). */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const stepSize = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const lo = Math.floor(min / stepSize) * stepSize;
  const hi = Math.ceil(max / stepSize) * stepSize;
  const ticks: number[] = [];
  for (let i = 0; lo + i * stepSize <= hi + stepSize * 1e-9; i++) ticks.push(Number((lo + i * stepSize).toPrecision(12)));
  return ticks;
}

function label(t: number, ticks: number[]): string {
  const stepSize = ticks.length > 1 ? Math.abs((ticks[1] as number) - (ticks[0] as number)) : 1;
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(stepSize) + 1e-9)));
  if (Math.abs(t) < stepSize * 1e-6) t = 0;
  const abs = Math.abs(t);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-4)) return t.toExponential(1);
  return t.toFixed(decimals);
}

function first(a: number[]): number {
  return a[0] as number;
}

function last(a: number[]): number {
  return a[a.length - 1] as number;
}

function f(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
