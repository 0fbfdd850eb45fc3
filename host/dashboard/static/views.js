// views.js holds the read views: overview, calls, history, recurring series and
// plugins. Each view builds its controls once and returns refresh(), which fetches its
// data from the API and redraws its results; the app calls it again while polling.

import { api, ApiError, plugins, query } from "./api.js";
import { h, time, json, field, badge, relative } from "./dom.js";
import { outcomeChart, OUTCOMES } from "./chart.js";

const confirmDialog = () => document.getElementById("confirm-dialog");

// confirm asks the user to confirm an action in a modal dialog.
export function confirm(text, okLabel) {
  const d = confirmDialog();
  d.querySelector("#confirm-text").textContent = text;
  d.querySelector("#confirm-ok").textContent = okLabel;
  d.returnValue = "";
  d.showModal();
  d.querySelector("button[value=cancel]").focus();
  return new Promise((resolve) => d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true }));
}

// errorBox shows an error of the API.
export function errorBox(e) {
  if (e instanceof ApiError) {
    return h("p", { class: "error", role: "alert" }, `${e.status} ${e.code}: ${e.message}`, e.requestId ? ` (request ${e.requestId})` : "");
  }
  return h("p", { class: "error", role: "alert", text: `Cannot reach the host: ${e.message}` });
}

function dl(pairs) {
  return h("dl", {}, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]));
}

function pre(v, cls) {
  return h("pre", { class: cls || "", text: typeof v === "string" ? v : json(v) });
}

function retryText(r) {
  if (!r) return "";
  return `${r.maxAttempts} attempt${r.maxAttempts === 1 ? "" : "s"}, backoff ${r.backoff || "1s"} up to ${r.maxBackoff || "1h"}`;
}

function seriesText(s) {
  if (!s) return "";
  if (s.cron) return `cron ${s.cron} (${s.timezone || "UTC"})`;
  return `every ${s.every} from ${new Date(s.anchor).toLocaleString()}`;
}

function localInput(id) {
  return h("input", { id, type: "datetime-local", step: "1" });
}

function isoOf(input) {
  if (!input.value) return "";
  const d = new Date(input.value);
  return Number.isNaN(d.getTime()) ? input.value : d.toISOString();
}

// pluginSelect fills a plugin filter once per view: plugins reloaded since show in views
// opened after the plugins view read them.
async function pluginSelect(select) {
  if (select.dataset.filled) return;
  const list = await plugins();
  select.dataset.filled = "yes";
  const keep = select.value;
  select.replaceChildren(h("option", { value: "", text: "any" }), ...list.map((p) => h("option", { value: p.name, text: p.name })));
  select.value = keep;
}

// keepOpen remembers which <details> of a list are open across redraws.
function keepOpen(results) {
  const open = new Set([...results.querySelectorAll("details[open]")].map((d) => d.dataset.key));
  return (d) => {
    if (open.has(d.dataset.key)) d.open = true;
    return d;
  };
}

// pager follows nextCursor: the first page, and a button to the next one.
function pager(state, refresh) {
  const nav = h("div", { class: "pager" });
  if (state.cursors.length) {
    nav.append(h("button", { type: "button", text: "First page", onclick: () => { state.cursors = []; refresh(); } }));
  }
  if (state.next) {
    nav.append(h("button", { type: "button", text: "Next page", onclick: () => { state.cursors.push(state.next); refresh(); } }));
  }
  return nav;
}

