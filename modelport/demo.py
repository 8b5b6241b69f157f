"""`modelport demo` (`make demo`): the whole story on a freshly started local platform.

Each of the fourteen steps goes through the public surfaces only — the SDK over real HTTP,
the training entry point as a process, presigned uploads into the embedded S3 — and
prints what it did. The data is a generated churn table whose behaviour drifts between
the first dataset and the second, so the retrained version answers differently.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from modelport.client import Client, ModelportError

MODEL = "churn"
FEATURES = ("tenure_months", "monthly_charges", "support_calls", "contract_months")
CARD = {
    "intended_use": "Rank customers by churn risk for retention offers; not for pricing decisions.",
    "limitations": "Synthetic training data; four numeric features only.",
    "evaluation": "Holdout accuracy, F1 and ROC AUC from the reference trainer.",
    "training_data": "Generated churn table (modelport demo), 20% holdout.",
}
#: customers the demo scores: v1.0.0 (calls-driven) and v1.0.1 (price-driven) disagree on them.
PROBE = [[3.0, 105.0, 0.0, 1.0], [40.0, 30.0, 6.0, 12.0]]
DEPLOY_STRATEGY = "canary:20%:2s"


def churn_table(path: Path, *, rows: int, drift: bool, seed: int) -> Path:
    """A churn-like CSV; before the drift support calls drive churn, after it the price does."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = rng.uniform(20, 120, rows).round(2)
    calls = rng.poisson(2.0, rows).astype(float)
    contract = rng.choice([1.0, 12.0, 24.0], rows)
    if drift:
        score = 0.08 * (charges - 70) - 0.02 * tenure + 0.05 * calls
    else:
        score = 1.1 * (calls - 2.5) - 0.02 * tenure + 0.005 * (charges - 70)
    churned = (score + rng.normal(0, 0.4, rows) > 0).astype(int)
    lines = [",".join((*FEATURES, "churned"))]
    lines += [f"{t:g},{c:g},{k:g},{m:g},{y}" for t, c, k, m, y in zip(tenure, charges, calls, contract, churned)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def train_reference(dataset: Path, out: Path, workdir: Path) -> dict[str, Any]:
    """Run the training entry point as SageMaker would (channel `train`, hyperparameters)."""
    env = {
        "SM_MODEL_DIR": str(out), "SM_CHANNEL_TRAIN": str(dataset.parent),
        "SM_HPS": json.dumps({"target": "churned"}), "MODELPORT_ML_ROOT": str(workdir / "ml"),
        "PATH": "/usr/bin:/bin",
    }  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "model_containers.training"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    if done.returncode != 0:
        failure = workdir / "ml" / "output" / "failure"
        reason = failure.read_text() if failure.is_file() else done.stderr[-500:]
        raise RuntimeError(f"training failed: {reason}")
    return json.loads((out / "metrics.json").read_text())


class StepFailed(Exception):
    pass


class Story:
    """Numbered steps printed as they run; remembers what succeeded."""

    def __init__(self, console: Console, total: int = 14) -> None:
        self.console = console
        self.total = total
        self.number = 0
        self.results: list[dict[str, Any]] = []
        self.started = time.perf_counter()

    @contextmanager
    def step(self, title: str) -> Iterator[Story]:
        self.number += 1
        began = time.perf_counter()
        self.console.print(f"\n[bold cyan][{self.number}/{self.total}][/bold cyan] [bold]{escape(title)}[/bold]")
        try:
            yield self
        except Exception as exc:  # noqa: BLE001 - any failure ends the story with one line
            detail = exc.message if isinstance(exc, ModelportError) else f"{type(exc).__name__}: {exc}"
            self.console.print(f"   [bold red]✗ failed:[/bold red] [red]{escape(detail)}[/red]")
            self.results.append({"step": self.number, "title": title, "ok": False, "error": detail})
            raise StepFailed(detail) from None
        seconds = time.perf_counter() - began
        self.console.print(f"   [green]✓[/green] [dim]{seconds:.1f} s[/dim]")
        self.results.append({"step": self.number, "title": title, "ok": True, "seconds": round(seconds, 2)})

    def say(self, text: str) -> None:
        self.console.print(f"   {text}", soft_wrap=True)

    @property
    def ok(self) -> bool:
        return len(self.results) == self.total and all(r["ok"] for r in self.results)


def run_demo(*, state_dir: Path | None = None, port: int | None = None, keep_running: bool = True,
             as_json: bool = False) -> bool:
    """Run the story; True when all fourteen steps succeeded."""
    from modelport.cli.local import wait_for_interrupt

    console = Console(stderr=as_json, highlight=False)
    work = Path(tempfile.mkdtemp(prefix="modelport-demo-"))
    story = Story(console)
    platform = None
    try:
        platform = _run(story, work, state_dir or work / "state", port)
    except StepFailed:
        pass
    finally:
        elapsed = time.perf_counter() - story.started
        summary = (f"[bold green]All {story.total} steps succeeded in {elapsed:.1f} s.[/bold green]" if story.ok
                   else f"[bold red]The demo stopped at step {story.number} after {elapsed:.1f} s.[/bold red]")
        console.print("\n" + summary)
        if as_json:
            sys.stdout.write(json.dumps({"ok": story.ok, "seconds": round(elapsed, 2), "steps": story.results}) + "\n")
        if platform is not None:
            if keep_running and story.ok:
                kept = "" if state_dir is None else f" (state in {platform.state_dir})"
                console.print(f"The platform keeps running at {platform.api_url}{kept}.", soft_wrap=True)
                console.print(f"Explore it: modelport login --url {platform.api_url} --key {platform.admin_key}",
                              soft_wrap=True)
                console.print(f"Or in the browser: {platform.console_url} (sign in with the admin key above)",
                              soft_wrap=True)
                console.print("Ctrl-C stops it.")
                wait_for_interrupt()
            platform.stop()
        if state_dir is None:  # a temporary platform: nothing to keep once it stopped
            shutil.rmtree(work, ignore_errors=True)
    return story.ok


def _run(story: Story, work: Path, state_dir: Path, port: int | None) -> Any:
    from concurrent.futures import ThreadPoolExecutor

    from modelport.cli.local import platform_settings, start_platform

    # Training v1 needs nothing from the platform: it runs while the platform starts.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-training")
    data = churn_table(work / "data-v1" / "churn.csv", rows=600, drift=False, seed=1)
    training = pool.submit(train_reference, data, work / "model-v1", work / "train-v1")
    pool.shutdown(wait=False)
    with story.step("Start the local platform"):
        platform = start_platform(platform_settings(state_dir, port if port is not None else 0, None))
        story.say(f"API {platform.api_url} · state {platform.state_dir} · ready in {platform.ready_s:.1f} s")
        story.say(f"console {platform.console_url} (sign in with a key)")
    try:
        _story(story, platform, work, training)
    except BaseException:
        platform.stop()
        raise
    return platform


def _story(story: Story, platform: Any, work: Path, training: Any) -> None:
    from modelport.demo_monitoring import drift_step
    from modelport.demo_steps import Steps

    admin = Client(platform.api_url, platform.admin_key)
    steps = Steps(story, admin, platform.api_url, work, platform.client("sagemaker"))
    steps.keys()
    steps.model()
    steps.train(training)
    steps.push()
    steps.approve()
    steps.deploy("1.0.0", "Deploy to production with a canary, watched live")
    steps.invoke()
    steps.retrain()
    steps.approve_and_deploy_retrained()
    steps.invoke_again()
    drift_step(steps, platform.cloud.sagemaker.capture.flush)
    steps.evidence()
    steps.audit()


def curl_line(url: str, path: str, body: Any) -> str:
    return (f"curl -s -X POST {url}{path} -H \"Authorization: Bearer $MODELPORT_API_KEY\" "
            f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}")
