"""The authorizer Lambda: API keys, and routing of inference requests to endpoints."""
