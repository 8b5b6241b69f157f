// The console's shell: configuration, sign-in state, navigation and the hash router.
// Routes live in the fragment (`#/models/churn`), so a static host serves one index.html and
// the key never appears in a URL.

import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";

import { Client } from "./api.js";
import { ApprovalsPage } from "./pages/approvals.js";
import { AuditPage } from "./pages/audit.js";
import { CatalogPage } from "./pages/catalog.js";
import { DeploymentPage, DeploymentsPage, StartDeploymentPage } from "./pages/deployments.js";
import { KeysPage } from "./pages/keys.js";
import { ModelPage } from "./pages/model.js";
import { MonitoringPage } from "./pages/monitoring.js";
import { SignIn } from "./pages/signin.js";
import { can, clearKey, loadKey, saveKey } from "./session.js";
import { ErrorBox, Loading } from "./ui.js";

export function parseRoute(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query: Object.fromEntries(new URLSearchParams(query)) };
}

function useHash() {
  const [hash, setHash] = useState(globalThis.location.hash);
  useEffect(() => {
    const update = () => setHash(globalThis.location.hash);
    globalThis.addEventListener("hashchange", update);
    return () => globalThis.removeEventListener("hashchange", update);
  }, []);
  return hash;
}

const NAV = [
  { href: "#/models", label: "Catalog", match: "models" },
  { href: "#/approvals", label: "Approvals", match: "approvals", action: "decide" },
  { href: "#/deployments", label: "Deployments", match: "deployments" },
  { href: "#/audit", label: "Audit", match: "audit", action: "read_audit" },
  { href: "#/monitoring", label: "Monitoring", match: "monitoring" },
  { href: "#/keys", label: "Keys", match: "keys", action: "manage_keys" },
];

function Nav({ me, current }) {
  return html`<nav aria-label="Main">
    <ul>
      ${NAV.map((item) => {
        const gate = item.action ? can(me, item.action) : { ok: true };
        const here = current === item.match;
        if (!gate.ok) {
          return html`<li><span class="nav-off" aria-disabled="true" title=${gate.reason}>${item.label}</span></li>`;
        }
        return html`<li><a href=${item.href} aria-current=${here ? "page" : undefined}>${item.label}</a></li>`;
      })}
    </ul>
  </nav>`;
}

function Header({ me, current, onSignOut }) {
  const skip = () => globalThis.document.getElementById("main").focus();
  return html`<header class="top">
    <button type="button" class="skip" onClick=${skip}>Skip to content</button>
    <a class="brand" href="#/models">Modelport</a>
    ${me && html`<${Nav} me=${me} current=${current} />`}
    ${me &&
    html`<div class="who">
      <span class="who-name" title=${`key ${me.key.key_id}`}>${me.key.owner}</span>
      <span class="who-roles">${me.key.roles.join(", ")}</span>
      <button type="button" class="signout" onClick=${onSignOut}>Sign out</button>
    </div>`}
  </header>`;
}

function Routed({ route, ctx }) {
  const [first, second, third, fourth] = route.parts;
  const props = { ...ctx, query: route.query };
  if (!first || first === "models") {
    if (!second) return html`<${CatalogPage} ...${props} />`;
    if (third === "deployments" && fourth) return html`<${DeploymentPage} ...${props} model=${second} id=${fourth} />`;
    return html`<${ModelPage} ...${props} name=${second} tab=${third} arg=${fourth} />`;
  }
  if (first === "approvals") return html`<${ApprovalsPage} ...${props} />`;
  if (first === "deployments") return html`<${DeploymentsPage} ...${props} />`;
  if (first === "deploy") return html`<${StartDeploymentPage} ...${props} />`;
  if (first === "audit") return html`<${AuditPage} ...${props} />`;
  if (first === "monitoring") return html`<${MonitoringPage} ...${props} />`;
  if (first === "keys") return html`<${KeysPage} ...${props} />`;
  return html`<div class="panel"><h1>Not found</h1><p>No page at this address. <a href="#/models">Open the catalog</a>.</p></div>`;
}

export function App({ config, storage = globalThis.sessionStorage }) {
  const hash = useHash();
  const route = parseRoute(hash);
  const [session, setSession] = useState({ state: "checking", me: null, client: null, error: null });

  const signIn = async (token) => {
    const client = new Client(config.api_url, token);
    const me = await client.keys.whoami();
    saveKey(token, storage);
    setSession({ state: "in", me, client, error: null });
  };

  const signOut = () => {
    clearKey(storage);
    setSession({ state: "out", me: null, client: null, error: null });
  };

  useEffect(() => {
    const token = loadKey(storage);
    if (!token) {
      setSession({ state: "out", me: null, client: null, error: null });
      return;
    }
    signIn(token).catch((error) => {
      if (error.status === 401) clearKey(storage);
      setSession({ state: "out", me: null, client: null, error });
    });
  }, []);

  useEffect(() => {
    const page = route.parts[0] || "models";
    globalThis.document.title = `${page[0].toUpperCase()}${page.slice(1)} · Modelport`;
  }, [hash]);

  let body;
  if (session.state === "checking") body = html`<${Loading} what="Checking the saved key" />`;
  else if (session.state === "out") body = html`<${SignIn} onSignIn=${signIn} error=${session.error} />`;
  // Keyed by the address: every navigation shows fresh data from the API.
  else body = html`<${Routed} key=${hash} route=${route} ctx=${{ client: session.client, me: session.me, config }} />`;

  return html`<${Header} me=${session.me} current=${route.parts[0] || "models"} onSignOut=${signOut} />
    <main id="main" tabindex="-1">${body}</main>`;
}

export function ConfigError({ error }) {
  return html`<main id="main"><${ErrorBox} error=${error} /></main>`;
}
