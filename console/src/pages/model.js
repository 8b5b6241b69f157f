import { html } from "htm/preact";
import { useState } from "preact/hooks";

import { collect } from "../api.js";
import { label, semverCompare, when } from "../format.js";
import { LineageGraph } from "../lineage.js";
import { can } from "../session.js";
import { Action, Badge, Empty, ErrorBox, Facts, Loading, Section, Time, link, useAsync } from "../ui.js";
import { ProductionHistory } from "./history.js";
import { ArtifactFacts, CardView, LineageFacts, MetricsAcross, SignatureView, StatusHistory } from "./versions.js";

const TABS = [
  ["versions", "Versions"],
  ["card", "Model card"],
  ["metrics", "Metrics"],
  ["lineage", "Lineage"],
  ["policy", "Policy"],
  ["history", "Production history"],
  ["deployments", "Deployments"],
];

export const modelPath = (name, ...rest) => `/models/${[name, ...rest].map(encodeURIComponent).join("/")}`;

function aliasesByVersion(aliases) {
  const by = {};
  for (const a of aliases) (by[a.version] = by[a.version] || []).push(a);
  return by;
}

function VersionActions({ client, me, model, version, onChanged }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const act = (work) => async () => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await work());
    } catch (failure) {
      setError(failure);
    }
    setBusy(false);
  };
  const publish = can(me, "publish", model.name);
  const archive = can(me, "archive", model.name);
  const deploy = can(me, "deploy", model.name);
  const v = version.version;
  return html`<div class="actions">
    ${version.status === "registered" &&
    html`<${Action} allowed=${publish.ok} reason=${publish.reason} busy=${busy} onClick=${act(() => client.versions.submit(model.name, v))}>Submit for approval</${Action}>`}
    ${version.status === "pending_approval" && html`<a class="button" href=${link("/approvals", { model: model.name, version: v })}>Review</a>`}
    ${["approved", "rejected"].includes(version.status) &&
    html`<${Action} allowed=${archive.ok} reason=${archive.reason} busy=${busy} onClick=${act(() => client.versions.archive(model.name, v))}>Archive</${Action}>`}
    ${!["rejected", "archived"].includes(version.status) &&
    (deploy.ok
      ? html`<a class="button" href=${link("/deploy", { model: model.name, version: v })}>Deploy</a>`
      : html`<${Action} allowed=${false} reason=${deploy.reason}>Deploy</${Action}>`)}
    <${ErrorBox} error=${error} />
  </div>`;
}

function VersionsTab({ ctx, model, versions, aliases, onChanged }) {
  const by = aliasesByVersion(aliases);
  return html`<div class="table-wrap"><table class="versions">
    <caption class="sr-only">Versions of ${model.name}, newest first</caption>
    <thead><tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Aliases</th><th scope="col">Published</th>
      <th scope="col">By</th><th scope="col">Actions</th></tr></thead>
    <tbody>${versions.map(
      (v) => html`<tr key=${v.version}>
        <th scope="row"><a href=${link(modelPath(model.name, "card", v.version))}>${v.version}</a></th>
        <td><${Badge} value=${v.status} /></td>
        <td>${(by[v.version] || []).map((a) => html`<span class="alias">${a.alias}${a.endpoint ? " ●" : ""}</span> `)}</td>
        <td><${Time} value=${v.created_at} /></td>
        <td>${v.created_by_owner || v.created_by}</td>
        <td><${VersionActions} client=${ctx.client} me=${ctx.me} model=${model} version=${v} onChanged=${onChanged} /></td>
      </tr>`,
    )}</tbody>
  </table></div>
  <p class="muted">● the alias has an endpoint serving it.</p>`;
}

function CardTab({ model, versions, chosen }) {
  const version = versions.find((v) => v.version === chosen) || versions[0];
  if (!version) return html`<${Empty}>No versions yet.</${Empty}>`;
  const go = (e) => {
    globalThis.location.hash = link(modelPath(model.name, "card", e.currentTarget.value));
  };
  return html`<div>
    <div class="field inline">
      <label for="card-version">Version</label>
      <select id="card-version" value=${version.version} onChange=${go}>
        ${versions.map((v) => html`<option value=${v.version}>${`${v.version} (${label(v.status)})`}</option>`)}
      </select>
    </div>
    <${CardView} version=${version} />
    <h3>Signature</h3>
    <${SignatureView} signature=${version.signature} />
    <h3>Artifact</h3>
    <${ArtifactFacts} version=${version} />
    <h3>Lineage</h3>
    <${LineageFacts} version=${version} />
    <h3>Status history</h3>
    <${StatusHistory} version=${version} />
  </div>`;
}

function LineageTab({ model, versions, chosen }) {
  const [selected, setSelected] = useState(chosen || (versions[0] && versions[0].version));
  const version = versions.find((v) => v.version === selected);
  if (versions.length === 0) return html`<${Empty}>No versions yet.</${Empty}>`;
  return html`<div class="lineage-view">
    <div class="graph-scroll"><${LineageGraph} versions=${versions} selected=${selected} onSelect=${setSelected} /></div>
    ${version &&
    html`<div class="lineage-detail" aria-live="polite">
      <h3>${`${model.name} ${version.version}`}</h3>
      <${LineageFacts} version=${version} />
    </div>`}
  </div>`;
}

