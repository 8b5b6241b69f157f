"""The benchmark's model and payload, generated identically in every virtual environment."""

from __future__ import annotations

import numpy as np

N_FEATURES = 20
SEED = 7


def training_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(2000, N_FEATURES))
    y = (X @ rng.normal(size=N_FEATURES) > 0).astype(np.int64)
    return X, y


def fit_model():
    from sklearn.linear_model import LogisticRegression

    X, y = training_data()
    return LogisticRegression(max_iter=1000).fit(X, y)


ROW = [round(0.1 * (i + 1), 2) for i in range(N_FEATURES)]
# SageMaker/MLflow "instances" JSON: one row, the single-row request every server gets.
BODY = '{"instances": [[' + ",".join(str(v) for v in ROW) + "]]}"