export function overviewView(main) {
  const windowSelect = h("select", { id: "window" }, [[60, "last hour"], [180, "last 3 hours"], [360, "last 6 hours"], [1440, "last 24 hours"]]
    .map(([v, t]) => h("option", { value: String(v), text: t, selected: v === 180 })));
  const results = h("div", { class: "results" });
  main.replaceChildren(h("h1", { text: "Overview" }), h("form", { class: "filters", onsubmit: (e) => e.preventDefault() }, field("History of the", windowSelect)), results);
  const view = {
    async refresh() {
      const s = await api("GET", `/v1/stats${query({ minutes: windowSelect.value })}`);
      const ms = (v) => (v === undefined ? "–" : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`);
      const card = (label, value, note) => h("div", { class: "card" }, h("div", { class: "label", text: label }), h("div", { class: "value", text: String(value) }), note ? h("div", { class: "note", text: note }) : null);
      const failing = s.failing.length
        ? h("ol", { class: "list" }, s.failing.map((f) => h("li", { class: "item" },
          h("div", { class: "line" }, h("strong", { text: `${f.plugin}.${f.method}` }), ` ${f.failures} failure${f.failures === 1 ? "" : "s"}, last ${relative(new Date(f.lastFailedAt))} `,
            h("a", { href: `#history/${encodeURIComponent(f.plugin)}/${encodeURIComponent(f.method)}`, text: "history" })),
          pre(f.lastError || "(no error text)", "errtext"))))
        : h("p", { text: "No failures in this window." });
      results.replaceChildren(
        h("div", { class: "cards" },
          card("Due in the next hour", s.dueNextHour, "overdue included"),
          card("Due in the next day", s.dueNextDay),
          card("Running now", s.running),
          card("Lateness p50", ms(s.lateness.p50Ms), `${s.lateness.started} first attempts`),
          card("Lateness p99", ms(s.lateness.p99Ms))),
        h("h2", { text: "Outcomes per minute" }),
        outcomeChart(s.outcomes, s.since, s.until),
        h("h2", { text: "Most failing methods" }),
        failing);
    },
  };
  windowSelect.addEventListener("change", () => view.refresh());
  return view;
}

export function callsView(main, args) {
  const f = {
    plugin: h("select", { id: "c-plugin" }, h("option", { value: args[0] || "", text: args[0] || "any" })),
    method: h("input", { id: "c-method", type: "text", autocomplete: "off" }),
    identifier: h("input", { id: "c-identifier", type: "text", autocomplete: "off", value: args[1] || "" }),
    dueAfter: localInput("c-after"),
    dueBefore: localInput("c-before"),
  };
  f.plugin.value = args[0] || "";
  const state = { cursors: [], next: "" };
  const results = h("div", { class: "results" });
  const status = h("div", { class: "result", role: "status" });
  const cancelIdentifier = h("button", { type: "button", class: "danger", id: "cancel-identifier", text: "Cancel every call with this identifier", onclick: async () => {
    const id = f.identifier.value;
    if (!id) return;
    if (!(await confirm(`Cancel every waiting call with the identifier “${id}”? Recurring series carrying it stop too.`, "Cancel calls"))) return;
    try {
      const r = await api("DELETE", `/v1/calls${query({ identifier: id })}`);
      status.replaceChildren(h("p", { class: "ok", text: `Cancelled ${r.cancelled} call${r.cancelled === 1 ? "" : "s"} with the identifier “${id}”; ${r.seriesStopped} series stopped.` }));
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
    view.refresh();
  } });
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); state.cursors = []; view.refresh(); } },
    field("Plugin", f.plugin), field("Method", f.method), field("Identifier", f.identifier),
    field("Due after", f.dueAfter), field("Due before", f.dueBefore),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Filter" }), cancelIdentifier));
  f.plugin.addEventListener("change", () => form.requestSubmit());
  main.replaceChildren(h("h1", { text: "Calls" }), h("p", { class: "hint", text: "Waiting and running calls, by run time." }), form, status, results);

  async function cancelOne(c) {
    const what = c.series ? `Cancel call #${c.id}? It is the next run of a recurring series: the whole series stops.` : `Cancel call #${c.id} (${c.plugin}.${c.method})?`;
    if (!(await confirm(what, "Cancel call"))) return;
    try {
      const r = await api("DELETE", `/v1/calls/${c.id}`);
      status.replaceChildren(h("p", { class: "ok", text: `Cancelled call #${c.id}${r.seriesStopped ? "; its series stopped" : ""}.` }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        status.replaceChildren(h("p", { class: "error", role: "alert", text: `Call #${c.id} is running and can no longer be cancelled (409 ${e.code}).` }));
      } else {
        status.replaceChildren(errorBox(e));
      }
    }
    view.refresh();
  }

  const view = {
    async refresh() {
      cancelIdentifier.disabled = !f.identifier.value;
      pluginSelect(f.plugin).catch(() => {});
      const page = await api("GET", `/v1/calls${query({ plugin: f.plugin.value, method: f.method.value, identifier: f.identifier.value,
        dueAfter: isoOf(f.dueAfter), dueBefore: isoOf(f.dueBefore), limit: 100, cursor: state.cursors.at(-1) })}`);
      state.next = page.nextCursor || "";
      const reopen = keepOpen(results);
      const list = h("ul", { class: "list", id: "call-list" }, page.calls.map((c) => h("li", { class: "item call", dataset: { id: String(c.id) } },
        reopen(h("details", { dataset: { key: String(c.id) } },
          h("summary", {}, h("span", { class: "id", text: `#${c.id}` }), " ", h("strong", { text: `${c.plugin}.${c.method}` }), " ", badge(c.status),
            h("span", { class: "when", text: ` due ${time(c.runAt)}` }),
            c.identifier ? h("span", { class: "ident" }, " · ", h("span", { class: "identifier", text: c.identifier })) : null,
            c.series ? h("span", { class: "ident", text: " · recurring" }) : null),
          dl([["Arguments", pre(c.args)], ["Retry policy", retryText(c.retry)], ["Attempts so far", String(c.attempt)],
            ["Series", c.series ? `#${c.series.id}: ${seriesText(c.series)}` : ""], ["Created", time(c.createdAt)],
            ["Running on", c.claimedBy ? `${c.claimedBy} since ${time(c.claimedAt)}` : ""], ["Last error", c.lastError ? pre(c.lastError, "errtext") : ""]]),
          h("div", { class: "actions" }, h("button", { type: "button", class: "danger", text: `Cancel call #${c.id}`, onclick: () => cancelOne(c) }),
            h("a", { href: `#history/${encodeURIComponent(c.plugin)}/${encodeURIComponent(c.method)}/${c.id}`, text: "Its history" })))))));
      results.replaceChildren(h("p", { class: "count", text: `${page.calls.length} call${page.calls.length === 1 ? "" : "s"} on this page` }),
        page.calls.length ? list : h("p", { text: "No call matches." }), pager(state, view.refresh));
    },
  };
  return view;
}

