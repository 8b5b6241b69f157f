"""Composition root for AWS: one stage of the platform, its stacks wired by constructor arguments.

Run by the CDK CLI (`cdk.json`): `npx cdk synth -c stage=dev`. Stage settings come from CDK
context (see `infra/settings.py`); nothing else differs between environments.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as `python infra/app.py`: Python put infra/ first on sys.path, where infra/constructs
    # would shadow the `constructs` library. Use the repository root instead.
    _infra = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _infra]
    sys.path.insert(0, str(_infra.parent))

import aws_cdk as cdk

from infra.platform import build_platform
from infra.settings import SettingsError, load_stage_settings


def main() -> None:
    app = cdk.App()
    # Build-machine switches, not stage settings: `-c bundle=false` skips the pip bundling
    # of the Lambda code; `-c lambda_python=<path>` names the CPython 3.12 that precompiles
    # it (infra/packaging.py). The workflow definitions are always functions/workflows/*.asl.json.
    bundle = str(app.node.try_get_context("bundle") or "true").lower() != "false"
    lambda_python = app.node.try_get_context("lambda_python")
    try:
        settings = load_stage_settings(app.node.try_get_context)
        # also resolves framework images (SettingsError) and finds the bytecode compiler
        build_platform(app, settings, bundle=bundle, lambda_python=lambda_python)
    except SettingsError as error:
        sys.exit(f"modelport: {error}")
    app.synth()


if __name__ == "__main__":
    main()
