// form.js is the "Schedule a call" view: a form generated from the chosen method's
// parameter schemas (JSON Schema), sent to POST /v1/calls. The API checks the
// arguments; its 422 violations are shown beside the fields their JSON pointers name.

import { api, ApiError, plugins } from "./api.js";
import { h, uid, time } from "./dom.js";

// escapePointer escapes a JSON pointer token (RFC 6901).
function escapePointer(token) {
  return String(token).replaceAll("~", "~0").replaceAll("/", "~1");
}

// resolve follows a local $ref against the parameter's own schema.
function resolve(schema, root) {
  for (let i = 0; i < 16 && schema && typeof schema.$ref === "string" && schema.$ref.startsWith("#"); i++) {
    let node = root;
    for (const tok of schema.$ref.slice(1).split("/").slice(1)) {
      node = node?.[tok.replaceAll("~1", "/").replaceAll("~0", "~")];
    }
    schema = node;
  }
  return schema || {};
}

// kind says which control fits schema, and whether null is allowed.
function kind(schema) {
  let t = schema.type;
  let nullable = false;
  if (Array.isArray(t)) {
    nullable = t.includes("null");
    t = t.filter((x) => x !== "null");
    t = t.length === 1 ? t[0] : undefined;
  }
  const alts = schema.anyOf || schema.oneOf;
  if (!t && Array.isArray(alts)) {
    const other = alts.filter((a) => a.type !== "null");
    if (other.length === 1 && other.length < alts.length) return { ...kind(other[0]), nullable: true, schema: other[0] };
  }
  if (Array.isArray(schema.enum)) return { t: "enum", nullable };
  if (!t && schema.properties) t = "object";
  if (["string", "integer", "number", "boolean", "array", "object"].includes(t)) return { t, nullable };
  return { t: "json", nullable };
}

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

