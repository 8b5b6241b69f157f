"""SageMaker adapter: what the workflow steps read and undo (creates run as native ASL tasks)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

#: statuses in which SageMaker is still working on an endpoint.
ENDPOINT_BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
TRAINING_DONE = frozenset({"Completed", "Failed", "Stopped"})


def _missing(error: ClientError) -> bool:
    """SageMaker answers a missing endpoint/config with ValidationException 'Could not find ...'."""
    code = error.response["Error"]["Code"]
    message = error.response["Error"].get("Message", "")
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code in ("ValidationException", "ValidationError") and "Could not find" in message
    )


class SageMakerEndpoints:
    """Describe, roll back and delete endpoints; describe endpoint configs."""

    def __init__(self, client: Any) -> None:
        self._sm = client

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            return self._sm.describe_endpoint(EndpointName=name)
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def describe_endpoint_config(self, name: str) -> dict[str, Any] | None:
        try:
            return self._sm.describe_endpoint_config(EndpointConfigName=name)
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def update_endpoint(self, name: str, config_name: str) -> None:
        """Point the endpoint back at `config_name` (all at once): undoing a late failure."""
        self._sm.update_endpoint(EndpointName=name, EndpointConfigName=config_name)

    def delete_endpoint(self, name: str) -> None:
        try:
            self._sm.delete_endpoint(EndpointName=name)
        except ClientError as error:
            if not _missing(error):
                raise


class SageMakerTraining:
    """Describe and stop training jobs."""

    def __init__(self, client: Any) -> None:
        self._sm = client

    def describe_training_job(self, name: str) -> dict[str, Any]:
        return self._sm.describe_training_job(TrainingJobName=name)

    def stop_training_job(self, name: str) -> None:
        try:
            self._sm.stop_training_job(TrainingJobName=name)
        except ClientError as error:
            # already finished (or stopping): nothing left to stop
            if error.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
                raise
