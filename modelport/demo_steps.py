"""The steps of `modelport demo` after the platform is up (see `modelport.demo`)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Self

from rich.markup import escape

from modelport.cli.operations import describe_retrain, follow_deployment, follow_retrain
from modelport.client import Client
from modelport.client.errors import PermissionDeniedError
from modelport.demo import (
    CARD,
    DEPLOY_STRATEGY,
    FEATURES,
    MODEL,
    PROBE,
    Story,
    churn_table,
    curl_line,
)


def masked(token: str) -> str:
    return token[:20] + "…"


class Steps:
    def __init__(self, story: Story, admin: Client, url: str, work: Path, sagemaker: Any) -> None:
        self.story, self.admin, self.url, self.work = story, admin, url, work
        #: a boto3 SageMaker client of the embedded AWS: the demo looks under the hood.
        self.sagemaker = sagemaker
        self.alice: Client | None = None
        self.bob: Client | None = None
        self.app_token = ""
        self.first_answer: Any = None

    def keys(self) -> None:
        with self.story.step("Create a publisher key and an approver key") as s:
            alice = self.admin.keys.create({"owner": "alice@data-science", "roles": ["publisher", "approver"],
                                            "patterns": [f"{MODEL}*"], "description": "demo publisher"})
            bob = self.admin.keys.create({"owner": "bob@governance", "roles": ["approver"],
                                          "description": "demo approver"})
            app = self.admin.keys.create({"owner": "checkout-service", "roles": ["consumer"],
                                          "patterns": [MODEL], "description": "demo application"})
            self.alice, self.bob = Client(self.url, alice.token), Client(self.url, bob.token)
            self.app_token = app.token or ""
            s.say(f"publisher [bold]alice[/bold] ({masked(alice.token)}) publishes (and approves others') {MODEL}* models")
            s.say(f"approver  [bold]bob[/bold]   ({masked(bob.token)}) decides on versions")
            s.say(f"consumer  [bold]checkout-service[/bold] ({masked(self.app_token)}) may call {MODEL}")

    def model(self) -> None:
        with self.story.step(f"Create model {MODEL} with a training spec") as s:
            model = self.alice.models.create({
                "name": MODEL, "owner": "alice@data-science", "framework": "sklearn",
                "description": "Which customers are about to leave",
                "policy": {"metric": "accuracy", "metric_direction": "maximize", "on_retrain": "submit",
                           "monitoring": {"on_drift": "retrain", "window_hours": 1, "ground_truth": True}},
                "training": {"trainer": "tabular", "instance_type": "ml.m5.large",
                             "hyperparameters": {"target": "churned", "estimator": "linear"}},
            })  # fmt: skip
            s.say(f"{model.name}: trainer {model.training.trainer}, target churned, retrains on new files "
                  f"under datasets/{MODEL}/, a better version is submitted for approval; drift retrains too")

    def train(self, training: Future) -> None:
        """`training` was started with the platform (`train_reference` on the v1 table)."""
        with self.story.step("Train v1.0.0 with the reference trainer") as s:
            self.v1_dir = self.work / "model-v1"
            metrics = training.result(timeout=300)
            s.say(f"churn.csv: 600 customers, features {', '.join(FEATURES)} (trained while the platform started)")
            s.say(f"python -m model_containers.training → {', '.join(sorted(p.name for p in self.v1_dir.iterdir()))}")
            s.say("holdout " + ", ".join(f"{k} {metrics[k]:.3f}" for k in ("accuracy", "f1_macro", "roc_auc")))

    def push(self) -> None:
        with self.story.step("Push it") as s:
            pushed = self.alice.push(MODEL, self.v1_dir, version="1.0.0", card=CARD,
                                     lineage={"code_revision": "demo"})
            v = pushed.version
            s.say(f"modelport push {self.v1_dir.name} -m {MODEL} --version 1.0.0 → {v.artifact.size} bytes, "
                  f"sha256 {v.artifact.sha256[:16]}…, uploaded with its checksum → {v.status.value}")

    def approve(self) -> None:
        with self.story.step("Submit, self-approval refused, approve with the approver key") as s:
            s.say(f"alice submits 1.0.0 → {self.alice.versions.submit(MODEL, '1.0.0').status.value}")
            try:
                self.alice.versions.approve(MODEL, "1.0.0")
            except PermissionDeniedError as refused:
                s.say(f"alice approves her own version → [yellow]refused[/yellow] ({refused.code}: {escape(refused.message)})")
            else:
                raise RuntimeError("a publisher approved her own version")
            approved = self.bob.versions.approve(MODEL, "1.0.0", "holdout metrics reviewed")
            s.say(f"bob approves → {approved.status.value}")

    def deploy(self, version: str, title: str) -> None:
        with self.story.step(title):
            self._deploy(version)

    def _deploy(self, version: str) -> None:
        started = self.alice.deployments.start(MODEL, version, to="production", strategy=DEPLOY_STRATEGY)
        self.story.say(f"modelport deploy {MODEL} {version} --to production --strategy {DEPLOY_STRATEGY} --wait")
        if started.previous_version is None:
            self.story.say("[dim](a first deployment creates the endpoint; the canary shifts traffic from the next one on)[/dim]")
        watcher = EndpointWatcher(self.sagemaker, started.endpoint, self.story)
        with watcher:
            final = follow_deployment(self.alice, MODEL, started.id, printer=self.story.console)
        if final.status.value != "succeeded":
            raise RuntimeError(f"deployment {final.status.value}: {final.error or ''} {final.cause or ''}")

    def invoke(self) -> None:
        with self.story.step("Invoke it over HTTP") as s:
            app = Client(self.url, self.app_token)
            sagemaker = {"instances": PROBE}
            s.say(f"export MODELPORT_API_KEY={self.app_token}")
            s.say(curl_line(self.url, f"/v1/models/{MODEL}/invocations", sagemaker))
            self.first_answer = app.invoke(MODEL, sagemaker).data()
            s.say(f"SageMaker format {json.dumps(sagemaker)} → {json.dumps(self.first_answer)}")
            oip = {"inputs": [{"name": "input-0", "shape": [len(PROBE), len(FEATURES)], "datatype": "FP64",
                               "data": [x for row in PROBE for x in row]}]}
            s.say(curl_line(self.url, f"/v2/models/{MODEL}/infer", oip))
            answer = app.invoke(MODEL, oip, protocol="oip-v2").data()
            s.say(f"OIP v2 → outputs {json.dumps(answer['outputs'])}")

    def retrain(self) -> None:
        with self.story.step("Upload a new dataset: retrain, evaluate, register v1.0.1 with lineage") as s:
            data = churn_table(self.work / "data-v2" / "churn-2.csv", rows=2000, drift=True, seed=2)
            uploaded = self.alice.retrains.upload_dataset(MODEL, data)
            s.say(f"modelport datasets upload {MODEL} {data.name} → {uploaded.uri}")
            retrain = self.alice.retrains.for_dataset(MODEL, uploaded.uri)
            final = follow_retrain(self.alice, MODEL, retrain.id, quiet=True)
            for mark in final.steps:
                s.say(f"[cyan]▸[/cyan] {mark.step}")
            describe_retrain(final, self.story.console)
            if final.new_version != "1.0.1":
                raise RuntimeError(f"the retrain did not register 1.0.1 ({final.outcome})")
            lineage = self.admin.versions.get(MODEL, "1.0.1").lineage
            s.say(f"lineage: dataset {lineage.dataset_uri} (sha256 {str(lineage.dataset_sha256)[:12]}…), "
                  f"training job {lineage.training_job}, parent {lineage.parent_version}")

    def approve_and_deploy_retrained(self) -> None:
        with self.story.step("v1.0.1 is approved and deployed with a canary") as s:
            version = self.admin.versions.get(MODEL, "1.0.1")
            if version.status.value == "registered":
                self.alice.versions.submit(MODEL, "1.0.1")
            s.say(f"the retrain submitted 1.0.1 ({version.status.value}); "
                  f"bob approves → {self.bob.versions.approve(MODEL, '1.0.1', 'retrained on drifted data').status.value}")
            self._deploy("1.0.1")

    def invoke_again(self) -> None:
        with self.story.step("Invoke again: the new version answers") as s:
            app = Client(self.url, self.app_token)
            served = self.admin.versions.get(MODEL, "production").version
            answer = app.invoke(MODEL, {"instances": PROBE}).data()
            pinned = app.invoke(MODEL, {"instances": PROBE}, version=served).data()
            s.say(f"production → {served}; same customers → {json.dumps(answer)} (was {json.dumps(self.first_answer)})")
            if served != "1.0.1" or answer != pinned:
                raise RuntimeError("production does not answer with 1.0.1")

    def evidence(self) -> None:
        from modelport.client.evidence import verify_zip

        with self.story.step("Production history, and the evidence pack of 1.0.1 verified offline") as s:
            for p in self.admin.aliases.history(MODEL):
                until = f"{p.end:%H:%M:%S}" if p.end else "now"
                s.say(f"production {p.version}: {p.start:%H:%M:%S} → {until}, moved by {p.moved_by} "
                      f"(deployment {p.deployment_id})")
            path = self.bob.evidence.export(MODEL, "1.0.1", self.work / "evidence-churn-1.0.1.zip")
            report = verify_zip(path)
            s.say(f"{path.name}: card, lineage, approvals, deployments, periods and "
                  f"{len(self.bob.evidence.get(MODEL, '1.0.1')['audit']['events'])} audit events; "
                  + ("verified offline" if report.ok else f"MISMATCH {report.mismatches}"))
            if not report.ok:
                raise RuntimeError("the evidence pack does not verify")

    def audit(self) -> None:
        with self.story.step("Verify the audit log") as s:
            report = self.admin.audit.verify()
            for chain in report.chains:
                s.say(f"{chain.chain}: {chain.events} events, hash chain " + ("intact" if chain.ok else f"BROKEN: {chain.reason}"))
            if not report.ok:
                raise RuntimeError("the audit log does not verify")


class EndpointWatcher:
    """Prints the endpoint's blue/green progress (DescribeEndpoint) while a deployment runs."""

    def __init__(self, sagemaker: Any, endpoint: str, story: Story) -> None:
        self.sagemaker, self.endpoint, self.story = sagemaker, endpoint, story
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-endpoint-watch", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        seen: tuple[str, ...] = ()
        while not self._stop.wait(0.1):
            try:
                found = self.sagemaker.describe_endpoint(EndpointName=self.endpoint)
            except self.sagemaker.exceptions.ClientError:
                continue  # not created yet
            pending = found.get("PendingDeploymentSummary") or {}
            messages = tuple(
                status.get("StatusMessage", status.get("Status", ""))
                for variant in pending.get("ProductionVariants", []) for status in variant.get("VariantStatus", [])
            )
            state = (found["EndpointStatus"], *messages)
            if state != seen:
                seen = state
                detail = f" · {'; '.join(messages)}" if messages else ""
                self.story.say(f"  [magenta]endpoint[/magenta] {found['EndpointStatus']}{escape(detail)}")