// fieldFor builds the control of a value at path (a JSON pointer into args): it
// returns {el, read(pointer)}. read returns the value entered, or undefined to leave it
// out, and marks el with its pointer now (items move when others are removed) so that
// violations find it.
function fieldFor(schemaIn, root, label, required, depth, path) {
  let schema = resolve(schemaIn, root);
  const k = kind(schema);
  if (k.schema) schema = resolve(k.schema, root);
  const id = uid("arg");
  const hint = schema.description ? h("p", { class: "hint", id: `${id}-hint`, text: schema.description }) : null;
  const wrap = (control, readValue, isGroup) => {
    const title = [label, required ? "" : " (optional)", k.t === "json" ? " (JSON)" : ""].join("");
    const el = isGroup
      ? h("fieldset", { class: "sfield group" }, h("legend", { text: title }), hint, control)
      : h("div", { class: "sfield" }, h("label", { for: id, text: title }), control, hint);
    if (hint && !isGroup) control.setAttribute("aria-describedby", hint.id);
    el.dataset.pointer = path;
    return {
      el,
      read(pointer) {
        el.dataset.pointer = pointer;
        return readValue(pointer);
      },
    };
  };
  if (depth > 8) return fieldFor({}, root, label, required, 0, path);

  switch (k.t) {
    case "enum": {
      const select = h("select", { id }, h("option", { value: "", text: required ? "— choose —" : "— none —" }),
        schema.enum.map((v, i) => h("option", { value: String(i), text: typeof v === "string" ? v : JSON.stringify(v) })));
      return wrap(select, () => (select.value === "" ? undefined : schema.enum[Number(select.value)]));
    }
    case "boolean": {
      if (required) {
        const box = h("input", { id, type: "checkbox" });
        return wrap(box, () => box.checked);
      }
      const select = h("select", { id }, h("option", { value: "", text: "— none —" }),
        h("option", { value: "true", text: "true" }), h("option", { value: "false", text: "false" }));
      return wrap(select, () => (select.value === "" ? undefined : select.value === "true"));
    }
    case "integer":
    case "number": {
      const input = h("input", { id, type: "text", inputmode: k.t === "integer" ? "numeric" : "decimal", autocomplete: "off" });
      return wrap(input, () => {
        const v = input.value.trim();
        if (v === "") return undefined;
        return NUMBER.test(v) ? Number(v) : v; // the API names a value that is not a number
      });
    }
    case "string": {
      const placeholder = schema.format === "date-time" ? "2030-01-01T09:00:00Z" : undefined;
      const input = h("input", { id, type: "text", autocomplete: "off", placeholder });
      return wrap(input, () => (input.value === "" ? undefined : input.value));
    }
    case "array": {
      const items = [];
      const list = h("ol", { class: "items" });
      const add = () => {
        const item = fieldFor(schema.items || {}, root, "item", true, depth + 1, `${path}/${items.length}`);
        const li = h("li", {}, item.el, h("button", { type: "button", class: "small", text: "Remove", onclick: () => {
          items.splice(items.indexOf(entry), 1);
          li.remove();
        } }));
        const entry = { item, li };
        items.push(entry);
        list.append(li);
      };
      const control = h("div", {}, list, h("button", { type: "button", class: "small", text: `Add ${label} item`, onclick: add }));
      return wrap(control, (pointer) => {
        if (!items.length && !required) return undefined;
        return items.map((e, i) => e.item.read(`${pointer}/${i}`) ?? null);
      }, true);
    }
    case "object": {
      const props = Object.entries(schema.properties || {});
      const req = new Set(schema.required || []);
      const children = props.map(([name, s]) => ({ name, f: fieldFor(s, root, name, req.has(name), depth + 1, `${path}/${escapePointer(name)}`) }));
      const extra = schema.additionalProperties && typeof schema.additionalProperties === "object" ? schema.additionalProperties : null;
      const entries = [];
      const list = h("ul", { class: "items" });
      const control = h("div", {}, children.map((c) => c.f.el));
      if (extra) {
        control.append(list, h("button", { type: "button", class: "small", text: `Add ${label} entry`, onclick: () => {
          const keyId = uid("key");
          const key = h("input", { id: keyId, type: "text", autocomplete: "off" });
          const value = fieldFor(extra, root, "value", true, depth + 1, `${path}/*`);
          const li = h("li", {}, h("div", { class: "sfield" }, h("label", { for: keyId, text: "key" }), key), value.el,
            h("button", { type: "button", class: "small", text: "Remove", onclick: () => {
              entries.splice(entries.indexOf(entry), 1);
              li.remove();
            } }));
          const entry = { key, value };
          entries.push(entry);
          list.append(li);
        } }));
      }
      return wrap(control, (pointer) => {
        const out = {};
        for (const c of children) {
          const v = c.f.read(`${pointer}/${escapePointer(c.name)}`);
          if (v !== undefined) out[c.name] = v;
        }
        for (const e of entries) {
          if (e.key.value === "") continue;
          const v = e.value.read(`${pointer}/${escapePointer(e.key.value)}`);
          if (v !== undefined) out[e.key.value] = v;
        }
        if (!required && !Object.keys(out).length) return undefined;
        return out;
      }, true);
    }
    default: {
      const area = h("textarea", { id, rows: 3, spellcheck: "false", placeholder: "any JSON value" });
      return wrap(area, () => {
        if (area.value.trim() === "") return undefined;
        try {
          return JSON.parse(area.value);
        } catch {
          return area.value; // sent as text: the API says what it wanted
        }
      });
    }
  }
}

// argsForm builds the fields of a method's parameters: {el, read()} of the args object.
function argsForm(method) {
  const fields = method.params.map((p) => {
    let schema = p.schema || {};
    if (p.description && !schema.description) schema = { ...schema, description: p.description };
    return { name: p.name, f: fieldFor(schema, p.schema || {}, p.name, !p.optional, 0, `/${escapePointer(p.name)}`) };
  });
  const el = h("div", { class: "args" }, fields.length ? fields.map((x) => x.f.el) : h("p", { text: "This method takes no arguments." }));
  return {
    el,
    read() {
      el.dataset.pointer = "";
      const args = {};
      for (const { name, f } of fields) {
        const v = f.read(`/${escapePointer(name)}`);
        if (v !== undefined) args[name] = v;
      }
      return args;
    },
  };
}

