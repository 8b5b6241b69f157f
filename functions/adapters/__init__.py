"""Adapters: the only place boto3 lives (DynamoDB, S3, EventBridge) plus the HTTP edge.

Modules are imported lazily by `wiring` so that importing a handler does not import boto3.
"""
