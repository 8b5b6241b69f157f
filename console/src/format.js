// Plain-text formatting of API values. Everything returned here is a string that the views
// put in text nodes; nothing is ever parsed as HTML.

import { ApiError } from "./api.js";

export function errorText(error) {
  if (!error) return "";
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** `{title, detail, fields}` for an error box: the API's code and message, and bad fields. */
export function describeError(error) {
  if (error instanceof ApiError) {
    const title =
      error.status === 0 ? "The API cannot be reached" : `${error.code}${error.status ? ` (${error.status})` : ""}`;
    const fields = (error.fields || []).map((f) => ({ path: String(f.path ?? ""), message: String(f.message ?? "") }));
    return { title, detail: error.message, fields };
  }
  return { title: "Something went wrong", detail: errorText(error), fields: [] };
}

export function when(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, " UTC");
}

export function ago(value, now = Date.now()) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const seconds = Math.round((now - date.getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  const text =
    s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function shortHash(value, size = 12) {
  if (!value) return "";
  const text = String(value);
  return text.length > size ? `${text.slice(0, size)}…` : text;
}

export function metric(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  const n = Number(value);
  return Math.abs(n) >= 1000 || n === Math.trunc(n) ? String(n) : n.toPrecision(4).replace(/0+$/, "").replace(/\.$/, "");
}

export function signed(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "—";
  return `${n > 0 ? "+" : n < 0 ? "−" : "±"}${metric(Math.abs(n))}`;
}

export function label(value) {
  return String(value ?? "").replace(/_/g, " ");
}

/** Compare semver strings (MAJOR.MINOR.PATCH), for sorting versions oldest first. */
export function semverCompare(a, b) {
  const pa = String(a).split(".").map(Number);
  const pb = String(b).split(".").map(Number);
  for (let i = 0; i < 3; i += 1) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  }
  return 0;
}
