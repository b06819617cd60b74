import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { heatmapSvg, writeHeatmap } from "../src/heatmap.js";

const plan = { rows: 2, cols: 3, data: [0.5, 0, 0, 0, 0.25, 0.25] };
const cost = { rows: 2, cols: 3, data: [0, 1, 2, 2, 1, 0] };

describe("heatmapSvg", () => {
  it("draws one cell per entry with its value, the labels and a legend per panel", () => {
    const svg = heatmapSvg(
      [{ title: "cost", matrix: cost }, { title: "plan", matrix: plan, palette: "blues" }],
      { rowLabels: ["president", "usa"], colLabels: ["obama", "<b>", "america"], title: "pair" },
    );
    expect(svg.match(/<rect x=/g)?.length).toBe(2 * 6 + 2); // 12 cells + 2 legend bars
    expect(svg).toContain("<title>usa → america: 0.250</title>");
    expect(svg).toContain("&lt;b&gt;"); // labels are escaped
    // The darkest viridis colour marks the minimum of the cost, the brightest its maximum.
    expect(svg).toContain('fill="rgb(68,1,84)"><title>president → obama: 0.000</title>');
    expect(svg).toContain('fill="rgb(253,231,37)"><title>president → america: 2.000</title>');
    expect(svg.match(/linearGradient id=/g)?.length).toBe(2);
  });

  it("rejects panels of different shapes and label counts that do not match", () => {
    expect(() => heatmapSvg([{ title: "a", matrix: cost }, { title: "b", matrix: { rows: 3, cols: 2, data: cost.data } }])).toThrow(
      'panel "b" is 3×2, expected 2×3',
    );
    expect(() => heatmapSvg([{ title: "a", matrix: cost }], { rowLabels: ["x"] })).toThrow("rowLabels has 1 labels for 2 rows");
    expect(() => heatmapSvg([{ title: "a", matrix: { rows: 1, cols: 2, data: [0, Number.NaN] } }])).toThrow("only finite values");
  });
});

describe("writeHeatmap", () => {
  it("rasterises to PNG at twice the SVG size", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crossrank-heatmap-"));
    const path = join(dir, "plan.png");
    await writeHeatmap(path, [{ title: "plan", matrix: plan }], { cellSize: 20 });
    const svg = heatmapSvg([{ title: "plan", matrix: plan }], { cellSize: 20 });
    const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
    const meta = await sharp(path).metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBe(2 * width);
  });

  it("refuses other formats", async () => {
    await expect(writeHeatmap("/tmp/x.jpg", [{ title: "plan", matrix: plan }])).rejects.toThrow('unsupported extension ".jpg"');
  });
});
