import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";

import { collect } from "../api.js";
import { label, when } from "../format.js";
import { can, covers } from "../session.js";
import { Action, Badge, Empty, ErrorBox, Facts, Field, Loading, More, Section, Time, link, useAsync, useInterval, usePaged } from "../ui.js";
import { DeploymentRows, modelPath } from "./model.js";

const TERMINAL = new Set(["succeeded", "failed"]);
//: the deploy workflow's steps, in order (functions.core.deployments.STEPS).
export const STEPS = [
  "queued", "validate", "create_model", "create_endpoint_config", "prepare_rollout",
  "create_endpoint", "update_endpoint", "wait_endpoint", "autoscaling", "move_alias", "flush_cache", "done",
];

function useModels(client, me) {
  return useAsync(async () => {
    const all = (await collect((cursor) => client.models.page({ limit: 100, cursor }), { max: 2000 })).items;
    return all.filter((m) => covers(me.key.patterns, m.name));
  }, [client, me]);
}

export function DeploymentsPage({ client, me, query }) {
  const models = useModels(client, me);
  const names = (models.data || []).map((m) => m.name);
  const model = query.model && names.includes(query.model) ? query.model : names[0];
  const choose = (e) => {
    globalThis.location.hash = link("/deployments", { model: e.currentTarget.value });
  };
  const deploy = model ? can(me, "deploy", model) : { ok: false, reason: "No model to deploy." };
  return html`<div class="page">
    <div class="page-head">
      <h1>Deployments</h1>
      ${deploy.ok ? html`<a class="button primary" href=${link("/deploy", { model })}>Start a deployment</a>` : html`<${Action} allowed=${false} reason=${deploy.reason}>Start a deployment</${Action}>`}
    </div>
    <${ErrorBox} error=${models.error} onRetry=${models.reload} />
    ${models.loading && html`<${Loading} what="Loading models" />`}
    ${models.data && names.length === 0 && html`<${Empty}>This key covers no models.</${Empty}>`}
    ${model &&
    html`<div class="field inline">
        <label for="deployments-model">Model</label>
        <select id="deployments-model" value=${model} onChange=${choose}>${names.map((n) => html`<option value=${n}>${n}</option>`)}</select>
      </div>
      <${ModelDeployments} key=${model} client=${client} model=${model} />`}
  </div>`;
}

function ModelDeployments({ client, model }) {
  const list = usePaged((cursor) => client.deployments.page(model, { limit: 20, cursor }), [client, model]);
  return html`<div>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    ${list.loading && list.items.length === 0 && html`<${Loading} />`}
    ${!list.loading && list.items.length === 0 && !list.error && html`<${Empty}>${model} was never deployed.</${Empty}>`}
    ${list.items.length > 0 && html`<${DeploymentRows} model=${model} items=${list.items} />`}
    <${More} cursor=${list.cursor} loading=${list.loading} onMore=${list.more} what="older deployments" />
  </div>`;
}

/** Seconds left of the current bake, from the rollout the workflow last saw (null when not baking). */
export function bakeLeft(deployment, now = Date.now()) {
  const rollout = deployment.rollout;
  if (!rollout || rollout.status !== "Baking" || !rollout.since) return null;
  const wait = Number(((deployment.settings || {}).strategy || {}).wait_seconds || 0);
  const end = new Date(rollout.since).getTime() + wait * 1000;
  return Math.max(0, Math.ceil((end - now) / 1000));
}

export function Traffic({ deployment, now }) {
  const strategy = (deployment.settings || {}).strategy || {};
  const rollout = deployment.rollout;
  if (!deployment.previous_version && deployment.step !== "update_endpoint") {
    if (TERMINAL.has(deployment.status)) return null;
    return html`<p class="muted">A first deployment creates the endpoint with all traffic on ${deployment.version}; canaries shift traffic from the next deployment on.</p>`;
  }
  if (!rollout) {
    return html`<p class="muted">${`Strategy ${label(strategy.type)}${strategy.percent ? ` ${strategy.percent}%` : ""}, baking ${strategy.wait_seconds} s per step.`}</p>`;
  }
  const share = Math.max(0, Math.min(100, Number(rollout.traffic_percent ?? 0)));
  const left = bakeLeft(deployment, now);
  return html`<div class="traffic" aria-live="polite">
    <div class="traffic-bar" role="img" aria-label=${`${share}% of traffic on ${deployment.version}, ${100 - share}% on ${deployment.previous_version}`}>
      <span class="traffic-new" style=${{ flex: `0 0 ${share}%` }}>${share > 8 ? `${deployment.version} ${share}%` : ""}</span>
      <span class="traffic-old" style=${{ flex: `0 0 ${100 - share}%` }}>${100 - share > 8 ? `${deployment.previous_version} ${100 - share}%` : ""}</span>
    </div>
    <p><strong id="traffic-share">${`${share}% of traffic on ${deployment.version}`}</strong>
      ${left !== null && html` · <span id="bake-countdown">${`baking: ${left} s left`}</span>`}
      ${rollout.status !== "Baking" && html` · ${label(rollout.status)}`}</p>
    ${rollout.message && html`<p class="muted">${rollout.message}</p>`}
  </div>`;
}

