"""What every command shares: the client, `--json` output, and one-line errors.

Every command is registered with `command(group)`, which turns any failure into one red
line on stderr (and, with `--json`, an `{"error": ...}` object on stdout) and a non-zero
exit: never a traceback, never the API key.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any

import click
import orjson
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelport.client import Client, ModelportError
from modelport.client.config import UserSettings

console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

#: exit statuses: 1 the API or the platform refused, 2 bad usage (click), 130 interrupted.
EXIT_ERROR, EXIT_INTERRUPTED = 1, 130


def command(group: typer.Typer, name: str | None = None, **options: Any) -> Callable:
    """`group.command(name)` with the CLI's error handling around the function."""

    def register(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            as_json = bool(kwargs.get("as_json"))
            try:
                return fn(*args, **kwargs)
            except (typer.Exit, click.exceptions.Exit, click.ClickException, click.Abort):
                raise
            except ModelportError as error:
                fail(_describe(error), code=error.code, status=error.status, as_json=as_json)
            except KeyboardInterrupt:
                err.print("[yellow]interrupted[/yellow]")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except Exception as error:  # noqa: BLE001 - one line, never a traceback
                fail(f"{type(error).__name__}: {error}", code=type(error).__name__, as_json=as_json)

        return group.command(name, **options)(run)

    return register


def _describe(error: ModelportError) -> str:
    tag = f"{error.code}" + (f", HTTP {error.status}" if error.status else "")
    return f"{error.message} [{tag}]"


def fail(message: str, *, code: str = "Error", status: int | None = None, as_json: bool = False) -> None:
    err.print(f"[bold red]error:[/bold red] [red]{escape(message)}[/red]")
    if as_json:
        print_json({"error": {"code": code, "message": message, "status": status}})
    raise typer.Exit(EXIT_ERROR)


def client() -> Client:
    """A client from `MODELPORT_URL`/`MODELPORT_API_KEY` or the login file."""
    return Client(settings=UserSettings())


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(to_jsonable(value), option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("" if v is None else escape(str(v)) for v in row))
    console.print(grid)


def fields(pairs: list[tuple[str, Any]]) -> None:
    """Aligned `name: value` lines."""
    width = max((len(name) for name, _ in pairs), default=0)
    for name, value in pairs:
        if value is None or value == "" or value == {} or value == []:
            continue
        console.print(f"[bold]{escape(name.ljust(width))}[/bold]  {escape(str(value))}")


def when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """`KEY=VALUE` options into a dict."""
    result: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ModelportError(f"{what} must look like KEY=VALUE, got {item!r}", code="InvalidInput")
        result[key] = value
    return result
