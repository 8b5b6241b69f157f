// Production history ("what served when") comes from the governance-records API
// (`GET /v1/models/{name}/aliases/{alias}/history`), which this platform does not serve yet.
import { html } from "htm/preact";

export function ProductionHistory({ aliases }) {
  const production = aliases.find((a) => a.alias === "production");
  return html`<div>
    <p>${production ? `production serves ${production.version} now.` : "Nothing has been in production yet."}</p>
    <p class="muted">The full history of what served when is not available from this platform's API yet.</p>
  </div>`;
}
