"""What endpoint and training processes inherit (issue 10, finding 2).

A deployed `python` predictor read `<state>/admin.key` and the embedded-AWS URL: endpoint
processes inherited the platform's whole environment (its AWS credentials included) and
ran in the directory `local up` was started from. They now get only the variables of the
container contract and a private working directory outside the state directory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from modelport.local.sagemaker.processes import LaunchSpec, launch, stop

DUMP = """\
import json, os, sys
print("ENV=" + json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}), flush=True)
"""


def run_dump(tmp_path: Path, **spec) -> dict:
    (tmp_path / "envdump.py").write_text(DUMP)
    log = tmp_path / "out.log"
    process = launch(LaunchSpec("envdump", {"PYTHONPATH": str(tmp_path), "MODELPORT_MODEL_DIR": "/m", **spec},
                                log))
    process.wait(timeout=30)
    line = next(x for x in log.read_text().splitlines() if x.startswith("ENV="))
    return json.loads(line[4:])


def test_a_child_gets_the_contract_and_nothing_of_the_platform(tmp_path, monkeypatch):
    secrets = {
        "AWS_SECRET_ACCESS_KEY": "platform-secret", "AWS_ACCESS_KEY_ID": "modelport-local",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_SESSION_TOKEN": "t",
        "MODELPORT_TABLE_NAME": "modelport-local-meta", "MODELPORT_LOCAL_STATE_DIR": str(tmp_path / "state"),
        "MODELPORT_API_KEY": "mp_0123456789abcdef_secret", "MODELPORT_LOCAL_AWS_SECRET": "s",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    seen = run_dump(tmp_path)
    env = seen["env"]
    assert not set(secrets) & set(env), sorted(set(secrets) & set(env))
    assert not any(k.startswith(("AWS_", "MODELPORT_LOCAL_")) for k in env)
    assert env["MODELPORT_MODEL_DIR"] == "/m" and env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # as the images set it: no .pyc beside a predictor
    assert "PATH" in env
    # a private working directory, which HOME and TMPDIR point into
    cwd = Path(seen["cwd"])
    assert cwd != Path.cwd() and not cwd.is_relative_to(tmp_path)
    assert Path(env["HOME"]) == cwd and Path(env["TMPDIR"]).is_relative_to(cwd)


def test_the_working_directory_is_private_and_removed_when_the_process_ends(tmp_path):
    (tmp_path / "sleeper.py").write_text("import os, time\nprint(os.getcwd(), flush=True)\ntime.sleep(60)\n")
    log = tmp_path / "out.log"
    process = launch(LaunchSpec("sleeper", {"PYTHONPATH": str(tmp_path)}, log))
    deadline = time.monotonic() + 20
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    cwd = Path(log.read_text().split()[0])
    assert cwd.is_dir() and (cwd.stat().st_mode & 0o777) == 0o700
    stop(process, grace_s=2)
    assert not cwd.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_the_platforms_own_environment_is_not_readable_through_the_child(tmp_path, monkeypatch):
    """The child's initial environment (/proc/<pid>/environ) holds only what it was given."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "platform-secret")
    (tmp_path / "sleeper.py").write_text("import time\ntime.sleep(60)\n")
    process = launch(LaunchSpec("sleeper", {"PYTHONPATH": str(tmp_path)}, tmp_path / "out.log"))
    try:
        deadline = time.monotonic() + 20  # until it has exec'ed (a forked child shows the parent's)
        while b"sleeper" not in Path(f"/proc/{process.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        environ = Path(f"/proc/{process.pid}/environ").read_bytes()
        assert b"platform-secret" not in environ and b"AWS_SECRET_ACCESS_KEY" not in environ
    finally:
        stop(process, grace_s=2)


PROBE = """\
import json, os, sys
def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__
state, model, job = sys.argv[1:4]
seen = {
    "read the admin key": attempt(lambda: open(os.path.join(state, "admin.key")).read()),
    "write the journal": attempt(lambda: open(os.path.join(state, "journal"), "a").write("forged")),
    "read the embedded AWS": attempt(lambda: open(os.path.join(state, "aws", "snapshot")).read()),
    "read the model": attempt(lambda: open(os.path.join(model, "predictor.py")).read()),
    "write the model": attempt(lambda: open(os.path.join(model, "predictor.py"), "a").write("#")),
    "write the job dir": attempt(lambda: open(os.path.join(job, "out.txt"), "w").write("ok")),
    "read the parent's memory": attempt(lambda: open(f"/proc/{os.getppid()}/mem", "rb").read(1)),
    "write scratch": attempt(lambda: open("scratch.txt", "w").write("ok")),
}
print("SEEN=" + json.dumps(seen), flush=True)
"""


@pytest.mark.skipif(not __import__("modelport.local.sandbox").local.sandbox.available(), reason="no Landlock")
def test_a_sandboxed_child_reaches_only_its_own_paths_in_the_state_directory(tmp_path):
    """Same uid, so modes cannot stop it: a predictor that learns the state directory's path
    (it is in the platform's command line) could read admin.key and forge journal records.
    (Names stay listable: Landlock grants listing the state directory's parents to all below.)"""
    state = tmp_path / "state"
    for directory in ("aws", "model", "job"):
        (state / directory).mkdir(parents=True)
    (state / "admin.key").write_text("mp_secret")
    (state / "aws" / "snapshot").write_text("{}")
    (state / "model" / "predictor.py").write_text("pass\n")
    (tmp_path / "probe.py").write_text(PROBE)
    log = tmp_path / "out.log"
    process = launch(LaunchSpec("probe", {"PYTHONPATH": f"{tmp_path}:{Path.cwd()}"}, log,
                                args=(str(state), str(state / "model"), str(state / "job")), private=state,
                                readable=(state / "model",), writable=(state / "job",)))
    assert process.wait(timeout=30) == 0, log.read_text()
    seen = json.loads(next(x for x in log.read_text().splitlines() if x.startswith("SEEN="))[5:])
    assert seen == {
        "read the admin key": "PermissionError", "write the journal": "PermissionError",
        "read the embedded AWS": "PermissionError", "read the model": "allowed", "write the model": "PermissionError",
        "write the job dir": "allowed", "read the parent's memory": "PermissionError", "write scratch": "allowed",
    }
    assert (state / "admin.key").read_text() == "mp_secret" and not (state / "journal").exists()


@pytest.mark.skipif(not __import__("modelport.local.sandbox").local.sandbox.available(), reason="no Landlock")
def test_a_child_that_cannot_be_confined_does_not_run(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "ran.py").write_text("open('ran', 'w').write('user code ran')\n")
    log = tmp_path / "out.log"
    process = launch(LaunchSpec("ran", {"PYTHONPATH": f"{tmp_path}:{Path.cwd()}"}, log, cwd=tmp_path,
                                private=tmp_path / "state", readable=(tmp_path / "state" / "missing",)))
    assert process.wait(timeout=30) != 0
    assert "could not confine this process to its own files" in log.read_text()
    assert not (tmp_path / "ran").exists()
