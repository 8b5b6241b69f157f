// The console's API client, sign-in rules and the pure helpers behind its pages.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, Client, collect, errorFrom } from "../src/api.js";
import { parseRoute } from "../src/app.js";
import { describeError } from "../src/format.js";
import { layoutLineage } from "../src/lineage.js";
import { filterEvents } from "../src/pages/audit.js";
import { matches } from "../src/pages/catalog.js";
import { bakeLeft } from "../src/pages/deployments.js";
import { keyState } from "../src/pages/keys.js";
import { compareMetrics } from "../src/pages/versions.js";
import { STORAGE_KEY, can, clearKey, covers, keyProblem, loadKey, publishedBy, saveKey } from "../src/session.js";

const TOKEN = `mp_0123456789abcdef_${"s".repeat(43)}`;

function fakeFetch(answers) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return new Response(next.body === undefined ? "" : JSON.stringify(next.body), { status: next.status ?? 200 });
  };
  return { calls, fetchImpl };
}

test("errors keep the API's code, message and fields", async () => {
  const e = await errorFrom(new Response(JSON.stringify({ error: { code: "FourEyesViolation", message: "churn 1.0.0 was published by you" } }), { status: 403 }));
  assert.equal(e.status, 403);
  assert.equal(e.code, "FourEyesViolation");
  assert.equal(e.message, "churn 1.0.0 was published by you");
  const f = await errorFrom(new Response(JSON.stringify({ error: { code: "InvalidInput", message: "bad", fields: [{ path: "body.x", message: "m" }, "junk"] } }), { status: 400 }));
  assert.deepEqual(f.fields, [{ path: "body.x", message: "m" }]);
});

test("SageMaker-shaped and non-JSON error bodies still give a message", async () => {
  const s = await errorFrom(new Response(JSON.stringify({ ErrorCode: "ModelError", Message: "boom" }), { status: 424 }));
  assert.equal(s.code, "ModelError");
  assert.equal(s.message, "boom");
  const h = await errorFrom(new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" }));
  assert.equal(h.code, "HTTP502");
  assert.equal(h.message, "the API answered 502 Bad Gateway");
  assert.deepEqual(describeError(h), { title: "HTTP502 (502)", detail: "the API answered 502 Bad Gateway", fields: [] });
});

test("requests carry the key as a bearer token, never in the URL", async () => {
  const { calls, fetchImpl } = fakeFetch([{ body: { items: [], cursor: null } }]);
  const client = new Client("https://api.example/prod/", TOKEN, { fetchImpl });
  await client.models.page({ limit: 5, cursor: "abc" });
  assert.equal(calls[0].url, "https://api.example/prod/v1/models?limit=5&cursor=abc");
  assert.ok(!calls[0].url.includes(TOKEN));
  assert.equal(calls[0].init.headers.Authorization, `Bearer ${TOKEN}`);
  assert.equal(calls[0].init.credentials, "omit");
});

test("path segments are escaped", async () => {
  const { calls, fetchImpl } = fakeFetch([{ body: {} }]);
  await new Client("", TOKEN, { fetchImpl }).versions.get("a/b", "../x");
  assert.equal(calls[0].url, "/v1/models/a%2Fb/versions/..%2Fx");
});

test("GETs are retried on 503, POSTs without an idempotency key are not retried on 500", async () => {
  const sleep = async () => {};
  const get = fakeFetch([{ status: 503, body: { error: { code: "X", message: "busy" } } }, { body: { ok: true } }]);
  assert.deepEqual(await new Client("", TOKEN, { fetchImpl: get.fetchImpl, sleep }).audit.verify(), { ok: true });
  assert.equal(get.calls.length, 2);
  const post = fakeFetch([{ status: 500, body: { error: { code: "InternalError", message: "internal error" } } }]);
  await assert.rejects(new Client("", TOKEN, { fetchImpl: post.fetchImpl, sleep }).versions.approve("m", "1.0.0"), (e) => e.code === "InternalError");
  assert.equal(post.calls.length, 1);
  const created = fakeFetch([{ status: 502 }, { status: 201, body: { key: {}, token: "t" } }]);
  await new Client("", TOKEN, { fetchImpl: created.fetchImpl, sleep }).keys.create({ owner: "o", roles: ["consumer"] });
  assert.equal(created.calls.length, 2);
  assert.equal(created.calls[0].init.headers["Idempotency-Key"], created.calls[1].init.headers["Idempotency-Key"]);
});

test("an unreachable API is a NetworkError", async () => {
  const down = fakeFetch([new TypeError("Failed to fetch")]);
  await assert.rejects(new Client("", TOKEN, { fetchImpl: down.fetchImpl, maxRetries: 0 }).models.get("m"), (e) => e instanceof ApiError && e.code === "NetworkError" && e.status === 0);
});

test("collect follows the API's cursors", async () => {
  const pages = { undefined: { items: [1, 2], cursor: "c1" }, c1: { items: [3], cursor: null } };
  const seen = [];
  const all = await collect(async (cursor) => {
    seen.push(cursor);
    return pages[cursor];
  });
  assert.deepEqual(all, { items: [1, 2, 3], cursor: null });
  assert.deepEqual(seen, [undefined, "c1"]);
});

test("the key lives in sessionStorage under one name and is checked before use", () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) };
  assert.equal(loadKey(storage), null);
  saveKey(TOKEN, storage);
  assert.deepEqual([...store.keys()], [STORAGE_KEY]);
  assert.equal(loadKey(storage), TOKEN);
  clearKey(storage);
  assert.equal(loadKey(storage), null);
  assert.match(keyProblem(""), /Paste/);
  assert.match(keyProblem("Bearer x"), /starts with mp_/);
  assert.match(keyProblem("mp_123_short"), /not a whole API key/);
  assert.equal(keyProblem(TOKEN), null);
});

