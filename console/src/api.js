// The console's client of the Modelport API. It mirrors `modelport.client` (DESIGN.md §6):
// one class per resource (`client.models`, `client.versions`, ...), listings as pages with
// the API's cursors, creating POSTs with an Idempotency-Key, and one error type that keeps
// the API's `code`, `message` and `fields`.

/** An answer that is not a success: the API's own error code and message, kept as text. */
export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
// Nothing ran when the answer is one of these, so even a non-idempotent request may be sent again.
const NOT_PROCESSED = new Set([429, 503]);
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE"]);

/** One path segment, escaped (as `modelport.client.resources.seg`). */
export const seg = (value) => encodeURIComponent(String(value));

export function newIdempotencyKey() {
  return globalThis.crypto.randomUUID();
}

/** The ApiError for a failed response: `{"error": {"code", "message", "fields"}}` when the
 * API sent one, SageMaker's `{"ErrorCode", "Message"}` from the inference path, else the status. */
export async function errorFrom(response) {
  let text = "";
  try {
    text = await response.text();
  } catch {
    // the body is unreadable; the status still says what happened
  }
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const status = response.status;
  if (body && typeof body === "object") {
    const error = body.error;
    if (error && typeof error === "object" && typeof error.message === "string") {
      const fields = Array.isArray(error.fields) ? error.fields.filter((f) => f && typeof f === "object") : [];
      return new ApiError(status, String(error.code || `HTTP${status}`), error.message, fields);
    }
    if (typeof body.Message === "string" || typeof body.message === "string") {
      return new ApiError(status, String(body.ErrorCode || body.code || `HTTP${status}`), body.Message ?? body.message);
    }
  }
  const reason = response.statusText ? ` ${response.statusText}` : "";
  return new ApiError(status, `HTTP${status}`, `the API answered ${status}${reason}`);
}

/** Sends requests with the key; retries what may be retried, as the SDK's Transport does. */
export class Transport {
  constructor(baseUrl, token, { fetchImpl, maxRetries = 2, sleep } = {}) {
    this.baseUrl = String(baseUrl || "").replace(/\/+$/, "");
    this.token = token;
    this.fetch = fetchImpl || globalThis.fetch.bind(globalThis);
    this.maxRetries = maxRetries;
    this.sleep = sleep || ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  url(path, params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") query.append(name, String(value));
    }
    const suffix = query.toString();
    return `${this.baseUrl}${path}${suffix ? `?${suffix}` : ""}`;
  }

  async json(method, path, { params, body, idempotencyKey } = {}) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    const mayResend = IDEMPOTENT_METHODS.has(method) || Boolean(idempotencyKey);
    const url = this.url(path, params);
    for (let attempt = 0; ; attempt += 1) {
      let response;
      try {
        response = await this.fetch(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "omit",
          cache: "no-store",
          referrerPolicy: "no-referrer",
        });
      } catch (error) {
        if (mayResend && attempt < this.maxRetries) {
          await this.sleep(250 * 2 ** attempt);
          continue;
        }
        throw new ApiError(0, "NetworkError", `cannot reach the API (${error && error.message ? error.message : error})`);
      }
      if (response.ok) {
        if (response.status === 204) return null;
        const text = await response.text();
        return text ? JSON.parse(text) : null;
      }
      const retry = RETRY_STATUSES.has(response.status) && (mayResend || NOT_PROCESSED.has(response.status));
      if (retry && attempt < this.maxRetries) {
        await this.sleep(250 * 2 ** attempt);
        continue;
      }
      throw await errorFrom(response);
    }
  }
}

class Resource {
  constructor(transport) {
    this.t = transport;
  }
}

export class Models extends Resource {
  /** Active models; `status` "retired" or "all" lists those, `overdue` only models past revalidation. */
  page({ limit = 50, cursor, status, overdue } = {}) {
    return this.t.json("GET", "/v1/models", { params: { limit, cursor, status, overdue: overdue ? "true" : undefined } });
  }

  get(name) {
    return this.t.json("GET", `/v1/models/${seg(name)}`);
  }
}

export class Versions extends Resource {
  /** Newest first. */
  page(model, { limit = 50, cursor } = {}) {
    return this.t.json("GET", `/v1/models/${seg(model)}/versions`, { params: { limit, cursor } });
  }

  /** Resolve `1.2.3`, `1.2.x`, `1.x`, `latest` or an alias to one version. */
  get(model, spec) {
    return this.t.json("GET", `/v1/models/${seg(model)}/versions/${seg(spec)}`);
  }

  decide(model, version, action, comment) {
    const body = comment ? { comment } : undefined;
    return this.t.json("POST", `/v1/models/${seg(model)}/versions/${seg(version)}/${action}`, { body });
  }

  submit(model, version) {
    return this.decide(model, version, "submit");
  }

