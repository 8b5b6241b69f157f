import { html } from "htm/preact";
import { useEffect, useMemo, useState } from "preact/hooks";

import { Badge, Empty, ErrorBox, Loading, More, link, usePaged } from "../ui.js";

const PAGE = 50;

/** Run `work(item)` for each item, `limit` at a time (the API is one process locally). */
export async function eachLimited(items, limit, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(runners);
}

export function matches(model, query) {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [model.name, model.owner, model.framework, model.description]
    .filter(Boolean)
    .some((text) => String(text).toLowerCase().includes(q));
}

function useServing(client, models) {
  const [serving, setServing] = useState({});
  useEffect(() => {
    let live = true;
    const todo = models.filter((m) => !(m.name in serving));
    eachLimited(todo, 4, async (model) => {
      const row = { production: null, endpoint: null, latest: null, error: null };
      try {
        const aliases = await client.aliases.list(model.name);
        const production = aliases.find((a) => a.alias === "production");
        row.production = production ? production.version : null;
        row.endpoint = production ? production.endpoint : null;
        if (model.latest_version) row.latest = await client.versions.get(model.name, model.latest_version);
      } catch (error) {
        row.error = error;
      }
      if (live) setServing((s) => ({ ...s, [model.name]: row }));
    });
    return () => {
      live = false;
    };
  }, [client, models]);
  return serving;
}

function ServingCell({ row }) {
  if (!row) return html`<span class="muted">…</span>`;
  if (row.error) return html`<span class="muted" title=${row.error.message}>unavailable</span>`;
  if (!row.production) return html`<span class="muted">none</span>`;
  return html`<span>${row.production}</span> ${row.endpoint ? html`<${Badge} value="serving" />` : html`<${Badge} value="not deployed" kind="none" />`}`;
}

function LatestCell({ row, model }) {
  if (!model.latest_version) return html`<span class="muted">no versions</span>`;
  if (!row || !row.latest) return html`<span>${model.latest_version}</span>`;
  return html`<span>${row.latest.version}</span> <${Badge} value=${row.latest.status} />`;
}

export function CatalogPage({ client }) {
  const [status, setStatus] = useState("active");
  const [overdue, setOverdue] = useState(false);
  const list = usePaged((cursor) => client.models.page({ limit: PAGE, cursor, status, overdue }), [client, status, overdue]);
  const [query, setQuery] = useState("");
  const shown = useMemo(() => list.items.filter((m) => matches(m, query)), [list.items, query]);
  const serving = useServing(client, shown);

  // A search looks at every model, not just the pages loaded so far.
  useEffect(() => {
    if (query.trim() && list.cursor && !list.loading && !list.error) list.more();
  }, [query, list.cursor, list.loading]);

  return html`<div class="page">
    <div class="page-head">
      <h1>Catalog</h1>
      <div class="row catalog-filters">
        <div class="search">
          <label for="model-search">Search models</label>
          <input id="model-search" type="search" value=${query} placeholder="name, owner, framework…"
            onInput=${(e) => setQuery(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="model-status">Show</label>
          <select id="model-status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
            <option value="active">active models</option><option value="retired">retired models</option><option value="all">all models</option>
          </select>
        </div>
        <label class="radio"><input type="checkbox" checked=${overdue} onChange=${(e) => setOverdue(e.currentTarget.checked)} /> overdue for revalidation only</label>
      </div>
    </div>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    ${list.loading && list.items.length === 0 && html`<${Loading} what="Loading models" />`}
    ${!list.loading && !list.error && list.items.length === 0 && html`<${Empty}>No models yet. Publishers create them with <code>modelport models create</code>.</${Empty}>`}
    ${shown.length > 0 &&
    html`<div class="table-wrap">
      <table class="catalog">
        <caption class="sr-only">Models</caption>
        <thead>
          <tr><th scope="col">Model</th><th scope="col">Owner</th><th scope="col">Framework</th>
            <th scope="col">Production</th><th scope="col">Latest version</th></tr>
        </thead>
        <tbody>
          ${shown.map(
            (m) => html`<tr key=${m.name}>
              <th scope="row"><a href=${link(`/models/${encodeURIComponent(m.name)}`)}>${m.name}</a>
                ${m.status === "retired" && html` <${Badge} value="retired" />`}
                ${m.description && html`<div class="sub">${m.description}</div>`}</th>
              <td>${m.owner}</td>
              <td>${m.framework}</td>
              <td><${ServingCell} row=${serving[m.name]} />${m.revalidation_overdue && html` <${Badge} value="revalidation overdue" kind="failed" />`}</td>
              <td><${LatestCell} row=${serving[m.name]} model=${m} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`}
    ${query && list.items.length > 0 && shown.length === 0 && !list.loading && html`<${Empty}>No model matches “${query}”.</${Empty}>`}
    <p class="muted count" aria-live="polite">
      ${query ? `${shown.length} of ${list.items.length} models match` : `${list.items.length} models`}${list.cursor ? " (more to load)" : ""}
    </p>
    <${More} cursor=${list.cursor} loading=${list.loading} onMore=${list.more} what="more models" />
  </div>`;
}
