"""Control-plane benchmark: DynamoDB requests per operation, handler import+init time."""