  approve(model, version, comment) {
    return this.decide(model, version, "approve", comment);
  }

  reject(model, version, comment) {
    return this.decide(model, version, "reject", comment);
  }

  archive(model, version, comment) {
    return this.decide(model, version, "archive", comment);
  }
}

export class Aliases extends Resource {
  async list(model) {
    return (await this.t.json("GET", `/v1/models/${seg(model)}/aliases`)).items;
  }

  set(model, alias, version) {
    return this.t.json("PUT", `/v1/models/${seg(model)}/aliases/${seg(alias)}`, { body: { version } });
  }

  /** Every period the alias pointed at a version, newest first. */
  historyPage(model, alias = "production", { limit = 50, cursor } = {}) {
    return this.t.json("GET", `/v1/models/${seg(model)}/aliases/${seg(alias)}/history`, { params: { limit, cursor } });
  }

  /** The period of `alias` that covered `when` (RFC 3339), or null when it pointed at nothing then. */
  async at(model, alias, when) {
    const page = await this.t.json("GET", `/v1/models/${seg(model)}/aliases/${seg(alias)}/history`, { params: { at: when } });
    return page.items.length ? page.items[0] : null;
  }
}

export class Keys extends Resource {
  /** The signed-in key: its public fields and what its roles permit. */
  whoami() {
    return this.t.json("GET", "/v1/whoami");
  }

  create(key) {
    return this.t.json("POST", "/v1/keys", { body: key, idempotencyKey: newIdempotencyKey() });
  }

  page({ limit = 50, cursor } = {}) {
    return this.t.json("GET", "/v1/keys", { params: { limit, cursor } });
  }

  revoke(keyId) {
    return this.t.json("DELETE", `/v1/keys/${seg(keyId)}`);
  }
}

export class Audit extends Resource {
  /** A chain's events, newest first (`platform` for keys, else a model name). */
  page(chain, { limit = 50, cursor } = {}) {
    return this.t.json("GET", "/v1/audit", { params: { chain, limit, cursor } });
  }

  verify(chain) {
    return this.t.json("GET", "/v1/audit/verify", { params: { chain } });
  }
}

export class Deployments extends Resource {
  /** Deploy `version` (a spec or an alias) behind alias `to` with endpoint `settings`. */
  start(model, version, { to = "production", settings = {} } = {}) {
    return this.t.json("POST", `/v1/models/${seg(model)}/deployments`, {
      body: { version, alias: to, settings },
      idempotencyKey: newIdempotencyKey(),
    });
  }

  get(model, id) {
    return this.t.json("GET", `/v1/models/${seg(model)}/deployments/${seg(id)}`);
  }

  page(model, { limit = 50, cursor } = {}) {
    return this.t.json("GET", `/v1/models/${seg(model)}/deployments`, { params: { limit, cursor } });
  }
}

export class Retrains extends Resource {
  get(model, id) {
    return this.t.json("GET", `/v1/models/${seg(model)}/retrains/${seg(id)}`);
  }

  page(model, { limit = 50, cursor } = {}) {
    return this.t.json("GET", `/v1/models/${seg(model)}/retrains`, { params: { limit, cursor } });
  }
}

export class Monitoring extends Resource {
  /** Per alias: the latest drift run, the history, drift per feature and the live metric over time. */
  status(model) {
    return this.t.json("GET", `/v1/models/${seg(model)}/monitoring`);
  }

  /** Run the drift job now for one alias. */
  run(model, { alias = "production", window_hours } = {}) {
    return this.t.json("POST", `/v1/models/${seg(model)}/monitoring/runs`, {
      body: { alias, ...(window_hours ? { window_hours } : {}) },
      idempotencyKey: newIdempotencyKey(),
    });
  }

  get(model, runId) {
    return this.t.json("GET", `/v1/models/${seg(model)}/monitoring/runs/${seg(runId)}`);
  }

  /** The run's report (JSON) and a short-lived link to its HTML page. */
  report(model, runId) {
    return this.t.json("GET", `/v1/models/${seg(model)}/monitoring/reports/${seg(runId)}`);
  }
}

/** A connection to one Modelport API with one key. */
export class Client {
  constructor(baseUrl, token, options = {}) {
    const t = new Transport(baseUrl, token, options);
    this.transport = t;
    this.models = new Models(t);
    this.versions = new Versions(t);
    this.aliases = new Aliases(t);
    this.keys = new Keys(t);
    this.audit = new Audit(t);
    this.deployments = new Deployments(t);
    this.retrains = new Retrains(t);
    this.monitoring = new Monitoring(t);
  }
}

/** Every item of a listing, page after page (`fetchPage(cursor)` → `{items, cursor}`), at most `max`. */
export async function collect(fetchPage, { max = 1000 } = {}) {
  const items = [];
  let cursor;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor && items.length < max);
  return { items, cursor: cursor || null };
}
