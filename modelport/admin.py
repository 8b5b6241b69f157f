"""`modelport admin bootstrap --stack <name>`: the first admin key of a fresh deployment.

Reads the deployed stack's outputs with the caller's AWS credentials, then creates one
admin key with the control plane's own use case and adapters (same hashing, same audit
event). Exactly once: the use case refuses when any key exists, and its conditional
bootstrap record makes one of several simultaneous first runs win and the others refuse.

`--recover` is the way back in for a deployment that has keys but no working admin key
(every admin key revoked or expired before the lock-out rule existed, or edited by hand):
whoever holds IAM credentials that can write the table gets a new admin key, audited as
`key.recover`; it refuses while any admin key is active.
"""

from __future__ import annotations

from typing import Any

from functions.core.apikeys import CreatedKey, bootstrap_first_admin_key, recover_admin_key
from functions.core.errors import BootstrapRefused

#: Outputs of the Api stack that the bootstrap needs (infra/platform.py writes them).
REQUIRED_OUTPUTS = ("Stage", "TableName", "AuditTableName", "ArtifactsBucketName")

__all__ = [
    "REQUIRED_OUTPUTS", "BootstrapRefused", "bootstrap", "bootstrap_from_outputs", "recover", "stack_outputs",
]


def stack_outputs(session: Any, stack_name: str) -> dict[str, str]:
    """`OutputKey → OutputValue` of a deployed CloudFormation stack."""
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def bootstrap(session: Any, stack_name: str, *, owner: str = "admin") -> CreatedKey:
    """Create the deployment's first admin key; `BootstrapRefused` once it has one.

    The returned token is shown once; only its hash is stored.
    """
    return bootstrap_from_outputs(session, stack_outputs(session, stack_name), owner=owner)


def recover(session: Any, stack_name: str, *, owner: str = "admin") -> CreatedKey:
    """A new admin key for a deployment where no admin key works; `BootstrapRefused` while one does.

    The caller's IAM identity (STS `GetCallerIdentity`) is recorded in the audit event.
    """
    deps = _deps(session, stack_outputs(session, stack_name))
    who = session.client("sts").get_caller_identity()["Arn"]
    reason = f"modelport admin bootstrap --recover by {who}: no active admin key"
    return recover_admin_key(deps, owner, reason=reason, request_id="admin-recover")


def bootstrap_from_outputs(session: Any, outputs: dict[str, str], *, owner: str = "admin") -> CreatedKey:
    return bootstrap_first_admin_key(_deps(session, outputs), owner)


def _deps(session: Any, outputs: dict[str, str]) -> Any:
    from functions.adapters.settings import ControlPlaneSettings
    from functions.adapters.wiring import build_deps

    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise ValueError(f"the stack has no output(s) {', '.join(missing)}: pass the Api stack")
    settings = ControlPlaneSettings(
        stage=outputs["Stage"],
        table_name=outputs["TableName"],
        audit_table_name=outputs["AuditTableName"],
        artifacts_bucket=outputs["ArtifactsBucketName"],
    )
    return build_deps(settings, session.client)
