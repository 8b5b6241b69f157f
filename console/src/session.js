// The signed-in key lives in sessionStorage only: never in the URL, never in localStorage,
// never in a cookie. It goes when the tab closes or on sign-out.

export const STORAGE_KEY = "modelport.apiKey";
export const TOKEN_RE = /^mp_[0-9a-f]{16}_[A-Za-z0-9_-]{43,128}$/;

export function loadKey(storage = globalThis.sessionStorage) {
  const value = storage.getItem(STORAGE_KEY);
  return value && TOKEN_RE.test(value) ? value : null;
}

export function saveKey(token, storage = globalThis.sessionStorage) {
  storage.setItem(STORAGE_KEY, token);
}

export function clearKey(storage = globalThis.sessionStorage) {
  storage.removeItem(STORAGE_KEY);
}

/** Why a pasted key cannot be one (checked before it is sent anywhere), or null. */
export function keyProblem(token) {
  const value = (token || "").trim();
  if (!value) return "Paste an API key.";
  if (!value.startsWith("mp_")) return "An API key starts with mp_ (Authorization: Bearer mp_…).";
  if (!TOKEN_RE.test(value)) return "This is not a whole API key: mp_, 16 hex digits, _, then the secret.";
  return null;
}

/** True when one of the key's model patterns (`churn*`, `*`) covers `model`, as fnmatchcase. */
export function covers(patterns, model) {
  return (patterns || []).some((pattern) => {
    const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
    return new RegExp(`^${source}$`).test(model);
  });
}

/**
 * Whether the signed-in key may `action` (a permission named by `GET /v1/whoami`), on `model`
 * when given: `{ok: true}` or `{ok: false, reason}` with the text the console shows instead of
 * the control, so nothing fails only after a click.
 */
export function can(me, action, model) {
  if (!me) return { ok: false, reason: "Sign in first." };
  const permission = (me.permissions || []).find((p) => p.action === action);
  if (!permission || !permission.allowed) {
    const roles = permission && permission.roles ? permission.roles.join(" or ") : "another";
    return { ok: false, reason: `Needs the ${roles} role; this key has ${me.key.roles.join(", ")}.` };
  }
  if (model !== undefined && !covers(me.key.patterns, model)) {
    return { ok: false, reason: `This key's model patterns (${me.key.patterns.join(", ")}) do not cover ${model}.` };
  }
  return { ok: true, reason: "" };
}

/** The four-eyes rule as the API applies it: nobody decides on a version they published. */
export function publishedBy(me, version) {
  if (!me || !version) return false;
  if (version.created_by === me.key.key_id) return true;
  return Boolean(version.created_by_owner) && version.created_by_owner === me.key.owner;
}

/** True when the key (or its owner) already approved `version` (a high-risk model needs two people). */
export function approvedBy(me, version) {
  if (!me || !version) return false;
  return (version.approvals || []).some(
    (a) => a.by === me.key.key_id || (a.owner != null && me.key.owner != null && a.owner === me.key.owner),
  );
}
