"""The demo's drift step: traffic whose prices moved reaches the production model, labels
come back for some of it, and the drift job flags the moved feature (only that one), shows
it in its report, and, by the model's policy `on_drift: retrain`, starts a retrain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.markup import escape

from modelport.client import Client
from modelport.demo import FEATURES, MODEL

#: the drifted customers: monthly charges up by this much, everything else as in training.
PRICE_RISE = 60.0
REQUESTS = 400
#: rows per request (an application scoring its customers in batches).
BATCH = 10


def drifted_customers(rows: int, seed: int = 7) -> tuple[list[list[float]], list[int]]:
    """Customers like the v2 table's, their charges raised; labels from the v2 world's rule."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = (rng.uniform(20, 120, rows) + PRICE_RISE).round(2)
    calls = rng.poisson(2.0, rows).astype(float)
    contract = rng.choice([1.0, 12.0, 24.0], rows)
    score = 0.08 * (charges - 70) - 0.02 * tenure + 0.05 * calls
    churned = (score + rng.normal(0, 0.4, rows) > 0).astype(int)
    rows_ = [[float(t), float(c), float(k), float(m)] for t, c, k, m in zip(tenure, charges, calls, contract)]
    return rows_, churned.tolist()


def drift_step(steps: Any, flush_captures: Any) -> None:
    story, admin = steps.story, steps.admin
    with story.step("Drifted traffic: the drift job flags the moved feature, and the policy retrains") as s:
        app = Client(steps.url, steps.app_token)
        customers, labels = drifted_customers(REQUESTS)
        batches = [(customers[i:i + BATCH], labels[i:i + BATCH]) for i in range(0, REQUESTS, BATCH)]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda batch: app.invoke(MODEL, {"instances": batch[0]}), batches))
        s.say(f"{REQUESTS} customers whose monthly charges rose by {PRICE_RISE:g} are scored by {MODEL} "
              f"({len(batches)} requests); every answer names its inference id "
              f"(X-Modelport-Inference-Id: {answers[0].inference_id})")
        flush_captures()  # SageMaker delivers captures within minutes; local mode within a second
        # one label per row of a request; the application knows the truth for half the requests
        truth = {a.inference_id: y for a, (_, y) in zip(answers[::2], batches[::2])}
        posted = _feedback(app, truth)
        s.say(f"the application posts what really happened for half of them → labels for {posted.accepted} "
              f"requests (POST /v1/models/{MODEL}/feedback)")
        run = steps.alice.monitoring.run(MODEL, alias="production", window_hours=1)
        s.say(f"modelport monitor run {MODEL} → drift run {run.id} of version {run.version}")
        for current in admin.monitoring.follow(MODEL, run.id, interval_s=0.2, timeout_s=120):
            s.say(f"[cyan]▸[/cyan] {escape(current.step)}")
        final = current
        if final.status.value != "succeeded":
            raise RuntimeError(f"the drift run {final.status.value}: {final.error} {final.cause}")
        for feature in FEATURES:
            mark = "[red]drift[/red]" if feature in final.drifted_features else "[green]ok[/green]"
            s.say(f"  {feature:<16} PSI {final.scores.get(feature) or 0:7.3f}  {mark}")
        if final.drifted_features != ["monthly_charges"]:
            raise RuntimeError(f"the drift job flagged {final.drifted_features}, not monthly_charges alone")
        outputs = ", ".join(final.drifted_outputs) or "none"
        live = final.live_metric
        s.say(f"predictions drifted too ({outputs}); live accuracy on {live.n} labelled answers "
              f"{live.value:.3f}" if live and live.value is not None else f"predictions drifted too ({outputs})")
        report = admin.monitoring.report(MODEL, run.id)
        page = _save(report.html_url, steps.work / "drift-report.html")
        shown = (report.report or {}).get("drifted_features")
        if shown != ["monthly_charges"] or "drift in <b>monthly_charges" not in page.read_text():
            raise RuntimeError(f"the report does not show monthly_charges alone drifted (report.json: {shown})")
        s.say(f"report: {page} (baseline vs current per feature, drift and accuracy over time; "
              f"modelport monitor report {MODEL} {run.id} --open)")
        s.say(f"Model Drifted published; policy on_drift: retrain → {final.action}: {escape(final.note or '')}")
        if final.action != "retrain_started" or not final.retrain_id:
            raise RuntimeError(f"the policy did not start a retrain ({final.action}: {final.note})")
        retrain = admin.retrains.get(MODEL, final.retrain_id)
        s.say(f"retrain {retrain.id}: {retrain.status.value} at {retrain.step} on {retrain.dataset.uri}; "
              "its candidate goes through evaluation and approval like any other")


def _feedback(app: Client, truth: dict[str, int]) -> Any:
    """Labels are accepted once the captures are indexed (a moment after the flush)."""
    import time

    from modelport.client import InvalidInputError

    deadline = time.monotonic() + 30
    while True:
        try:
            return app.monitoring.feedback(MODEL, truth)
        except InvalidInputError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _save(url: str | None, path: Path) -> Path:
    import httpx

    if not url:
        raise RuntimeError("the drift run has no HTML report")
    answer = httpx.get(url, timeout=30)
    answer.raise_for_status()
    path.write_text(answer.text)
    return path
