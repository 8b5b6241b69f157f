// Shared view pieces. Values reach the DOM only as text nodes and attribute values that
// Preact sets as properties: no view ever hands the DOM markup to parse (test/render.test.mjs checks the sources).

import { html } from "htm/preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import { ago, describeError, label, when } from "./format.js";

/** The API's error, as the API said it: code, message and the fields it named. */
export function ErrorBox({ error, onRetry }) {
  if (!error) return null;
  const { title, detail, fields } = describeError(error);
  return html`<div class="error" role="alert">
    <strong class="error-title">${title}</strong>
    <p class="error-detail">${detail}</p>
    ${fields.length > 0 &&
    html`<ul class="error-fields">
      ${fields.map((f) => html`<li><code>${f.path}</code> ${f.message}</li>`)}
    </ul>`}
    ${onRetry && html`<button type="button" onClick=${onRetry}>Try again</button>`}
  </div>`;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="loading" role="status" aria-live="polite">${what}…</p>`;
}

export function Badge({ value, kind }) {
  const text = label(value);
  return html`<span class=${`badge badge-${kind || String(value || "none").replace(/[^a-z_]/gi, "")}`}>${text}</span>`;
}

export function Time({ value }) {
  if (!value) return html`<span class="muted">—</span>`;
  return html`<time datetime=${String(value)} title=${when(value)}>${ago(value)}</time>`;
}

/** A control the key may not use is shown unavailable, with the reason next to it. */
export function Action({ allowed, reason, onClick, children, kind = "", busy = false, type = "button", id }) {
  const hint = useRef(`hint-${Math.random().toString(36).slice(2, 9)}`).current;
  if (allowed) {
    return html`<button type=${type} id=${id} class=${kind} onClick=${onClick} disabled=${busy} aria-busy=${busy}>
      ${children}
    </button>`;
  }
  return html`<span class="unavailable">
    <button type=${type} id=${id} class=${kind} disabled aria-disabled="true" aria-describedby=${hint}>${children}</button>
    <small id=${hint} class="unavailable-reason">${reason}</small>
  </span>`;
}

/** "Load more" for listings paginated with the API's cursors. */
export function More({ cursor, loading, onMore, what = "more" }) {
  if (!cursor) return null;
  return html`<div class="more">
    <button type="button" onClick=${onMore} disabled=${loading} aria-busy=${loading}>
      ${loading ? "Loading…" : `Load ${what}`}
    </button>
  </div>`;
}

/** Run `load()` when `deps` change: `{data, error, loading, reload, setData}`. */
export function useAsync(load, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    Promise.resolve()
      .then(load)
      .then(
        (data) => mine === generation.current && setState({ data, error: null, loading: false }),
        (error) => mine === generation.current && setState({ data: undefined, error, loading: false }),
      );
  }, deps);
  useEffect(() => {
    run();
    return () => {
      generation.current += 1;
    };
  }, [run]);
  const setData = (data) => setState((s) => ({ ...s, data }));
  return { ...state, reload: run, setData };
}

/** A listing fetched page by page: `fetchPage(cursor)` → `{items, cursor}`. */
export function usePaged(fetchPage, deps) {
  const [state, setState] = useState({ items: [], cursor: null, loading: true, error: null });
  const generation = useRef(0);
  const fetchMore = useCallback(
    (cursor, reset) => {
      const mine = reset ? ++generation.current : generation.current;
      setState((s) => ({ ...s, loading: true, error: null, ...(reset ? { items: [], cursor: null } : {}) }));
      return fetchPage(cursor).then(
        (page) => {
          if (mine !== generation.current) return;
          setState((s) => ({ items: [...(reset ? [] : s.items), ...page.items], cursor: page.cursor || null, loading: false, error: null }));
        },
        (error) => mine === generation.current && setState((s) => ({ ...s, loading: false, error })),
      );
    },
    deps,
  );
  useEffect(() => {
    fetchMore(undefined, true);
    return () => {
      generation.current += 1;
    };
  }, [fetchMore]);
  return { ...state, more: () => fetchMore(state.cursor, false), reload: () => fetchMore(undefined, true) };
}

/** Call `tick` every `ms` while `active`. */
export function useInterval(tick, ms, active) {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!active) return undefined;
    const id = setInterval(() => saved.current(), ms);
    return () => clearInterval(id);
  }, [ms, active]);
}

export function Field({ label: text, id, hint, children }) {
  return html`<div class="field">
    <label for=${id}>${text}</label>
    ${children}
    ${hint && html`<small class="hint" id=${`${id}-hint`}>${hint}</small>`}
  </div>`;
}

/** Label/value pairs; values are text. */
export function Facts({ items }) {
  return html`<dl class="facts">
    ${items
      .filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([name, value]) => html`<div class="fact"><dt>${name}</dt><dd>${value}</dd></div>`)}
  </dl>`;
}

/** Copies `text` to the clipboard; says whether it worked. */
export function CopyButton({ text, what = "Copy" }) {
  const [done, setDone] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("Copied");
    } catch {
      setDone("Copy failed: select the text and copy it");
    }
  };
  return html`<span class="copy">
    <button type="button" onClick=${copy}>${what}</button>
    <span role="status" aria-live="polite" class="copy-status">${done}</span>
  </span>`;
}

export function Section({ title, id, children, actions }) {
  return html`<section class="panel" aria-labelledby=${id}>
    <div class="panel-head">
      <h2 id=${id}>${title}</h2>
      ${actions}
    </div>
    ${children}
  </section>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

export function link(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") params.set(k, v);
  const q = params.toString();
  return `#${path}${q ? `?${q}` : ""}`;
}
