"""The console's own unit tests (node's test runner): the API client, sign-in rules, and the
rendering of API errors and of values that hold HTML."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "console"


def test_console_unit_tests_pass():
    if not (CONSOLE / "node_modules" / "preact").is_dir():
        pytest.fail("console/node_modules is missing: run `make console` (make test does)")
    done = subprocess.run(["node", "--test", "test/"], cwd=CONSOLE, capture_output=True, text=True, timeout=120, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    passed = int(re.search(r"^# pass (\d+)", out, re.MULTILINE).group(1))
    assert passed >= 20 and re.search(r"^# fail 0$", out, re.MULTILINE), out[-2000:]
