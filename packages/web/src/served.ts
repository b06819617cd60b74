/**
 * The entry of the page `crossrank serve` hands out at `/`: the server's own JSON API is the
 * backend. A server started with a bearer token answers 401 until the page sends it: the page then
 * asks for it once and keeps it for this tab (sessionStorage).
 */
import { mountApp } from "./page/app.js";
import "./page/style.css";
import { createServerBackend } from "./server-backend.js";

const TOKEN_KEY = "crossrank-token";

async function start(root: HTMLElement): Promise<void> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const probe = await fetch("/stats", { headers }).catch(() => undefined);
  if (probe?.status === 401) {
    askForToken(root, token !== null);
    return;
  }
  await mountApp(root, createServerBackend("", headers));
}

function askForToken(root: HTMLElement, wrong: boolean): void {
  const form = document.createElement("form");
  form.innerHTML = `<h1>crossrank — see why</h1>
<p>${wrong ? "That token was not accepted." : "This server needs a bearer token (crossrank serve --token)."}</p>
<div class="field"><label for="token">Token</label><input id="token" name="token" type="password" autocomplete="current-password" required></div>
<button type="submit">Continue</button>`;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, (form.elements.namedItem("token") as HTMLInputElement).value);
    void start(root);
  });
  root.replaceChildren(form);
}

const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");
void start(root);
