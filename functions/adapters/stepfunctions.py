"""Step Functions adapter: start a workflow execution under a given (idempotent) name."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


class StateMachine:
    """Implements `functions.core.deployments.WorkflowStarter` for one state machine."""

    def __init__(self, client: Any, arn: str) -> None:
        self._sfn = client
        self._arn = arn

    def start(self, name: str, input: dict[str, Any]) -> bool:
        """Start `name`; False when an execution of that name exists (names are single-use
        for 90 days, which is what makes a redelivered trigger unable to start a second run)."""
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(input, default=str))
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False
            raise
        return True
