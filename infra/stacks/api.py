"""Api stack: the REST API, its authorizer, the control-plane Lambdas and the direct
SageMaker inference path; the Workflows stack is nested here (see workflows.py)."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.apigw import AUTHORIZERS, INFERENCE_HEADERS
from infra.constructs.console_site import ConsoleSite
from infra.constructs.grants import (
    AUDIT_APPEND,
    TABLE_READ,
    TABLE_WRITE,
    grant_authorizer_cache_flush,
    grant_item_update,
    grant_objects,
    grant_table,
)
from infra.constructs.inference import (
    add_gateway_responses,
    inference_integration,
    inference_method_responses,
)
from infra.constructs.platform_function import PlatformFunction, retention
from infra.packaging import CodeFactory
from infra.routes import AuthorizerKind, Route, platform_routes
from infra.settings import StageSettings
from infra.stacks.data import DataStack
from infra.stacks.serving import ServingStack
from infra.stacks.workflows import WorkflowsStack

#: control-plane Lambdas: contract name → what it serves (contracts.md).
CONTROL_PLANE = {
    "registry": "models, versions, artifacts",
    "versioning": "submit, approve, reject, aliases",
    "keys": "API keys",
    "audit": "audit log and its verification",
    "deployments": "deployments",
    "retraining": "datasets and retrains",
    "monitoring": "drift monitoring and ground truth",
}
#: What each control-plane Lambda's code calls, beyond reading the metadata table
#: (tests/infra/test_iam.py follows each handler's code and checks its role against it).
WRITERS = frozenset({"registry", "versioning", "keys", "deployments", "retraining", "monitoring"})
LISTS = frozenset({"registry", "keys", "audit"})  # query the listing index
PUBLISHES = frozenset({"registry", "deployments"})  # platform events
FLUSHES = frozenset({"versioning", "keys"})  # alias moves and key revocations flush the authorizer cache
#: what the console's requests carry (CORS preflight answers for its origin only).
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
#: binary request bodies passed through to SageMaker untouched (JSON and CSV are text).
BINARY_MEDIA_TYPES = ["application/octet-stream", "application/x-npy", "application/x-protobuf"]


class ApiStack(Stack):
    """Exposes `api`, `authorizer_function`, `functions` (contract name → PlatformFunction),
    `authorizers` (AuthorizerKind → RequestAuthorizer), `inference_role`, `workflows` and
    `console` (the web console's ConsoleSite, None when the stage turns it off)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StageSettings,
        data: DataStack,
        serving: ServingStack,
        code: CodeFactory,
        routes: tuple[Route, ...] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.settings, self.data, self.serving = settings, data, serving
        self.removal = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY
        self.retention = retention(settings.log_retention_days)
        routes = platform_routes() if routes is None else routes

        self.api = self._rest_api()
        self.api_stage_name = settings.name
        # The console needs the API's origin (its CSP, its config.json) and the API answers CORS
        # for the console's origin only; both live in this stack, so neither waits on the other:
        # the API's URL is built from its id, not from its deployment stage.
        api_origin = f"https://{self.api.rest_api_id}.execute-api.{self.region}.{Aws.URL_SUFFIX}"
        self.console = ConsoleSite(
            self, "Console", api_url=f"{api_origin}/{self.api_stage_name}", api_origin=api_origin,
            instance_types=settings.allowed_instance_types, stage=settings.name, removal_policy=self.removal,
        ) if settings.console else None  # fmt: skip
        self.cors_origin = self.console.origin if self.console else None
        base_env = {
            "MODELPORT_STAGE": settings.name,
            "MODELPORT_TABLE_NAME": data.table.table_name,
            "MODELPORT_AUDIT_TABLE_NAME": data.audit_table.table_name,
            "MODELPORT_ARTIFACTS_BUCKET": data.artifacts_bucket.bucket_name,
            "MODELPORT_DATASETS_BUCKET": data.datasets_bucket.bucket_name,
            "MODELPORT_CAPTURES_BUCKET": data.captures_bucket.bucket_name,
            "MODELPORT_REST_API_ID": self.api.rest_api_id,
            "MODELPORT_API_STAGE_NAME": self.api_stage_name,
            "MODELPORT_SAGEMAKER_ROLE_ARN": serving.sagemaker_role.role_arn,
            "MODELPORT_CPU_IMAGE_URI": serving.cpu_image_uri,
            "MODELPORT_GPU_IMAGE_URI": serving.gpu_image_uri,
            "MODELPORT_ALLOWED_INSTANCE_TYPES": ",".join(settings.allowed_instance_types),
            "POWERTOOLS_METRICS_NAMESPACE": "Modelport",
        }
        self.workflows = WorkflowsStack(
            self,
            "Workflows",
            settings=settings,
            data=data,
            serving=serving,
            code=code,
            environment=base_env,
            rest_api_id=self.api.rest_api_id,
            api_stage_name=self.api_stage_name,
        )
        env = {
            **base_env,
            "MODELPORT_EVENT_BUS_NAME": self.workflows.event_bus.event_bus_name,
            "MODELPORT_DEPLOY_STATE_MACHINE_ARN": self.workflows.deploy_state_machine.state_machine_arn,
            "MODELPORT_RETRAIN_STATE_MACHINE_ARN": self.workflows.retrain_state_machine.state_machine_arn,
            **({"MODELPORT_CONSOLE_ORIGIN": self.cors_origin} if self.cors_origin else {}),
            "MODELPORT_MONITOR_STATE_MACHINE_ARN": self.workflows.monitor_state_machine.state_machine_arn,
        }
        stack_code = code()
        self.authorizer_function = self._function("Authorizer", "auth", "REQUEST authorizer", stack_code, env)
        self.indexes = tuple(index.name for index in data.schema.indexes)
        # authenticate (one GetItem) and resolve the inference target: reads, and the key's
        # sampled last_used_at (one conditional UpdateItem of a KEY# item, at most hourly)
        grant_table(self.authorizer_function.role, data.table, data.key, *TABLE_READ)
        grant_item_update(self.authorizer_function.role, data.table, data.key, partition_prefix="KEY#")
        self.functions = {
            name: self._function(name.capitalize(), name, what, stack_code, env)
            for name, what in CONTROL_PLANE.items()
        }
        self._grant_control_plane()
        self.authorizers = {kind: self._authorizer(kind) for kind in AuthorizerKind}
        self.inference_role = iam.Role(
            self,
            "InferenceIntegrationRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway to SageMaker runtime InvokeEndpoint on this stage's endpoints",
        )
        self.inference_role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"],
                resources=[
                    self.format_arn(
                        service="sagemaker", resource="endpoint", resource_name=f"{settings.endpoint_prefix}*"
                    )
                ],
            )
        )
        self.validator = self.api.add_request_validator(
            "RequestValidator", validate_request_parameters=True, validate_request_body=True
        )
        for route in routes:
            self._add_route(route)
        if self.cors_origin:
            self._add_cors_preflights(routes)
        add_gateway_responses(self.api, cors_origin=self.cors_origin)

    def _rest_api(self) -> apigw.RestApi:
        settings = self.settings
        owner = settings.api_gateway_cloudwatch_role == "own"
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            encryption_key=self.data.key,
            retention=self.retention,
            removal_policy=self.removal,
        )
        return apigw.RestApi(
            self,
            "Api",
            description=f"Modelport {settings.name}",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=BINARY_MEDIA_TYPES,
            # API Gateway's CloudWatch Logs role is one setting per account and region
            # (AWS::ApiGateway::Account): one stage owns it and keeps it when destroyed, so
            # removing dev never breaks the logging of prod's API; the other stages use it
            cloud_watch_role=owner,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if owner else None,
            deploy_options=apigw.StageOptions(
                stage_name=settings.name,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=True,
                ),
                throttling_rate_limit=settings.throttle_rate_limit,
                throttling_burst_limit=settings.throttle_burst_limit,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                data_trace_enabled=False,
                tracing_enabled=True,
            ),
        )

    def _function(self, id: str, folder: str, what: str, code: lambda_.Code, env: dict) -> PlatformFunction:
        return PlatformFunction(
            self,
            id,
            handler=f"functions.{folder}.handler.lambda_handler",
            code=code,
            description=f"Modelport {self.settings.name}: {what}",
            environment={**env, "POWERTOOLS_SERVICE_NAME": folder},
            log_key=self.data.key,
            log_retention=self.retention,
            removal_policy=self.removal,
        )

    def _grant_control_plane(self) -> None:
        data, fns, wf = self.data, self.functions, self.workflows
        for name, fn in fns.items():
            writes = TABLE_WRITE if name in WRITERS else ()
            indexes = self.indexes if name in LISTS else ()
            grant_table(fn.role, data.table, data.key, *TABLE_READ, *writes, indexes=indexes)
            if name == "audit":  # lists and verifies the chains; nobody else reads them
                grant_table(fn.role, data.audit_table, data.key, *TABLE_READ)
            elif writes:  # every change appends its audit event in the same transaction
                grant_table(fn.role, data.audit_table, data.key, *AUDIT_APPEND)
            if name in PUBLISHES:
                wf.event_bus.grant_put_events_to(fn.role)
            if name in FLUSHES:
                grant_authorizer_cache_flush(fn.role, self, self.api.rest_api_id, self.api_stage_name)
        # publishers upload through URLs the registry presigns (the URL acts with its rights);
        # submitting a version verifies the upload (HEAD with its checksum)
        grant_objects(fns["registry"].role, data.artifacts_bucket, "models/*", "s3:PutObject")
        grant_objects(fns["versioning"].role, data.artifacts_bucket, "models/*", "s3:GetObject")
        grant_objects(fns["retraining"].role, data.datasets_bucket, "datasets/*", "s3:PutObject")
        # executions report back through the table; the handler only starts them (the retrain
        # workflow is started by the trigger, from S3 notifications)
        wf.deploy_state_machine.grant_start_execution(fns["deployments"].role)
        # drift runs on demand; labels are checked against the captured-inference index and
        # written outside the audit chains; reports are read (and presigned) from the captures
        wf.monitor_state_machine.grant_start_execution(fns["monitoring"].role)
        grant_table(fns["monitoring"].role, data.table, data.key, "dynamodb:BatchGetItem")
        grant_objects(fns["monitoring"].role, data.captures_bucket, "monitoring/*", "s3:GetObject")

    def _authorizer(self, kind: AuthorizerKind) -> apigw.RequestAuthorizer:
        definition = AUTHORIZERS[kind.value]
        definition.sources()  # refuses what API Gateway refuses, at synth
        identity = list(definition.identity_sources)
        return apigw.RequestAuthorizer(
            self,
            f"{kind.value.title().replace('_', '')}Authorizer",
            handler=self.authorizer_function.function,
            identity_sources=identity,
            results_cache_ttl=Duration.seconds(self.settings.authorizer_cache_ttl_seconds),
        )

    def _add_cors_preflights(self, routes: tuple[Route, ...]) -> None:
        """OPTIONS on each control-plane resource, answered by API Gateway itself (MOCK): the
        console's origin, the route's methods and the headers the console sends. Browsers send
        preflights without credentials, so these methods have no authorizer."""
        methods: dict[str, list[str]] = {}
        for route in routes:
            if not route.inference:
                methods.setdefault(route.path, []).append(route.method)
        for path, allowed in methods.items():
            self.api.root.resource_for_path(path).add_cors_preflight(
                allow_origins=[self.cors_origin], allow_methods=sorted(set(allowed)), allow_headers=CORS_HEADERS,
                max_age=Duration.minutes(10),
            )

    def _add_route(self, route: Route) -> None:
        resource = self.api.root.resource_for_path(route.path)
        params = {f"method.request.path.{name}": True for name in route.path_params}
        options: dict = {}
        if route.authorizer is not None:
            params["method.request.header.Authorization"] = True
            options = {
                "authorizer": self.authorizers[AuthorizerKind(route.authorizer)],
                "authorization_type": apigw.AuthorizationType.CUSTOM,
            }
        if route.inference:
            resource.add_method(
                route.method,
                inference_integration(self, role=self.inference_role, oip_v2=route.oip_v2),
                request_parameters={**params, **{f"method.request.header.{h}": False for h in INFERENCE_HEADERS}},
                request_validator=self.validator,
                method_responses=inference_method_responses(),
                **options,
            )
            return
        if route.function is None or route.function not in self.functions:
            raise ValueError(f"route {route.method} {route.path}: unknown Lambda {route.function!r}")
        resource.add_method(
            route.method,
            apigw.LambdaIntegration(self.functions[route.function].function, allow_test_invoke=False),
            request_parameters=params,
            request_validator=self.validator,
            **options,
        )
