"""Processes a killed platform left running are found at the next start and stopped
(issue 11: the endpoint process of a killed platform kept running, holding its port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelport.local.sagemaker import LaunchSpec
from modelport.local.sagemaker.processes import MARKER, reap_orphans
from modelport.local.sagemaker.service import processes_dir


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def leave_running(cloud, tmp_path: Path, kind: str) -> int:
    """A job started through the local SageMaker's launcher, as any job kind is, that the
    platform then loses track of (as when it is killed)."""
    process = cloud.sagemaker.launcher(LaunchSpec(
        "http.server", {}, tmp_path / f"{kind}.log", args=("0", "--bind", "127.0.0.1"), kind=kind, owner=f"{kind}-1",
    ))
    return process.pid


@pytest.mark.parametrize("lost_pid_file", [False, True])
def test_a_left_over_process_is_stopped_at_the_next_start(cloud, tmp_path, lost_pid_file):
    pid = leave_running(cloud, tmp_path, "drift")
    pid_file = processes_dir(cloud.settings.state_dir) / f"{pid}.json"
    assert pid_file.is_file() and alive(pid)
    if lost_pid_file:  # killed between the spawn and the pid file: the environment marker remains
        pid_file.unlink()
    cloud.stop(snapshot=False)
    assert alive(pid)  # nothing stopped it: the platform did not know it
    cloud.start()
    assert [(o["pid"], o["found_by"]) for o in cloud.orphans] == [
        (pid, "environment marker" if lost_pid_file else "pid file")]
    if not lost_pid_file:
        assert (cloud.orphans[0]["kind"], cloud.orphans[0]["owner"]) == ("drift", "drift-1")
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid) and not pid_file.exists()


def test_a_reused_pid_is_not_killed(tmp_path):
    """A pid file whose process ended, its pid now another process's: the start time differs."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        processes = tmp_path / "processes"
        processes.mkdir()
        (processes / f"{other.pid}.json").write_text(f'{{"pid": {other.pid}, "started": 1, "kind": "endpoint"}}')
        assert reap_orphans(processes) == []
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_another_platforms_processes_are_left_alone(tmp_path):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    env = {**os.environ, MARKER: str(theirs.resolve())}
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env, start_new_session=True)
    try:
        assert reap_orphans(mine) == []
        assert other.poll() is None
        assert [o["pid"] for o in reap_orphans(theirs)] == [other.pid]
        assert other.wait(timeout=10) == -signal.SIGTERM
    finally:
        if other.poll() is None:
            other.kill()
