// The approvals queue: every version waiting for a decision on the models this key covers,
// each with what an approver needs to decide — its card and lineage, its metrics against
// the current production version (and the retrain's own evaluation when a retrain made it),
// and what changed since production.

import { html } from "htm/preact";
import { useState } from "preact/hooks";

import { ApiError, collect } from "../api.js";
import { label } from "../format.js";
import { approvedBy, can, covers, publishedBy } from "../session.js";
import { Action, Badge, Empty, ErrorBox, Field, Loading, Section, Time, link, useAsync } from "../ui.js";
import { eachLimited } from "./catalog.js";
import { modelPath } from "./model.js";
import { CardView, Changes, LineageFacts, MetricsVersus, StatusHistory, changesSince, compareMetrics } from "./versions.js";

/** Pending versions of every model the key's patterns cover, oldest request first. */
export async function pendingVersions(client, me) {
  const models = (await collect((cursor) => client.models.page({ limit: 100, cursor }), { max: 2000 })).items;
  const mine = models.filter((m) => covers(me.key.patterns, m.name));
  const pending = [];
  await eachLimited(mine, 4, async (model) => {
    const versions = await collect((cursor) => client.versions.page(model.name, { limit: 50, cursor }), { max: 200 });
    for (const v of versions.items) if (v.status === "pending_approval") pending.push({ model, version: v });
  });
  const submitted = (v) => ((v.history || []).find((h) => h.status === "pending_approval") || {}).at || v.created_at;
  return pending.sort((a, b) => String(submitted(a.version)).localeCompare(String(submitted(b.version))));
}

