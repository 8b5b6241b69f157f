import subprocess
import sys
from pathlib import Path


def test_control_plane_demo_runs_the_whole_story():
    done = subprocess.run(
        [sys.executable, "-m", "modelport.demo_control_plane"],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for line in ("alice tries to approve her own version", "1.x → 1.0.0 (approved", "bob verifies the audit chain"):
        assert line in done.stdout
    assert "steps as expected" in done.stdout and "FAIL" not in done.stdout
