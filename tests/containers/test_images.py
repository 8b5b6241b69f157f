"""The Dockerfiles: entry commands identical to what the tests run, SageMaker's label, non-root."""

from __future__ import annotations

import re

import pytest

from tests.containers.serverproc import (
    CONTAINERS,
    ROOT,
    dockerfile_copies,
    dockerfile_entrypoint,
    entry_command,
)

DOCKERFILES = [CONTAINERS / "Dockerfile.cpu", CONTAINERS / "Dockerfile.gpu"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_entrypoint_is_the_script_the_tests_run(dockerfile):
    entry = dockerfile_entrypoint(dockerfile)
    assert len(entry) == 1 and entry[0].startswith("/")
    assert dockerfile_copies(dockerfile)[entry[0]] == "model_containers/entrypoint.sh"
    for mode in ("serve", "train"):
        assert entry_command(mode, dockerfile) == entry_command(mode)
    assert re.search(r'^CMD \["serve"\]$', dockerfile.read_text(), re.MULTILINE)


def test_entry_script_dispatches_to_the_contract_modules():
    script = (ROOT / "model_containers" / "entrypoint.sh").read_text()
    commands = dict(re.findall(r"^\s*(\w+)\) exec (.+?) \"\$@\" ;;$", script, re.MULTILINE))
    # docs/contracts.md: serve, train and monitor (the drift job) are these modules.
    assert commands == {"serve": "python -m model_containers.serving",
                        "train": "python -m model_containers.training",
                        "monitor": "python -m model_containers.monitoring"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_label_user_and_base(dockerfile):
    text = dockerfile.read_text()
    assert "com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    base = re.search(r"^FROM\s+(\S+)", text, re.MULTILINE).group(1)
    assert base.startswith("nvidia/cuda:") == (dockerfile.name == "Dockerfile.gpu")
    assert "EXPOSE 8080" in text
