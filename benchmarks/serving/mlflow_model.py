"""Save the benchmark model as an MLflow model. Runs in the benchmark's own MLflow venv."""

from __future__ import annotations

import sys

import mlflow.sklearn

from benchmarks.serving.data import fit_model, training_data

if __name__ == "__main__":
    X, _ = training_data()
    mlflow.sklearn.save_model(fit_model(), sys.argv[1], input_example=X[:1])
