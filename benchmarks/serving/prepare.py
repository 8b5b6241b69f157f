"""Set-up for the serving benchmark: wrk from Debian, MLflow in its own venv, the models.

MLflow gets a separate virtual environment (``benchmarks/.venv-mlflow``, git-ignored) so
its pins never touch the project's environment. It gets the same scikit-learn version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.serving.data import N_FEATURES, fit_model

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_VENV = ROOT / "benchmarks" / ".venv-mlflow"


def say(msg: str) -> None:
    print(f"[setup] {msg}", flush=True)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk not found; installing it from Debian (apt-get install -y wrk)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing after apt-get install")
    return found


def ensure_mlflow() -> Path:
    python = MLFLOW_VENV / "bin" / "python"
    probe = [str(python), "-c", "import mlflow, sklearn, uvicorn"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return MLFLOW_VENV
    import sklearn

    say(f"creating {MLFLOW_VENV.relative_to(ROOT)} with mlflow and scikit-learn=={sklearn.__version__}")
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "mlflow", "uvicorn",
                    f"scikit-learn=={sklearn.__version__}"], check=True)
    return MLFLOW_VENV


def build_models(workdir: Path, *, with_mlflow: bool = True) -> dict[str, Path]:
    """The same LogisticRegression as a Modelport artifact and as an MLflow model."""
    import skops.io as sio

    from model_containers.artifact import write_manifest

    ours = workdir / "modelport"
    ours.mkdir(parents=True)
    sio.dump(fit_model(), ours / "model.skops")
    signature = {"inputs": [{"name": f"f{i}", "dtype": "float64", "shape": [-1]} for i in range(N_FEATURES)],
                 "outputs": [{"name": "label", "dtype": "int64", "shape": [-1]}]}
    write_manifest(ours, framework="sklearn", model_file="model.skops", signature=signature)
    if not with_mlflow:
        return {"modelport": ours}
    mlflow_dir = workdir / "mlflow"
    subprocess.run([str(MLFLOW_VENV / "bin" / "python"), "-m", "benchmarks.serving.mlflow_model",
                    str(mlflow_dir)], check=True, cwd=ROOT, capture_output=True)
    return {"modelport": ours, "mlflow": mlflow_dir}
