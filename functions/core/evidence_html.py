"""The readable document of an evidence pack: one self-contained HTML page (no scripts, no
fetches), rendered from the pack's JSON alone and deterministically, so a verifier can
render it again and compare (`modelport evidence verify`)."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any

_STYLE = """
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}code,.hash{font-family:ui-monospace,monospace;font-size:12px;
word-break:break-all}.muted{color:#57606a}.none{color:#57606a;font-style:italic}
.ok{color:#1a7f37}.bad{color:#cf222e}svg text{font:11px system-ui,sans-serif}
"""
_COLOURS = ("#0969da", "#8250df", "#1a7f37", "#bf8700", "#cf222e", "#57606a")


def _t(value: Any) -> str:
    if value is None:
        return '<span class="none">—</span>'
    if isinstance(value, (dict, list)):
        return f"<code>{escape(json.dumps(value, sort_keys=True))}</code>"
    return escape(str(value))


def _table(headers: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f'<p class="none">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_t(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(pairs: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{_t(v)}</td></tr>" for k, v in pairs) + "</table>"


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def timeline(periods: list[dict[str, Any]], until: str) -> str:
    """Production periods as bars on a time axis, one row per alias."""
    if not periods:
        return ""
    end_of = _when(until)
    spans = [(p, _when(p["start"]), _when(p.get("end")) or end_of) for p in periods]
    lo, hi = min(s for _, s, _ in spans), max(e for _, _, e in spans)
    total = max((hi - lo).total_seconds(), 1.0)
    aliases = sorted({p["alias"] for p in periods})
    width, left, row = 900, 90, 26
    height = row * len(aliases) + 30
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + left + 10}" height="{height}" '
             f'role="img" aria-label="production periods">')]
    for i, alias in enumerate(aliases):
        parts.append(f'<text x="0" y="{i * row + 17}">{escape(alias)}</text>')
    for p, start, end in spans:
        x = left + width * (start - lo).total_seconds() / total
        w = max(2.0, width * (end - start).total_seconds() / total)
        y = aliases.index(p["alias"]) * row + 4
        colour = _COLOURS[aliases.index(p["alias"]) % len(_COLOURS)]
        label = f"{p['alias']} {p['version']}: {p['start']} → {p.get('end') or 'now'}"
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" fill="{colour}" opacity=".8">'
                     f"<title>{escape(label)}</title></rect>")
    parts.append(f'<text x="{left}" y="{height - 6}">{escape(lo.isoformat())}</text>')
    parts.append(f'<text x="{left + width}" y="{height - 6}" text-anchor="end">{escape(hi.isoformat())}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(pack: dict[str, Any]) -> str:
    """The HTML document of `pack` (a `functions.core.evidence` pack)."""
    model, version = pack["model"], pack["version"]
    name, number = version["model"], version["version"]
    evaluation, proof = pack["evaluation"], pack["audit"]["proof"]
    retrain = evaluation.get("retrain") or {}
    sections = [
        f"<h1>Evidence pack: {escape(name)} {escape(number)}</h1>",
        (f'<p class="muted">{escape(pack["format"])}; generated {escape(pack["generated_at"])} by '
        f'{escape(pack["generated_by"])}. Chain <code>{escape(pack["audit"]["chain"])}</code> head: event '
        f'{proof["head"]["seq"]}, <span class="hash">{escape(proof["head"]["hash"])}</span>. Verify offline with '
        f"<code>modelport evidence verify</code>.</p>"),
        "<h2>Model</h2>",
        _pairs([("name", name), ("framework", model["framework"]), ("status", model["status"]),
                ("owner", model["settings"]["owner"]), ("description", model["settings"]["description"]),
                ("risk tier", model["settings"]["policy"].get("risk_tier")),
                ("policy", model["settings"]["policy"]), ("production", model.get("production"))]),
        "<h2>Version</h2>",
        _pairs([("version", number), ("status", version["status"]), ("framework", version["framework"]),
                ("artifact", version["artifact"]["uri"]), ("SHA-256", version["artifact"]["sha256"]),
                ("size", version["artifact"]["size"]), ("published", f"{version['created_at']} by {version['created_by']}"),
                ("signature", version["signature"])]),
        "<h2>Model card</h2>",
        _pairs([(k.replace("_", " "), v) for k, v in sorted(pack["card"].items())]),
        "<h2>Lineage</h2>",
        _pairs([(k.replace("_", " "), v) for k, v in sorted(pack["lineage"].items())]),
        "<h2>Metrics and evaluation</h2>",
        f"<p>Compared with <b>{_t(evaluation['replaced_version'])}</b>"
        + (f" (the version it replaced, from {escape(evaluation['basis'])})" if evaluation.get("basis") else "")
        + ".</p>",
        _table(["metric", number, "replaced", "change"],
               [[r["metric"], r["value"], r["replaced"], r["delta"]] for r in evaluation["comparison"]], "no metrics"),
    ]
    if retrain:
        sections.append(_pairs([("retrain", retrain.get("id")), ("training job", retrain.get("training_job")),
                                ("dataset", retrain.get("dataset")),
                                ("decision", (retrain.get("evaluation") or {}).get("reason"))]))
    sections += [
        "<h2>Approvals</h2>",
        _table(["approver", "owner", "time", "comment"],
               [[a["by"], a.get("owner"), a["at"], a.get("comment")] for a in pack["approvals"]], "no approvals"),
        _table(["revalidated by", "owner", "time", "comment"],
               [[a["by"], a.get("owner"), a["at"], a.get("comment")] for a in pack["revalidations"]],
               "no revalidations"),
        _table(["status", "time", "by", "comment"],
               [[h["status"], h["at"], h["by"], h.get("comment")] for h in version["history"]], "no history"),
        "<h2>Deployments</h2>",
        _table(["id", "alias", "endpoint", "status", "requested by", "started", "finished", "replaced"],
               [[d["id"], d["alias"], d["endpoint"], d["status"], d["requested_by"], d["created_at"],
                 d.get("finished_at"), d.get("previous_version")] for d in pack["deployments"]], "never deployed"),
        "<h2>Production periods</h2>",
        timeline(pack["production_periods"], pack["generated_at"]),
        _table(["alias", "start", "end", "endpoint", "moved by", "deployment"],
               [[p["alias"], p["start"], p.get("end") or "now", p.get("endpoint"), p["moved_by"],
                 p.get("deployment_id")] for p in pack["production_periods"]], "no alias ever pointed at it"),
        "<h2>Monitoring</h2>",
        _table(["run", "alias", "window end", "outcome", "drifted", "live metric"],
               [[m.get("id"), m.get("alias"), m.get("window_end"), m.get("outcome"), m.get("drifted_features"),
                 m.get("live_metric")] for m in pack["monitoring"]], "no monitoring summaries"),
        "<h2>Audit events</h2>",
        _table(["seq", "time", "actor", "action", "target", "hash"],
               [[e["seq"], e["time"], e["actor"], e["action"], e["target"], e["hash"]] for e in pack["audit"]["events"]],
               "no events"),
        (f'<p class="muted">Chain proof: the {len(proof["links"])} events {proof["from_seq"]}…{proof["head"]["seq"]} '
        f"of the chain, each hash computed from the one before, end at the head above.</p>"),
    ]
    body = "\n".join(sections)
    title = escape(f"Evidence: {name} {number}")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")
