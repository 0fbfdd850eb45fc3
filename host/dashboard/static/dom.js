// dom.js builds elements with DOM APIs only. Text is always set as text (textContent,
// text nodes), never parsed as HTML, so values from plugins and callers cannot inject
// markup.

// h creates an element. attrs: "class", "text", "on<event>" (a function), "dataset"
// (an object), boolean properties (hidden, disabled, checked, selected, required, open)
// and other attributes (set with setAttribute). children: nodes, strings (as text),
// arrays of them, or null/false (skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (["hidden", "disabled", "checked", "selected", "required", "open", "value"].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

// svg creates an SVG element with attributes.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) {
    if (c instanceof Node) el.append(c);
    else if (c !== null && c !== undefined) el.append(document.createTextNode(String(c)));
  }
  return el;
}

let ids = 0;
// uid returns an id unique in the page, for labels and aria references.
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

// time formats an RFC 3339 time in the browser's zone, with the relative time.
export function time(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.toLocaleString()} (${relative(d)})`;
}

// relative says how far d is from now: "in 5 min", "3 h ago".
export function relative(d) {
  const s = Math.round((d.getTime() - Date.now()) / 1000);
  const a = Math.abs(s);
  let text;
  if (a < 1) return "now";
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.round(a / 60)} min`;
  else if (a < 86400 * 2) text = `${Math.round(a / 3600)} h`;
  else text = `${Math.round(a / 86400)} d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

// json pretty-prints a value for a <pre>.
export function json(v) {
  return JSON.stringify(v, null, 2);
}

// field is a labelled control for filter forms.
export function field(label, control) {
  const id = control.id || uid("f");
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id, text: label }), control);
}

// badge shows an outcome or status.
export function badge(text) {
  return h("span", { class: `badge b-${text}`, text });
}
