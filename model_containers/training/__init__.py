"""The SageMaker training entry point (``python -m model_containers.training``)."""
