"""Lambda code: the `functions` package plus the `lambda` extra, bundled locally (no Docker).

Every Lambda of the platform runs from the same asset (one bundle, one upload) and
differs only by handler. Dependencies are installed with pip for the Lambda platform
(arm64, CPython 3.12) from binary wheels; `functions/` is copied without tests or caches.
Nothing else of the repository goes in (no tests, model_containers, modelport, infra,
benchmarks).

Bytecode: Lambda's `/var/task` is read-only, so modules without a matching `.pyc` are
compiled again on every cold start. The bundle therefore ships `__pycache__/*.cpython-312.pyc`
compiled by a CPython 3.12 (`.pyc` files are specific to the minor version: 3.11's would be
ignored), with `--invalidation-mode unchecked-hash`: the asset is immutable, and the zip
CDK uploads carries fixed timestamps, which would make timestamp-checked `.pyc` files look
stale and be recompiled anyway; unchecked hash-based ones are used without reading the
source. Without a 3.12 interpreter on the build machine the bundle ships sources only (a
warning says so); `-c lambda_python=/path/to/python3.12` names one explicitly.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, FileSystem, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.settings import SettingsError

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
#: where Lambda unpacks the code: the path tracebacks show for precompiled modules
TASK_ROOT = "/var/task"
#: Left out of the bundle: tests, caches, and anything that is not Lambda code.
EXCLUDE = ("**/__pycache__", "**/*.pyc", "**/tests", "**/test_*.py", "**/.pytest_cache")


def lambda_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's core dependencies plus its `lambda` extra, as pip requirement strings."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [*project.get("dependencies", []), *project["optional-dependencies"]["lambda"]]


def _minor_version(python: str) -> str | None:
    """`3.12` for a working CPython 3.12 interpreter at `python`, else None."""
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except OSError:
        return None
    name, _, version = result.stdout.strip().partition(" ")
    return version if result.returncode == 0 and name == "cpython" else None


def find_lambda_python(explicit: str | None = None) -> str | None:
    """A CPython interpreter of the Lambda runtime's version, to compile the bundle's bytecode.

    `explicit` (CDK context `lambda_python`) must be one; otherwise `python3.12` on PATH, then
    pyenv's installs, are tried (a pyenv shim for a version that is not active fails to run
    and is skipped). None when there is none.
    """
    if explicit:
        if _minor_version(explicit) != PYTHON_VERSION:
            raise SettingsError(f"lambda_python={explicit} is not a CPython {PYTHON_VERSION} interpreter")
        return explicit
    candidates = [shutil.which(f"python{PYTHON_VERSION}")]
    candidates += sorted(map(str, Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}.*/bin/python{PYTHON_VERSION}")),
                         reverse=True)  # fmt: skip
    return next((c for c in candidates if c and _minor_version(c) == PYTHON_VERSION), None)


def compile_bytecode(root: Path, python: str | None) -> bool:
    """Precompile every module under `root` for the Lambda runtime (see the module docstring).

    False (and a warning) when there is no interpreter of the runtime's version.
    """
    if python is None:
        print(
            f"modelport: no CPython {PYTHON_VERSION} found; the Lambda bundle ships without bytecode "
            f"(cold starts compile it). Install python{PYTHON_VERSION} or pass -c lambda_python=<path>.",
            file=sys.stderr,
        )
        return False
    command = [
        python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
        "-s", str(root), "-p", TASK_ROOT, str(root),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"could not precompile the Lambda bundle:\n{result.stdout}{result.stderr}")
    return True


def bundle_size(root: Path) -> str:
    """`<files> files, <MiB> MiB (<MiB> MiB bytecode)` of a bundle directory."""
    files = [p for p in root.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    bytecode = sum(p.stat().st_size for p in files if p.suffix == ".pyc")
    return f"{len(files)} files, {total / 2**20:.1f} MiB ({bytecode / 2**20:.1f} MiB bytecode)"


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Installs the Lambda requirements for arm64/3.12 with pip, copies `functions/`, and
    precompiles it all with `python` (a CPython 3.12; None ships sources only)."""

    def __init__(self, requirements: list[str], python: str | None, source: Path = FUNCTIONS_DIR) -> None:
        self.requirements = requirements
        self.python = python
        self.source = source

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options) -> bool:
        out = Path(output_dir)
        if self.requirements:
            command = [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
                "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
                "--no-compile", "--target", str(out), *self.requirements,
            ]  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                # A failed install must fail the synth, not fall back to Docker (there is none).
                raise RuntimeError(f"pip could not bundle the Lambda requirements:\n{result.stderr}")
            shutil.rmtree(out / "bin", ignore_errors=True)  # console scripts: nothing runs them
        shutil.copytree(
            self.source,
            out / self.source.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py", ".pytest_cache"),
        )
        compile_bytecode(out, self.python)
        print(f"modelport: Lambda bundle: {bundle_size(out)}", file=sys.stderr)
        return True


#: Makes the code asset; every stack needs its own `Code` instance (CDK binds one per stack),
#: while CDK's staging cache still bundles only once per synth.
CodeFactory = Callable[[], lambda_.Code]


def code_factory(*, bundle: bool = True, python: str | None = None) -> CodeFactory:
    """`python`: the CPython 3.12 that compiles the bytecode (found when None, see
    `find_lambda_python`); only bundling uses it."""
    if not bundle:
        return partial(lambda_code, bundle=False)
    return partial(lambda_code, bundle=True, python=find_lambda_python(python))


def lambda_code(*, bundle: bool = True, python: str | None = None) -> lambda_.Code:
    """The platform's Lambda code asset. `bundle=False` (tests) ships `functions/` as is."""
    if not bundle:
        return lambda_.Code.from_asset(str(REPO_ROOT), exclude=["*", "!functions", "!functions/**", *EXCLUDE])
    requirements = lambda_requirements()
    # A custom hash that covers the source, the requirements, this recipe and how the
    # bytecode was made lets CDK reuse a bundle already in cdk.out instead of running pip
    # on every synth.
    bytecode = f"cpython-{PYTHON_VERSION} unchecked-hash" if python else "no bytecode"
    digest = hashlib.sha256()
    digest.update(FileSystem.fingerprint(str(FUNCTIONS_DIR), exclude=list(EXCLUDE)).encode())
    digest.update("\n".join([PYTHON_VERSION, *PLATFORMS, *requirements, bytecode]).encode())
    digest.update(Path(__file__).read_bytes())
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=digest.hexdigest(),
        exclude=list(EXCLUDE),
        bundling=BundlingOptions(
            # never pulled: local bundling either succeeds or raises
            image=RUNTIME.bundling_image,
            local=PipLocalBundling(requirements, python),
        ),
    )
