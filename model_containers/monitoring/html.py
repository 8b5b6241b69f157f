"""The drift report as one self-contained HTML page (inline CSS and SVG, nothing fetched):
baseline vs current histogram per feature, drift score over time, live metric over time."""

from __future__ import annotations

from html import escape
from typing import Any

BASE, CURRENT, LINE_COLOURS = "#8aa4c8", "#e07b39", ("#3b6fb6", "#e07b39", "#3a9d5d", "#a64ca6", "#c9a227", "#555")
W, H, PAD = 420, 160, 28

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}.muted{color:#666}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px}
.drift{background:#fde2d8;color:#a3341a}.ok{background:#dcf1e2;color:#1d6b35}
.insufficient_data{background:#eee;color:#555}table{border-collapse:collapse;margin:8px 0}
td,th{border-bottom:1px solid #e4e4e4;padding:4px 10px;text-align:left;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid #ddd;border-radius:6px;padding:10px 12px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}svg text{font-size:10px;fill:#555}
"""


def render(report: dict[str, Any]) -> str:
    status = report["status"]
    drifted = report["drifted_features"] + report["drifted_outputs"]
    unreadable = f", {report['unreadable']} unreadable" if report["unreadable"] else ""
    if drifted:
        verdict = f"drift in <b>{escape(', '.join(drifted))}</b>"
    elif status == "ok":
        verdict = "no drift"
    else:
        verdict = f"fewer than {report['thresholds']['min_samples']} rows: not judged"
    head = (
        f"<h1>Drift report: {escape(report['model'])} · {escape(report['alias'])} "
        f"(version {escape(report['version'])})</h1>"
        f"<div class='muted'>window {escape(report['window']['start'])} → {escape(report['window']['end'])} · "
        f"run {escape(report['run_id'])} · {report['records']} requests, {report['rows']} rows{unreadable}</div>"
        f"<p>{_badge(status)} {verdict}</p>"
    )
    body = [head, _table(report), "<h2>Baseline vs current</h2>", _legend(), "<div class='cards'>"]
    for item in (*report["features"], *report["outputs"]):
        body.append(f"<div class='card'><b>{escape(item['feature'])}</b> {_badge(item['status'])}"
                    f"<div class='muted'>{escape(_why(item))}</div>{_histogram(item)}</div>")
    body.append("</div>")
    body.append("<h2>Drift score over time (PSI)</h2>")
    body.append(_lines(report["drift_over_time"], threshold=report["thresholds"].get("psi")))
    live = report["live_metric"]
    body.append(f"<h2>Live {escape(live['metric'])} over time</h2>")
    if live.get("value") is None:
        body.append(f"<p class='muted'>{escape(live.get('error') or 'no labels were posted for this window’s requests yet')}"
                    f" ({live.get('labels', 0)} labels known)</p>")
    else:
        body.append(f"<p>{escape(live['metric'])} = <b>{live['value']:.4g}</b> on {live['n']} labelled rows</p>")
        hourly = {"this window, per hour": [{"time": p["time"], "value": p["value"]} for p in live["series"]
                                            if p["value"] is not None]}
        if len(live.get("over_time") or []) > 1:
            hourly["per run"] = live["over_time"]
        body.append(_lines(hourly))
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Drift report {escape(report['model'])} {escape(report['alias'])}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>")


def _badge(status: str) -> str:
    label = {"drift": "drift", "ok": "no drift", "insufficient_data": "insufficient data"}.get(status, status)
    return f"<span class='badge {escape(status)}'>{escape(label)}</span>"


def _why(item: dict[str, Any]) -> str:
    tests = item["tests"]
    parts = [f"{name} {t['statistic']:.3g}" for name, t in tests.items() if t["statistic"] is not None]
    unseen = tests.get("unseen", {}).get("detail") or []
    if unseen:
        parts.append("new: " + ", ".join(f"{c} ({n})" for c, n in unseen[:5]))
    return " · ".join(parts)


def _table(report: dict[str, Any]) -> str:
    rows = []
    for item in (*report["features"], *report["outputs"]):
        t = item["tests"]
        cells = [escape(item["feature"]), item["kind"], _badge(item["status"]), str(item["n"]), str(item["missing"])]
        cells += [_fmt(t.get(k, {}).get("statistic")) for k in ("psi", "jensen_shannon")]
        cells.append(_fmt(t["ks"]["statistic"]) if "ks" in t else _fmt(t["chi_squared"]["statistic"]))
        cells.append(_fmt(t["wasserstein"]["statistic"]) if "wasserstein" in t else _fmt(t["unseen"]["statistic"]))
        cells.append(escape(", ".join(item["drifted_by"])))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = ["feature", "kind", "status", "rows", "missing", "PSI", "JS", "KS / Cramér's V",
            "Wasserstein / unseen", "drifted by"]
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>"


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{value:.3g}"


def _legend() -> str:
    return (f"<div class='legend muted'><span style='background:{BASE}'></span>training (baseline)"
            f"<span style='background:{CURRENT}'></span>this window</div>")


def _histogram(item: dict[str, Any]) -> str:
    base, cur = item["baseline"], item["current"]
    if item["kind"] == "numeric":
        labels = [f"{base['min']:.3g}", f"{base['max']:.3g}"] if base.get("min") is not None else ["", ""]
        return _bars(base["histogram"]["counts"], cur.get("histogram") or [], labels)
    names = list(base["categories"])[:12]
    current = cur.get("categories", {})
    b = [base["categories"][n] for n in names] + [base.get("other", 0)]
    c = [current.get(n, 0) for n in names] + [cur.get("other", 0) + sum(v for k, v in current.items() if k not in names)]
    return _bars(b, c, [*names, "other / new"], every=True)


def _bars(baseline: list[float], current: list[float], labels: list[str], every: bool = False) -> str:
    n = len(baseline)
    if not n:
        return ""
    b_total, c_total = sum(baseline) or 1, sum(current) or 1
    b = [v / b_total for v in baseline]
    c = [v / c_total for v in current] if current else [0.0] * n
    top = max(max(b), max(c), 1e-9)
    slot = (W - 2 * PAD) / n
    parts = [f"<svg width='{W}' height='{H + (30 if every else 14)}' role='img'>"]
    for i in range(n):
        x = PAD + i * slot
        for j, (value, colour) in enumerate(((b[i], BASE), (c[i], CURRENT))):
            height = (H - 10) * value / top
            parts.append(f"<rect x='{x + j * slot / 2:.1f}' y='{H - height:.1f}' width='{max(slot / 2 - 1, 1):.1f}' "
                         f"height='{height:.1f}' fill='{colour}'><title>{value:.1%}</title></rect>")
        if every:
            parts.append(f"<text x='{x + slot / 2:.1f}' y='{H + 12}' text-anchor='middle'>{escape(labels[i][:10])}</text>")
    if not every:
        parts.append(f"<text x='{PAD}' y='{H + 12}'>{escape(labels[0])}</text>"
                     f"<text x='{W - PAD}' y='{H + 12}' text-anchor='end'>{escape(labels[-1])}</text>")
    parts.append(f"<line x1='{PAD}' y1='{H}' x2='{W - PAD}' y2='{H}' stroke='#999'/></svg>")
    return "".join(parts)


def _lines(series: dict[str, list[dict[str, Any]]], threshold: float | None = None) -> str:
    points = [p for s in series.values() for p in s if p.get("value") is not None]
    if not points:
        return "<p class='muted'>nothing to draw yet</p>"
    times = sorted({p["time"] for p in points})
    values = [p["value"] for p in points] + ([threshold] if threshold is not None else [])
    low, high = min(0.0, min(values)), max(values) or 1.0
    width, height = 2 * W, H + 40

    def x(t: str) -> float:
        return PAD + (width - 2 * PAD) * (times.index(t) / max(len(times) - 1, 1))

    def y(v: float) -> float:
        return height - PAD - (height - 2 * PAD) * (v - low) / ((high - low) or 1)

    parts = [f"<svg width='{width}' height='{height + 20}' role='img'>",
             f"<line x1='{PAD}' y1='{height - PAD}' x2='{width - PAD}' y2='{height - PAD}' stroke='#999'/>",
             f"<text x='4' y='{y(high) + 4:.1f}'>{high:.3g}</text><text x='4' y='{y(low) + 4:.1f}'>{low:.3g}</text>"]
    if threshold is not None:
        parts.append(f"<line x1='{PAD}' y1='{y(threshold):.1f}' x2='{width - PAD}' y2='{y(threshold):.1f}' "
                     f"stroke='#a3341a' stroke-dasharray='4 3'/><text x='{width - PAD}' y='{y(threshold) - 3:.1f}' "
                     f"text-anchor='end'>threshold {threshold:g}</text>")
    legend = []
    for i, (name, pts) in enumerate(series.items()):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        pts = [p for p in pts if p.get("value") is not None]
        path = " ".join(f"{x(p['time']):.1f},{y(p['value']):.1f}" for p in pts)
        parts.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>")
        parts += [f"<circle cx='{x(p['time']):.1f}' cy='{y(p['value']):.1f}' r='3' fill='{colour}'>"
                  f"<title>{escape(name)} {escape(p['time'])}: {p['value']:.4g}</title></circle>" for p in pts]
        legend.append(f"<span style='background:{colour}'></span>{escape(name)}")
    parts.append(f"<text x='{PAD}' y='{height + 8}'>{escape(times[0])}</text>"
                 f"<text x='{width - PAD}' y='{height + 8}' text-anchor='end'>{escape(times[-1])}</text></svg>")
    return "".join(parts) + f"<div class='legend muted'>{''.join(legend)}</div>"
