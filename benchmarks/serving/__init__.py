"""Serving benchmark: Modelport's server vs a bare ASGI loop vs ``mlflow models serve``."""