// showViolations puts each violation beside the field its pointer names (or its
// nearest enclosing field), and returns the first field marked.
function showViolations(form, violations, general) {
  let first = null;
  const byPointer = new Map();
  for (const el of form.querySelectorAll("[data-pointer]")) byPointer.set(el.dataset.pointer, el);
  for (const v of violations) {
    let p = v.pointer;
    let target = byPointer.get(p);
    while (!target && p !== "") {
      p = p.slice(0, p.lastIndexOf("/"));
      target = byPointer.get(p);
    }
    const msgId = uid("violation");
    const text = target && p === v.pointer ? v.message : `${v.pointer || "arguments"}: ${v.message}`;
    const msg = h("p", { class: "violation", id: msgId, text });
    if (!target || p === "") {
      general.append(msg);
      continue;
    }
    const control = target.querySelector(":scope > input, :scope > select, :scope > textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), msgId].filter(Boolean).join(" "));
    }
    target.classList.add("invalid");
    target.append(msg);
    first ??= control || target;
  }
  return first;
}

function clearViolations(form) {
  for (const el of form.querySelectorAll(".violation")) el.remove();
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    const rest = (el.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.startsWith("violation-"));
    if (rest.length) el.setAttribute("aria-describedby", rest.join(" "));
    else el.removeAttribute("aria-describedby");
  }
}