test("model patterns match as fnmatch does, with only * special", () => {
  assert.ok(covers(["churn*"], "churn-eu"));
  assert.ok(covers(["*"], "x"));
  assert.ok(!covers(["churn"], "churn2"));
  assert.ok(!covers(["c.urn"], "churn"));
});

test("can() explains what a key's roles do not allow", () => {
  const me = {
    key: { key_id: "k1", owner: "alice", roles: ["publisher"], patterns: ["churn*"] },
    permissions: [
      { action: "publish", allowed: true, roles: ["admin", "publisher"] },
      { action: "decide", allowed: false, roles: ["admin", "approver"] },
    ],
  };
  assert.deepEqual(can(me, "publish", "churn"), { ok: true, reason: "" });
  assert.match(can(me, "decide").reason, /Needs the admin or approver role; this key has publisher/);
  assert.match(can(me, "publish", "fraud").reason, /do not cover fraud/);
  assert.ok(!can(me, "unknown").ok);
  assert.ok(publishedBy(me, { created_by: "k1" }));
  assert.ok(publishedBy(me, { created_by: "k2", created_by_owner: "alice" }));
  assert.ok(!publishedBy(me, { created_by: "k2", created_by_owner: "bob" }));
});

test("routes come from the fragment, never the key", () => {
  assert.deepEqual(parseRoute("#/models/churn%2Dx/card/1.0.1?x=1"), { parts: ["models", "churn-x", "card", "1.0.1"], query: { x: "1" } });
  assert.deepEqual(parseRoute(""), { parts: [], query: {} });
});

test("lineage layout: parents left of children, one row per leaf, unknown parents as ghost nodes", () => {
  const v = (version, parent) => ({ version, status: "approved", lineage: parent ? { parent_version: parent } : {} });
  const { nodes, edges, rows } = layoutLineage([v("1.0.0"), v("1.0.1", "1.0.0"), v("1.1.0", "1.0.0"), v("2.0.0", "0.9.0"), v("3.0.0", "3.0.1"), v("3.0.1", "3.0.0")]);
  const at = Object.fromEntries(nodes.map((n) => [n.id, n]));
  assert.deepEqual(edges.filter(([a]) => a === "1.0.0").sort(), [["1.0.0", "1.0.1"], ["1.0.0", "1.1.0"]]);
  assert.equal(at["1.0.1"].depth, 1);
  assert.notEqual(at["1.0.1"].row, at["1.1.0"].row);
  assert.equal(at["0.9.0"].version, null);
  assert.ok(at["3.0.0"] && at["3.0.1"], "a cycle in bad data still draws both versions");
  assert.equal(new Set(nodes.map((n) => n.id)).size, nodes.length);
  assert.ok(rows >= 4);
});

test("metrics against production follow the policy's direction", () => {
  const rows = compareMetrics({ metric: "rmse", metric_direction: "minimize" }, { metrics: { rmse: 1.5, r2: 0.8 } }, { version: "1.0.0", metrics: { rmse: 2.0, r2: 0.9 } });
  const rmse = rows.find((r) => r.name === "rmse");
  assert.equal(rows[0].name, "rmse");
  assert.ok(rmse.decisive && rmse.better);
  assert.equal(rows.find((r) => r.name === "r2").better, false);
  assert.equal(compareMetrics({ metric: "accuracy" }, { metrics: { accuracy: 1 } }, null)[0].base, undefined);
});

