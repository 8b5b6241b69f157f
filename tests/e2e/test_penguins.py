"""The Palmer penguins table through the whole loop, against `modelport local up`.

upload → retrain (the reference trainer) → register → deploy to staging (policy) → invoke
with string features in every protocol; then a table the trainer refuses, whose cause is
one line in the API, the CLI and the `local up` terminal, while moto's internals stay in
the log file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from palmerpenguins import load_penguins, load_penguins_raw

from tests.e2e.conftest import ROOT, LocalUp

MODEL = "penguins"
FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
#: a Gentoo from the table, a Chinstrap with a missing sex, an Adelie from an island training never saw
ROWS = [["Biscoe", 46.1, 13.2, 211.0, 4500.0, "female", 2007],
        ["Dream", 46.5, 17.9, 192.0, 3500.0, None, 2007],
        ["Atlantis", 39.1, 18.7, 181.0, 3750.0, "male", 2007]]
EXPECTED = ["Gentoo", "Chinstrap", "Adelie"]


@pytest.fixture(scope="module")
def staged(local: LocalUp, tmp_path_factory):
    admin = local.client()
    admin.models.create({"name": MODEL, "owner": "e2e", "framework": "sklearn",
                         "policy": {"metric": "balanced_accuracy", "on_retrain": "deploy_staging"},
                         "training": {"trainer": "tabular", "hyperparameters": {"target": "species"}}})
    data = tmp_path_factory.mktemp("penguins") / "penguins.csv"
    load_penguins().to_csv(data, index=False)
    uploaded = admin.retrains.upload_dataset(MODEL, data)
    retrain = admin.retrains.wait(MODEL, admin.retrains.for_dataset(MODEL, uploaded.uri).id, timeout_s=240)
    assert retrain.outcome is not None and retrain.outcome.value == "deploying", retrain
    deployed = admin.deployments.wait(MODEL, retrain.deployment_id, timeout_s=240)
    assert deployed.status.value == "succeeded", deployed
    consumer = local.client(admin.keys.create({"owner": "penguin-app", "roles": ["consumer"],
                                               "patterns": [MODEL]}).token)
    return admin, consumer, retrain


def test_registered_with_real_metrics_and_the_table_signature(staged) -> None:
    admin, _, retrain = staged
    version = admin.versions.get(MODEL, retrain.new_version)
    assert version.metrics["accuracy"] >= 0.95 and version.metrics["cv_accuracy"] >= 0.95
    assert {"balanced_accuracy", "f1_macro", "roc_auc", "log_loss"} <= set(version.metrics)
    inputs = {i.name: i for i in version.signature.inputs}
    assert list(inputs) == FEATURES
    assert inputs["island"].dtype == "string" and inputs["island"].categories == ["Biscoe", "Dream", "Torgersen"]
    assert inputs["year"].dtype == "int64" and inputs["year"].categories == [2007, 2008, 2009]
    (label,) = version.signature.outputs
    assert label.name == "species" and label.categories == ["Adelie", "Chinstrap", "Gentoo"]
    assert version.lineage.dataset_uri.endswith("penguins.csv")


@pytest.mark.parametrize("protocol", ["instances", "dataframe_split", "dataframe_records", "csv",
                                      "oip_columns", "oip_rows"])
def test_string_features_in_every_protocol(staged, protocol) -> None:
    _, consumer, _ = staged
    records = [dict(zip(FEATURES, row)) for row in ROWS]
    if protocol == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([["" if v is None else v for v in row] for row in ROWS])
        answer = consumer.invoke(MODEL, version="staging", body=out.getvalue().encode(), content_type="text/csv")
    elif protocol.startswith("oip"):
        if protocol == "oip_columns":
            inputs = [{"name": f, "datatype": "BYTES" if f in ("island", "sex") else "FP64", "shape": [len(ROWS)],
                       "data": [("" if r[i] is None else r[i]) if f in ("island", "sex") else r[i] for r in ROWS]}
                      for i, f in enumerate(FEATURES)]
        else:
            inputs = [{"name": f"row{i}", "datatype": "BYTES", "shape": [1, len(FEATURES)],
                       "data": ["" if v is None else str(v) for v in row]} for i, row in enumerate(ROWS)]
        body = consumer.invoke(MODEL, {"inputs": inputs}, version="staging", protocol="oip-v2").data()
        label, *classes = body["outputs"]
        assert label["name"] == "species" and label["data"] == EXPECTED
        assert [c["name"] for c in classes] == ["proba_Adelie", "proba_Chinstrap", "proba_Gentoo"]
        return
    else:
        payload = {"instances": {"instances": ROWS},
                   "dataframe_split": {"dataframe_split": {"columns": FEATURES, "data": ROWS}},
                   "dataframe_records": {"dataframe_records": records}}[protocol]
        answer = consumer.invoke(MODEL, payload, version="staging")
    assert answer.status == 200
    assert answer.data() == {"predictions": EXPECTED}


def test_predict_proba_through_the_gateway(staged) -> None:
    _, consumer, _ = staged
    body = {"dataframe_split": {"columns": FEATURES, "data": ROWS}, "params": {"predict_method": "predict_proba"}}
    proba = np.asarray(consumer.invoke(MODEL, body, version="staging").data()["predictions"])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(proba.argmax(axis=1)) == [0 if e == "Adelie" else 1 if e == "Chinstrap" else 2 for e in EXPECTED]


def test_a_refused_table_fails_in_one_line_everywhere(local: LocalUp, staged, tmp_path: Path) -> None:
    admin, _, _ = staged
    raw = tmp_path / "penguins-raw.csv"
    load_penguins_raw().rename(columns={"Species": "species"}).to_csv(raw, index=False)
    uploaded = admin.retrains.upload_dataset(MODEL, raw)
    failed = admin.retrains.wait(MODEL, admin.retrains.for_dataset(MODEL, uploaded.uri).id, timeout_s=240)
    assert failed.outcome is not None and failed.outcome.value == "failed"
    assert failed.error == "TrainingFailed"
    assert "column 'Individual ID' looks like free text or an identifier" in failed.cause
    assert "hyperparameter drop=Individual ID" in failed.cause and "\n" not in failed.cause
    assert "Traceback" not in failed.cause and len(failed.cause) < 600

    env = {**os.environ, "MODELPORT_URL": local.url, "MODELPORT_API_KEY": local.admin_key}
    shown = subprocess.run([sys.executable, "-m", "modelport", "retrain", "status", MODEL, failed.id],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    lines = [line for line in shown.stdout.splitlines() if line.strip()]
    assert lines[0].startswith(f"retrain {failed.id}: failed"), shown.stdout
    # the cause: one line (a terminal wraps it; rich does not cut it at 80 columns)
    assert lines[1:] == [f"  TrainingFailed: {failed.cause}"], shown.stdout
    assert "Traceback" not in shown.stdout + shown.stderr

    # the terminal of `local up`: one line per event, with its ids; moto's dumps went to the file
    local.process.send_signal(signal.SIGINT)
    _, terminal = local.process.communicate(timeout=60)
    events = [line for line in terminal.splitlines() if line.strip()]
    assert any(f"retrain {failed.id} of {MODEL} failed: " in line and "Individual ID" in line for line in events)
    assert any(f"version {MODEL} " in line and "registered by system:retrain" in line for line in events)
    assert any(f"is staging on mp-local-{MODEL}-staging" in line for line in events), terminal
    for internal in ("FailureEventException", "Traceback", "StateFail", "HTTP/1.1", "botocore"):
        assert internal not in terminal
    log = (local.state_dir / "logs" / "platform.log").read_text()
    assert "FailureEventException" in log  # moto's interpreter dump: kept, in the file
    assert json.dumps(MODEL) not in terminal  # no JSON blobs (Powertools lines) on the terminal
