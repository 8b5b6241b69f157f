"""Drift monitoring and ground truth: `client.monitoring`.

    status = client.monitoring.status("churn")            # latest run per alias, series to plot
    run = client.monitoring.run("churn", alias="production")
    run = client.monitoring.wait("churn", run.id)        # or follow(...) for each step
    report = client.monitoring.report("churn", run.id)   # report.json + a link to the HTML page
    client.monitoring.feedback("churn", {answer.inference_id: 1, ...})

The shapes are the core's own (`MonitoringRun`, `ModelMonitoring`, `FeedbackResult`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from functions.core.feedback import MAX_LABELS, Feedback, FeedbackResult
from functions.core.monitoring import FINISHED, MonitoringRun, NewRun
from functions.core.monitoring_views import ModelMonitoring
from modelport.client.resources import _Resource, seg, validated
from modelport.client.transport import new_idempotency_key
from modelport.client.workflows import _follow, _last

__all__ = ["FeedbackResult", "ModelMonitoring", "Monitoring", "MonitoringRun", "Report"]


class Report(BaseModel):
    run: MonitoringRun
    report: dict[str, Any] | None = None
    html_url: str | None = None


class Monitoring(_Resource):
    def status(self, model: str) -> ModelMonitoring:
        return ModelMonitoring.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/monitoring"))

    def run(self, model: str, *, alias: str = "production", window_hours: int | None = None,
            idempotency_key: str | None = None) -> MonitoringRun:
        """Run the drift job now (202: the run, pending)."""
        command = validated(NewRun, {"alias": alias, "window_hours": window_hours})
        data = self._t.json("POST", f"/v1/models/{seg(model)}/monitoring/runs",
                            body=command.model_dump(mode="json", exclude_none=True),
                            idempotency_key=idempotency_key or new_idempotency_key())
        return MonitoringRun.model_validate(data)

    def get(self, model: str, run_id: str) -> MonitoringRun:
        return MonitoringRun.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/monitoring/runs/{seg(run_id)}"))

    def follow(self, model: str, run_id: str, *, interval_s: float = 0.25,
               timeout_s: float = 3600.0) -> Iterator[MonitoringRun]:
        """Yield the run each time its status or step changes, until it is done."""
        return _follow(lambda: self.get(model, run_id), lambda r: r.status in FINISHED, interval_s, timeout_s)

    def wait(self, model: str, run_id: str, **options: float) -> MonitoringRun:
        return _last(self.follow(model, run_id, **options))

    def report(self, model: str, run_id: str) -> Report:
        return Report.model_validate(self._t.json("GET", f"/v1/models/{seg(model)}/monitoring/reports/{seg(run_id)}"))

    def feedback(self, model: str, labels: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> FeedbackResult:
        """Labels for captured inference ids (`{inference_id: label}`), sent in batches of 100.

        Each batch is all or nothing: an id that is not a captured request of the model
        (`InvalidInputError`, code UnknownInferenceId) or that already has another label
        (`ConflictError`, LabelConflict) refuses its batch; batches sent before stay stored.
        """
        items = list(labels.items() if isinstance(labels, Mapping) else labels)
        accepted = unchanged = 0
        for start in range(0, len(items), MAX_LABELS):
            batch = [{"inference_id": i, "label": label} for i, label in items[start:start + MAX_LABELS]]
            command = validated(Feedback, {"labels": batch})
            answer = FeedbackResult.model_validate(
                self._t.json("POST", f"/v1/models/{seg(model)}/feedback", body=command.model_dump(mode="json")))
            accepted, unchanged = accepted + answer.accepted, unchanged + answer.unchanged
        return FeedbackResult(accepted=accepted, unchanged=unchanged)
