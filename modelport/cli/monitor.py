"""`modelport monitor status|run|report|feedback`: drift monitoring from the terminal."""

from __future__ import annotations

import csv
import json
import tempfile
import webbrowser
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape

from modelport.cli.common import JsonOpt, client, command, console, fields, print_json, table, when
from modelport.cli.operations import _follow
from modelport.client import ModelportError
from modelport.client.monitoring import MonitoringRun

monitor = typer.Typer(help="Drift monitoring: status, runs on demand, reports, labels.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(monitor, name="monitor")


@command(monitor, "status")
def status(model: str, as_json: JsonOpt = False) -> None:
    """The latest drift run of each alias, its history and the drift score per feature."""
    with client() as api:
        found = api.monitoring.status(model)
    if as_json:
        return print_json(found)
    policy = found.policy
    console.print(f"[bold]{escape(model)}[/bold] monitoring: "
                  + (f"every {policy.schedule[5:-1]}" if policy.enabled and policy.schedule else "on demand")
                  + f", window {policy.window_hours} h, on drift {policy.on_drift.value}, live {escape(found.metric)}")
    for alias in found.aliases:
        latest = alias.latest
        console.print(f"\n[bold]{escape(alias.alias)}[/bold] → {escape(alias.version)}"
                      + (f" on {escape(alias.endpoint)}" if alias.endpoint else " (not deployed)"))
        if latest is None:
            console.print("  no drift run yet")
            continue
        describe(latest)
        rows = [[r.id, r.status, r.outcome or "", r.rows, ", ".join(r.drifted_features),
                 "" if r.live_metric is None else f"{r.live_metric:.4g}", r.action or "", when(r.window_end)]
                for r in alias.history[:10]]
        table(None, ["run", "status", "outcome", "rows", "drifted", found.metric, "action", "window end"], rows)


def describe(run: MonitoringRun) -> None:
    outcome = run.outcome.value if run.outcome else run.status.value
    colour = {"drift": "red", "ok": "green", "failed": "red"}.get(outcome, "yellow")
    console.print(f"  run [bold]{run.id}[/bold]: [{colour}]{escape(outcome)}[/{colour}] on {run.rows} rows "
                  f"({when(run.window_start)} → {when(run.window_end)})")
    if run.drifted_features or run.drifted_outputs:
        drifted = [*run.drifted_features, *run.drifted_outputs]
        console.print("  drifted: " + ", ".join(f"[bold]{escape(f)}[/bold] (PSI {run.scores.get(f) or 0:.3g})"
                                                for f in drifted))
    if run.live_metric is not None and run.live_metric.value is not None:
        live = run.live_metric
        console.print(f"  live {escape(live.metric)} {live.value:.4g} on {live.n} labelled rows")
    for text in (run.note, run.error, run.cause):
        if text:
            console.print(f"  {escape(text)}")


@command(monitor, "run")
def run(
    model: str,
    alias: Annotated[str, typer.Option(help="the deployed alias to check")] = "production",
    window_hours: Annotated[int | None, typer.Option(help="default: the policy's window")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow the run until it ends")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Run the drift job now and follow it step by step."""
    with client() as api:
        started = api.monitoring.run(model, alias=alias, window_hours=window_hours)
        if not wait:
            return print_json(started) if as_json else console.print(f"drift run [bold]{started.id}[/bold] started")
        if not as_json:
            console.print(f"drift run [bold]{started.id}[/bold] of {escape(model)}:{escape(alias)}, "
                          f"version {escape(started.version)}")
        final = _follow(api.monitoring.follow(model, started.id), "monitoring", console, as_json)
    if as_json:
        return print_json(final)
    describe(final)
    if final.status.value == "failed":
        raise typer.Exit(1)


@command(monitor, "report")
def report(
    model: str,
    run_id: Annotated[str, typer.Argument(help="the run (see `monitor status`)")],
    open_page: Annotated[bool, typer.Option("--open", help="open the HTML report in a browser")] = False,
    save: Annotated[Path | None, typer.Option(help="write the HTML report to this file")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A run's report: per feature the tests and their statistics; --open shows the page."""
    with client() as api:
        found = api.monitoring.report(model, run_id)
    if as_json:
        return print_json(found)
    describe(found.run)
    data = found.report or {}
    rows = [[f["feature"], f["kind"], f["status"], f["n"], f"{f['score']:.3g}" if f["score"] is not None else "",
             ", ".join(f["drifted_by"])] for f in (*data.get("features", []), *data.get("outputs", []))]
    if rows:
        table("tests", ["feature", "kind", "status", "rows", "PSI", "drifted by"], rows)
    if (open_page or save) and not found.html_url:
        raise ModelportError("the run has no report yet", code="NotFound")
    if open_page or save:
        answer = httpx.get(found.html_url, timeout=60)
        if answer.status_code != 200:  # e.g. the presigned URL expired, or the object is gone
            raise ModelportError(f"the HTML report could not be read (HTTP {answer.status_code})", code="NotFound")
        page = answer.text
        target = save or Path(tempfile.mkdtemp(prefix="modelport-report-")) / f"{model}-{run_id}.html"
        target.write_text(page)
        fields([("report", str(target))])
        if open_page:
            webbrowser.open(target.resolve().as_uri())


@command(monitor, "feedback")
def feedback(
    model: str,
    labels: Annotated[Path, typer.Argument(help="CSV with inference_id,label columns, or JSON Lines")],
    as_json: JsonOpt = False,
) -> None:
    """Post labels (ground truth) for captured inference ids, 100 per request."""
    pairs = read_labels(labels)
    with client() as api:
        result = api.monitoring.feedback(model, pairs)
    if as_json:
        return print_json(result)
    console.print(f"{result.accepted} labels stored, {result.unchanged} already there")


def read_labels(path: Path) -> list[tuple[str, Any]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ModelportError(f"cannot read {path}: {exc.strerror}", code="InvalidInput") from None
    if path.suffix in (".jsonl", ".json"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        rows = list(csv.DictReader(text.splitlines()))
    try:
        return [(str(r["inference_id"]), _value(r["label"])) for r in rows]
    except (KeyError, TypeError):
        raise ModelportError(f"{path}: every row needs inference_id and label", code="InvalidInput") from None


def _value(label: Any) -> Any:
    if not isinstance(label, str):
        return label
    for cast in (int, float):
        try:
            return cast(label)
        except ValueError:
            continue
    return label
