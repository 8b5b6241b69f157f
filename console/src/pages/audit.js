import { html } from "htm/preact";
import { useMemo, useState } from "preact/hooks";

import { collect } from "../api.js";
import { shortHash, when } from "../format.js";
import { can, covers } from "../session.js";
import { Badge, Empty, ErrorBox, Field, Loading, More, Section, link, useAsync, usePaged } from "../ui.js";

export function filterEvents(events, { action, actor, text, from, to }) {
  const needle = (text || "").trim().toLowerCase();
  const start = from ? new Date(from).getTime() : null;
  const end = to ? new Date(to).getTime() + 86400000 : null;
  return events.filter((e) => {
    if (action && e.action !== action) return false;
    if (actor && !String(e.actor).toLowerCase().includes(actor.trim().toLowerCase())) return false;
    const t = new Date(e.time).getTime();
    if (start !== null && !(t >= start)) return false;
    if (end !== null && !(t < end)) return false;
    if (needle && ![e.target, e.details, e.request_id].some((s) => String(s).toLowerCase().includes(needle))) return false;
    return true;
  });
}

function pretty(details) {
  try {
    return JSON.stringify(JSON.parse(details), null, 2);
  } catch {
    return String(details);
  }
}

function Verification({ client, chain }) {
  const [state, setState] = useState({ busy: false, report: null, error: null, scope: "" });
  const run = (scope) => async () => {
    setState({ busy: true, report: null, error: null, scope });
    try {
      setState({ busy: false, report: await client.audit.verify(scope || undefined), error: null, scope });
    } catch (error) {
      setState({ busy: false, report: null, error, scope });
    }
  };
  const r = state.report;
  return html`<div class="verify">
    <div class="actions">
      <button type="button" class="primary" onClick=${run(chain)} disabled=${state.busy} aria-busy=${state.busy}>${`Verify ${chain}`}</button>
      <button type="button" onClick=${run("")} disabled=${state.busy}>Verify every chain</button>
    </div>
    <${ErrorBox} error=${state.error} />
    ${state.busy && html`<${Loading} what="Recomputing the hash chain" />`}
    ${r &&
    html`<div class=${`verdict ${r.ok ? "verdict-ok" : "verdict-no"}`} role=${r.ok ? "status" : "alert"} id="verify-result">
      <strong>${r.ok ? `Intact: ${r.chains.length} chain${r.chains.length === 1 ? "" : "s"} verified` : "The audit log does not verify"}</strong>
      <ul>${r.chains.map(
        (c) => html`<li class=${c.ok ? "" : "bad"}>
          ${`${c.chain}: ${c.events} events, `}${c.ok ? "hash chain intact" : html`<strong>${`first bad event ${c.first_bad_seq}`}</strong>${` — ${c.reason}`}`}
        </li>`,
      )}</ul>
    </div>`}
  </div>`;
}

export function AuditPage({ client, me, query }) {
  const gate = can(me, "read_audit");
  const models = useAsync(async () => {
    const all = (await collect((cursor) => client.models.page({ limit: 100, cursor }), { max: 2000 })).items;
    return all.filter((m) => covers(me.key.patterns, m.name)).map((m) => m.name);
  }, [client, me]);
  if (!gate.ok) return html`<div class="page"><h1>Audit trail</h1><p class="unavailable-reason">${gate.reason}</p></div>`;
  const chains = [...(can(me, "manage_keys").ok ? ["platform"] : []), ...(models.data || [])];
  const chain = query.chain && chains.includes(query.chain) ? query.chain : chains[0];
  return html`<div class="page">
    <div class="page-head"><h1>Audit trail</h1></div>
    <${ErrorBox} error=${models.error} onRetry=${models.reload} />
    ${models.loading && html`<${Loading} what="Loading chains" />`}
    ${models.data && chains.length === 0 && html`<${Empty}>No chain to show.</${Empty}>`}
    ${chain &&
    html`<div class="field inline">
        <label for="audit-chain">Chain</label>
        <select id="audit-chain" value=${chain} onChange=${(e) => (globalThis.location.hash = link("/audit", { chain: e.currentTarget.value }))}>
          ${chains.map((c) => html`<option value=${c}>${c === "platform" ? "platform (keys)" : c}</option>`)}
        </select>
      </div>
      <${Section} id="verify-title" title="Verification"><${Verification} key=${chain} client=${client} chain=${chain} /></${Section}>
      <${Events} key=${`events-${chain}`} client=${client} chain=${chain} />`}
  </div>`;
}

function Events({ client, chain }) {
  const list = usePaged((cursor) => client.audit.page(chain, { limit: 50, cursor }), [client, chain]);
  const [filters, setFilters] = useState({ action: "", actor: "", text: "", from: "", to: "" });
  const actions = useMemo(() => [...new Set(list.items.map((e) => e.action))].sort(), [list.items]);
  const shown = filterEvents(list.items, filters);
  const set = (field) => (e) => {
    const value = e.currentTarget.value;
    setFilters((f) => ({ ...f, [field]: value }));
  };
  return html`<${Section} id="events-title" title="Events (newest first)">
    <form class="filters row" onSubmit=${(e) => e.preventDefault()} aria-label="Filter events">
      <${Field} id="f-action" label="Action">
        <select id="f-action" value=${filters.action} onChange=${set("action")}>
          <option value="">any</option>${actions.map((a) => html`<option value=${a}>${a}</option>`)}
        </select>
      </${Field}>
      <${Field} id="f-actor" label="Actor"><input id="f-actor" value=${filters.actor} onInput=${set("actor")} placeholder="key id or system:…" /></${Field}>
      <${Field} id="f-text" label="Target or details"><input id="f-text" type="search" value=${filters.text} onInput=${set("text")} /></${Field}>
      <${Field} id="f-from" label="From"><input id="f-from" type="date" value=${filters.from} onInput=${set("from")} /></${Field}>
      <${Field} id="f-to" label="To"><input id="f-to" type="date" value=${filters.to} onInput=${set("to")} /></${Field}>
    </form>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    ${list.loading && list.items.length === 0 && html`<${Loading} what="Loading events" />`}
    <p class="muted" aria-live="polite">${`${shown.length} of ${list.items.length} loaded events`}${list.cursor ? " (older events not loaded yet: filters apply to loaded events)" : ""}</p>
    <div class="table-wrap"><table class="events">
      <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr></thead>
      <tbody>${shown.map(
        (e) => html`<tr key=${e.seq} id=${`event-${e.seq}`}>
          <th scope="row">${e.seq}</th>
          <td>${when(e.time)}</td>
          <td>${e.actor}</td>
          <td><${Badge} value=${e.action} kind="action" /></td>
          <td>${e.target}</td>
          <td><details><summary>${`hash ${shortHash(e.hash, 10)}`}</summary>
            <pre class="json">${pretty(e.details)}</pre>
            <p class="muted">${`request ${e.request_id} · digest ${e.digest} · prev ${e.prev_hash}`}</p></details></td>
        </tr>`,
      )}</tbody>
    </table></div>
    <${More} cursor=${list.cursor} loading=${list.loading} onMore=${list.more} what="older events" />
  </${Section}>`;
}