function Steps({ deployment }) {
  const marks = deployment.steps || [];
  const failed = deployment.status === "failed";
  return html`<ol class="steps">
    ${marks.map((mark, i) => {
      const next = marks[i + 1];
      const last = i === marks.length - 1;
      const seconds = next ? (new Date(next.at) - new Date(mark.at)) / 1000 : null;
      const state = last ? (failed ? "failed" : mark.step === "done" ? "done" : "active") : "done";
      return html`<li class=${`step step-${state}`} aria-current=${last && state === "active" ? "step" : undefined}>
        <span class="step-name">${label(mark.step)}</span>
        <span class="step-time" title=${when(mark.at)}>${seconds !== null ? `${seconds.toFixed(1)} s` : state === "active" ? "running…" : ""}</span>
      </li>`;
    })}
  </ol>`;
}

export function Outcome({ d }) {
  if (d.status === "succeeded") {
    return html`<div class="verdict verdict-ok" role="status"><strong>${`Succeeded: ${d.alias} serves ${d.version}`}</strong>
      <p>${`Finished ${when(d.finished_at)}${d.previous_version ? `; replaced ${d.previous_version}` : ""}.`}</p></div>`;
  }
  if (d.status === "failed") {
    return html`<div class="verdict verdict-no" role="alert"><strong>${`Failed at ${label(d.step)}: ${d.error || "error"}`}</strong>
      <p class="cause">${d.cause || "no cause recorded"}</p>
      <p>${d.previous_version ? `${d.alias} still serves ${d.previous_version}.` : `${d.alias} was not changed.`}</p></div>`;
  }
  return null;
}

export function DeploymentPage({ client, model, id }) {
  const [now, setNow] = useState(Date.now());
  const data = useAsync(() => client.deployments.get(model, id), [client, model, id]);
  const d = data.data;
  const live = !d || !TERMINAL.has(d.status);
  useInterval(() => {
    setNow(Date.now());
    client.deployments.get(model, id).then(data.setData, () => {});
  }, 1000, live && !data.error);
  if (data.error) return html`<div class="page"><h1>${`Deployment ${id}`}</h1><${ErrorBox} error=${data.error} onRetry=${data.reload} /></div>`;
  if (!d) return html`<${Loading} what="Loading the deployment" />`;
  const s = d.settings || {};
  const strategy = s.strategy || {};
  return html`<div class="page">
    <div class="page-head stacked">
      <div>
        <h1>${`Deployment ${d.id}`}</h1>
        <p class="sub"><a href=${link(modelPath(d.model))}>${d.model}</a> ${d.version} → ${d.alias} <${Badge} value=${d.status} /></p>
      </div>
      <${Facts} items=${[
        ["Endpoint", d.endpoint],
        ["Strategy", `${label(strategy.type)}${strategy.percent ? ` ${strategy.percent}%` : ""}, ${strategy.wait_seconds} s bake`],
        ["Instances", `${s.instance_type} × ${s.initial_instance_count} (scales ${s.min_instances}–${s.max_instances})`],
        ["Previous version", d.previous_version || "none"],
        ["Requested by", d.requested_by],
        ["Started", when(d.created_at)],
      ]} />
    </div>
    <${Outcome} d=${d} />
    <${Section} id="rollout-title" title="Traffic">
      <${Traffic} deployment=${d} now=${now} />
    </${Section}>
    <${Section} id="steps-title" title=${live ? "Steps (live)" : "Steps"}>
      <${Steps} deployment=${d} />
    </${Section}>
    ${(d.notes || []).length > 0 && html`<${Section} id="notes-title" title="Notes"><ul>${d.notes.map((n) => html`<li>${n}</li>`)}</ul></${Section}>`}
  </div>`;
}

