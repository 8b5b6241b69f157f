"""Make moto's Step Functions interpreter treat service integrations the way AWS does.

moto 5.2's interpreter (a copy of LocalStack's) leaves out a few things the platform's ASL
relies on. Each fix below is a class-level patch, applied once per process by the front
before the first Step Functions request reaches moto (importing the interpreter takes a
second or two, so `EmbeddedAWS.start()` does not pay it), and each has a test in
`tests/local/test_sfn_integrations.py`:

* Parameters are PascalCase in ASL even where the service API is camelCase
  (`states:startExecution` takes `StateMachineArn`, boto3 `stateMachineArn`): requests
  are mapped onto the operation's input shape, responses back to PascalCase.
* `aws-sdk` service names that differ from boto3's (`applicationautoscaling`,
  `eventbridge`, ...) are mapped to boto3's.
* Timestamps in responses, and the context object's `$$.Execution.StartTime`, become
  ISO-8601 strings; moto otherwise keeps `datetime` objects in the state and fails
  `DescribeExecution` (HTTP 500) when one reaches the output.
* A service error is a catchable `ServiceName.ErrorNameException` task failure, as AWS
  documents for `aws-sdk` integrations, instead of the uncatchable `States.Runtime` moto
  raises for the optimised SageMaker integrations. Unmodelled error codes become
  `SageMaker.AmazonSageMakerException` (optimised SageMaker) or
  `<Service>.<Service>Exception` (`aws-sdk`), the SDK's generic exception classes.
* A Parameters key that is also an ASL keyword with `.$` (`"RoleArn.$"`, as
  `sagemaker:createTrainingJob` takes) is a path binding, as on AWS: moto's lexer reads it
  as the keyword and would pass the path through as a literal string.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

#: Step Functions' aws-sdk service names whose boto3 name differs.
SDK_TO_BOTO = {
    "applicationautoscaling": "application-autoscaling",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "sagemakerruntime": "sagemaker-runtime",
    "cognitoidentityprovider": "cognito-idp",
    "sfn": "stepfunctions",
    "states": "stepfunctions",
}
#: PascalCase service names used in error names.
ERROR_SERVICE_NAMES = {
    "sagemaker": "SageMaker", "s3": "S3", "dynamodb": "DynamoDb", "sfn": "Sfn",
    "applicationautoscaling": "ApplicationAutoScaling", "cloudwatch": "CloudWatch",
    "eventbridge": "EventBridge", "apigateway": "ApiGateway", "sqs": "Sqs", "sns": "Sns",
    "lambda": "Lambda", "ecr": "Ecr", "cloudwatchlogs": "CloudWatchLogs",
}

_applied = False
_lock = threading.Lock()
#: the running embedded AWS's key pair: the interpreter signs its service calls with it.
_credentials: Any = None


def use_credentials(credentials: Any) -> None:
    """Sign the interpreter's service calls with `credentials` (`aws_access_key_id`, ...)."""
    global _credentials
    _credentials = credentials


