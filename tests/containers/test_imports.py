"""Start-up cost: a scikit-learn model must not drag torch into its process."""

import subprocess
import sys

import pytest


def test_loading_skops_does_not_import_torch():
    pytest.importorskip("torch")  # the cost only exists where torch is installed
    probe = (
        "import sys\n"
        "from model_containers.runtimes.sklearn import import_skops\n"
        "sio = import_skops()\n"
        "from sklearn.utils import all_estimators\n"
        "assert len(all_estimators()) > 100, 'the estimator walk lost estimators'\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
