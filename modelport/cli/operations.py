"""`deploy`, `invoke`, `datasets upload` and `retrain status`."""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from modelport.cli.common import JsonOpt, client, command, console, print_json, table
from modelport.client import ModelportError
from modelport.client.workflows import Deployment, Retrain

datasets = typer.Typer(help="Upload training data (starts a retrain).", no_args_is_help=True)
retrain = typer.Typer(help="Follow retrains.", no_args_is_help=True)
deployments = typer.Typer(help="List and show deployments.", no_args_is_help=True)

def register(app: typer.Typer) -> None:
    command(app, "deploy")(deploy)
    command(app, "invoke")(invoke)
    app.add_typer(datasets, name="datasets")
    app.add_typer(retrain, name="retrain")
    app.add_typer(deployments, name="deployments")


def deploy(
    model: str,
    version: Annotated[str, typer.Argument(help="a version spec or an alias")],
    to: Annotated[str, typer.Option("--to", help="the alias that will serve it")] = "production",
    instance_type: Annotated[str, typer.Option(help="e.g. ml.m5.large, or GPU ml.g5.xlarge")] = "ml.m5.large",
    count: Annotated[int | None, typer.Option(help="initial instance count (default --min)")] = None,
    min_instances: Annotated[int, typer.Option("--min", help="autoscaling minimum")] = 1,
    max_instances: Annotated[int, typer.Option("--max", help="autoscaling maximum")] = 1,
    strategy: Annotated[str, typer.Option(help="all_at_once, canary:10%:60s or linear:20%:30s")] = "all_at_once",
    wait: Annotated[bool, typer.Option("--wait", help="follow the workflow's steps until it ends")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Deploy a version behind an alias with a blue/green strategy."""
    from pydantic import ValidationError

    from functions.core.endpoints import EndpointSettings, TrafficStrategy

    try:
        settings = EndpointSettings(
            instance_type=instance_type, min_instances=min_instances, max_instances=max_instances,
            initial_instance_count=count or min_instances, strategy=TrafficStrategy.parse(strategy),
        )  # fmt: skip
    except (ValidationError, ValueError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise ModelportError(f"invalid deployment settings: {message}", code="InvalidInput") from None
    with client() as api:
        started = api.deployments.start(model, version, to=to, settings=settings)
        if not wait:
            if as_json:
                return print_json(started)
            console.print(f"[green]started[/green] deployment [bold]{started.id}[/bold]: {model} {started.version} → {to} "
                          f"(follow: modelport deployments show {model} {started.id} --follow)")
            return None
        if not as_json:
            console.print(f"deployment [bold]{started.id}[/bold]: {model} {started.version} → {to} "
                          f"({settings.strategy.type}, {settings.instance_type} × {settings.initial_instance_count})")
        final = follow_deployment(api, model, started.id, quiet=as_json)
    if as_json:
        print_json(final)
    if final.status.value != "succeeded":
        raise typer.Exit(1)


def _follow(records: Any, what: str, out: Any, quiet: bool) -> Any:
    """Print each step of a workflow record as it is reached (with a spinner); the last state."""
    shown = 0
    current = None
    started = time.monotonic()
    with (out.status(f"{what}…", spinner="dots") if not quiet else nullcontext()) as status:
        for current in records:
            if not quiet:
                for mark in current.steps[shown:]:
                    out.print(f"  [cyan]▸[/cyan] {escape(mark.step):<24} [dim]+{time.monotonic() - started:5.1f}s[/dim]")
                shown = len(current.steps)
            if status is not None:
                status.update(f"{current.status.value}: {current.step}")
    assert current is not None
    return current


def follow_deployment(api: Any, model: str, deployment_id: str, *, quiet: bool = False,
                      printer: Any = None) -> Deployment:
    """Render each step of a deployment as the workflow reaches it; return the final state."""
    out = printer or console
    current: Deployment = _follow(api.deployments.follow(model, deployment_id), "deploying", out, quiet)
    if not quiet:
        if current.status.value == "succeeded":
            out.print(f"[green]deployed[/green] [bold]{model} {current.version}[/bold] as {current.alias} "
                      f"on endpoint {current.endpoint}")
        else:
            reason = " ".join(p for p in (current.error, current.cause) if p)
            out.print(f"[red]deployment {current.status.value}[/red]" + (f": {escape(reason)}" if reason else "")
                      + (f"; {current.alias} still serves {current.previous_version}" if current.previous_version else ""))
    return current


def read_data(data: str) -> bytes:
    """`--data` as JSON text, or `@file` to read it from a file."""
    if data.startswith("@"):
        path = Path(data[1:])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ModelportError(f"cannot read {path}: {exc.strerror}", code="InvalidInput") from None
    try:
        json.loads(data)
    except ValueError:
        raise ModelportError("--data is not valid JSON (use @file to send a file)", code="InvalidInput") from None
    return data.encode()


def with_proba(body: bytes) -> bytes:
    """A JSON body asking for class probabilities (MLflow's inference params)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ModelportError("--proba needs a JSON body", code="InvalidInput") from None
    if isinstance(parsed, list):
        parsed = {"instances": parsed}
    if not isinstance(parsed, dict) or "inputs" in parsed and isinstance(parsed["inputs"], list) and \
            parsed["inputs"] and isinstance(parsed["inputs"][0], dict) and "datatype" in parsed["inputs"][0]:
        raise ModelportError("--proba is for SageMaker/MLflow JSON bodies; an OIP response carries "
                             "one proba_<class> output per class already", code="InvalidInput")
    return json.dumps({**parsed, "params": {"predict_method": "predict_proba"}}).encode()


def invoke(
    model: str,
    data: Annotated[str, typer.Option(help="JSON request body, or @file")],
    version: Annotated[str | None, typer.Option(help="a version spec or alias (default: production)")] = None,
    oip: Annotated[bool, typer.Option("--oip", help="use the Open Inference Protocol v2 route")] = False,
    content_type: Annotated[str, typer.Option(help="request content type")] = "application/json",
    proba: Annotated[bool, typer.Option("--proba", help="class probabilities instead of labels (classifiers)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Call a model over HTTP and print its answer."""
    body = read_data(data)
    if proba:
        body = with_proba(body)
    with client() as api:
        answer = api.invoke(model, version=version, body=body, content_type=content_type,
                            protocol="oip-v2" if oip else "sagemaker")
    text = answer.body.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    if as_json:
        return print_json({"status": answer.status, "content_type": answer.content_type,
                           "variant": answer.variant, "inference_id": answer.inference_id,
                           "body": parsed if parsed is not None else text})
    if parsed is not None:
        console.print_json(data=parsed)
    else:
        console.print(escape(text))
    if answer.inference_id:
        typer.echo(f"inference id {answer.inference_id}", err=True)  # stdout stays the body


# -- datasets and retrains -------------------------------------------------------------------
@command(datasets, "upload")
def upload_dataset(
    model: str,
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file")],
    follow: Annotated[bool, typer.Option("--follow", help="follow the retrain it starts")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upload a dataset into the model's dataset prefix: a retrain starts."""
    if not file.is_file():
        raise ModelportError(f"{file} is not a file", code="InvalidInput")
    with client() as api:
        created = api.retrains.upload_dataset(model, file)
        if not follow:
            if as_json:
                return print_json(created)
            console.print(f"[green]uploaded[/green] {file.name} to {created.uri}: a retrain starts "
                          f"(follow: modelport retrain status {model} --follow)")
            return None
        if not as_json:
            console.print(f"[green]uploaded[/green] {file.name} to {created.uri}")
        retrain_id = api.retrains.for_dataset(model, created.uri).id
        final = follow_retrain(api, model, retrain_id, quiet=as_json)
    if as_json:
        print_json(final)
    if final.status.value != "succeeded":
        raise typer.Exit(1)
    return None


def follow_retrain(api: Any, model: str, retrain_id: str, *, quiet: bool = False, printer: Any = None) -> Retrain:
    """Render each step of a retrain as the workflow reaches it; return the final state."""
    out = printer or console
    current: Retrain = _follow(api.retrains.follow(model, retrain_id), "retraining", out, quiet)
    if not quiet:
        describe_retrain(current, out)
    return current


def describe_retrain(r: Retrain, out: Any = console) -> None:
    outcome = r.outcome.value if r.outcome else r.status.value
    out.print(f"retrain [bold]{r.id}[/bold]: {escape(outcome)}" + (f" → version {r.new_version}" if r.new_version else ""))
    if r.evaluation is not None:
        # The reason already names the metric, both values and the rule applied.
        out.print(f"  evaluation: {escape(r.evaluation.reason)}")
    # the failure in one line (the error's class, then its cause), not wrapped by rich: a
    # terminal wraps it, and a pipe or a log keeps it whole
    failure = f"{r.error}: {r.cause}" if r.error and r.cause and r.cause != r.error else (r.cause or r.error)
    for text in (failure, r.note):
        if text:
            out.print(f"  {escape(text)}", soft_wrap=True)


@command(retrain, "status")
def retrain_status(
    model: str,
    retrain_id: Annotated[str | None, typer.Argument(help="one retrain; the latest ones when left out")] = None,
    follow: Annotated[bool, typer.Option("--follow", help="follow until it ends")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show (or follow) a model's retrains."""
    with client() as api:
        if retrain_id is None:
            found = api.retrains.page(model, limit=20).items
            if not follow or not found:
                if as_json:
                    return print_json(found)
                table(f"{model} retrains", ["id", "status", "step", "outcome", "version", "dataset"],
                      [[r.id, r.status.value, r.step, r.outcome.value if r.outcome else "", r.new_version,
                        r.dataset.uri] for r in found])
                return None
            retrain_id = found[0].id
        current = follow_retrain(api, model, retrain_id, quiet=as_json) if follow else api.retrains.get(model, retrain_id)
    if as_json:
        return print_json(current)
    if not follow:
        describe_retrain(current)
    return None


@command(deployments, "list")
def list_deployments(model: str, as_json: JsonOpt = False) -> None:
    """List a model's deployments."""
    with client() as api:
        found = api.deployments.page(model, limit=50).items
    if as_json:
        return print_json(found)
    table(f"{model} deployments", ["id", "status", "step", "version", "alias", "endpoint"],
          [[d.id, d.status.value, d.step, d.version, d.alias, d.endpoint] for d in found])


@command(deployments, "show")
def show_deployment(model: str, deployment_id: str,
                    follow: Annotated[bool, typer.Option("--follow")] = False, as_json: JsonOpt = False) -> None:
    """Show (or follow) one deployment."""
    with client() as api:
        current = follow_deployment(api, model, deployment_id, quiet=as_json) if follow else api.deployments.get(model, deployment_id)
    if as_json:
        return print_json(current)
    if not follow:
        console.print_json(data=current.model_dump(mode="json"))
