"""Lambda `registry`: models and versions."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths

from functions.adapters import http
from functions.registry import lifecycle, models, versions

logger = Logger(service="registry")
app = APIGatewayRestResolver(enable_validation=True, response_validation_error_http_code=500)
http.install(app, logger)
app.include_router(models.router)
app.include_router(versions.router)
app.include_router(lifecycle.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@http.metrics.log_metrics
def lambda_handler(event, context):
    return http.resolve(app, event, context)
