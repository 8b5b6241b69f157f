import { html } from "htm/preact";
import { useState } from "preact/hooks";

import { can } from "../session.js";
import { Action, Badge, CopyButton, ErrorBox, Field, Loading, More, Section, Time, usePaged } from "../ui.js";

const ROLES = ["admin", "publisher", "approver", "consumer"];

export function keyState(key, now = Date.now()) {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && new Date(key.expires_at).getTime() <= now) return "expired";
  return "active";
}

function NewKeyForm({ client, onCreated }) {
  const [form, setForm] = useState({ owner: "", roles: ["consumer"], patterns: "*", description: "", expires: "" });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const toggle = (role) => (e) => {
    const on = e.currentTarget.checked;
    setForm((f) => ({ ...f, roles: on ? [...new Set([...f.roles, role])] : f.roles.filter((r) => r !== role) }));
  };
  const set = (field) => (e) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [field]: value }));
  };
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      owner: form.owner.trim(),
      roles: form.roles,
      patterns: form.patterns.split(/[\s,]+/).filter(Boolean),
      description: form.description,
    };
    if (form.expires) body.expires_in_days = Number(form.expires);
    try {
      onCreated(await client.keys.create(body));
      setForm({ owner: "", roles: ["consumer"], patterns: "*", description: "", expires: "" });
    } catch (failure) {
      setError(failure);
    }
    setBusy(false);
  };
  return html`<form class="form" onSubmit=${submit}>
    <${Field} id="key-owner" label="Owner (person or service)"><input id="key-owner" value=${form.owner} onInput=${set("owner")} required maxlength="256" /></${Field}>
    <fieldset>
      <legend>Roles</legend>
      ${ROLES.map((r) => html`<label class="radio"><input type="checkbox" name="roles" value=${r} checked=${form.roles.includes(r)} onChange=${toggle(r)} /> ${r}</label>`)}
    </fieldset>
    <${Field} id="key-patterns" label="Model patterns" hint="comma-separated, e.g. churn*, fraud"><input id="key-patterns" value=${form.patterns} onInput=${set("patterns")} /></${Field}>
    <${Field} id="key-description" label="Description"><input id="key-description" value=${form.description} onInput=${set("description")} maxlength="512" /></${Field}>
    <${Field} id="key-expires" label="Expires in (days, optional)"><input id="key-expires" type="number" min="1" max="3650" value=${form.expires} onInput=${set("expires")} /></${Field}>
    <div class="actions"><button type="submit" class="primary" disabled=${busy} aria-busy=${busy}>Create key</button></div>
    <${ErrorBox} error=${error} />
  </form>`;
}

function NewToken({ created, onDismiss }) {
  return html`<div class="token" role="status">
    <strong>${`Key ${created.key.key_id} for ${created.key.owner} created.`}</strong>
    <p>This is the only time the token is shown: copy it now and hand it over safely. Only its hash is stored.</p>
    <div class="token-row">
      <label for="new-token" class="sr-only">New API key token</label>
      <input id="new-token" class="token-value" readonly value=${created.token || ""} onFocus=${(e) => e.currentTarget.select()} />
      <${CopyButton} text=${created.token || ""} what="Copy token" />
    </div>
    <button type="button" onClick=${onDismiss}>I have copied it</button>
  </div>`;
}

export function KeysPage({ client, me }) {
  const gate = can(me, "manage_keys");
  const [created, setCreated] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState("");
  const list = usePaged((cursor) => (gate.ok ? client.keys.page({ limit: 50, cursor }) : Promise.resolve({ items: [] })), [client, gate.ok]);
  if (!gate.ok) return html`<div class="page"><h1>API keys</h1><p class="unavailable-reason">${gate.reason}</p></div>`;
  const revoke = (key) => async () => {
    if (!globalThis.confirm(`Revoke key ${key.key_id} (${key.owner})? Requests with it fail from now on.`)) return;
    setBusy(key.key_id);
    setError(null);
    try {
      await client.keys.revoke(key.key_id);
      list.reload();
    } catch (failure) {
      setError(failure);
    }
    setBusy("");
  };
  return html`<div class="page">
    <div class="page-head"><h1>API keys</h1></div>
    ${created && html`<${NewToken} created=${created} onDismiss=${() => setCreated(null)} />`}
    <${Section} id="new-key-title" title="Create a key">
      <${NewKeyForm} client=${client} onCreated=${(c) => { setCreated(c); list.reload(); }} />
    </${Section}>
    <${Section} id="keys-title" title="Keys">
      <${ErrorBox} error=${error || list.error} onRetry=${list.error ? list.reload : undefined} />
      ${list.loading && list.items.length === 0 && html`<${Loading} what="Loading keys" />`}
      <div class="table-wrap"><table class="keys">
        <thead><tr><th scope="col">Key</th><th scope="col">Owner</th><th scope="col">Roles</th><th scope="col">Patterns</th>
          <th scope="col">State</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.items.map((k) => {
          const state = keyState(k);
          const self = k.key_id === me.key.key_id;
          return html`<tr key=${k.key_id}>
            <th scope="row"><code>${k.key_id}</code>${self ? html` <small>(you)</small>` : ""}${k.description && html`<div class="sub">${k.description}</div>`}</th>
            <td>${k.owner}</td><td>${k.roles.join(", ")}</td><td>${k.patterns.join(", ")}</td>
            <td><${Badge} value=${state} /></td><td><${Time} value=${k.created_at} /></td><td>${k.expires_at ? html`<${Time} value=${k.expires_at} />` : "never"}</td>
            <td>${state === "active" && html`<${Action} allowed=${true} kind="danger" busy=${busy === k.key_id} onClick=${revoke(k)}>Revoke</${Action}>`}</td>
          </tr>`;
        })}</tbody>
      </table></div>
      <${More} cursor=${list.cursor} loading=${list.loading} onMore=${list.more} what="more keys" />
    </${Section}>
  </div>`;
}
