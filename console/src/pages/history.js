// Production history, "what served when": every period an alias pointed at a version
// (`GET /v1/models/{name}/aliases/{alias}/history`), drawn as a timeline, listed with who
// moved the alias and the deployment that did it, and "what served at time T" (`?at=`).

import { html } from "htm/preact";
import { useState } from "preact/hooks";

import { color } from "../charts.js";
import { when } from "../format.js";
import { Empty, ErrorBox, Field, Loading, More, link, usePaged } from "../ui.js";

/** Bars of `periods` (newest first) on one time axis: [{version, x, width, ...}]. */
export function timeline(periods, now = Date.now(), width = 760) {
  if (periods.length === 0) return { bars: [], ticks: [], start: now, end: now };
  const times = periods.flatMap((p) => [new Date(p.start).getTime(), p.end ? new Date(p.end).getTime() : now]);
  const start = Math.min(...times);
  const end = Math.max(...times, start + 1000);
  const scale = (t) => ((t - start) / (end - start)) * width;
  const versions = [...new Set([...periods].reverse().map((p) => p.version))];
  const bars = periods.map((p) => {
    const from = new Date(p.start).getTime();
    const to = p.end ? new Date(p.end).getTime() : now;
    return { period: p, x: scale(from), width: Math.max(2, scale(to) - scale(from)), color: color(versions.indexOf(p.version)) };
  });
  const ticks = Array.from({ length: 5 }, (_, i) => start + ((end - start) * i) / 4).map((t) => ({ x: scale(t), label: when(t) }));
  return { bars, ticks, start, end };
}

function Timeline({ periods, alias }) {
  const width = 760;
  const { bars, ticks } = timeline(periods, Date.now(), width);
  if (bars.length === 0) return null;
  const left = 10;
  return html`<figure class="chart">
    <figcaption>${`What ${alias} served, over time`}</figcaption>
    <svg class="timeline" viewBox=${`0 0 ${width + 2 * left} 92`} role="img"
      aria-label=${`Timeline of ${alias}: ${periods.map((p) => `${p.version} from ${when(p.start)}${p.end ? ` to ${when(p.end)}` : " until now"}`).join("; ")}`}>
      ${bars.map(
        (b) => html`<g>
          <rect x=${left + b.x} y="10" width=${b.width} height="34" rx="3" fill=${b.color} class=${b.period.endpoint ? "" : "unserved"}>
            <title>${`${b.period.version}: ${when(b.period.start)} → ${b.period.end ? when(b.period.end) : "now"}`}</title>
          </rect>
          ${b.width > 40 && html`<text x=${left + b.x + 6} y="32" class="timeline-label">${b.period.version}</text>`}
        </g>`,
      )}
      ${ticks.map(
        (t, i) => html`<g>
          <line x1=${left + t.x} x2=${left + t.x} y1="46" y2="52" class="tick" />
          <text x=${left + t.x} y="66" text-anchor=${i === 0 ? "start" : i === ticks.length - 1 ? "end" : "middle"} class="tick-label">${t.label.replace(" UTC", "")}</text>
        </g>`,
      )}
      <text x=${left} y="86" class="tick-label">UTC</text>
    </svg>
  </figure>`;
}

function ServedAt({ client, model, alias }) {
  const [moment, setMoment] = useState("");
  const [state, setState] = useState({ busy: false, answer: undefined, error: null, asked: "" });
  const ask = async (event) => {
    event.preventDefault();
    const date = new Date(moment);
    if (!moment || Number.isNaN(date.getTime())) return;
    const asked = date.toISOString();
    setState({ busy: true, answer: undefined, error: null, asked });
    try {
      setState({ busy: false, answer: await client.aliases.at(model, alias, asked), error: null, asked });
    } catch (error) {
      setState({ busy: false, answer: undefined, error, asked });
    }
  };
  const a = state.answer;
  return html`<form class="row served-at" onSubmit=${ask}>
    <${Field} id="served-at" label="What served at (your local time)">
      <input id="served-at" type="datetime-local" step="1" value=${moment} onInput=${(e) => setMoment(e.currentTarget.value)} required />
    </${Field}>
    <div class="actions"><button type="submit" disabled=${state.busy}>Look up</button></div>
    <${ErrorBox} error=${state.error} />
    ${a !== undefined &&
    html`<p class="notice" role="status" id="served-at-answer">${
      a
        ? `At ${when(state.asked)} ${alias} pointed at ${a.version}${a.endpoint ? `, served by ${a.endpoint}` : " (not served)"}; moved there by ${a.moved_by}${a.deployment_id ? ` (deployment ${a.deployment_id})` : ""}.`
        : `At ${when(state.asked)} ${alias} pointed at no version.`
    }</p>`}
  </form>`;
}

export function ProductionHistory({ client, model, aliases }) {
  const names = [...new Set(["production", ...aliases.map((a) => a.alias)])];
  const [alias, setAlias] = useState("production");
  const list = usePaged((cursor) => client.aliases.historyPage(model.name, alias, { limit: 50, cursor }), [client, model.name, alias]);
  return html`<div>
    <div class="field inline">
      <label for="history-alias">Alias</label>
      <select id="history-alias" value=${alias} onChange=${(e) => setAlias(e.currentTarget.value)}>
        ${names.map((n) => html`<option value=${n}>${n}</option>`)}
      </select>
    </div>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    ${list.loading && list.items.length === 0 && html`<${Loading} what="Loading the history" />`}
    ${!list.loading && !list.error && list.items.length === 0 && html`<${Empty}>${`${alias} has never pointed at a version.`}</${Empty}>`}
    ${list.items.length > 0 &&
    html`<${Timeline} periods=${list.items} alias=${alias} />
    <div class="table-wrap"><table class="history">
      <caption class="sr-only">${`Periods of ${alias}, newest first`}</caption>
      <thead><tr><th scope="col">Version</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Served by</th>
        <th scope="col">Moved by</th><th scope="col">Deployment</th></tr></thead>
      <tbody>${list.items.map(
        (p) => html`<tr key=${`${p.start}-${p.opened_seq}`}>
          <th scope="row">${p.version}</th><td>${when(p.start)}</td><td>${p.end ? when(p.end) : "now"}</td>
          <td>${p.endpoint || html`<span class="muted">not served</span>`}</td><td>${p.moved_by}</td>
          <td>${p.deployment_id ? html`<a href=${link(`/models/${encodeURIComponent(model.name)}/deployments/${encodeURIComponent(p.deployment_id)}`)}>${p.deployment_id}</a>` : html`<span class="muted">alias API</span>`}</td>
        </tr>`,
      )}</tbody>
    </table></div>`}
    <${More} cursor=${list.cursor} loading=${list.loading} onMore=${list.more} what="older periods" />
    <${ServedAt} client=${client} model=${model.name} alias=${alias} />
  </div>`;
}
