"""MLflow's own scoring client against Modelport's server. Runs in the MLflow venv.

``python -m benchmarks.serving.mlflow_client <port>`` sends a DataFrame (``dataframe_split``),
a NumPy array and a list of rows (``inputs``) with
``mlflow.pyfunc.scoring_server.client.ScoringServerClient`` and checks the predictions
against the same model fitted here. Prints ``mlflow_client=ok`` or exits non-zero.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

from benchmarks.serving.data import N_FEATURES, fit_model, training_data

if __name__ == "__main__":
    client = ScoringServerClient("127.0.0.1", int(sys.argv[1]))
    X = training_data()[0][:25]
    expected = fit_model().predict(X).tolist()
    columns = [f"f{i}" for i in range(N_FEATURES)]
    payloads = {
        "DataFrame": pd.DataFrame(X, columns=columns),
        "ndarray": X,
        "list of rows": X.tolist(),
    }
    for name, data in payloads.items():
        got = np.asarray(client.invoke(data).get_predictions()).reshape(-1).tolist()
        if got != expected:
            sys.exit(f"mlflow client: {name} gave different predictions")
    print(f"mlflow_client=ok ({', '.join(payloads)} through ScoringServerClient)")
