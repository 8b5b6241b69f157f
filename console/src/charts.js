// Charts: uPlot for lines over versions or time (small, fast, canvas), and plain SVG bars
// for per-feature scores, where labels must stay readable text. Every chart carries its
// numbers as a table too, for screen readers and for copying.

import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

import { metric, when } from "./format.js";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

export function color(i) {
  return PALETTE[i % PALETTE.length];
}

/**
 * Lines over an x axis. `x` is numbers (seconds since the epoch when `time`), or categories
 * when `categories` is given (x = 0, 1, 2 …, labelled with them). `series` = [{label, values}].
 */
export function LineChart({ title, x, series, categories, time = false, yLabel = "", height = 260, threshold }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    if (!element || x.length === 0) return undefined;
    const width = Math.max(240, element.clientWidth || 600);
    const axes = [
      categories
        ? { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? categories[t] ?? "" : "")), space: 40 }
        : {},
      { label: yLabel, size: 60 },
    ];
    const all = series.map((s, i) => ({
      label: s.label,
      stroke: s.color || color(i),
      width: 2,
      points: { show: true, size: 6 },
      dash: s.dash,
      spanGaps: true,
    }));
    const data = [x, ...series.map((s) => s.values)];
    if (threshold !== undefined && threshold !== null) {
      all.push({ label: "threshold", stroke: "#888", dash: [6, 4], width: 1, points: { show: false } });
      data.push(x.map(() => threshold));
    }
    const plot = new uPlot(
      {
        width,
        height,
        scales: { x: { time, ...(categories ? { range: [-0.3, Math.max(0.3, x.length - 0.7)] } : x.length === 1 ? { range: [x[0] - 3600, x[0] + 3600] } : {}) } },
        series: [{ label: categories ? "version" : time ? "time" : "x", value: (_u, v) => (categories ? categories[v] ?? "" : time ? when(v * 1000) : v) }, ...all],
        axes,
        legend: { live: true },
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(240, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify([x, series, categories, threshold])]);

  const labels = categories || x.map((v) => (time ? when(v * 1000) : String(v)));
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <div class="chart-canvas" ref=${box} role="img" aria-label=${`${title} (chart; the same numbers are in the table below)`}></div>
    <details class="chart-data">
      <summary>Show the numbers</summary>
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">${categories ? "version" : time ? "time" : "x"}</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
          <tbody>
            ${labels.map(
              (name, i) => html`<tr><th scope="row">${name}</th>${series.map((s) => html`<td>${metric(s.values[i])}</td>`)}</tr>`,
            )}
          </tbody>
        </table>
      </div>
    </details>
  </figure>`;
}

/** Horizontal bars, one per row: [{label, value, flagged}]; an optional threshold line. */
export function BarChart({ title, rows, threshold, unit = "" }) {
  const max = Math.max(threshold || 0, ...rows.map((r) => Number(r.value) || 0), 1e-9);
  const rowHeight = 28;
  const labelWidth = 160;
  const width = 560;
  const barSpace = width - labelWidth - 70;
  const height = rows.length * rowHeight + 24;
  const scale = (v) => (Math.max(0, Number(v) || 0) / max) * barSpace;
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg class="bars" viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${`${title} (chart; the same numbers are in the table below)`}
      preserveAspectRatio="xMinYMin meet">
      ${rows.map(
        (r, i) => html`<g transform=${`translate(0, ${i * rowHeight + 4})`}>
          <text x=${labelWidth - 8} y="16" text-anchor="end" class="bar-label">${r.label}</text>
          <rect x=${labelWidth} y="4" height="16" width=${scale(r.value)} class=${r.flagged ? "bar bar-flagged" : "bar"}>
            <title>${`${r.label}: ${metric(r.value)}${unit}`}</title>
          </rect>
          <text x=${labelWidth + scale(r.value) + 6} y="16" class="bar-value">${metric(r.value)}${unit}</text>
        </g>`,
      )}
      ${threshold !== undefined &&
      threshold !== null &&
      html`<g>
        <line x1=${labelWidth + scale(threshold)} x2=${labelWidth + scale(threshold)} y1="0" y2=${height - 18} class="bar-threshold" />
        <text x=${labelWidth + scale(threshold)} y=${height - 4} text-anchor="middle" class="bar-value">threshold ${metric(threshold)}</text>
      </g>`}
    </svg>
    <details class="chart-data">
      <summary>Show the numbers</summary>
      <table>
        <thead><tr><th scope="col">feature</th><th scope="col">value</th><th scope="col">over threshold</th></tr></thead>
        <tbody>${rows.map((r) => html`<tr><th scope="row">${r.label}</th><td>${metric(r.value)}</td><td>${r.flagged ? "yes" : "no"}</td></tr>`)}</tbody>
      </table>
    </details>
  </figure>`;
}
