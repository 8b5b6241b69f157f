// Monitoring: per deployed alias, the latest drift run with each feature's drift score against
// the policy's threshold, the drift score of every feature over time, the live value of the
// model's metric over time (from posted labels), the run history with its reports, and a
// drift check on demand, watched as it runs.

import { html } from "htm/preact";
import { useState } from "preact/hooks";

import { collect } from "../api.js";
import { BarChart, LineChart } from "../charts.js";
import { label, metric, when } from "../format.js";
import { can, covers } from "../session.js";
import { Action, Badge, Empty, ErrorBox, Facts, Loading, Section, link, useAsync, useInterval } from "../ui.js";

const FINISHED = new Set(["succeeded", "failed"]);

/** uPlot's time axis is in seconds: [{time, value}] series → one shared x axis and aligned values. */
export function alignSeries(byName) {
  const times = [...new Set(Object.values(byName).flatMap((points) => points.map((p) => p.time)))].sort();
  const x = times.map((t) => Date.parse(t) / 1000);
  const series = Object.entries(byName).map(([name, points]) => {
    const at = new Map(points.map((p) => [p.time, p.value]));
    return { label: name, values: times.map((t) => (at.has(t) ? at.get(t) : null)) };
  });
  return { x, series };
}

function LatestRun({ run, thresholds }) {
  if (!run) return html`<p class="muted">No drift run yet.</p>`;
  const drifted = new Set([...(run.drifted_features || []), ...(run.drifted_outputs || [])]);
  const rows = Object.entries(run.scores || {}).map(([feature, score]) => ({ label: feature, value: score, flagged: drifted.has(feature) }));
  const verdict = run.outcome === "drift" ? "verdict-no" : run.outcome === "ok" ? "verdict-ok" : "";
  return html`<div>
    <div class=${`verdict ${verdict}`} role="status">
      <strong>${run.outcome ? `${label(run.outcome)}${drifted.size ? `: ${[...drifted].join(", ")} drifted` : ""}` : `${label(run.status)} at ${label(run.step)}`}</strong>
      <p>${`Run ${run.id} of ${run.version}, window ${when(run.window_start)} → ${when(run.window_end)}, ${run.rows} rows`}${run.action && run.action !== "none" ? `; the policy ${label(run.action)}` : ""}${run.cause ? `; ${run.cause}` : ""}</p>
    </div>
    ${rows.length > 0 && html`<${BarChart} title=${`Drift per feature (PSI), run ${run.id}`} rows=${rows} threshold=${thresholds && thresholds.psi} />`}
    ${run.live_metric && html`<p>${`Live ${run.live_metric.metric}: ${metric(run.live_metric.value)} on ${run.live_metric.n} labelled rows (${run.live_metric.labels} labels in the window)`}</p>`}
  </div>`;
}

function RunNow({ client, me, model, alias, onDone }) {
  const gate = can(me, "monitor", model);
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const live = Boolean(run && !FINISHED.has(run.status));
  useInterval(() => {
    client.monitoring.get(model, run.id).then((next) => {
      setRun(next);
      if (FINISHED.has(next.status)) onDone();
    }, setError);
  }, 1000, live);
  const start = async () => {
    setError(null);
    try {
      setRun(await client.monitoring.run(model, { alias }));
    } catch (failure) {
      setError(failure);
    }
  };
  return html`<div class="actions">
    <${Action} allowed=${gate.ok} reason=${gate.reason} busy=${live} onClick=${start}>${live ? "Checking for drift…" : "Check for drift now"}</${Action}>
    ${run && html`<span class="muted" aria-live="polite">${`run ${run.id}: ${label(run.status)} (${label(run.step)})`}</span>`}
    <${ErrorBox} error=${error} />
  </div>`;
}