function PolicyTab({ model }) {
  const p = model.policy || {};
  const t = model.training || {};
  return html`<div class="two">
    <div><h3>Governance</h3><${Facts} items=${[
      ["Approval required for production", p.require_approval ? "yes" : "no"],
      ["Pickle artifacts allowed", p.allow_pickle ? "yes" : "no"],
      ["Metric", `${p.metric} (${p.metric_direction})`],
      ["Minimum improvement", String(p.min_improvement)],
      ["A better retrained version", label(p.on_retrain)],
      ["Risk tier", p.risk_tier ? `${p.risk_tier}${p.risk_tier === "high" ? " (two approvals from different approvers)" : ""}` : undefined],
      ["Revalidation every", p.revalidation_days ? `${p.revalidation_days} days` : p.risk_tier ? "the tier's default" : undefined],
      ["Production validated", model.production ? `${model.production.version}: ${when(model.production.validated_at)}` : undefined],
      ["Revalidate by", model.production ? `${when(model.production.revalidate_by)}${model.revalidation_overdue ? " (overdue)" : ""}` : undefined],
    ]} /></div>
    <div><h3>Training</h3><${Facts} items=${[
      ["Trainer", t.trainer || (t.image ? "" : "none")],
      ["Image", t.image],
      ["Instance type", t.instance_type],
      ["Dataset prefix", t.dataset_prefix],
      ["Hyperparameters", Object.entries(t.hyperparameters || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "none"],
    ]} /></div>
  </div>`;
}

function DeploymentsTab({ ctx, model }) {
  const list = useAsync(() => ctx.client.deployments.page(model.name, { limit: 20 }), [ctx.client, model.name]);
  const deploy = can(ctx.me, "deploy", model.name);
  return html`<div>
    <p>${deploy.ok ? html`<a class="button primary" href=${link("/deploy", { model: model.name })}>Start a deployment</a>` : html`<${Action} allowed=${false} reason=${deploy.reason}>Start a deployment</${Action}>`}
      ${" "}<a href=${link("/deployments", { model: model.name })}>All deployments of ${model.name}</a></p>
    <${ErrorBox} error=${list.error} />
    ${list.loading && html`<${Loading} />`}
    ${list.data && list.data.items.length === 0 && html`<${Empty}>Never deployed.</${Empty}>`}
    ${list.data && list.data.items.length > 0 && html`<${DeploymentRows} model=${model.name} items=${list.data.items} />`}
  </div>`;
}

export function DeploymentRows({ model, items }) {
  return html`<div class="table-wrap"><table>
    <thead><tr><th scope="col">Deployment</th><th scope="col">Version</th><th scope="col">Alias</th><th scope="col">Status</th><th scope="col">Step</th><th scope="col">Started</th></tr></thead>
    <tbody>${items.map(
      (d) => html`<tr key=${d.id}>
        <th scope="row"><a href=${link(modelPath(model, "deployments", d.id))}>${d.id}</a></th>
        <td>${d.version}</td><td>${d.alias}</td><td><${Badge} value=${d.status} /></td><td>${label(d.step)}</td><td><${Time} value=${d.created_at} /></td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

export function ModelPage(ctx) {
  const { client, name, tab = "versions", arg } = ctx;
  const data = useAsync(async () => {
    const [model, versions, aliases] = await Promise.all([
      client.models.get(name),
      collect((cursor) => client.versions.page(name, { limit: 100, cursor }), { max: 500 }),
      client.aliases.list(name),
    ]);
    return { model, versions: versions.items, more: versions.cursor, aliases };
  }, [client, name]);
  if (data.loading && !data.data) return html`<${Loading} what=${`Loading ${name}`} />`;
  if (data.error) return html`<div class="page"><h1>${name}</h1><${ErrorBox} error=${data.error} onRetry=${data.reload} /></div>`;
  const { model, versions, aliases, more } = data.data;
  const production = aliases.find((a) => a.alias === "production");
  const current = TABS.find(([id]) => id === tab) ? tab : "versions";
  const onChanged = () => data.reload();
  const sorted = [...versions].sort((a, b) => semverCompare(b.version, a.version));
  return html`<div class="page">
    <div class="page-head stacked">
      <div>
        <h1>${model.name}${model.status === "retired" ? html` <${Badge} value="retired" />` : ""}</h1>
        <p class="sub">${model.description}</p>
      </div>
      <${Facts} items=${[
        ["Owner", model.owner],
        ["Framework", model.framework],
        ["Production", production ? `${production.version}${production.endpoint ? " (serving)" : " (not deployed)"}` : "none"],
        ["Versions", String(model.version_count)],
      ]} />
    </div>
    <nav class="tabs" aria-label=${`${model.name} sections`}>
      ${TABS.map(([id, title]) => html`<a href=${link(modelPath(model.name, id))} aria-current=${current === id ? "page" : undefined}>${title}</a>`)}
    </nav>
    <${Section} id="tab-title" title=${TABS.find(([id]) => id === current)[1]}>
      ${current === "versions" && html`<${VersionsTab} ctx=${ctx} model=${model} versions=${sorted} aliases=${aliases} onChanged=${onChanged} />`}
      ${current === "card" && html`<${CardTab} model=${model} versions=${sorted} chosen=${arg} />`}
      ${current === "metrics" && html`<${MetricsAcross} versions=${sorted} policy=${model.policy} />`}
      ${current === "lineage" && html`<${LineageTab} model=${model} versions=${sorted} chosen=${arg} />`}
      ${current === "policy" && html`<${PolicyTab} model=${model} />`}
      ${current === "history" && html`<${ProductionHistory} client=${client} model=${model} aliases=${aliases} />`}
      ${current === "deployments" && html`<${DeploymentsTab} ctx=${ctx} model=${model} />`}
      ${more && html`<p class="muted">Showing the newest ${versions.length} versions.</p>`}
    </${Section}>
  </div>`;
}
