"""The Lambda bundle: only `functions/` and the `lambda` extra, precompiled for CPython 3.12."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from infra.packaging import (
    FUNCTIONS_DIR,
    PYTHON_VERSION,
    PipLocalBundling,
    compile_bytecode,
    find_lambda_python,
    lambda_requirements,
)
from infra.settings import SettingsError


def _magic(python: str) -> bytes:
    code = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    return bytes.fromhex(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, str | None]:
    """`functions/` bundled as the synth does it (the pip step is the same for any code)."""
    out = tmp_path_factory.mktemp("bundle")
    python = find_lambda_python()
    PipLocalBundling([], python).try_bundle(str(out), image=None)
    return out, python


def test_the_bundle_holds_the_functions_package_only(bundle):
    out, _ = bundle
    assert sorted(p.name for p in out.iterdir()) == ["functions"]
    sources = sorted(p.relative_to(out / "functions") for p in (out / "functions").rglob("*.py"))
    assert sources == sorted(p.relative_to(FUNCTIONS_DIR) for p in FUNCTIONS_DIR.rglob("*.py"))
    assert (out / "functions" / "workflows" / "deploy.asl.json").is_file()
    assert not [p for p in out.rglob("*") if p.name in ("tests", ".pytest_cache") or p.name.startswith("test_")]


def test_every_module_is_precompiled_for_the_lambda_runtime_without_source_checks(bundle):
    out, python = bundle
    compiled = sorted(out.rglob("*.pyc"))
    if python is None:  # the build machine has no CPython 3.12: sources only (next test: it says so)
        assert not compiled
        return
    magic = _magic(python)
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    sources = sorted(out.rglob("*.py"))
    assert len(compiled) == len(sources)
    for source in sources:
        header = (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").read_bytes()[:8]
        assert header[:4] == magic, source  # 3.12's bytecode: other versions ignore it
        # PEP 552 flags 0b01: hash-based, source not checked (Lambda's task root is immutable)
        assert struct.unpack("<I", header[4:8])[0] == 0b01, source
    # tracebacks name the file where Lambda unpacks it
    pyc = out / "functions" / "core" / "__pycache__" / f"apikeys.{tag}.pyc"
    code = f"import marshal; f = open({str(pyc)!r}, 'rb'); f.read(16); print(marshal.load(f).co_filename)"
    filename = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert filename == "/var/task/functions/core/apikeys.py"


def test_without_a_312_interpreter_the_bundle_ships_sources_and_says_so(tmp_path, capfd):
    (tmp_path / "m.py").write_text("X = 1\n")
    assert compile_bytecode(tmp_path, None) is False
    assert not list(tmp_path.rglob("*.pyc"))
    assert f"no CPython {PYTHON_VERSION} found" in capfd.readouterr().err


def test_an_explicit_interpreter_must_be_cpython_312():
    with pytest.raises(SettingsError, match=f"lambda_python=/bin/true is not a CPython {PYTHON_VERSION}"):
        find_lambda_python("/bin/true")


def test_requirements_are_the_lambda_extra_only():
    names = {r.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower() for r in lambda_requirements()}
    assert {"boto3", "aws-lambda-powertools", "pydantic", "pydantic-settings"} <= names
    assert not names & {"moto", "torch", "numpy", "typer", "aws-cdk-lib", "uvicorn", "scikit-learn", "httpx"}


def test_every_lambda_skips_pydantic_plugin_discovery(templates):
    """Cold start: pydantic would scan every distribution's entry points for plugins."""
    from tests.infra.conftest import resources

    functions = [f for t in templates.values() for f in resources(t, "AWS::Lambda::Function").values()
                 if str(f["Properties"].get("Handler", "")).startswith("functions.")]  # fmt: skip
    assert len(functions) >= 10
    for function in functions:
        assert function["Properties"]["Environment"]["Variables"]["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
