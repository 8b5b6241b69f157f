"""The deploy and retrain workflows: ASL definitions (`*.asl.json`, the one source of truth)
and their Lambda steps, plus the S3 → SQS retrain trigger."""