function Report({ client, model, id }) {
  const [state, setState] = useState({ busy: false, error: null });
  const open = async () => {
    setState({ busy: true, error: null });
    try {
      const answer = await client.monitoring.report(model, id);
      if (answer.html_url) globalThis.open(answer.html_url, "_blank", "noopener,noreferrer");
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`<span><button type="button" class="link" onClick=${open} disabled=${state.busy}>report</button><${ErrorBox} error=${state.error} /></span>`;
}

function AliasView({ client, me, model, view, thresholds, onDone }) {
  const drift = alignSeries(view.drift || {});
  const live = alignSeries(view.live_metric && view.live_metric.length ? { [model.metric]: view.live_metric } : {});
  return html`<${Section} id=${`alias-${view.alias}`} title=${`${view.alias} → ${view.version}`}
      actions=${view.endpoint && html`<${RunNow} client=${client} me=${me} model=${model.model} alias=${view.alias} onDone=${onDone} />`}>
    <${Facts} items=${[["Endpoint", view.endpoint || "not deployed"], ["Schedule", view.schedule || "on demand"], ["Runs", String((view.history || []).length)]]} />
    <${LatestRun} run=${view.latest} thresholds=${thresholds} />
    ${drift.x.length > 0 && html`<${LineChart} title="Drift score per feature over time (PSI)" x=${drift.x} series=${drift.series} time=${true} threshold=${thresholds && thresholds.psi} />`}
    ${live.x.length > 0 ? html`<${LineChart} title=${`Live ${model.metric} over time (from labels)`} x=${live.x} series=${live.series} time=${true} />`
      : html`<p class="muted">${`No live ${model.metric} yet: it needs labels posted for captured requests (POST /v1/models/${model.model}/feedback).`}</p>`}
    ${(view.history || []).length > 0 &&
    html`<div class="table-wrap"><table class="runs">
      <caption class="sr-only">${`Drift runs of ${view.alias}, newest first`}</caption>
      <thead><tr><th scope="col">Run</th><th scope="col">Window end</th><th scope="col">Version</th><th scope="col">Rows</th>
        <th scope="col">Outcome</th><th scope="col">Drifted</th><th scope="col">Live metric</th><th scope="col">Action</th><th scope="col"><span class="sr-only">Report</span></th></tr></thead>
      <tbody>${view.history.map(
        (r) => html`<tr key=${r.id}><th scope="row">${r.id}</th><td>${when(r.window_end)}</td><td>${r.version}</td><td>${r.rows}</td>
          <td>${r.outcome ? html`<${Badge} value=${r.outcome} kind=${r.outcome === "drift" ? "failed" : r.outcome === "ok" ? "approved" : "none"} />` : label(r.status)}</td>
          <td>${(r.drifted_features || []).join(", ") || "—"}</td><td>${metric(r.live_metric)}</td><td>${label(r.action || "")}</td>
          <td>${FINISHED.has(r.status) && r.outcome && html`<${Report} client=${client} model=${model.model} id=${r.id} />`}</td></tr>`,
      )}</tbody>
    </table></div>`}
  </${Section}>`;
}

export function MonitoringPage({ client, me, query }) {
  const models = useAsync(async () => {
    const all = (await collect((cursor) => client.models.page({ limit: 100, cursor }), { max: 2000 })).items;
    return all.filter((m) => covers(me.key.patterns, m.name)).map((m) => m.name);
  }, [client, me]);
  const names = models.data || [];
  const model = query.model && names.includes(query.model) ? query.model : names[0];
  return html`<div class="page">
    <div class="page-head"><h1>Monitoring</h1></div>
    <${ErrorBox} error=${models.error} onRetry=${models.reload} />
    ${models.loading && html`<${Loading} what="Loading models" />`}
    ${models.data && names.length === 0 && html`<${Empty}>This key covers no models.</${Empty}>`}
    ${model &&
    html`<div class="field inline">
        <label for="monitoring-model">Model</label>
        <select id="monitoring-model" value=${model} onChange=${(e) => (globalThis.location.hash = link("/monitoring", { model: e.currentTarget.value }))}>
          ${names.map((n) => html`<option value=${n}>${n}</option>`)}
        </select>
      </div>
      <${ModelMonitoring} key=${model} client=${client} me=${me} name=${model} />`}
  </div>`;
}

function ModelMonitoring({ client, me, name }) {
  const data = useAsync(() => client.monitoring.status(name), [client, name]);
  if (data.loading && !data.data) return html`<${Loading} what=${`Loading monitoring of ${name}`} />`;
  if (data.error) return html`<${ErrorBox} error=${data.error} onRetry=${data.reload} />`;
  const m = data.data;
  const policy = m.policy || {};
  return html`<div>
    <p class="muted">${`Policy: ${policy.enabled ? `drift checks ${policy.schedule || "on demand"}` : "monitoring off"}, window ${policy.window_hours} h, at least ${policy.min_samples} rows, PSI threshold ${metric((policy.thresholds || {}).psi)}, on drift: ${policy.on_drift}.`}</p>
    ${m.aliases.length === 0 && html`<${Empty}>${`${name} has no alias yet: deploy it to monitor it.`}</${Empty}>`}
    ${m.aliases.map((view) => html`<${AliasView} key=${view.alias} client=${client} me=${me} model=${m} view=${view} thresholds=${policy.thresholds} onDone=${data.reload} />`)}
  </div>`;
}
