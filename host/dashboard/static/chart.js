// chart.js draws the outcomes per minute as stacked bars, in SVG built with DOM APIs.
// A few dozen lines do it; a charting library (uPlot stacks only through a plugin,
// Chart.js is ~200 KB) would weigh more than the rest of the dashboard together.

import { h, svg } from "./dom.js";

// OUTCOMES are the history's outcomes, in stacking order (bottom first).
export const OUTCOMES = ["succeeded", "failed", "timed_out", "interrupted", "broken", "deleted_broken", "cancelled"];

const W = 720;
const H = 180;
const PAD = { left: 0, right: 0, top: 4, bottom: 0 };

function hhmm(d) {
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// outcomeChart returns a figure with the stacked bars of counts ({minute, outcome,
// count}) for each minute from since to until, and a legend with the totals.
export function outcomeChart(counts, since, until) {
  const start = new Date(since).getTime();
  const minutes = Math.max(1, Math.floor((new Date(until).getTime() - start) / 60000) + 1);
  const buckets = Array.from({ length: minutes }, () => ({}));
  const totals = {};
  for (const c of counts) {
    const i = Math.floor((new Date(c.minute).getTime() - start) / 60000);
    if (i < 0 || i >= minutes) continue;
    buckets[i][c.outcome] = (buckets[i][c.outcome] || 0) + c.count;
    totals[c.outcome] = (totals[c.outcome] || 0) + c.count;
  }
  const peak = Math.max(1, ...buckets.map((b) => Object.values(b).reduce((a, n) => a + n, 0)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const barW = plotW / minutes;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-labelledby": "chart-title", preserveAspectRatio: "none" },
    svg("title", { id: "chart-title" }, `Outcomes per minute since ${hhmm(new Date(start))}, at most ${peak} a minute`),
    svg("line", { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: "axis" }));
  // The labels are HTML, so that they keep their size however wide the chart is drawn.
  const ticks = h("div", { class: "ticks", "aria-hidden": "true" }, [0, 0.5, 1].map((frac) =>
    h("span", { text: hhmm(new Date(start + Math.round((minutes - 1) * frac) * 60000)) })));
  buckets.forEach((b, i) => {
    let y = PAD.top + plotH;
    for (const o of OUTCOMES) {
      const n = b[o];
      if (!n) continue;
      const bh = (n / peak) * plotH;
      y -= bh;
      chart.append(svg("rect", { x: PAD.left + i * barW, y, width: Math.max(barW - 0.5, 0.5), height: bh, class: `o-${o}` },
        svg("title", {}, `${hhmm(new Date(start + i * 60000))} ${o}: ${n}`)));
    }
  });
  const legend = h("ul", { class: "legend" }, OUTCOMES.filter((o) => totals[o]).map((o) =>
    h("li", {}, h("span", { class: `swatch o-${o}`, "aria-hidden": "true" }), `${o} ${totals[o]}`)));
  if (!Object.keys(totals).length) legend.append(h("li", { text: "No call finished in this window." }));
  legend.prepend(h("li", { class: "peak", text: `peak ${peak}/min` }));
  return h("figure", { class: "chart-box" }, chart, ticks, legend);
}
