"""Lambda `monitoring`: `/v1/models/{name}/monitoring[...]` and `/v1/models/{name}/feedback`."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths

from functions.adapters import http
from functions.monitoring import routes

logger = Logger(service="monitoring")
app = APIGatewayRestResolver(enable_validation=True, response_validation_error_http_code=500)
http.install(app, logger)
app.include_router(routes.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@http.metrics.log_metrics
def lambda_handler(event, context):
    return http.resolve(app, event, context)
