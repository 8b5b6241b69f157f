// Rendering of API errors and of API values that hold HTML: they must reach the page as
// text, never as markup. (The browser tests check the same in a real DOM.)
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import { html } from "htm/preact";
import { render } from "preact-render-to-string";

import { ApiError } from "../src/api.js";
import { LineageGraph } from "../src/lineage.js";
import { CardView, Changes, LineageFacts, changesSince } from "../src/pages/versions.js";
import { ErrorBox, Facts } from "../src/ui.js";

const EVIL = `<img src=x onerror="alert(1)"><script>alert(2)</script>`;

function noMarkupFrom(out) {
  assert.ok(!out.includes("<img"), out);
  assert.ok(!out.includes("<script"), out);
  assert.ok(out.includes("&lt;img") || out.includes("&lt;script"), out);
}

test("an API error shows its code, message and fields as the API sent them", () => {
  const error = new ApiError(400, "InvalidInput", "invalid request: body.owner: Field required", [
    { path: "body.owner", message: "Field required" },
  ]);
  const out = render(html`<${ErrorBox} error=${error} />`);
  assert.match(out, /role="alert"/);
  assert.match(out, /InvalidInput \(400\)/);
  assert.match(out, /invalid request: body.owner: Field required/);
  assert.match(out, /<code>body.owner<\/code> Field required/);
});

test("an error message holding HTML is rendered as text", () => {
  const error = new ApiError(409, `Conflict${EVIL}`, `version 1.0.0 ${EVIL}`, [{ path: EVIL, message: EVIL }]);
  const out = render(html`<${ErrorBox} error=${error} />`);
  noMarkupFrom(out);
  assert.ok(out.includes("version 1.0.0 &lt;img src=x onerror=&quot;alert(1)&quot;"), out);
});

test("a network failure says the API cannot be reached", () => {
  const out = render(html`<${ErrorBox} error=${new ApiError(0, "NetworkError", "cannot reach the API (Failed to fetch)")} />`);
  assert.match(out, /The API cannot be reached/);
  assert.match(out, /Failed to fetch/);
});

test("a model card, lineage and facts holding HTML render as text", () => {
  const version = {
    version: "1.0.0",
    card: { intended_use: EVIL, limitations: "none", evaluation: EVIL, training_data: "t" },
    lineage: { dataset_uri: `s3://b/${EVIL}`, code_revision: EVIL, training_job: EVIL },
  };
  for (const out of [
    render(html`<${CardView} version=${version} />`),
    render(html`<${LineageFacts} version=${version} />`),
    render(html`<${Facts} items=${[["Owner", EVIL]]} />`),
  ]) {
    noMarkupFrom(out);
  }
});

test("the lineage graph's labels and tooltips hold HTML as text", () => {
  const versions = [
    { version: "1.0.0", status: "approved", lineage: { code_revision: EVIL, dataset_uri: `s3://x/${EVIL}`, dataset_sha256: "a".repeat(64) } },
    { version: "1.0.1", status: "pending_approval", lineage: { parent_version: "1.0.0", training_job: EVIL } },
  ];
  const out = render(html`<${LineageGraph} versions=${versions} selected="1.0.1" />`);
  noMarkupFrom(out);
  assert.match(out, /<svg/);
});

test("changes since production show both sides as text", () => {
  const base = { framework: "sklearn", lineage: {}, card: { limitations: "old" }, artifact: { sha256: "a", size: 1 } };
  const next = { framework: "sklearn", lineage: { code_revision: EVIL }, card: { limitations: EVIL }, artifact: { sha256: "b", size: 2 } };
  const out = render(html`<${Changes} changes=${changesSince(base, next)} productionVersion="1.0.0" />`);
  noMarkupFrom(out);
});

test("no source file writes HTML into the page", async () => {
  const root = new URL("../src/", import.meta.url).pathname;
  const files = [];
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith(".js")) files.push(path);
    }
  };
  await walk(root);
  assert.ok(files.length > 10);
  for (const file of files) {
    const text = await readFile(file, "utf8");
    for (const banned of ["dangerouslySetInnerHTML", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
      assert.ok(!text.includes(banned), `${file} uses ${banned}`);
    }
  }
});

test("a rolled-back deployment names its cause and what still serves", async () => {
  const { Outcome, Traffic } = await import("../src/pages/deployments.js");
  const failed = {
    status: "failed", step: "wait_endpoint", alias: "production", version: "1.0.1", previous_version: "1.0.0",
    error: "EndpointRolledBack", cause: `SageMaker rolled the update back: alarm ${EVIL} fired`,
  };
  const out = render(html`<${Outcome} d=${failed} />`);
  assert.match(out, /role="alert"/);
  assert.match(out, /Failed at wait endpoint: EndpointRolledBack/);
  assert.match(out, /production still serves 1.0.0\./);
  noMarkupFrom(out);
  const canary = {
    status: "running", step: "wait_endpoint", version: "1.0.1", previous_version: "1.0.0",
    settings: { strategy: { type: "canary", percent: 10, wait_seconds: 60 } },
    rollout: { status: "Baking", since: "2025-01-01T00:00:00Z", bakes: 1, traffic_percent: 10, message: EVIL },
  };
  const live = render(html`<${Traffic} deployment=${canary} now=${Date.parse("2025-01-01T00:00:20Z")} />`);
  assert.match(live, /10% of traffic on 1.0.1/);
  assert.match(live, /baking: 40 s left/);
  assert.match(live, /10% of traffic on 1.0.1, 90% on 1.0.0/);
  noMarkupFrom(live);
});
