"""`models update`, `models retire`, and the pending changes (`models changes|confirm|reject`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.cli.common import JsonOpt, client, command, console, print_json, table, when
from modelport.client import InvalidInputError
from modelport.client.shapes import ModelChange


def register(models: typer.Typer) -> None:
    command(models, "update")(update_model)
    command(models, "retire")(retire_model)
    command(models, "changes")(list_changes)
    command(models, "confirm")(confirm_change)
    command(models, "reject")(reject_change)


def _patch_from(patch: str | None) -> dict[str, Any]:
    if patch is None:
        return {}
    text = Path(patch[1:]).read_text() if patch.startswith("@") else patch
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"--patch is not valid JSON: {exc}", code="InvalidInput") from None
    if not isinstance(value, dict):
        raise InvalidInputError("--patch must be a JSON object (a merge patch)", code="InvalidInput")
    return value


def update_model(
    name: str,
    description: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    risk_tier: Annotated[str | None, typer.Option(help="low, medium or high")] = None,
    revalidation_days: Annotated[int | None, typer.Option(help="days within which production is revalidated")] = None,
    require_approval: Annotated[bool | None, typer.Option("--require-approval/--no-require-approval")] = None,
    allow_pickle: Annotated[bool | None, typer.Option("--allow-pickle/--no-allow-pickle")] = None,
    patch: Annotated[str | None, typer.Option(help="a JSON Merge Patch, or @file.json, e.g. '{\"training\": {\"hyperparameters\": {\"seed\": \"7\"}}}'")] = None,
    revision: Annotated[int | None, typer.Option(help="the revision you are changing (default: the current one)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a model's settings; a change that loosens its policy waits for a second approver."""
    body = _patch_from(patch)
    body.update({k: v for k, v in {"description": description, "owner": owner}.items() if v is not None})
    policy = {k: v for k, v in {"risk_tier": risk_tier, "revalidation_days": revalidation_days,
                                 "require_approval": require_approval, "allow_pickle": allow_pickle}.items()
              if v is not None}
    if policy:
        body["policy"] = {**(body.get("policy") or {}), **policy}
    if not body:
        raise InvalidInputError("nothing to change: give an option or --patch", code="InvalidInput")
    with client() as api:
        result = api.models.update(name, body, revision=revision)
    if as_json:
        return print_json(result)
    if isinstance(result, ModelChange):
        fields = ", ".join(f["field"] for f in result.loosened)
        console.print(f"[yellow]pending[/yellow] change [bold]{result.id}[/bold] loosens {fields}: another approver "
                      f"confirms it with `modelport models confirm {name} {result.id}` (by {when(result.expires_at)})")
        return
    console.print(f"[green]updated[/green] model [bold]{result.name}[/bold]: revision {result.revision}")


def retire_model(name: str, reason: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """Retire a model: it stays in the inventory, read-only (refused while an alias is deployed)."""
    with client() as api:
        model = api.models.retire(name, reason=reason)
    if as_json:
        return print_json(model)
    console.print(f"[green]retired[/green] model [bold]{model.name}[/bold] (read-only; `models list --status retired`)")


def list_changes(name: str, as_json: JsonOpt = False) -> None:
    """A model's requested changes, newest first."""
    with client() as api:
        found = list(api.models.changes(name))
    if as_json:
        return print_json(found)
    table(f"{name} changes", ["id", "status", "loosens", "requested", "by", "decided by"],
          [[c.id, c.status.value, ", ".join(f["field"] for f in c.loosened), when(c.requested_at), c.requested_by,
            c.decided_by] for c in found])


def confirm_change(name: str, change_id: str, comment: Annotated[str | None, typer.Option()] = None,
                   as_json: JsonOpt = False) -> None:
    """Confirm (and so apply) a pending change: a second approver or admin."""
    with client() as api:
        decided = api.models.confirm(name, change_id, comment)
    if as_json:
        return print_json(decided)
    console.print(f"[green]applied[/green] change [bold]{decided.id}[/bold] to {name}")


def reject_change(name: str, change_id: str, comment: Annotated[str | None, typer.Option()] = None,
                  as_json: JsonOpt = False) -> None:
    """Reject a pending change (or withdraw your own)."""
    with client() as api:
        decided = api.models.reject(name, change_id, comment)
    if as_json:
        return print_json(decided)
    console.print(f"[green]rejected[/green] change [bold]{decided.id}[/bold] to {name}")
