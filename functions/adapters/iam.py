"""IAM adapter: the per-model SageMaker execution roles (`functions.core.execution_scope`)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

#: the one inline policy of a per-model role (PutRolePolicy replaces it as a whole).
POLICY_NAME = "model-scope"


class ExecutionRoles:
    """Create (or bring up to date) a model's execution role under `path`, always with the
    stage's permissions `boundary` (the workflows' own IAM allows nothing else)."""

    def __init__(self, client: Any, *, path: str, boundary_arn: str) -> None:
        self._iam = client
        self._path = path
        self._boundary = boundary_arn

    def ensure(self, name: str, *, trust: dict, policy: dict, description: str) -> str:
        """The role's ARN, after creating it if missing and putting `policy` as its inline policy."""
        arn = self._arn(name)
        if arn is None:
            try:
                arn = self._iam.create_role(
                    Path=self._path, RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                    PermissionsBoundary=self._boundary, Description=description[:1000],
                )["Role"]["Arn"]
            except ClientError as error:
                if error.response["Error"]["Code"] != "EntityAlreadyExists":
                    raise
                arn = self._arn(name)  # another workflow created it a moment ago
                assert arn is not None
        self._iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
        return arn

    def _arn(self, name: str) -> str | None:
        try:
            return self._iam.get_role(RoleName=name)["Role"]["Arn"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "NoSuchEntity":
                return None
            raise
