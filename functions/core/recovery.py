"""Use cases: ending what a crash interrupted, and recording what recovery did (local mode).

On AWS a Step Functions execution outlives any process; on one machine the workflow
interpreter runs inside `local up`, so a crash ends every execution without a trace. At
the next start every deployment and retrain that was not finished is ended here, with a
cause that says what happened, audited on its model's chain as the system actor
`recovery`, so no record stays `running` for ever and the alias it would have moved is
free for the next change:

* a deployment whose alias already points at its version and endpoint had switched
  before the crash (only recording the outcome was left): it succeeded;
* any other deployment failed; the alias still serves what it served (the endpoint is
  reconciled with the registry separately);
* a retrain failed; its training job was failed by the local SageMaker.
"""

from __future__ import annotations

from typing import Any

from functions.core import deployments, retraining
from functions.core.deployments import TERMINAL, Deployment
from functions.core.models import Alias, Model, system_actor
from functions.core.mutations import change, commit
from functions.core.ports import Context, Deps
from functions.core.records import PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead
from functions.core.retraining import FINISHED, Retrain, RetrainOutcome

INTERRUPTED = "Interrupted"


def context(request_id: str = "recovery") -> Context:
    return Context(actor=system_actor("recovery"), request_id=request_id)


def end_deployment(deps: Deps, ctx: Context, deployment: Deployment) -> Deployment | None:
    """Succeed or fail an interrupted deployment (None: it had finished meanwhile)."""
    current = deps.store.get(deployment.key, Deployment, consistent=True)
    if current is None or current.status in TERMINAL:
        return None
    alias = deps.store.get(Alias.key_for(current.model, current.alias), Alias, consistent=True)
    if alias is not None and alias.version == current.version and alias.endpoint == current.endpoint:
        note = (f"recorded at recovery: alias {current.alias} had moved to {current.version} on "
                f"{current.endpoint} before local mode stopped, only recording the outcome was left")
        return deployments.succeed(deps, ctx, current.model, current.id, notes=[note])
    serving = f"{alias.version} on {alias.endpoint}" if alias is not None and alias.endpoint else "nothing"
    cause = (
        f"interrupted at step {current.step}: modelport local stopped (a crash or a kill) while this "
        f"deployment was {current.status.value}, and its workflow execution did not survive; recovery "
        f"ended it at the next start. Alias {current.alias} still serves {serving}; deploy again."
    )
    return deployments.fail(deps, ctx, current.model, current.id, error=INTERRUPTED, cause=cause)


def end_retrain(deps: Deps, ctx: Context, retrain: Retrain) -> Retrain | None:
    """Fail an interrupted retrain (None: it had finished meanwhile)."""
    current = deps.store.get(retrain.key, Retrain, consistent=True)
    if current is None or current.status in FINISHED:
        return None
    registered = f"; version {current.new_version} was registered before that" if current.new_version else ""
    cause = (
        f"interrupted at step {current.step}: modelport local stopped (a crash or a kill) while this "
        f"retrain was {current.status.value}, and its workflow execution did not survive{registered}; "
        f"recovery ended it at the next start. Upload {current.dataset.uri} again to retrain."
    )
    return retraining.finish(deps, ctx, current.model, current.id, RetrainOutcome.failed,
                             error=INTERRUPTED, cause=cause)


def record(deps: Deps, ctx: Context, model: str | None, *, action: str, target: str,
           details: dict[str, Any]) -> None:
    """An audit event of what recovery did outside any record (an endpoint stopped, rolled
    back, or left as it was): on the model's chain when the model exists, else the platform's."""

    def build():
        if model is not None:
            found, head = deps.store.read_head(model, Model.key_for(model), Model)
            if found is not None:
                return change(deps, ctx, head, action=action, target=target, details=details, writes=[]), None
        _, head = deps.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)
        return change(deps, ctx, head, action=action, target=target, details=details, writes=[]), None

    commit(deps, build)