// localTime turns a datetime-local value into RFC 3339 in UTC; other text is sent
// as it is, for the API to refuse with a reason.
function localTime(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

const TIMINGS = [
  ["now", "Now"],
  ["delay", "After a delay"],
  ["at", "At a time"],
  ["cron", "On a cron schedule"],
  ["every", "At an interval"],
];

// scheduleView is the form; args are [plugin, method] to preselect.
export function scheduleView(main, args) {
  const status = h("div", { class: "result", role: "status", tabindex: "-1" });
  const general = h("div", { class: "violations", role: "alert" });
  const select = h("select", { id: "method", required: true });
  const argsBox = h("div", {});
  let current = null;

  const timingInputs = {
    delay: h("input", { id: "t-delay", type: "text", placeholder: "90s, 1h30m, 3d", autocomplete: "off" }),
    at: h("input", { id: "t-at", type: "datetime-local", step: "1" }),
    cron: h("input", { id: "t-cron", type: "text", placeholder: "0 9 * * MON-FRI", autocomplete: "off" }),
    timezone: h("input", { id: "t-timezone", type: "text", value: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC", autocomplete: "off" }),
    every: h("input", { id: "t-every", type: "text", placeholder: "15m", autocomplete: "off" }),
    start: h("input", { id: "t-start", type: "datetime-local", step: "1" }),
  };
  const panels = {
    now: h("p", { class: "hint", text: "The call is due at once." }),
    delay: h("div", { class: "sfield" }, h("label", { for: "t-delay", text: "Delay" }), timingInputs.delay),
    at: h("div", { class: "sfield" }, h("label", { for: "t-at", text: "Time (your time zone)" }), timingInputs.at),
    cron: h("div", {}, h("div", { class: "sfield" }, h("label", { for: "t-cron", text: "Cron expression" }), timingInputs.cron),
      h("div", { class: "sfield" }, h("label", { for: "t-timezone", text: "Time zone (IANA)" }), timingInputs.timezone),
      h("p", { class: "hint", text: "A recurring call needs an identifier, which cancels it." })),
    every: h("div", {}, h("div", { class: "sfield" }, h("label", { for: "t-every", text: "Interval" }), timingInputs.every),
      h("div", { class: "sfield" }, h("label", { for: "t-start", text: "Start (optional, your time zone)" }), timingInputs.start),
      h("p", { class: "hint", text: "A recurring call needs an identifier, which cancels it." })),
  };
  const radios = TIMINGS.map(([value, text]) => {
    const id = `timing-${value}`;
    return h("span", { class: "radio" }, h("input", { type: "radio", name: "timing", id, value, checked: value === "now", onchange: showPanel }),
      h("label", { for: id, text }));
  });
  function timing() {
    return radios.map((r) => r.querySelector("input")).find((i) => i.checked).value;
  }
  function showPanel() {
    for (const [name, panel] of Object.entries(panels)) panel.hidden = name !== timing();
  }
  showPanel();

  const identifier = h("input", { id: "identifier", type: "text", autocomplete: "off" });
  const retry = {
    maxAttempts: h("input", { id: "r-max", type: "text", inputmode: "numeric", autocomplete: "off" }),
    backoff: h("input", { id: "r-backoff", type: "text", placeholder: "1s", autocomplete: "off" }),
    maxBackoff: h("input", { id: "r-maxbackoff", type: "text", placeholder: "1h", autocomplete: "off" }),
  };

  const form = h("form", { class: "schedule", novalidate: true, onsubmit: submit },
    h("div", { class: "sfield" }, h("label", { for: "method", text: "Method" }), select),
    h("p", { class: "hint", id: "method-description" }),
    h("fieldset", { class: "group" }, h("legend", { text: "Arguments" }), general, argsBox),
    h("fieldset", { class: "group" }, h("legend", { text: "When" }), h("div", { class: "radios" }, radios), Object.values(panels)),
    h("div", { class: "sfield" }, h("label", { for: "identifier", text: "Identifier (optional)" }), identifier),
    h("fieldset", { class: "group" }, h("legend", { text: "Retry policy (optional: the plugin's default when empty)" }),
      h("div", { class: "sfield" }, h("label", { for: "r-max", text: "Attempts, the first included" }), retry.maxAttempts),
      h("div", { class: "sfield" }, h("label", { for: "r-backoff", text: "Backoff" }), retry.backoff),
      h("div", { class: "sfield" }, h("label", { for: "r-maxbackoff", text: "Longest backoff" }), retry.maxBackoff)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "schedule-submit", text: "Schedule" })),
    status);

  main.replaceChildren(h("h1", { text: "Schedule a call" }), form);

  function choose() {
    const [p, m] = select.value ? JSON.parse(select.value) : [];
    current = methods.get(select.value);
    form.querySelector("#method-description").textContent = current?.description || "";
    argsBox.replaceChildren();
    general.replaceChildren();
    status.replaceChildren();
    if (!current) return;
    const f = argsForm(current);
    current.form = f;
    current.plugin = p;
    current.name = m;
    argsBox.append(f.el);
  }
  select.addEventListener("change", choose);

  const methods = new Map();
  async function submit(ev) {
    ev.preventDefault();
    if (!current) return;
    clearViolations(form);
    general.replaceChildren();
    status.replaceChildren();
    const body = { plugin: current.plugin, method: current.name, args: current.form.read() };
    const t = timing();
    if (t === "delay") body.delay = timingInputs.delay.value.trim() || undefined;
    if (t === "at") body.at = timingInputs.at.value ? localTime(timingInputs.at.value) : undefined;
    if (t === "cron") {
      body.cron = timingInputs.cron.value.trim() || undefined;
      body.timezone = timingInputs.timezone.value.trim() || undefined;
    }
    if (t === "every") {
      body.every = timingInputs.every.value.trim() || undefined;
      body.start = timingInputs.start.value ? localTime(timingInputs.start.value) : undefined;
    }
    if (identifier.value !== "") body.identifier = identifier.value;
    const r = Object.fromEntries(Object.entries(retry).map(([k, el]) => [k, el.value.trim()]).filter(([, v]) => v !== ""));
    if (Object.keys(r).length) {
      if (r.maxAttempts !== undefined) r.maxAttempts = NUMBER.test(r.maxAttempts) ? Number(r.maxAttempts) : r.maxAttempts;
      body.retry = r;
    }
    const button = form.querySelector("#schedule-submit");
    button.disabled = true;
    try {
      const call = await api("POST", "/v1/calls", body);
      status.replaceChildren(h("p", { class: "ok" }, `Scheduled call #${call.id}, due ${time(call.runAt)}. `,
        h("a", { href: `#calls/${encodeURIComponent(call.plugin)}`, text: "See the schedule" })));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const first = e.violations.length ? showViolations(form, e.violations, general) : null;
      status.replaceChildren(h("p", { class: "error" }, `${e.status} ${e.code}: ${e.message}`));
      if (e.code === "invalid_arguments") {
        status.append(h("p", { class: "hint", text: e.violations.length ? "Nothing was stored: the violations are shown beside the fields." : "Nothing was stored." }));
      }
      (first || status).focus?.();
    } finally {
      button.disabled = false;
    }
  }

  return {
    async refresh() {
      if (methods.size) return;
      const list = await plugins();
      select.replaceChildren(h("option", { value: "", text: "— choose a method —" }));
      for (const p of list) {
        select.append(h("optgroup", { label: `${p.name} ${p.version || ""}`.trim() }, p.calls.map((m) => {
          const key = JSON.stringify([p.name, m.name]);
          methods.set(key, m);
          return h("option", { value: key, text: `${p.name}.${m.name}` });
        })));
      }
      if (args[0] && args[1]) {
        select.value = JSON.stringify([args[0], args[1]]);
        choose();
      }
    },
    static: true,
  };
}

