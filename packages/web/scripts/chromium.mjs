/**
 * A headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: no
 * port, no WebSocket, no npm package): open a URL, evaluate expressions in the page, collect
 * console messages and exceptions. For the smoke test and the size measurement of the built pages.
 */
import { spawn } from "node:child_process";

/** Starts Chromium ($CHROMIUM or "chromium") on about:blank; resolves to a page handle. */
export async function launchChromium() {
  const binary = process.env.CHROMIUM ?? "chromium";
  const child = spawn(binary, ["--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run", "--user-data-dir=/tmp/crossrank-chromium", "about:blank"], {
    stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"],
  });
  const toBrowser = child.stdio[3];
  const fromBrowser = child.stdio[4];
  let nextId = 1;
  const pending = new Map();
  const listeners = [];
  let buffer = "";
  fromBrowser.on("data", (data) => {
    buffer += data.toString("utf8");
    let end;
    while ((end = buffer.indexOf("\0")) >= 0) {
      const message = JSON.parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
      if (message.id !== undefined && pending.has(message.id)) {
        const { resolve, reject } = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) reject(new Error(`${message.error.message}`));
        else resolve(message.result);
      } else for (const l of listeners) l(message);
    }
  });
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  const { targetInfos } = await send("Target.getTargets");
  const page = targetInfos.find((t) => t.type === "page");
  const { sessionId } = await send("Target.attachToTarget", { targetId: page.targetId, flatten: true });
  const console_ = [];
  listeners.push((m) => {
    if (m.sessionId !== sessionId) return;
    if (m.method === "Runtime.consoleAPICalled") console_.push({ type: m.params.type, text: m.params.args.map((a) => a.value ?? a.description ?? "").join(" ") });
    if (m.method === "Runtime.exceptionThrown") console_.push({ type: "exception", text: m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text });
    if (m.method === "Log.entryAdded") console_.push({ type: m.params.entry.level, text: `${m.params.entry.text} ${m.params.entry.url ?? ""}`.trim() });
  });
  await send("Runtime.enable", {}, sessionId);
  await send("Log.enable", {}, sessionId);
  await send("Page.enable", {}, sessionId);
  return {
    console: console_,
    goto: (url) => send("Page.navigate", { url }, sessionId),
    /** The value of `expression` (awaited when it is a promise); throws with the page's exception. */
    async evaluate(expression) {
      const r = await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId);
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
      return r.result.value;
    },
    /** Polls `expression` until it is truthy (or `timeoutMs` passes: an Error). */
    async waitFor(expression, timeoutMs = 120_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const v = await this.evaluate(expression).catch(() => undefined);
        if (v) return v;
        if (Date.now() > until) throw new Error(`timed out waiting for ${expression}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    close: async () => {
      await send("Browser.close").catch(() => undefined);
      child.kill();
    },
  };
}
