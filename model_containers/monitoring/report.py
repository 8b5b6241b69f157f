"""The drift job's report (`report.json`) and the summary the workflow records.

Series are arrays of `{"time", "value"}` (ISO-8601 UTC), oldest first, so the API, the
console and the HTML page draw them the same way.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model_containers.monitoring.captures import Window
    from model_containers.monitoring.job import Analysis, RunConfig

FORMAT_VERSION = 1


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(config: RunConfig, profile: dict[str, Any], window: Window, result: Analysis) -> dict[str, Any]:
    end = _iso(config.window_end)
    features = [_with_baseline(f.to_dict(), profile["features"][f.feature]) for f in result.features]
    outputs = [_with_baseline(f.to_dict(), profile["outputs"][f.feature]) for f in result.outputs]
    over_time: dict[str, list[dict[str, Any]]] = {}
    for past in sorted(config.history, key=lambda h: h.get("time", "")):
        for name, score in (past.get("scores") or {}).items():
            over_time.setdefault(name, []).append({"time": past["time"], "value": score})
    for item in (*features, *outputs):
        if item["score"] is not None:
            over_time.setdefault(item["feature"], []).append({"time": end, "value": item["score"]})
    live = dict(result.live)
    live_over_time = [{"time": h["time"], "value": h["live_metric"]}
                      for h in sorted(config.history, key=lambda h: h.get("time", ""))
                      if h.get("live_metric") is not None]
    if live.get("value") is not None:
        live_over_time.append({"time": end, "value": live["value"]})
    live["over_time"] = live_over_time
    return {
        "format_version": FORMAT_VERSION, "run_id": config.run_id, "model": config.model,
        "alias": config.alias, "version": config.version, "endpoint": config.endpoint,
        "window": {"start": _iso(config.window_start), "end": end},
        "generated_at": _iso(datetime.now(UTC)), "status": result.status,
        "records": window.records, "rows": window.rows, "unreadable": window.unreadable,
        "unreadable_examples": window.errors, "outside_window": window.outside,
        "drifted_features": [f["feature"] for f in features if f["status"] == "drift"],
        "drifted_outputs": [f["feature"] for f in outputs if f["status"] == "drift"],
        "features": features, "outputs": outputs, "live_metric": live,
        "drift_over_time": over_time, "thresholds": vars(config.thresholds).copy(),
        "baseline": {"rows": profile.get("rows"), "sha256": config.baseline_sha256, "target": profile.get("target")},
    }  # fmt: skip


def _with_baseline(item: dict[str, Any], column: dict[str, Any]) -> dict[str, Any]:
    """What the page plots of the baseline next to the current sample."""
    if column["kind"] == "numeric":
        item["baseline"] = {"histogram": column["histogram"], "mean": column.get("mean"), "std": column.get("std"),
                            "min": column.get("min"), "max": column.get("max")}
    else:
        item["baseline"] = {"categories": column["categories"], "other": column.get("other", 0)}
    return item


def summary(report: dict[str, Any], *, window_dataset: str | None = None) -> dict[str, Any]:
    """The few fields the workflow records (DynamoDB) and publishes (metrics, event)."""
    scores = {f["feature"]: f["score"] for f in (*report["features"], *report["outputs"])}
    return {
        "run_id": report["run_id"], "status": report["status"], "records": report["records"],
        "rows": report["rows"], "unreadable": report["unreadable"],
        "drifted_features": report["drifted_features"], "drifted_outputs": report["drifted_outputs"],
        "scores": {k: (None if v is None or not math.isfinite(v) else round(v, 6)) for k, v in scores.items()},
        "statuses": {f["feature"]: f["status"] for f in (*report["features"], *report["outputs"])},
        "live_metric": {k: report["live_metric"].get(k) for k in ("metric", "value", "n", "labels")},
        "window_dataset": window_dataset,
    }  # fmt: skip
