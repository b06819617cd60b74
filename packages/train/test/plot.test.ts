import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogEntry } from "../src/log.js";
import { lossCurveSvg, niceTicks, writePlot } from "../src/plot.js";

const entries: LogEntry[] = Array.from({ length: 30 }, (_, i) => {
  const e: LogEntry = { step: i + 1, epoch: Math.floor(i / 10), loss: 2 / (i + 1), lr: 0.001, seconds: i };
  if ((i + 1) % 10 === 0) e.dev = { "P@1": 0.2 + i / 100, "MRR@10": 0.3 + i / 100 };
  return e;
});

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "crossrank-plot-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A minimal XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function checkWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, "");
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(body)) !== null) {
    const text = body.slice(last, m.index);
    expect(text, `stray markup before ${m[0]}`).not.toMatch(/[<>]|&(?!amp;|lt;|gt;|quot;|#)/);
    last = m.index + m[0].length;
    const [, close, name, , selfClose] = m;
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClose) stack.push(name!);
  }
  expect(body.slice(last).trim()).toBe("");
  expect(stack).toEqual([]);
}

describe("lossCurveSvg", () => {
  it("is well-formed SVG with the loss series, one dev series per measure, labelled axes and a title", () => {
    const svg = lossCurveSvg(entries, { title: "warmup <stage> & more" });
    checkWellFormed(svg);
    expect(svg).toMatch(/^<\?xml[^>]*>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain("warmup &lt;stage&gt; &amp; more");
    expect(svg).toContain('data-series="loss"');
    expect(svg).toContain('data-series="P@1"');
    expect(svg).toContain('data-series="MRR@10"');
    expect(svg).toMatch(/class="xlabel"[^>]*>step</);
    expect(svg).toMatch(/class="ylabel"[^>]*>loss</);
    expect(svg).toMatch(/class="y2label"[^>]*>dev</);
    const loss = /data-series="loss"[^>]* points="([^"]*)"/.exec(svg)![1]!.split(" ");
    expect(loss).toHaveLength(30);
    // The loss falls, so its y coordinate (downwards in SVG) grows.
    const ys = loss.map((p) => Number(p.split(",")[1]));
    expect(ys[29]).toBeGreaterThan(ys[0]!);
    // Three dev points per measure (epochs 0, 1, 2), as markers.
    const dev = svg.slice(svg.indexOf('data-series="P@1"'));
    expect(dev.slice(0, dev.indexOf("</g>")).match(/<circle /g)).toHaveLength(3);
  });

  it("without dev measures draws a single axis", () => {
    const svg = lossCurveSvg(entries.map(({ dev: _dev, ...e }) => e));
    checkWellFormed(svg);
    expect(svg).not.toContain("y2label");
    expect(svg).toContain('data-series="loss"');
  });

  it("handles an empty log, constant values and many points", () => {
    checkWellFormed(lossCurveSvg([]));
    expect(lossCurveSvg([])).toContain("no data");
    checkWellFormed(lossCurveSvg([{ step: 1, epoch: 0, loss: 1, lr: 0, seconds: 0 }]));
    const many = Array.from({ length: 10_000 }, (_, i) => ({ step: i + 1, epoch: 0, loss: Math.exp(-i / 3000), lr: 0, seconds: 0 }));
    const svg = lossCurveSvg(many, { maxPoints: 500 });
    expect(/data-series="loss"[^>]* points="([^"]*)"/.exec(svg)![1]!.split(" ")).toHaveLength(500);
  });

  it("niceTicks gives round steps covering the range", () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.13, 0.87, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = niceTicks(3, 3, 5);
    expect(t[0]).toBeLessThanOrEqual(3);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(3);
  });
});

describe("writePlot", () => {
  it("writes .svg, and .png through sharp", async () => {
    await writePlot(join(root, "plot.svg"), entries);
    expect(await readFile(join(root, "plot.svg"), "utf8")).toBe(lossCurveSvg(entries));
    await writePlot(join(root, "plot.png"), entries);
    const png = await readFile(join(root, "plot.png"));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect((await stat(join(root, "plot.png"))).size).toBeGreaterThan(1000);
    await expect(writePlot(join(root, "plot.jpg"), entries)).rejects.toThrow(/\.svg or \.png/);
  });
});