@functools.cache
def _operation(service: str, action: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    names = {xform_name(name): name for name in model.operation_names}
    return model.operation_model(names[action]) if action in names else None


def _iso(value: Any) -> Any:
    """datetimes → ISO-8601 strings, in place for containers."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _iso(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _iso(item)
    return value


def _error_name(sdk_service: str, code: str, service_model: Any, generic: str) -> str:
    pascal = ERROR_SERVICE_NAMES.get(sdk_service, sdk_service[:1].upper() + sdk_service[1:])
    modelled = service_model is not None and code in {s.name for s in service_model.error_shapes}
    if not modelled:
        return f"{pascal}.{generic or pascal + 'Exception'}"
    return f"{pascal}.{code}" + ("" if code.endswith("Exception") else "Exception")


def apply() -> None:
    """Patch moto's interpreter classes (idempotent, thread-safe; cheap once applied)."""
    if _applied:
        return
    with _lock:
        if not _applied:
            _patch()


def _patch() -> None:
    global _applied
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_unsupported as unsupported_module,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.backend.execution import Execution

    original_service_name = StateTaskService._get_boto_service_name

    def boto_service_name(self: Any, boto_service_name: str | None = None) -> str:
        name = original_service_name(self, boto_service_name)
        return SDK_TO_BOTO.get(name, name)

    def normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                             service_action_name: str | None = None) -> None:
        op = _operation(self._get_boto_service_name(boto_service_name),
                        self._get_boto_service_action(service_action_name))
        if op is not None and op.input_shape is not None:
            self._to_boto_request(parameters, op.input_shape)

    def normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                           service_action_name: str | None = None) -> None:
        op = _operation(self._get_boto_service_name(boto_service_name),
                        self._get_boto_service_action(service_action_name))
        if op is not None and op.output_shape is not None and isinstance(response, dict):
            self._from_boto_response(response, op.output_shape)
        _iso(response)

    def failure(self: Any, env: Any, ex: ClientError, generic: str) -> Any:
        sdk_service = self.resource.api_name
        op = _operation(self._get_boto_service_name(), self._get_boto_service_action())
        error = _error_name(sdk_service, ex.response["Error"]["Code"],
                            op.service_model if op is not None else None, generic)
        meta = ex.response.get("ResponseMetadata", {})
        cause = (f"{ex.response['Error'].get('Message', '')} (Service: {sdk_service}, "
                 f"Status Code: {meta.get('HTTPStatusCode')}, Request ID: {meta.get('RequestId')})")
        return FailureEvent(
            env=env, error_name=CustomErrorName(error), event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                error=error, cause=cause, resource=self._get_sfn_resource(),
                resourceType=self._get_sfn_resource_type(),
            )),
        )

    sdk_from_error = StateTaskServiceAwsSdk._from_error
    unsupported_from_error = unsupported_module.StateTaskServiceUnsupported._from_error

    def aws_sdk_from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ClientError):
            return failure(self, env, ex, generic="")
        return sdk_from_error(self, env, ex)

    def optimised_from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ClientError):
            generic = "AmazonSageMakerException" if self.resource.api_name == "sagemaker" else ""
            return failure(self, env, ex, generic=generic)
        return unsupported_from_error(self, env, ex)

    start_details = Execution.get_start_execution_details

    def execution_details(self: Any) -> Any:
        details = start_details(self)
        details.start_time = _iso(details.start_time)
        return details

    Execution.get_start_execution_details = execution_details
    StateTaskService._get_boto_service_name = boto_service_name
    StateTaskService._normalise_parameters = normalise_parameters
    StateTaskService._normalise_response = normalise_response
    StateTaskServiceAwsSdk._from_error = aws_sdk_from_error
    unsupported_module.StateTaskServiceUnsupported._from_error = optimised_from_error
    # moto warns on every optimised SageMaker call that it forwards the request; it works.
    logging.getLogger(unsupported_module.__name__).setLevel(logging.ERROR)
    _patch_keyword_path_bindings()
    _patch_signing()
    _applied = True


def _patch_signing() -> None:
    """moto's interpreter calls every service of a Task on `localhost:$MOTO_PORT` with the
    made-up key `ak`/`sk`; the embedded AWS refuses that, as AWS would. Its clients sign
    with the run's key instead (a Task's service call is the state machine role's on AWS)."""
    import sys

    import boto3
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.utils import boto_client

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        keys = _credentials.boto3() if _credentials is not None else {"aws_access_key_id": "ak",
                                                                       "aws_secret_access_key": "sk"}
        where = {} if botocore_stubber.enabled else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
        return boto3.client(
            service_name=service, region_name=region, **where,
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                          connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                          read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS),
            **keys,
        )

    boto_client.boto_client_for = boto_client_for
    for name, module in list(sys.modules.items()):  # those that imported it already
        if name.startswith("moto.stepfunctions.") and getattr(module, "boto_client_for", None) is not None:
            module.boto_client_for = boto_client_for


def _patch_keyword_path_bindings() -> None:
    import copy

    from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadbinding.payload_binding import (
        PayloadBindingValue,
    )
    from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadvaluelit.payload_value_str import (
        PayloadValueStr,
    )
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    literal = PayloadBindingValue._eval_body

    def eval_body(self: Any, env: Any) -> None:
        value = self.payload_value
        if not (self.field.endswith(".$") and isinstance(value, PayloadValueStr) and value.val.startswith("$.")):
            return literal(self, env)
        bound = env.stack.pop()
        bound[self.field[:-2]] = copy.deepcopy(extract_json(value.val, env.stack[-1]))
        env.stack.append(bound)
        return None

    PayloadBindingValue._eval_body = eval_body
