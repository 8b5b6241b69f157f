"""Lambda code: the `functions` package plus the `lambda` extra, bundled locally (no Docker).

Every Lambda of the platform runs from the same asset (one bundle, one upload) and
differs only by handler. Dependencies are installed with pip for the Lambda platform
(arm64, CPython 3.12) from binary wheels; `functions/` is copied without tests or caches.
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

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
#: Left out of the bundle: tests, caches, and anything that is not Lambda code.
EXCLUDE = ("**/__pycache__", "**/*.pyc", "**/tests", "**/test_*.py", "**/.pytest_cache")


def lambda_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's core dependencies plus its `lambda` extra, as pip requirement strings."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [*project.get("dependencies", []), *project["optional-dependencies"]["lambda"]]


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Installs the Lambda requirements for arm64/3.12 with pip, then copies `functions/`."""

    def __init__(self, requirements: list[str], source: Path = FUNCTIONS_DIR) -> None:
        self.requirements = requirements
        self.source = source

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options) -> bool:
        out = Path(output_dir)
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
        shutil.copytree(
            self.source,
            out / self.source.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py", ".pytest_cache"),
        )
        return True


#: Makes the code asset; every stack needs its own `Code` instance (CDK binds one per stack),
#: while CDK's staging cache still bundles only once per synth.
CodeFactory = Callable[[], lambda_.Code]


def code_factory(*, bundle: bool = True) -> CodeFactory:
    return partial(lambda_code, bundle=bundle)


def lambda_code(*, bundle: bool = True) -> lambda_.Code:
    """The platform's Lambda code asset. `bundle=False` (tests) ships `functions/` as is."""
    if not bundle:
        return lambda_.Code.from_asset(str(REPO_ROOT), exclude=["*", "!functions", "!functions/**", *EXCLUDE])
    requirements = lambda_requirements()
    # A custom hash that covers the source and the requirements lets CDK reuse a bundle that
    # is already in cdk.out instead of running pip on every synth.
    digest = hashlib.sha256()
    digest.update(FileSystem.fingerprint(str(FUNCTIONS_DIR), exclude=list(EXCLUDE)).encode())
    digest.update("\n".join([PYTHON_VERSION, *PLATFORMS, *requirements]).encode())
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=digest.hexdigest(),
        exclude=list(EXCLUDE),
        bundling=BundlingOptions(
            # never pulled: local bundling either succeeds or raises
            image=RUNTIME.bundling_image,
            local=PipLocalBundling(requirements),
        ),
    )
