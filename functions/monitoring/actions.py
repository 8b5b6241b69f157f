"""What a drifted run does, by the model's policy (`monitoring.on_drift`).

`alert`: the record, the `Drifted` metric (and its alarm) and the `Model Drifted` event.
`retrain`: that, and the retrain workflow on the policy's dataset (`retrain_dataset`, else
the dataset the production version was trained on) or, with `retrain_data:
captured_window`, on the window's labelled captured rows: either is copied into the
model's dataset prefix, which starts the retrain as any new dataset does. The retrain runs as any other: its candidate is evaluated against
production and then follows `on_retrain` and the approval policy, so drift never puts a
version in front of traffic that the model's approval rules would not. The retrain's
start is audited on the model's chain (`retrain.start` by `system:monitor`), and the run
records what was done (`action`, `retrain_id`, `note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.adapters.s3 import split_uri
from functions.core import retraining
from functions.core.models import Model
from functions.core.monitoring import MonitoringRun, workflow_context
from functions.core.monitoring_policy import DriftAction, RetrainData
from functions.core.retraining import (
    DATASETS_ROOT,
    Dataset,
    RetrainStatus,
    dataset_prefix,
    retrain_id,
)

if TYPE_CHECKING:
    from functions.monitoring.steps import MonitorEnv


@dataclass(frozen=True)
class Decision:
    action: str
    retrain_id: str | None = None
    note: str | None = None


NOTHING = Decision("none")


def on_drift(env: MonitorEnv, model: Model, run: MonitoringRun, summary: dict[str, Any], prefix: str) -> Decision:
    policy = model.policy.monitoring
    if policy.on_drift is DriftAction.alert:
        return Decision("alerted")
    if policy.retrain_data is RetrainData.captured_window:
        if not summary.get("window_dataset"):
            return Decision("retrain_refused", note="no captured requests of the window have labels to train on")
        source = env.captures.uri(f"{prefix}report/{summary['window_dataset']}")
    else:
        source = _policy_dataset(env, model)
        if not source.startswith("s3://"):
            return Decision("retrain_refused", note=source)
    return _retrain(env, model, run, source)


def _policy_dataset(env: MonitorEnv, model: Model) -> str:
    """The policy's dataset, else the one the production version was trained on (or why not)."""
    policy = model.policy.monitoring
    bucket = env.settings.datasets_bucket
    own = f"{DATASETS_ROOT}{model.name}/"
    if policy.retrain_dataset:
        key = policy.retrain_dataset
        if not key.startswith(own):
            return f"retrain_dataset {key} is not under {own}, the model's datasets"
        return f"s3://{bucket}/{key}"
    production = retraining.production_version(env.deps, model.name)
    uri = production.lineage.dataset_uri if production else None
    if not uri:
        return "no dataset to retrain on: set monitoring.retrain_dataset, or use retrain_data captured_window"
    if split_uri(uri)[0] != bucket:
        return f"the production version's dataset {uri} is not in the datasets bucket"
    return uri


def _retrain(env: MonitorEnv, model: Model, run: MonitoringRun, source: str) -> Decision:
    """A drift retrain is a new dataset file, as a person's would be: copied into the model's
    dataset prefix, whose notification makes the retrain trigger start the workflow. The
    retrain is opened here under the id the trigger derives for that object (so the run
    names it, and a refusal shows), and the trigger finds it and starts it."""
    bucket = env.settings.datasets_bucket
    key = f"{dataset_prefix(model)}drift/{run.id}/{source.rsplit('/', 1)[-1]}"
    env.objects.copy(source, f"s3://{bucket}/{key}")
    head = env.objects.head(bucket, key)
    if head is None:
        return Decision("retrain_refused", note=f"the dataset could not be copied to s3://{bucket}/{key}")
    dataset = Dataset(bucket=bucket, key=key, version_id=head.version_id, sha256=head.sha256, size=head.size)
    rid = retrain_id(dataset, head.last_modified, head.version_id or "")
    retrain, _ = retraining.open_retrain(env.deps, workflow_context(run.id), model.name, dataset, rid)
    if retrain.status is RetrainStatus.failed and retrain.error:
        return Decision("retrain_refused", retrain.id, f"{retrain.error}: {retrain.cause}")
    return Decision("retrain_started", rid, f"retrain {rid} on {dataset.uri} (copied from {source})")
