"""`evidence export` and `evidence verify`: a version's evidence pack, verified offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli.common import JsonOpt, client, command, console, err, print_json

evidence = typer.Typer(help="Export a version's evidence pack (JSON + HTML) and verify it offline.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(evidence, name="evidence")


@command(evidence, "export")
def export(
    model: str,
    version: Annotated[str, typer.Argument(help="exact version, e.g. 1.0.1")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the zip to write")] = Path("evidence.zip"),
    as_json: JsonOpt = False,
) -> None:
    """Export the evidence pack of a version (approver or admin) into a zip."""
    with client() as api:
        pack = api.evidence.get(model, version)
    from modelport.client.evidence import write_zip

    path = write_zip(pack, output)
    head = pack["audit"]["proof"]["head"]
    summary = {"path": str(path), "model": model, "version": pack["version"]["version"],
               "events": len(pack["audit"]["events"]), "chain_head": head}
    if as_json:
        return print_json(summary)
    console.print(f"[green]exported[/green] {model} {summary['version']} to [bold]{path}[/bold]: "
                  f"{summary['events']} audit events, chain head event {head['seq']} ({head['hash'][:12]}…)")


@command(evidence, "verify")
def verify(
    path: Annotated[Path, typer.Argument(help="a zip written by `modelport evidence export`")],
    as_json: JsonOpt = False,
) -> None:
    """Verify a pack offline (hashes, chain links, every section); exits 1 and names each mismatch."""
    from modelport.client.evidence import verify_zip

    report = verify_zip(path)
    if as_json:
        print_json({"ok": report.ok, "mismatches": [{"section": m.section, "message": m.message}
                                                    for m in report.mismatches],
                    "checked": report.checked, "chain_head": report.head})
    else:
        for line in report.checked:
            console.print(f"[green]ok[/green] {line}")
        for mismatch in report.mismatches:
            console.print(f"[red]MISMATCH[/red] {mismatch.section}: {mismatch.message}")
        if report.ok and report.head:
            console.print(f"[green]verified[/green] {path}: chain head event {report.head['seq']} "
                          f"({report.head['hash']}); compare it with the live chain to tie the pack to it")
    if not report.ok:
        if not as_json:
            err.print(f"[bold red]error:[/bold red] [red]{path} does not verify: {len(report.mismatches)} "
                      "mismatch(es)[/red]")
        raise typer.Exit(1)
