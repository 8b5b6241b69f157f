import { html } from "htm/preact";
import { useState } from "preact/hooks";

import { keyProblem } from "../session.js";
import { ErrorBox } from "../ui.js";

export function SignIn({ onSignIn, error: initial }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(initial || null);
  const [problem, setProblem] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    const value = token.trim();
    const why = keyProblem(value);
    setProblem(why || "");
    if (why) return;
    setBusy(true);
    setError(null);
    try {
      await onSignIn(value);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return html`<div class="signin panel">
    <h1>Sign in</h1>
    <p>Paste your Modelport API key. It is kept in this tab only (sessionStorage) and sent only to the API;
      closing the tab or signing out forgets it.</p>
    <form onSubmit=${submit} novalidate>
      <div class="field">
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false"
          placeholder="mp_…" value=${token} onInput=${(e) => setToken(e.currentTarget.value)}
          aria-invalid=${problem ? "true" : undefined} aria-describedby=${problem ? "api-key-problem" : undefined} required />
        ${problem && html`<small id="api-key-problem" class="field-error">${problem}</small>`}
      </div>
      <button type="submit" class="primary" disabled=${busy} aria-busy=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
    </form>
    <${ErrorBox} error=${error} />
  </div>`;
}
