// app.js runs the dashboard: it routes #view/arg… to a view, asks for the API token
// when the host wants one, and refreshes the view by short polling.
//
// Short polling, not Server-Sent Events: EventSource cannot send an Authorization
// header, so a stream would need the token in its URL or a cookie; polling uses the
// same bearer-token requests as everything else, costs one small GET every few seconds
// while the tab is visible, and stops when it is hidden.

import { onTokenNeeded } from "./api.js";
import { h } from "./dom.js";
import { scheduleView } from "./form.js";
import { overviewView, callsView, historyView, seriesView, pluginsView, errorBox } from "./views.js";

const POLL_MS = 3000;

const views = {
  overview: overviewView,
  calls: callsView,
  history: historyView,
  series: seriesView,
  plugins: pluginsView,
  schedule: scheduleView,
};

const main = document.getElementById("main");
const live = document.getElementById("live");
let current = null;

onTokenNeeded((reason) => {
  const d = document.getElementById("token-dialog");
  const err = d.querySelector("#token-error");
  const input = d.querySelector("#token-input");
  err.hidden = !reason;
  err.textContent = reason;
  input.value = "";
  live.textContent = "Waiting for a token";
  if (!d.open) d.showModal();
  input.focus();
  return new Promise((resolve) => {
    const submit = (ev) => {
      if (!input.value.trim()) {
        ev.preventDefault();
        return;
      }
      d.removeEventListener("submit", submit);
      resolve(input.value.trim());
    };
    d.addEventListener("submit", submit);
  });
});
// Escape does not close the token dialog: without a token there is nothing to show.
document.getElementById("token-dialog").addEventListener("cancel", (ev) => ev.preventDefault());

// refresh redraws the current view, unless the user is working inside its results
// (a focused button, an open menu) or a refresh is already under way.
async function refresh() {
  const view = current;
  if (!view || view.busy) return;
  view.busy = true;
  try {
    await view.refresh();
    if (view === current) live.textContent = view.static ? "" : `Updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    if (view === current) {
      const box = main.querySelector(".results") || main;
      box.replaceChildren(errorBox(e));
      live.textContent = "Update failed";
    }
  } finally {
    view.busy = false;
  }
}

function route() {
  const [name, ...args] = location.hash.slice(1).split("/").map(decodeURIComponent);
  const make = views[name] || views.overview;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#${views[name] ? name : "overview"}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.replaceChildren(h("p", { text: "Loading…" }));
  current = make(main, args);
  document.title = `${main.querySelector("h1")?.textContent || "Dashboard"} · futurecalls`;
  refresh();
}

window.addEventListener("hashchange", () => {
  route();
  main.focus();
});
let ticks = 0;
setInterval(() => {
  ticks += 1;
  if (document.hidden || current?.static || ticks % (current?.pollEvery || 1) !== 0) return;
  const active = document.activeElement;
  const results = main.querySelector(".results");
  if (results && active && results.contains(active)) return;
  refresh();
}, POLL_MS);
route();