async function production(client, name) {
  try {
    return await client.versions.get(name, "production");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

async function retrainFor(client, name, version) {
  const page = await client.retrains.page(name, { limit: 50 });
  return page.items.find((r) => r.new_version === version) || null;
}

function Evaluation({ retrain }) {
  if (!retrain || !retrain.evaluation) return null;
  const e = retrain.evaluation;
  return html`<div class=${`verdict ${e.accepted ? "verdict-ok" : "verdict-no"}`}>
    <strong>Retrain ${retrain.id}: ${e.accepted ? "accepted" : "not accepted"} by the policy</strong>
    <p>${e.reason}</p>
  </div>`;
}

function Decision({ client, me, model, version, onDecided }) {
  const [comment, setComment] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState("");
  const gate = can(me, "decide", model.name);
  const own = publishedBy(me, version);
  const again = approvedBy(me, version);
  const high = (model.policy || {}).risk_tier === "high";
  const approvals = version.approvals || [];
  const decide = (action) => async () => {
    setBusy(action);
    setError(null);
    try {
      const decided = await client.versions[action](model.name, version.version, comment.trim() || undefined);
      onDecided(decided);
    } catch (failure) {
      setError(failure);
    }
    setBusy("");
  };
  const id = `comment-${model.name}-${version.version}`;
  return html`<div class="decision">
    ${own &&
    html`<div class="refusal" role="note" id="four-eyes">
      <strong>Four-eyes rule: you cannot approve this version.</strong>
      <p>${`${model.name} ${version.version} was published by ${version.created_by_owner || version.created_by} (key ${version.created_by}), which is you. Another approver must approve it; you may still reject (withdraw) it.`}</p>
    </div>`}
    ${high &&
    html`<p class="notice-plain" id="two-approvals">${`High-risk model: two approvals from different approvers. ${approvals.length} of 2 so far${approvals.length ? ` (${approvals.map((a) => a.owner || a.by).join(", ")})` : ""}.`}</p>`}
    <${Field} id=${id} label="Comment (kept in the version's history and the audit log)">
      <textarea id=${id} rows="3" maxlength="4000" value=${comment} onInput=${(e) => setComment(e.currentTarget.value)}
        disabled=${!gate.ok}></textarea>
    </${Field}>
    <div class="actions">
      <${Action} allowed=${gate.ok && !own && !again}
        reason=${own ? "You published this version (four-eyes rule)." : again ? "You approved it already; a second approver must approve it too." : gate.reason}
        kind="primary" busy=${busy === "approve"} onClick=${decide("approve")}>Approve</${Action}>
      <${Action} allowed=${gate.ok} reason=${gate.reason} kind="danger" busy=${busy === "reject"} onClick=${decide("reject")}>Reject</${Action}>
    </div>
    <${ErrorBox} error=${error} />
  </div>`;
}

function Review({ client, me, item, onDecided }) {
  const { model, version } = item;
  const info = useAsync(async () => {
    const [prod, retrain] = await Promise.all([production(client, model.name), retrainFor(client, model.name, version.version)]);
    return { prod, retrain };
  }, [client, model.name, version.version]);
  const prod = info.data && info.data.prod;
  return html`<article class="review" aria-labelledby="review-title">
    <h2 id="review-title">${`${model.name} ${version.version}`} <${Badge} value=${version.status} /></h2>
    <p class="muted">Published <${Time} value=${version.created_at} /> by ${version.created_by_owner || version.created_by}
      · <a href=${link(modelPath(model.name, "card", version.version))}>open in the model page</a></p>
    <${Decision} client=${client} me=${me} model=${model} version=${version} onDecided=${onDecided} />
    <${ErrorBox} error=${info.error} onRetry=${info.reload} />
    ${info.loading && html`<${Loading} what="Loading production and evaluation" />`}
    ${info.data &&
    html`<div>
      <h3>Evaluation against production</h3>
      <${Evaluation} retrain=${info.data.retrain} />
      <${MetricsVersus} rows=${compareMetrics(model.policy, version, prod)} productionVersion=${prod && prod.version} />
      <h3>Changes since production</h3>
      <${Changes} changes=${changesSince(prod, version)} productionVersion=${prod && prod.version} />
    </div>`}
    <h3>Model card</h3>
    <${CardView} version=${version} />
    <h3>Lineage</h3>
    <${LineageFacts} version=${version} />
    <h3>History</h3>
    <${StatusHistory} version=${version} />
  </article>`;
}

export function ApprovalsPage({ client, me, query }) {
  const queue = useAsync(() => pendingVersions(client, me), [client, me]);
  const [decided, setDecided] = useState(null);
  const items = queue.data || [];
  const chosen = items.find((i) => i.model.name === query.model && i.version.version === query.version) || items[0];
  const onDecided = (version) => {
    setDecided(version);
    queue.reload();
  };
  return html`<div class="page">
    <div class="page-head"><h1>Approvals</h1></div>
    ${decided &&
    html`<p class="notice" role="status">${`${decided.model} ${decided.version} is now ${label(decided.status)}.`}</p>`}
    <${ErrorBox} error=${queue.error} onRetry=${queue.reload} />
    ${queue.loading && !queue.data && html`<${Loading} what="Collecting pending versions" />`}
    ${queue.data && items.length === 0 && html`<${Empty}>Nothing waits for approval.</${Empty}>`}
    ${items.length > 0 &&
    html`<div class="queue-layout">
      <${Section} id="queue-title" title=${`Waiting (${items.length})`}>
        <ul class="queue">
          ${items.map((i) => {
            const here = chosen && i.model.name === chosen.model.name && i.version.version === chosen.version.version;
            return html`<li><a href=${link("/approvals", { model: i.model.name, version: i.version.version })} aria-current=${here ? "true" : undefined}>
              <strong>${i.model.name}</strong> ${i.version.version}
              <small>${publishedBy(me, i.version) ? " · yours" : ""}</small></a></li>`;
          })}
        </ul>
      </${Section}>
      ${chosen && html`<${Review} key=${`${chosen.model.name}@${chosen.version.version}`} client=${client} me=${me} item=${chosen} onDecided=${onDecided} />`}
    </div>`}
  </div>`;
}
