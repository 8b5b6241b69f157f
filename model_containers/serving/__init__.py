"""The SageMaker-compatible inference server (``python -m model_containers.serving``)."""