export function historyView(main, args) {
  const f = {
    outcome: h("select", { id: "h-outcome" }, h("option", { value: "", text: "any" }), OUTCOMES.map((o) => h("option", { value: o, text: o }))),
    plugin: h("select", { id: "h-plugin" }, h("option", { value: args[0] || "", text: args[0] || "any" })),
    method: h("input", { id: "h-method", type: "text", autocomplete: "off", value: args[1] || "" }),
    identifier: h("input", { id: "h-identifier", type: "text", autocomplete: "off" }),
    callId: h("input", { id: "h-call", type: "text", inputmode: "numeric", autocomplete: "off", value: args[2] || "" }),
    after: localInput("h-after"),
    before: localInput("h-before"),
  };
  f.plugin.value = args[0] || "";
  const state = { cursors: [], next: "" };
  const results = h("div", { class: "results" });
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); state.cursors = []; view.refresh(); } },
    field("Outcome", f.outcome), field("Plugin", f.plugin), field("Method", f.method), field("Identifier", f.identifier),
    field("Call id", f.callId), field("Finished after", f.after), field("Finished before", f.before),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Filter" })));
  for (const s of [f.outcome, f.plugin]) s.addEventListener("change", () => form.requestSubmit());
  main.replaceChildren(h("h1", { text: "History" }), h("p", { class: "hint", text: "Finished attempts and removed calls, newest first; the attempts of a call together." }), form, results);

  const view = {
    async refresh() {
      pluginSelect(f.plugin).catch(() => {});
      const page = await api("GET", `/v1/history${query({ outcome: f.outcome.value, plugin: f.plugin.value, method: f.method.value,
        identifier: f.identifier.value, callId: f.callId.value.trim(), finishedAfter: isoOf(f.after), finishedBefore: isoOf(f.before),
        limit: 100, cursor: state.cursors.at(-1) })}`);
      state.next = page.nextCursor || "";
      const calls = new Map();
      for (const e of page.entries) {
        if (!calls.has(e.callId)) calls.set(e.callId, []);
        calls.get(e.callId).push(e);
      }
      const reopen = keepOpen(results);
      const list = h("ul", { class: "list", id: "history-list" }, [...calls].map(([id, entries]) => {
        const e0 = entries[0];
        return h("li", { class: "item entry", dataset: { call: String(id) } },
          h("div", { class: "line" }, h("span", { class: "id", text: `call #${id}` }), " ", h("strong", { text: `${e0.plugin}.${e0.method}` }),
            e0.identifier ? h("span", { class: "ident" }, " · ", h("span", { class: "identifier", text: e0.identifier })) : null,
            e0.seriesId ? h("span", { class: "ident", text: ` · series #${e0.seriesId}` }) : null, " ",
            h("button", { type: "button", class: "small link", text: "all attempts", onclick: () => {
              for (const k of ["outcome", "identifier", "method"]) f[k].value = "";
              f.plugin.value = "";
              f.callId.value = String(id);
              form.requestSubmit();
            } })),
          h("ol", { class: "attempts" }, entries.map((e) => h("li", { class: "attempt" },
            h("div", { class: "line" }, badge(e.outcome), ` attempt ${e.attempt} · finished ${time(e.finishedAt)} · host `, h("span", { class: "host", text: e.host })),
            e.error ? pre(e.error, "errtext") : null,
            reopen(h("details", { dataset: { key: String(e.id) } }, h("summary", { text: "details" }),
              dl([["Arguments", pre(e.args)], ["Plugin version", e.pluginVersion || ""], ["Due", time(e.scheduledAt)],
                ["Started", e.startedAt ? time(e.startedAt) : "never"],
                ["Retried at", e.retryAt ? time(e.retryAt) : ""]])))))));
      }));
      results.replaceChildren(h("p", { class: "count", text: `${page.entries.length} entr${page.entries.length === 1 ? "y" : "ies"} on this page` }),
        page.entries.length ? list : h("p", { text: "No entry matches." }), pager(state, view.refresh));
    },
  };
  return view;
}

