"""`models ...`, `push`, `versions ...`, `submit` / `approve` / `reject`, `alias ...`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from modelport.cli.common import (
    JsonOpt,
    client,
    command,
    console,
    fields,
    parse_pairs,
    print_json,
    table,
    when,
)
from modelport.client.shapes import Model, ModelVersion, ModelView

models = typer.Typer(help="Create, list and show models.", no_args_is_help=True)
versions = typer.Typer(help="List and show versions.", no_args_is_help=True)
aliases = typer.Typer(help="Point aliases (production, staging, ...) at versions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from modelport.cli import lifecycle

    lifecycle.register(models)
    app.add_typer(models, name="models")
    app.add_typer(versions, name="versions")
    app.add_typer(aliases, name="alias")
    command(app, "push")(push)
    command(app, "submit")(submit)
    command(app, "approve")(approve)
    command(app, "reject")(reject)
    command(app, "revalidate")(revalidate)


# -- models -------------------------------------------------------------------------------
@command(models, "create")
def create_model(
    name: Annotated[str, typer.Argument(help="lowercase letters, digits and '-'")],
    framework: Annotated[str, typer.Option(help="sklearn, xgboost, onnx, torchscript or python")],
    owner: Annotated[str, typer.Option(help="the team or person responsible")],
    description: Annotated[str, typer.Option()] = "",
    trainer: Annotated[str | None, typer.Option(help="built-in trainer for retraining, e.g. tabular")] = None,
    image: Annotated[str | None, typer.Option(help="training image of your own (instead of --trainer)")] = None,
    instance_type: Annotated[str, typer.Option(help="training instance type")] = "ml.m5.large",
    hp: Annotated[list[str] | None, typer.Option("--hp", help="training hyperparameter KEY=VALUE (repeatable)")] = None,
    dataset_prefix: Annotated[str | None, typer.Option(help="datasets key prefix that triggers retraining")] = None,
    metric: Annotated[str, typer.Option(help="metric compared when retraining")] = "accuracy",
    minimize: Annotated[bool, typer.Option("--minimize", help="lower metric is better")] = False,
    min_improvement: Annotated[float, typer.Option(help="a retrained version must beat production by this")] = 0.0,
    on_retrain: Annotated[str, typer.Option(help="stop, submit or deploy_staging")] = "submit",
    require_approval: Annotated[bool, typer.Option("--require-approval/--no-require-approval",
                                                   help="--no-require-approval loosens the policy (admins only)")] = True,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help="pickled models may load (admins only)")] = False,
    allow_code: Annotated[bool, typer.Option(
        "--allow-code", help="python predictors and custom images may run, once approved (admins only)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a model with its governance policy and training spec.

    Options that loosen the policy (--no-require-approval, --allow-pickle, --allow-code,
    --on-retrain deploy_staging, --image) need an admin key.
    """
    training: dict[str, Any] = {"instance_type": instance_type, "hyperparameters": parse_pairs(hp, "--hp")}
    if trainer:
        training["trainer"] = trainer
    if image:
        training["image"] = image
    if dataset_prefix:
        training["dataset_prefix"] = dataset_prefix
    policy = {
        "require_approval": require_approval, "metric": metric,
        "metric_direction": "minimize" if minimize else "maximize",
        "min_improvement": min_improvement, "on_retrain": on_retrain,
        "allow_pickle": allow_pickle, "allow_code": allow_code,
    }  # fmt: skip
    body = {"name": name, "owner": owner, "framework": framework, "description": description,
            "policy": policy, "training": training}
    with client() as api:
        model = api.models.create(body)
    if as_json:
        return print_json(model)
    console.print(f"[green]created[/green] model [bold]{model.name}[/bold] ({model.framework}, owner {model.owner})")


@command(models, "list")
def list_models(
    status: Annotated[str, typer.Option(help="active, retired or all")] = "active",
    as_json: JsonOpt = False,
) -> None:
    """List models by name (active ones unless --status says otherwise)."""
    with client() as api:
        found = list(api.models.list(status=status))
    if as_json:
        return print_json(found)
    table("models", ["name", "framework", "owner", "risk", "latest", "versions", "production", "created"],
          [[m.name, m.framework, m.owner, m.policy.risk_tier.value, m.latest_version, m.version_count,
            _production(m), when(m.created_at)] for m in found])


def _production(m: ModelView) -> str:
    if m.status == "retired":
        return "retired"
    if m.production is None:
        return ""
    due = f"revalidate by {m.production.revalidate_by:%Y-%m-%d}"
    return f"{m.production.version}, " + (f"OVERDUE ({due})" if m.revalidation_overdue else due)


