"""The registry Lambda: models and versions (create, list, get, publish, resolve)."""