// MAX_SERIES bounds the series the view shows (and whose last runs it fetches), and
// MAX_PAGES the pages of the schedule it reads to find them: the API has no filter for
// recurring calls, so the view reads the schedule by run time and keeps the series.
const MAX_SERIES = 50;
const MAX_PAGES = 3;

export function seriesView(main) {
  const results = h("div", { class: "results" });
  const status = h("div", { class: "result", role: "status" });
  main.replaceChildren(h("h1", { text: "Recurring series" }), h("p", { class: "hint", text: "Each series is stored as its next run; cancelling its identifier stops it." }), status, results);
  const view = {
    pollEvery: 5, // every 15 seconds: each refresh reads pages of the schedule
    async refresh() {
      const series = new Map();
      let cursor = "";
      for (let pages = 0; pages < MAX_PAGES; pages++) {
        const page = await api("GET", `/v1/calls${query({ limit: 1000, cursor })}`);
        for (const c of page.calls) if (c.series && !series.has(c.series.id)) series.set(c.series.id, c);
        cursor = page.nextCursor || "";
        if (!cursor || series.size >= MAX_SERIES) break;
      }
      const shown = [...series.values()].slice(0, MAX_SERIES);
      const runs = await Promise.all(shown.map((c) => api("GET", `/v1/history${query({ seriesId: c.series.id, limit: 5 })}`)));
      results.replaceChildren(shown.length ? h("ul", { class: "list", id: "series-list" }, shown.map((c, i) => h("li", { class: "item" },
        h("div", { class: "line" }, h("span", { class: "id", text: `series #${c.series.id}` }), " ", h("strong", { text: `${c.plugin}.${c.method}` }),
          " · ", h("span", { class: "identifier", text: c.identifier || "" })),
        dl([["Schedule", seriesText(c.series)], ["Next run", `${time(c.runAt)} (call #${c.id}, ${c.status})`], ["Arguments", pre(c.args)],
          ["Last runs", runs[i].entries.length ? h("ol", { class: "runs" }, runs[i].entries.map((e) => h("li", {}, badge(e.outcome), ` ${time(e.finishedAt)}`,
            e.error ? pre(e.error, "errtext") : null))) : "none yet"]]),
        c.identifier ? h("div", { class: "actions" }, h("button", { type: "button", class: "danger", text: "Stop this series", onclick: async () => {
          if (!(await confirm(`Stop every call with the identifier “${c.identifier}”, this series included?`, "Stop series"))) return;
          try {
            const r = await api("DELETE", `/v1/calls${query({ identifier: c.identifier })}`);
            status.replaceChildren(h("p", { class: "ok", text: `Cancelled ${r.cancelled} calls; ${r.seriesStopped} series stopped.` }));
          } catch (e) {
            status.replaceChildren(errorBox(e));
          }
          view.refresh();
        } })) : null))) : h("p", { text: "No recurring series." }),
      series.size >= MAX_SERIES || cursor ? h("p", { class: "hint", text: `The series among the first ${MAX_PAGES * 1000} calls by run time, at most ${MAX_SERIES}.` }) : "");
    },
  };
  return view;
}