@command(models, "show")
def show_model(name: str, as_json: JsonOpt = False) -> None:
    """Show a model, its policy, training spec and aliases."""
    with client() as api:
        model = api.models.get(name)
        model_aliases = api.aliases.list(name)
    if as_json:
        return print_json({"model": model, "aliases": model_aliases})
    _render_model(model)
    for alias in model_aliases:
        console.print(f"  alias [bold]{alias.alias}[/bold] → {alias.version}" + (f" (endpoint {alias.endpoint})" if alias.endpoint else ""))


def _render_model(model: Model) -> None:
    fields([
        ("name", model.name), ("framework", model.framework), ("owner", model.owner),
        ("status", model.status), ("revision", model.revision),
        ("description", model.description), ("latest", model.latest_version),
        ("versions", model.version_count), ("created", f"{when(model.created_at)} by {model.created_by}"),
        ("policy", model.policy.model_dump(mode="json")),
        ("training", model.training.model_dump(mode="json", exclude_none=True)),
    ])  # fmt: skip


# -- push ---------------------------------------------------------------------------------
def push(
    path: Annotated[Path, typer.Argument(help="model directory, model file or model.tar.gz")],
    model: Annotated[str, typer.Option("--model", "-m", help="model name")],
    version: Annotated[str | None, typer.Option(help="explicit version, e.g. 1.0.0")] = None,
    bump: Annotated[str | None, typer.Option(help="major, minor or patch (default patch)")] = None,
    framework: Annotated[str | None, typer.Option(help="when it cannot be told from the files")] = None,
    model_file: Annotated[str | None, typer.Option(help="the model file inside the directory")] = None,
    card: Annotated[Path | None, typer.Option(help="model card JSON (intended_use, limitations, evaluation, training_data)")] = None,
    intended_use: Annotated[str | None, typer.Option()] = None,
    limitations: Annotated[str | None, typer.Option()] = None,
    evaluation: Annotated[str | None, typer.Option()] = None,
    training_data: Annotated[str | None, typer.Option()] = None,
    code_revision: Annotated[str | None, typer.Option(help="lineage: the code revision that produced it")] = None,
    baseline: Annotated[Path | None, typer.Option(help="training table (.csv/.parquet) to profile as the drift baseline")] = None,
    target: Annotated[str | None, typer.Option(help="--baseline: the label column")] = None,
    predictions: Annotated[str | None, typer.Option(help="--baseline: a column of the model's predictions")] = None,
    categorical: Annotated[list[str] | None, typer.Option(help="--baseline: a column to treat as categories (repeat)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Pack a model (writes modelport.json with SHA-256s), publish it and upload it.

    `--baseline train.csv --target churned` profiles the training data into the artifact's
    baseline.json (the reference trainer writes one itself), for drift monitoring."""
    card_fields = json.loads(card.read_text()) if card else {}
    card_fields.update({k: v for k, v in {"intended_use": intended_use, "limitations": limitations,
                                           "evaluation": evaluation, "training_data": training_data}.items() if v})
    lineage = {"code_revision": code_revision} if code_revision else None
    with client() as api, Progress(
        TextColumn("[bold]upload[/bold]"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=console, transient=True, disable=as_json,
    ) as bar:  # fmt: skip
        task = bar.add_task("upload", total=None)
        published = api.push(
            model, path, version=version, bump=bump, card=card_fields, lineage=lineage,
            framework=framework, model_file=model_file,
            progress=lambda sent, total: bar.update(task, completed=sent, total=total),
            baseline=baseline, baseline_target=target, baseline_predictions=predictions,
            categorical=tuple(categorical or ()),
        )  # fmt: skip
    if as_json:
        return print_json(published.version)
    v = published.version
    console.print(
        f"[green]pushed[/green] [bold]{v.model} {v.version}[/bold] ({v.framework}, {v.artifact.size} bytes, "
        f"sha256 {v.artifact.sha256[:12]}…) status {v.status.value}"
    )
    if v.lineage.baseline_sha256:
        console.print(f"baseline profile sha256 {v.lineage.baseline_sha256[:12]}… (drift monitoring compares with it)")


# -- versions -----------------------------------------------------------------------------
@command(versions, "list")
def list_versions(model: str, as_json: JsonOpt = False) -> None:
    """List a model's versions, newest first."""
    with client() as api:
        found = list(api.versions.list(model))
    if as_json:
        return print_json(found)
    table(f"{model} versions", ["version", "status", "framework", "metrics", "created", "by"],
          [[v.version, v.status.value, v.framework, _metrics(v.metrics), when(v.created_at), v.created_by] for v in found])


@command(versions, "show")
def show_version(model: str, spec: Annotated[str, typer.Argument(help="1.2.3, 1.x, latest or an alias")],
                 as_json: JsonOpt = False) -> None:
    """Resolve a version spec and show that version."""
    with client() as api:
        version = api.versions.get(model, spec)
    if as_json:
        return print_json(version)
    render_version(version)


def render_version(v: ModelVersion) -> None:
    fields([
        ("version", f"{v.model} {v.version}"), ("status", v.status.value), ("framework", v.framework),
        ("artifact", f"{v.artifact.uri} ({v.artifact.size} bytes)"), ("sha256", v.artifact.sha256),
        ("metrics", _metrics(v.metrics)), ("lineage", v.lineage.model_dump(exclude_none=True)),
        ("card", v.card.model_dump(exclude_none=True)), ("created", f"{when(v.created_at)} by {v.created_by}"),
    ])  # fmt: skip
    for change in v.history:
        console.print(f"  {when(change.at)}  {change.status.value} by {change.by}" + (f": {change.comment}" if change.comment else ""))


def _metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))


# -- approvals and aliases ------------------------------------------------------------------
def submit(model: str, version: str, as_json: JsonOpt = False) -> None:
    """Submit a version for approval (needs a complete model card)."""
    _decided("submitted", lambda api: api.versions.submit(model, version), as_json)


def approve(model: str, version: str, comment: Annotated[str | None, typer.Option()] = None,
            as_json: JsonOpt = False) -> None:
    """Approve a version (four eyes: not by its publisher)."""
    _decided("approved", lambda api: api.versions.approve(model, version, comment), as_json)


def revalidate(model: str, version: str, comment: Annotated[str | None, typer.Option()] = None,
               as_json: JsonOpt = False) -> None:
    """Revalidate an approved version (an approver, not its publisher): production's date moves on."""
    _decided("revalidated", lambda api: api.versions.revalidate(model, version, comment), as_json)


def reject(model: str, version: str, comment: Annotated[str | None, typer.Option()] = None,
           as_json: JsonOpt = False) -> None:
    """Reject a version."""
    _decided("rejected", lambda api: api.versions.reject(model, version, comment), as_json)


def _decided(what: str, call: Any, as_json: bool) -> None:
    with client() as api:
        version = call(api)
    if as_json:
        return print_json(version)
    console.print(f"[green]{what}[/green] [bold]{version.model} {version.version}[/bold]: status {version.status.value}")


@command(aliases, "set")
def set_alias(model: str, alias: str, version: Annotated[str, typer.Argument(help="a version spec")],
              as_json: JsonOpt = False) -> None:
    """Point an alias at a version."""
    with client() as api:
        record = api.aliases.set(model, alias, version)
    if as_json:
        return print_json(record)
    console.print(f"[green]alias[/green] [bold]{record.model} {record.alias}[/bold] → {record.version}")


@command(aliases, "history")
def alias_history(
    model: str,
    alias: Annotated[str, typer.Argument(help="the alias, e.g. production")] = "production",
    at: Annotated[str | None, typer.Option(help="what served at this RFC 3339 time, e.g. 2025-01-31T12:00:00Z")] = None,
    limit: Annotated[int, typer.Option(help="at most this many periods, newest first")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Production history: every period the alias pointed at a version (or what served at --at)."""
    with client() as api:
        if at is not None:
            found = api.aliases.at(model, alias, at)
            periods = [found] if found else []
        else:
            periods = list(itertools.islice(api.aliases.history(model, alias), limit))
    if as_json:
        return print_json(periods[0] if at is not None and periods else (None if at is not None else periods))
    if at is not None and not periods:
        console.print(f"{model} {alias} pointed at no version at {at}")
        return
    table(f"{model} {alias} history" + (f" at {at}" if at else ""),
          ["version", "start", "end", "endpoint", "moved by", "deployment"],
          [[p.version, when(p.start), when(p.end) if p.end else "now", p.endpoint or "(not served)", p.moved_by,
            p.deployment_id] for p in periods])


@command(aliases, "list")
def list_aliases(model: str, as_json: JsonOpt = False) -> None:
    """List a model's aliases."""
    with client() as api:
        found = api.aliases.list(model)
    if as_json:
        return print_json(found)
    table(f"{model} aliases", ["alias", "version", "endpoint", "updated", "by"],
          [[a.alias, a.version, a.endpoint, when(a.updated_at), a.updated_by] for a in found])
