"""The state directory is its user's alone (issue 10, lower finding "state files").

Datasets, logs, captures and unpacked artifacts were 0644 in a 0755 tree, readable by any
local user; only `admin.key` was 0600. Local mode now makes the directory 0700, runs with
umask 077 (files 0600, directories 0700, its subprocesses' too) and tightens what an
earlier run left looser.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modelport.local.statefiles import PrivateState, tighten


def readable_by_others(root: Path) -> list[str]:
    loose = []
    for path in (root, *root.rglob("*")):
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            loose.append(f"{path.relative_to(root)} {stat.S_IMODE(mode):o}")
    return loose


def test_what_a_running_cloud_writes_is_private(cloud, aws, bucket, endpoints, model, runtime, unique):
    aws("s3").put_object(Bucket=bucket, Key="datasets/churn/data.csv", Body=b"a,b\n1,2\n")
    endpoints(f"modes-{unique}", model("modes"))  # unpacks an artifact, starts a process, logs
    runtime.invoke_endpoint(EndpointName=f"modes-{unique}", Body=b"[[1, 2]]", ContentType="application/json")
    state = cloud.settings.state_dir
    assert list((state / "sagemaker" / "logs").rglob("*.log")), "the endpoint wrote no log to check"
    assert list((state / "sagemaker" / "artifacts").rglob("predictor.py")), "no unpacked artifact to check"
    assert readable_by_others(state) == []


def test_an_older_state_directory_is_tightened_and_the_umask_comes_back(tmp_path):
    # one embedded AWS per process, and this package's runs already: the start's two steps alone
    state = tmp_path / "state"
    (state / "sagemaker" / "logs").mkdir(parents=True)
    for directory in (state, state / "sagemaker", state / "sagemaker" / "logs"):
        directory.chmod(0o755)
    (state / "sagemaker" / "logs" / "old.log").write_text("an earlier run's log")
    (state / "sagemaker" / "logs" / "old.log").chmod(0o644)
    (state / "elsewhere").symlink_to(tmp_path)  # a link's target is not the state's to change
    tmp_path.chmod(0o750)
    outside = stat.S_IMODE(tmp_path.stat().st_mode)
    before = os.umask(0o022)
    os.umask(before)
    private = PrivateState(state)
    private.enter()
    try:
        tighten(state)
        assert readable_by_others(state) == []
        (state / "new.json").write_text("{}")
        assert stat.S_IMODE((state / "new.json").stat().st_mode) == 0o600
        assert stat.S_IMODE(tmp_path.stat().st_mode) == outside
    finally:
        private.leave()
    assert os.umask(before) == before