function paramsTable(params) {
  if (!params.length) return h("p", { class: "hint", text: "No parameters." });
  const rows = params.map((a) => h("tr", {},
    h("td", {}, h("code", { text: a.name }), a.optional ? " (optional)" : "", a.description ? h("div", { class: "hint", text: a.description }) : null),
    h("td", {}, pre(a.schema))));
  const head = h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Parameter" }), h("th", { scope: "col", text: "Schema" })));
  return h("div", { class: "scroll" }, h("table", {}, head, h("tbody", {}, rows)));
}

// signature is a method's parameters in brief: "signup: object, note?: string".
function signature(m) {
  const type = (s) => [s?.type ?? "any"].flat().join("|");
  return m.params.map((a) => `${a.name}${a.optional ? "?" : ""}: ${type(a.schema)}`).join(", ");
}

function methodItem(p, m) {
  const link = h("a", { href: `#schedule/${encodeURIComponent(p.name)}/${encodeURIComponent(m.name)}`, text: "schedule…" });
  return h("li", {}, h("details", {},
    h("summary", {}, h("strong", { text: m.name }), h("code", { class: "sig", text: `(${signature(m)})` }),
      m.description ? h("span", { class: "hint", text: ` ${m.description}` }) : null),
    paramsTable(m.params)), link);
}

// refusedBox shows a new version of a plugin that a reload refused: stored calls would
// break under it.
function refusedBox(c) {
  return h("div", { class: "refused", role: "note" },
    h("p", { class: "error" }, `Version ${c.version || "?"} (${c.file}) refused ${relative(new Date(c.refusedAt))}: `,
      `${c.broken} stored call${c.broken === 1 ? "" : "s"} would break. The running version stays.`),
    h("ul", { class: "broken-methods" }, c.methods.map((m) => h("li", {},
      h("strong", { text: m.method }), ` ${m.count} · ${m.kind.replace("_", " ")} · `, h("span", { class: "errtext", text: m.reason })))));
}

function pluginItem(p) {
  return h("li", { class: "item plugin", dataset: { plugin: p.name } },
    h("h2", {}, h("span", { text: p.name }), " ", h("span", { class: "version", text: p.version || "" })),
    p.description ? h("p", { text: p.description }) : null,
    p.refusedCandidate ? refusedBox(p.refusedCandidate) : null,
    dl([["File", p.file], ["SHA-256", p.sha256 ? h("code", { class: "sha", title: p.sha256, text: p.sha256.slice(0, 12) }) : ""],
      ["Loaded", p.loadedAt ? time(p.loadedAt) : ""], ["Default retry", retryText(p.retry)]]),
    h("ul", { class: "methods" }, p.calls.map((m) => methodItem(p, m))));
}

// reloadSummary says what a reload changed.
function reloadSummary(r) {
  const lines = [
    ...r.added.map((c) => `added ${c.name} ${c.version || ""}`),
    ...r.swapped.map((c) => `swapped ${c.name} ${c.previousVersion || "?"} → ${c.version || "?"}` +
      (c.broken ? ` (${c.broken} broken${c.deleted ? `, ${c.deleted} deleted` : ""})` : "")),
    ...r.removed.map((c) => `removed ${c.name}: ${c.waiting || 0} calls wait`),
    ...r.refused.map((c) => `refused ${c.name} ${c.version || ""}: ${c.reason}`),
    ...r.failed.map((f) => `failed ${f.file}: ${f.error}`),
    ...r.pending.map((f) => `still being written: ${f}`),
  ];
  return h("div", { class: "reload-result", role: "status" },
    lines.length ? h("ul", {}, lines.map((l) => h("li", { text: l }))) : h("p", { text: "Reloaded: nothing changed." }));
}

export function pluginsView(main) {
  const results = h("div", { class: "results" });
  const outcome = h("div", { class: "reload-outcome" });
  const button = h("button", { type: "button", id: "reload-plugins", text: "Reload plugins now" });
  const view = {
    pollEvery: 5, // every 15 seconds: the host reloads its plugins when their files change
    async refresh() {
      const list = await plugins(true);
      results.replaceChildren(h("ul", { class: "list", id: "plugin-list" }, list.map(pluginItem)));
    },
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      outcome.replaceChildren(reloadSummary(await api("POST", "/v1/plugins/reload")));
      await view.refresh();
    } catch (e) {
      outcome.replaceChildren(errorBox(e));
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(h("h1", { text: "Plugins" }),
    h("p", { class: "hint", text: "The host reloads its plugins when their files change, on SIGHUP, and here." }), button, outcome, results);
  return view;
}
