"""Which changes loosen a model's policy, and who may make them.

A model's policy and training spec decide how much trust its versions get: whether a
version needs an approval before `production`, whether a pickle may load, whether the
model may run code of its own (a `python` predictor, a custom serving or training image),
and whether a retrain deploys without a person deciding. Turning any of these towards
more trust *loosens* the policy. Loosening is a governance decision, so:

* at creation, only an admin may create a model with a loosened policy (the creator is the
  model's publisher; a publisher never grants their own code the right to run);
* afterwards (`PATCH /v1/models/{name}`), only an approver or an admin may loosen it;
* every loosening is named in the audit event of the change that makes it
  (`details["loosened"]`, see `audit_details`).

Tightening (the reverse of each change below) is never restricted here.

Use `check_change(actor, before, after, creating=...)` in the use case that writes the
change: it raises `PolicyLooseningForbidden` (a `Forbidden`) when the actor may not make
it, and returns the loosenings for the audit event.

What the loosened flags allow is guarded here too (`require_code_allowed`): a version that
runs code of its own (a `python` predictor, a custom or AWS framework image, or a pickle
where the policy allows one) needs `allow_code` (`allow_pickle` for pickle) *and* an
approval before it runs anywhere, whatever the alias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from functions.core.errors import ApprovalRequired, CodeNotAllowed, PolicyLooseningForbidden
from functions.core.models import (
    Model,
    ModelPolicy,
    ModelVersion,
    Principal,
    RetrainAction,
    Role,
    TrainingSpec,
    VersionStatus,
)
from functions.core.risk import TIER_ORDER, interval_days

if TYPE_CHECKING:
    from functions.core.stages import ImageRef

#: roles that may loosen an existing model's policy.
LOOSEN_ROLES = frozenset({Role.approver, Role.admin})
#: roles that may create a model whose policy is loosened from the defaults.
LOOSEN_AT_CREATION_ROLES = frozenset({Role.admin})


class _HasPolicy(Protocol):
    policy: ModelPolicy
    training: TrainingSpec


@dataclass(frozen=True)
class Governed:
    """The parts of a model that the loosening rule judges: its policy and training spec."""

    policy: ModelPolicy = field(default_factory=ModelPolicy)
    training: TrainingSpec = field(default_factory=TrainingSpec)

    @classmethod
    def of(cls, model: _HasPolicy) -> Governed:
        """From a `Model` or a `NewModel` (anything with `policy` and `training`)."""
        return cls(policy=model.policy, training=model.training)


@dataclass(frozen=True)
class Loosening:
    """One change towards more trust: which field, from what, to what, and why it matters."""

    field: str
    before: Any
    after: Any
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "from": self.before, "to": self.after, "why": self.why}


#: the defaults a new model is compared with.
DEFAULTS = Governed()


def loosenings(before: Governed | None, after: Governed) -> tuple[Loosening, ...]:
    """Every change from `before` (None: the defaults, i.e. a model being created) to `after`
    that loosens the policy, in a stable order. Empty when nothing loosens."""
    old = before or DEFAULTS
    found: list[Loosening] = []
    p, q = old.policy, after.policy
    if p.require_approval and not q.require_approval:
        found.append(Loosening("policy.require_approval", True, False,
                               "production may serve versions nobody approved"))
    if not p.allow_pickle and q.allow_pickle:
        found.append(Loosening("policy.allow_pickle", False, True,
                               "pickled models may load, and unpickling runs arbitrary code"))
    if not p.allow_code and q.allow_code:
        found.append(Loosening("policy.allow_code", False, True,
                               "versions may run their own code (python predictors, custom images)"))
    if p.on_retrain is not RetrainAction.deploy_staging and q.on_retrain is RetrainAction.deploy_staging:
        found.append(Loosening("policy.on_retrain", p.on_retrain.value, q.on_retrain.value,
                               "a retrained version is deployed to staging without anyone deciding"))
    if q.min_improvement < p.min_improvement:
        found.append(Loosening("policy.min_improvement", p.min_improvement, q.min_improvement,
                               "a retrained candidate needs to beat production by less"))
    if TIER_ORDER.index(q.risk_tier) < TIER_ORDER.index(p.risk_tier):
        found.append(Loosening("policy.risk_tier", p.risk_tier.value, q.risk_tier.value,
                               "versions need fewer approvals and production is revalidated less often"))
    days_before, days_after = (interval_days(x.risk_tier, x.revalidation_days) for x in (p, q))
    if days_after > days_before:
        found.append(Loosening("policy.revalidation_days", days_before, days_after,
                               "production may go longer without being validated again"))
    m, n = p.monitoring, q.monitoring
    if m.enabled and not n.enabled:
        found.append(Loosening("policy.monitoring.enabled", True, False,
                               "drift in what the model serves would go unnoticed"))
    t, u = old.training, after.training
    if u.image is not None and u.image != t.image:
        found.append(Loosening("training.image", t.image, u.image,
                               "every retrain runs this image's code with the model's datasets"))
    return tuple(found)


def may_loosen(actor: Principal, *, creating: bool) -> bool:
    """True when `actor` may loosen a policy (at creation: admins only)."""
    allowed = LOOSEN_AT_CREATION_ROLES if creating else LOOSEN_ROLES
    return bool(actor.roles & allowed)


def check_change(
    actor: Principal, before: Governed | None, after: Governed, *, creating: bool
) -> tuple[Loosening, ...]:
    """The loosenings of the change `before` → `after`, after checking `actor` may make them.

    Raises PolicyLooseningForbidden naming every loosened field when the change loosens
    the policy and `actor` lacks the role for it. Pass `creating=True` (and `before=None`)
    when a model is created.
    """
    found = loosenings(before, after)
    if found and not may_loosen(actor, creating=creating):
        fields = ", ".join(f.field for f in found)
        who = "an admin" if creating else "an approver or an admin"
        when = "creating a model with" if creating else "changing"
        verb, them = ("loosens", "it") if len(found) == 1 else ("loosen", "them")
        hint = f" (create the model with the defaults; an approver may loosen {them} later)" if creating else ""
        raise PolicyLooseningForbidden(f"{fields} {verb} the model's policy; {when} {them} needs {who}{hint}")
    return found


def audit_details(found: tuple[Loosening, ...]) -> list[dict[str, Any]]:
    """What the audit event records about the loosenings of a change."""
    return [f.as_dict() for f in found]


# --- what the flags allow: code runs only where allowed, and only once approved ----------------

#: reasons a version runs code of its own, and the policy flag that must allow each.
_NEEDS = {
    "python predictor": "policy.allow_code",
    "custom image": "policy.allow_code",
    "framework image": "policy.allow_code",
    "pickle": "policy.allow_pickle",
}


def runs_code(model: Model, version: ModelVersion, image: ImageRef | None) -> tuple[str, ...]:
    """Why serving `version` (with `image`, None = Modelport's) runs code of the model's own.

    A `python` predictor is code; so is any image but Modelport's (an AWS framework image
    runs the artifact's inference script). Where the policy allows pickle, any version may
    be one, and unpickling runs code. Empty for the safe formats on Modelport's image.
    """
    reasons = []
    if version.framework == "python":
        reasons.append("python predictor")
    if image is not None:
        reasons.append("custom image" if image.uri else "framework image")
    if model.policy.allow_pickle:
        reasons.append("pickle")
    return tuple(reasons)


def require_code_allowed(model: Model, version: ModelVersion, image: ImageRef | None) -> None:
    """Raise CodeNotAllowed when the policy does not allow the code `version` would run, and
    ApprovalRequired when it would run code and is not approved (on any alias)."""
    reasons = runs_code(model, version, image)
    label = f"{model.name} {version.version}"
    for reason in reasons:
        flag = _NEEDS[reason]
        if flag == "policy.allow_code" and not model.policy.allow_code:
            raise CodeNotAllowed(
                f"{label} runs its own code ({reason}) and the model's policy does not allow code "
                f"({flag}; an approver or admin sets it)"
            )
    if reasons and version.status is not VersionStatus.approved:
        raise ApprovalRequired(
            f"{label} runs its own code ({', '.join(reasons)}); it must be approved before it runs anywhere "
            f"(it is {version.status.value})"
        )


def require_training_code_allowed(model: Model) -> None:
    """A training image of the model's own runs code on every retrain: it needs `allow_code`."""
    if model.training.image is not None and not model.policy.allow_code:
        raise CodeNotAllowed(
            f"{model.name}'s training image {model.training.image} runs its own code and the model's "
            "policy does not allow code (policy.allow_code; an approver or admin sets it)"
        )
