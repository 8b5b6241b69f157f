// Views of one version (card, signature, artifact, lineage) and of versions side by side
// (metrics, what changed), shared by the model page and the approvals queue.

import { html } from "htm/preact";

import { LineChart } from "../charts.js";
import { bytes, label, metric, semverCompare, signed } from "../format.js";
import { Facts } from "../ui.js";

export const CARD_FIELDS = [
  ["intended_use", "Intended use"],
  ["limitations", "Limitations"],
  ["evaluation", "Evaluation"],
  ["training_data", "Training data"],
];

export function CardView({ version }) {
  const card = version.card || {};
  return html`<dl class="card">
    ${CARD_FIELDS.map(
      ([field, title]) => html`<div class="card-field">
        <dt>${title}</dt>
        <dd class=${card[field] ? "prose" : "muted"}>${card[field] || "missing"}</dd>
      </div>`,
    )}
  </dl>`;
}

export function SignatureView({ signature }) {
  const rows = [
    ...((signature && signature.inputs) || []).map((t) => ["input", t]),
    ...((signature && signature.outputs) || []).map((t) => ["output", t]),
  ];
  if (rows.length === 0) return html`<p class="muted">No signature was published.</p>`;
  return html`<div class="table-wrap"><table>
    <thead><tr><th scope="col">kind</th><th scope="col">name</th><th scope="col">dtype</th><th scope="col">shape</th></tr></thead>
    <tbody>${rows.map(([kind, t]) => html`<tr><td>${kind}</td><td>${t.name}</td><td>${t.dtype}</td><td>${`[${(t.shape || []).join(", ")}]`}</td></tr>`)}</tbody>
  </table></div>`;
}

export function LineageFacts({ version }) {
  const l = version.lineage || {};
  return html`<${Facts} items=${[
    ["Parent version", l.parent_version || "none"],
    ["Dataset", l.dataset_uri || "not recorded"],
    ["Dataset SHA-256", l.dataset_sha256 || "not recorded"],
    ["Code revision", l.code_revision || "not recorded"],
    ["Training job", l.training_job || "not recorded"],
  ]} />`;
}

export function ArtifactFacts({ version }) {
  const a = version.artifact || {};
  return html`<${Facts} items=${[
    ["Framework", version.framework],
    ["Artifact", a.uri],
    ["SHA-256", a.sha256],
    ["Size", bytes(a.size)],
    ["Published by", version.created_by_owner ? `${version.created_by_owner} (key ${version.created_by})` : version.created_by],
  ]} />`;
}

export function StatusHistory({ version }) {
  const history = version.history || [];
  if (history.length === 0) return null;
  return html`<ol class="status-history">
    ${history.map(
      (h) => html`<li><strong>${label(h.status)}</strong> · ${h.by} · <time datetime=${h.at}>${new Date(h.at).toLocaleString()}</time>
        ${h.comment && html`<blockquote>${h.comment}</blockquote>`}</li>`,
    )}
  </ol>`;
}

/** Metric names of `versions`, the policy's metric first. */
export function metricNames(versions, policyMetric) {
  const names = new Set();
  for (const v of versions) for (const name of Object.keys(v.metrics || {})) names.add(name);
  return [...names].sort((a, b) => (a === policyMetric ? -1 : b === policyMetric ? 1 : a.localeCompare(b)));
}

/** Metrics across versions: a chart over versions (oldest first) and the same as a table. */
export function MetricsAcross({ versions, policy }) {
  const ordered = [...versions].sort((a, b) => semverCompare(a.version, b.version));
  const names = metricNames(ordered, policy && policy.metric);
  if (names.length === 0) return html`<p class="muted">No version reports metrics.</p>`;
  const series = names.map((name) => ({ label: name, values: ordered.map((v) => (v.metrics || {})[name] ?? null) }));
  const categories = ordered.map((v) => v.version);
  const best = (name) => {
    const values = ordered.map((v) => (v.metrics || {})[name]).filter((x) => typeof x === "number");
    if (values.length === 0) return null;
    const minimize = policy && policy.metric === name && policy.metric_direction === "minimize";
    return minimize ? Math.min(...values) : Math.max(...values);
  };
  return html`<div>
    <${LineChart} title="Metrics by version" x=${ordered.map((_, i) => i)} categories=${categories} series=${series} />
    <div class="table-wrap"><table class="metrics">
      <caption class="sr-only">Metrics by version</caption>
      <thead><tr><th scope="col">metric</th>${ordered.map((v) => html`<th scope="col">${v.version}</th>`)}</tr></thead>
      <tbody>${names.map((name) => {
        const top = best(name);
        return html`<tr>
          <th scope="row">${name}${policy && policy.metric === name ? html` <small class="muted">(policy, ${policy.metric_direction})</small>` : ""}</th>
          ${ordered.map((v) => {
            const value = (v.metrics || {})[name];
            return html`<td class=${value === top ? "best" : ""}>${metric(value)}</td>`;
          })}
        </tr>`;
      })}</tbody>
    </table></div>
  </div>`;
}