test("audit filters, search and bake countdown", () => {
  const events = [
    { seq: 2, action: "version.approve", actor: "bob", target: "churn:1.0.0", details: "{}", request_id: "r2", time: "2025-01-02T10:00:00Z" },
    { seq: 1, action: "version.submit", actor: "alice", target: "churn:1.0.0", details: '{"why":"x"}', request_id: "r1", time: "2025-01-01T10:00:00Z" },
  ];
  assert.deepEqual(filterEvents(events, { action: "version.approve" }).map((e) => e.seq), [2]);
  assert.deepEqual(filterEvents(events, { actor: "ALI" }).map((e) => e.seq), [1]);
  assert.deepEqual(filterEvents(events, { text: "why" }).map((e) => e.seq), [1]);
  assert.deepEqual(filterEvents(events, { from: "2025-01-02", to: "2025-01-02" }).map((e) => e.seq), [2]);
  const d = { settings: { strategy: { wait_seconds: 60 } }, rollout: { status: "Baking", since: "2025-01-01T00:00:00Z" } };
  assert.equal(bakeLeft(d, Date.parse("2025-01-01T00:00:45Z")), 15);
  assert.equal(bakeLeft(d, Date.parse("2025-01-01T00:02:00Z")), 0);
  assert.equal(bakeLeft({ ...d, rollout: { status: "Creating" } }), null);
  assert.ok(matches({ name: "churn", owner: "DS team" }, "ds"));
  assert.equal(keyState({ revoked_at: "x" }), "revoked");
  assert.equal(keyState({ expires_at: "2000-01-01T00:00:00Z" }), "expired");
});

test("the production timeline puts periods in time order on one axis", async () => {
  const { timeline } = await import("../src/pages/history.js");
  const periods = [
    { version: "1.0.1", start: "2025-01-01T02:00:00Z", end: null, endpoint: "e" },
    { version: "1.0.0", start: "2025-01-01T00:00:00Z", end: "2025-01-01T02:00:00Z", endpoint: "e" },
  ];
  const { bars, ticks } = timeline(periods, Date.parse("2025-01-01T04:00:00Z"), 400);
  assert.equal(bars[1].x, 0);
  assert.equal(bars[1].width, 200);
  assert.equal(bars[0].x, 200);
  assert.equal(bars[0].width, 200);
  assert.notEqual(bars[0].color, bars[1].color);
  assert.equal(ticks.length, 5);
  assert.deepEqual(timeline([], 0), { bars: [], ticks: [], start: 0, end: 0 });
});

test("what served at time T asks the API with ?at=", async () => {
  const calls = [];
  const fetchImpl = async (url) => {
    calls.push(url);
    return new Response(JSON.stringify({ items: url.includes("2020") ? [] : [{ version: "1.0.0" }], cursor: null }));
  };
  const client = new Client("", TOKEN, { fetchImpl });
  assert.deepEqual(await client.aliases.at("churn", "production", "2025-01-01T00:00:00.000Z"), { version: "1.0.0" });
  assert.equal(await client.aliases.at("churn", "production", "2020-01-01T00:00:00.000Z"), null);
  assert.equal(calls[0], "/v1/models/churn/aliases/production/history?at=2025-01-01T00%3A00%3A00.000Z");
});

test("a second approval by the same person is recognised by key and by owner", async () => {
  const { approvedBy } = await import("../src/session.js");
  const me = { key: { key_id: "k1", owner: "bob" }, permissions: [] };
  assert.ok(approvedBy(me, { approvals: [{ by: "k1", owner: null }] }));
  assert.ok(approvedBy(me, { approvals: [{ by: "k9", owner: "bob" }] }));
  assert.ok(!approvedBy(me, { approvals: [{ by: "k9", owner: "carol" }] }));
  assert.ok(!approvedBy(me, {}));
});

test("drift series from the API share one time axis for the chart", async () => {
  const { alignSeries } = await import("../src/pages/monitoring.js");
  const { x, series } = alignSeries({
    x1: [{ time: "2025-01-01T00:00:00Z", value: 0.1 }, { time: "2025-01-02T00:00:00Z", value: 0.4 }],
    x2: [{ time: "2025-01-02T00:00:00Z", value: 0.05 }],
  });
  assert.deepEqual(x, [Date.parse("2025-01-01T00:00:00Z") / 1000, Date.parse("2025-01-02T00:00:00Z") / 1000]);
  assert.deepEqual(series, [{ label: "x1", values: [0.1, 0.4] }, { label: "x2", values: [null, 0.05] }]);
  assert.deepEqual(alignSeries({}), { x: [], series: [] });
});
