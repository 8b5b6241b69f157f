"""botocore's SageMaker service models: parse requests and shape responses and errors the
way boto3 (and Step Functions' SDK integrations) expect them."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import logging
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

log = logging.getLogger(__name__)


class SageMakerError(Exception):
    """An error answered as SageMaker's (`code` is the error code boto3 raises)."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


def validation(message: str) -> SageMakerError:
    return SageMakerError("ValidationException", message)


def not_found(message: str = "Requested resource not found.") -> SageMakerError:
    return SageMakerError("ResourceNotFound", message)


@functools.cache
def service_model(name: str = "sagemaker") -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


@functools.cache
def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


def operation_names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


def parse_input(op: OperationModel, body: Any) -> dict:
    """JSON request body → boto3-style parameters, validated against the input shape."""
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object")
    params = _from_json(body, op.input_shape) if op.input_shape is not None else {}
    report = ParamValidator().validate(params, op.input_shape) if op.input_shape else None
    if report is not None and report.has_errors():
        raise validation(report.generate_report().replace("\n", " "))
    return params


def _from_json(value: Any, shape: Shape) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            k: _from_json(v, shape.members[k]) if k in shape.members else v
            for k, v in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_from_json(v, shape.member) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _from_json(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if shape.type_name == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    return value


def shape_output(op: OperationModel, data: dict) -> dict:
    """A record → JSON body of the operation's output: only modelled members, no None,
    timestamps as epoch seconds (JSON protocol)."""
    if op.output_shape is None:
        return {}
    return _to_json(data, op.output_shape, op.name)


def _to_json(value: Any, shape: Shape, where: str) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            member = shape.members.get(key)
            if member is None:
                log.debug("%s: dropping %s, which the service model does not have", where, key)
                continue
            out[key] = _to_json(item, member, f"{where}.{key}")
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_to_json(v, shape.member, where) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _to_json(v, shape.value, where) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return value.timestamp() if isinstance(value, dt.datetime) else value
    if shape.type_name == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def error_body(error: SageMakerError) -> dict:
    """JSON-protocol error body; botocore reads the code from `__type`."""
    return {"__type": error.code, "message": error.message, "Message": error.message, **error.fields}