function same(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** What changed from `base` (production) to `next` (the candidate): [{area, what, from, to}]. */
export function changesSince(base, next) {
  if (!base) return [];
  const changes = [];
  if (base.framework !== next.framework) changes.push({ area: "framework", what: "framework", from: base.framework, to: next.framework });
  const bl = base.lineage || {};
  const nl = next.lineage || {};
  for (const field of ["dataset_uri", "dataset_sha256", "code_revision", "parent_version", "training_job"]) {
    if (!same(bl[field], nl[field])) changes.push({ area: "lineage", what: label(field), from: bl[field] ?? "—", to: nl[field] ?? "—" });
  }
  const sig = (v, side) => ((v.signature || {})[side] || []).map((t) => `${t.name}:${t.dtype}[${(t.shape || []).join(",")}]`).join(" ");
  for (const side of ["inputs", "outputs"]) {
    if (sig(base, side) !== sig(next, side)) changes.push({ area: "signature", what: side, from: sig(base, side) || "—", to: sig(next, side) || "—" });
  }
  for (const [field, title] of CARD_FIELDS) {
    if (!same((base.card || {})[field], (next.card || {})[field])) {
      changes.push({ area: "card", what: title, from: (base.card || {})[field] || "—", to: (next.card || {})[field] || "—" });
    }
  }
  if ((base.artifact || {}).sha256 !== (next.artifact || {}).sha256) {
    changes.push({ area: "artifact", what: "size", from: bytes((base.artifact || {}).size), to: bytes((next.artifact || {}).size) });
  }
  return changes;
}

/** Candidate against production, metric by metric; the policy's metric decides. */
export function compareMetrics(policy, candidate, production) {
  const names = metricNames([candidate, ...(production ? [production] : [])], policy && policy.metric);
  return names.map((name) => {
    const value = (candidate.metrics || {})[name];
    const base = production ? (production.metrics || {})[name] : undefined;
    const direction = policy && policy.metric === name ? policy.metric_direction : "maximize";
    const delta = typeof value === "number" && typeof base === "number" ? value - base : null;
    const better = delta === null ? null : direction === "minimize" ? delta < 0 : delta > 0;
    return { name, value, base, delta, better, decisive: Boolean(policy && policy.metric === name), direction };
  });
}

export function MetricsVersus({ rows, productionVersion }) {
  if (rows.length === 0) return html`<p class="muted">No metrics were published.</p>`;
  return html`<div class="table-wrap"><table class="versus">
    <thead><tr><th scope="col">metric</th><th scope="col">this version</th><th scope="col">${productionVersion ? `production ${productionVersion}` : "production"}</th><th scope="col">change</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr class=${r.decisive ? "decisive" : ""}>
        <th scope="row">${r.name}${r.decisive ? html` <small>(policy metric, ${r.direction})</small>` : ""}</th>
        <td>${metric(r.value)}</td>
        <td>${metric(r.base)}</td>
        <td class=${r.better === null ? "" : r.better ? "better" : "worse"}>${r.delta === null ? "—" : `${signed(r.delta)} ${r.better ? "better" : r.delta === 0 ? "same" : "worse"}`}</td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

export function Changes({ changes, productionVersion }) {
  if (!productionVersion) return html`<p class="muted">Nothing is in production yet: this would be the first production version.</p>`;
  if (changes.length === 0) return html`<p class="muted">Same lineage, signature and card as production ${productionVersion}.</p>`;
  return html`<div class="table-wrap"><table class="changes">
    <thead><tr><th scope="col">what</th><th scope="col">production ${productionVersion}</th><th scope="col">this version</th></tr></thead>
    <tbody>${changes.map((c) => html`<tr><th scope="row">${`${c.area}: ${c.what}`}</th><td class="prose">${c.from}</td><td class="prose">${c.to}</td></tr>`)}</tbody>
  </table></div>`;
}