export function StartDeploymentPage({ client, me, config, query }) {
  const models = useModels(client, me);
  const [form, setForm] = useState({
    model: query.model || "", version: query.version || "", alias: "production",
    instance_type: (config.instance_types || [])[0] || "", count: 1, min: 1, max: 1,
    type: "canary", percent: 10, wait: 60,
  });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const names = (models.data || []).map((m) => m.name);
  const model = form.model || names[0] || "";
  const versions = useAsync(
    () => (model ? collect((cursor) => client.versions.page(model, { limit: 100, cursor }), { max: 300 }) : Promise.resolve({ items: [] })),
    [client, model],
  );
  const usable = ((versions.data && versions.data.items) || []).filter((v) => !["rejected", "archived"].includes(v.status));
  useEffect(() => {
    if (!usable.length || usable.some((v) => v.version === form.version)) return;
    const approved = usable.find((v) => v.status === "approved");
    setForm((f) => ({ ...f, version: (approved || usable[0]).version }));
  }, [versions.data]);
  const set = (field, number = false) => (e) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [field]: number ? Number(value) : value }));
  };
  const gate = model ? can(me, "deploy", model) : { ok: false, reason: "Choose a model." };
  const chosen = usable.find((v) => v.version === form.version);
  const needsApproval = form.alias === "production" && chosen && chosen.status !== "approved";

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const strategy = form.type === "all_at_once" ? { type: "all_at_once", wait_seconds: form.wait } : { type: form.type, percent: form.percent, wait_seconds: form.wait };
    try {
      const started = await client.deployments.start(model, form.version, {
        to: form.alias.trim(),
        settings: { instance_type: form.instance_type, initial_instance_count: form.count, min_instances: form.min, max_instances: form.max, strategy },
      });
      globalThis.location.hash = link(modelPath(model, "deployments", started.id));
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return html`<div class="page">
    <div class="page-head"><h1>Start a deployment</h1></div>
    <${ErrorBox} error=${models.error || versions.error} />
    ${models.loading && html`<${Loading} what="Loading models" />`}
    ${models.data &&
    html`<form class="panel form" onSubmit=${submit}>
      <${Field} id="deploy-model" label="Model">
        <select id="deploy-model" value=${model} onChange=${(e) => setForm((f) => ({ ...f, model: e.currentTarget.value, version: "" }))}>
          ${names.map((n) => html`<option value=${n}>${n}</option>`)}
        </select>
      </${Field}>
      <${Field} id="deploy-version" label="Version" hint=${needsApproval ? "production needs an approved version: the API will refuse this one" : ""}>
        <select id="deploy-version" value=${form.version} onChange=${set("version")}>
          ${usable.map((v) => html`<option value=${v.version}>${`${v.version} (${label(v.status)})`}</option>`)}
        </select>
      </${Field}>
      <${Field} id="deploy-alias" label="Alias">
        <input id="deploy-alias" list="deploy-aliases" value=${form.alias} onInput=${set("alias")} pattern="[a-z][a-z0-9-]{0,31}" required />
        <datalist id="deploy-aliases"><option value="production" /><option value="staging" /></datalist>
      </${Field}>
      <${Field} id="deploy-instance" label="Instance type" hint="the types this stage allows">
        <select id="deploy-instance" value=${form.instance_type} onChange=${set("instance_type")}>
          ${(config.instance_types || []).map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </${Field}>
      <fieldset class="row">
        <legend>Instances</legend>
        <${Field} id="deploy-count" label="Initial"><input id="deploy-count" type="number" min="1" max="100" value=${form.count} onInput=${set("count", true)} /></${Field}>
        <${Field} id="deploy-min" label="Minimum"><input id="deploy-min" type="number" min="1" max="100" value=${form.min} onInput=${set("min", true)} /></${Field}>
        <${Field} id="deploy-max" label="Maximum"><input id="deploy-max" type="number" min="1" max="100" value=${form.max} onInput=${set("max", true)} /></${Field}>
      </fieldset>
      <fieldset>
        <legend>Traffic strategy</legend>
        ${[["all_at_once", "All at once"], ["canary", "Canary"], ["linear", "Linear"]].map(
          ([value, text]) => html`<label class="radio"><input type="radio" name="strategy" value=${value} checked=${form.type === value} onChange=${set("type")} /> ${text}</label>`,
        )}
        <div class="row">
          ${form.type !== "all_at_once" &&
          html`<${Field} id="deploy-percent" label=${form.type === "canary" ? "Canary share (%)" : "Step (%)"}>
            <input id="deploy-percent" type="number" min="1" max="99" value=${form.percent} onInput=${set("percent", true)} />
          </${Field}>`}
          <${Field} id="deploy-wait" label="Bake (seconds)"><input id="deploy-wait" type="number" min="0" max="3600" value=${form.wait} onInput=${set("wait", true)} /></${Field}>
        </div>
      </fieldset>
      <div class="actions">
        <${Action} type="submit" kind="primary" allowed=${gate.ok && Boolean(form.version)} reason=${gate.ok ? "Choose a version." : gate.reason} busy=${busy}>
          ${busy ? "Starting…" : "Deploy"}
        </${Action}>
      </div>
      <${ErrorBox} error=${error} />
    </form>`}
  </div>`;
}
