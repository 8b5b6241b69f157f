"""`modelport admin bootstrap --stack <name>`: the first admin key of a fresh deployment.

Reads the deployed stack's outputs with the caller's AWS credentials, then creates one
admin key with the control plane's own use case and adapters (same hashing, same audit
event). Refuses once any key exists, so it can never hand out a second admin key.
"""

from __future__ import annotations

from typing import Any

from functions.core.apikeys import CreatedKey, bootstrap_admin_key
from functions.core.errors import Conflict
from functions.core.models import ApiKeyInfo
from functions.core.records import KEYS_INDEX_PK

#: Outputs of the Api stack that the bootstrap needs (infra/platform.py writes them).
REQUIRED_OUTPUTS = ("Stage", "TableName", "AuditTableName", "ArtifactsBucketName")


class BootstrapRefused(Conflict):
    """The deployment already has API keys; admins create further keys through the API."""


def stack_outputs(session: Any, stack_name: str) -> dict[str, str]:
    """`OutputKey → OutputValue` of a deployed CloudFormation stack."""
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def bootstrap(session: Any, stack_name: str, *, owner: str = "admin") -> CreatedKey:
    """Create the deployment's first admin key; `BootstrapRefused` if any key exists.

    The returned token is shown once; only its hash is stored.
    """
    return bootstrap_from_outputs(session, stack_outputs(session, stack_name), owner=owner)


def bootstrap_from_outputs(session: Any, outputs: dict[str, str], *, owner: str = "admin") -> CreatedKey:
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
    deps = build_deps(settings, session.client)
    existing = deps.store.list_index(KEYS_INDEX_PK, ApiKeyInfo, limit=1)
    if existing.items:
        raise BootstrapRefused("this deployment already has API keys; create more with an admin key")
    return bootstrap_admin_key(deps, owner)
