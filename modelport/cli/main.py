"""The `modelport` command (typer + rich).

Configuration: `modelport login --url ... --key ...`, or `MODELPORT_URL` and
`MODELPORT_API_KEY` (which win over the login file). Every command takes `--json`.
"""

from __future__ import annotations

import typer

from modelport.cli import access, evidence, local, monitor, operations, registry

app = typer.Typer(
    name="modelport",
    help="Modelport: publish, govern, deploy and retrain models, on AWS or on this machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
registry.register(app)
operations.register(app)
access.register(app)
local.register(app)
evidence.register(app)
monitor.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
