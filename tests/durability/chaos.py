"""The chaos driver: the demo's story against `modelport local up`, SIGKILLed at seeded
random moments, restarted, and checked after every restart (issue 11).

The story (keys, a model, a version published, submitted and approved, deployed to
production, invoked, a second version through the same path with a canary, invoked) runs
in steps that pick up where they stand, so a step a kill interrupted is simply run again.
Every answer the platform acknowledged goes into a ledger; after each restart:

* the audit chains verify;
* every acknowledged write is there (models, keys, versions at least at the status an
  acknowledged approval gave them, every deployment the API accepted);
* no deployment started before the kill is still pending or running (recovery ended it);
* no process of the killed platform is left (every process with the state's marker has
  a pid file and belongs to the new platform);
* the production alias answers once it was deployed.

`python -m benchmarks.durability.soak` runs it for longer.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from modelport import Client
from modelport.client import ConflictError, ModelportError, NotFoundError
from modelport.local.sagemaker.processes import MARKER
from tests.e2e.conftest import CARD, LocalUp, python_model

MODEL = "chaos"
ROWS = [[1.0, 2.0]]
_ORDER = ("registered", "pending_approval", "approved")


class Crashed(Exception):
    """The platform went away under a step (the kill)."""


@dataclass
class Ledger:
    """What the platform acknowledged."""

    keys: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    versions: dict[str, str] = field(default_factory=dict)  # version → lowest status it must have
    deployments: set[str] = field(default_factory=set)
    production: float | None = None  # what production answers for ROWS, once a deployment succeeded


@dataclass
class Run:
    seed: int
    kills: list[str]  # step+delay of each kill
    restarts: int = 0
    checks: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Story:
    def __init__(self, up: LocalUp, work: Path, ledger: Ledger) -> None:
        self.up, self.work, self.ledger = up, work, ledger
        self.approver_token = ""
        self.consumer_token = ""
        #: the version each label ended up as
        self.versions: dict[str, str] = {}

    # -- plumbing -------------------------------------------------------------------------
    def admin(self) -> Client:
        return Client(self.up.url, self.up.admin_key, max_retries=0, timeout=30)

    def guard(self, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except (httpx.TransportError, ConnectionError) as lost:
            raise Crashed(str(lost)) from lost
        except ModelportError as error:
            if getattr(error, "code", "") in ("Unreachable", "TransportError") or self.up.process.poll() is not None:
                raise Crashed(str(error)) from error
            raise

    # -- steps (each picks up where the state stands) -------------------------------------
    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [("keys", self.keys), ("model", self.model), ("publish v1", lambda: self.publish("v1", 1, 0.0)),
                ("deploy v1", lambda: self.deploy("v1", "all_at_once", 3.0)), ("invoke", self.invoke),
                ("publish v2", lambda: self.publish("v2", 2, 10.0)),
                ("deploy v2", lambda: self.deploy("v2", "canary:50%:2s", 13.0)), ("invoke again", self.invoke)]

    def keys(self) -> None:
        admin = self.admin()
        if not self.approver_token:
            created = admin.keys.create({"owner": "chaos-approver", "roles": ["approver"]})
            self.ledger.keys.add(created.key.key_id)
            self.approver_token = created.token
        if not self.consumer_token:
            created = admin.keys.create({"owner": "chaos-app", "roles": ["consumer"], "patterns": [MODEL]})
            self.ledger.keys.add(created.key.key_id)
            self.consumer_token = created.token

    def model(self) -> None:
        try:
            self.admin().models.create({"name": MODEL, "owner": "chaos", "framework": "python",
                                        "policy": {"allow_code": True}})
        except ConflictError:
            pass  # created before the kill; the ledger only has what was acknowledged
        else:
            self.ledger.models.add(MODEL)

    def publish(self, label: str, major: int, offset: float) -> None:
        """Publish, submit and approve `<major>.0.<n>`; a version a kill left without its
        artifact (the upload never happened) stays as it is, and the next patch goes on."""
        admin = self.admin()
        version = self.versions.setdefault(label, f"{major}.0.0")
        status = self._status(version)
        if status is None:
            admin.push(MODEL, python_model(self.work / version, offset=offset), version=version, card=CARD)
            self.ledger.versions[version] = "registered"
            status = "registered"
        if status == "registered":
            try:
                admin.versions.submit(MODEL, version)
            except ConflictError as refused:
                if refused.code != "ArtifactNotVerified":
                    raise
                self.versions[label] = f"{major}.0.{int(version.rsplit('.', 1)[1]) + 1}"
                raise Retry() from refused
            self.ledger.versions[version] = "pending_approval"
            status = "pending_approval"
        if status == "pending_approval":
            Client(self.up.url, self.approver_token, max_retries=0).versions.approve(MODEL, version, "chaos")
            self.ledger.versions[version] = "approved"

    def _status(self, version: str) -> str | None:
        try:
            return self.admin().versions.get(MODEL, version).status.value
        except NotFoundError:
            return None

    def deploy(self, label: str, strategy: str, answer: float) -> None:
        admin = self.admin()
        version = self.versions[label]
        if self._production() == version:
            self.ledger.production = answer
            return
        try:
            started = admin.deployments.start(MODEL, version, to="production", strategy=strategy)
        except ConflictError as busy:  # one from before the kill may still be finishing
            if "DeploymentInProgress" not in (busy.code or ""):
                raise
            time.sleep(0.5)
            raise Retry() from busy
        self.ledger.deployments.add(started.id)
        final = admin.deployments.wait(MODEL, started.id, timeout_s=120)
        if final.status.value != "succeeded":
            raise Retry()  # e.g. failed because a kill had left the endpoint settling: deploy again
        self.ledger.production = answer

    def _production(self) -> str | None:
        try:
            return self.admin().versions.get(MODEL, "production").version
        except NotFoundError:
            return None

    def invoke(self) -> None:
        consumer = Client(self.up.url, self.consumer_token, max_retries=0)
        assert consumer.invoke(MODEL, ROWS).data() == {"predictions": [self.ledger.production]}


class Retry(Exception):
    """Run the step again (not a failure of the platform)."""


# -- the checks after a restart -------------------------------------------------------------


def check(up: LocalUp, ledger: Ledger, story: Story) -> list[str]:
    admin = story.admin()
    said = []
    report = admin.audit.verify()
    assert report.ok, f"the audit log does not verify: {report}"
    said.append(f"audit: {sum(c.events for c in report.chains)} events verify")
    names = {m.name for m in admin.models.list()}
    assert ledger.models <= names, f"acknowledged models lost: {ledger.models - names}"
    keys = {k.key_id for k in admin.keys.list()}
    assert ledger.keys <= keys, f"acknowledged keys lost: {ledger.keys - keys}"
    for version, lowest in ledger.versions.items():
        status = admin.versions.get(MODEL, version).status.value
        assert _ORDER.index(status) >= _ORDER.index(lowest), f"{version} is {status}, acknowledged {lowest}"
    deployments = {d.id: d for d in admin.deployments.list(MODEL)} if MODEL in names else {}
    assert ledger.deployments <= set(deployments), f"acknowledged deployments lost: {ledger.deployments - set(deployments)}"
    running = [d.id for d in deployments.values() if d.status.value in ("pending", "running")]
    assert not running, f"deployments still running after recovery: {running}"
    said.append(f"ledger: {len(ledger.models)} models, {len(ledger.keys)} keys, {len(ledger.versions)} versions, "
                f"{len(ledger.deployments)} deployments all there; none running")
    orphans = stray_processes(up)
    assert not orphans, f"processes of the killed platform still run: {orphans}"
    if ledger.production is not None:
        consumer = Client(up.url, story.consumer_token, max_retries=0)
        deadline = time.monotonic() + 90
        while True:
            try:
                assert consumer.invoke(MODEL, ROWS).data() == {"predictions": [ledger.production]}
                break
            except (ModelportError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        said.append(f"production answers {ledger.production}")
    return said


def stray_processes(up: LocalUp) -> list[int]:
    """Processes with this state's marker that the running platform did not start."""
    processes = (up.state_dir / "sagemaker" / "processes").resolve()
    marker = f"{MARKER}={processes}".encode()
    stray = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if marker not in environ.split(b"\0") or fields[0] == "Z":
            continue
        leader = int(fields[2])  # the process group: the instance, or a worker of one
        if not (processes / f"{leader}.json").is_file():
            stray.append(int(entry.name))
    return stray


# -- one run -------------------------------------------------------------------------------


def plan(seed: int, kills: int, steps: int) -> list[tuple[int, float]]:
    """`kills` moments, each a step of the story and a delay into it. Anchored to steps, not
    to the clock, so a fast machine cannot finish the story before the kills land (a CI run
    did, with moments drawn from a fixed 24 s window)."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(steps), kills) if kills <= steps else rng.choices(range(steps), k=kills))
    return [(step, round(rng.uniform(0.0, 2.5), 2)) for step in chosen]


def run(state: Path, work: Path, *, seed: int, kills: int,
        log: Callable[[str], None] = print) -> Run:
    """The story with `kills` SIGKILLs at seeded moments; every kill happens, at the latest
    right after the last step."""
    up = LocalUp(state).start()
    started = time.monotonic()
    ledger = Ledger()
    story = Story(up, work, ledger)
    steps = story.steps()
    pending = plan(seed, kills, len(steps))
    result = Run(seed=seed, kills=[f"{steps[s][0]}+{d}s" for s, d in pending])
    killer: threading.Timer | None = None

    def arm(index: int) -> None:
        nonlocal killer
        if pending and pending[0][0] <= index and (killer is None or not killer.is_alive()):
            killer = threading.Timer(pending.pop(0)[1], lambda: up.process.kill())
            killer.daemon = True
            killer.start()

    def restart() -> None:
        up.reap()
        up.start()
        result.restarts += 1
        result.checks += check(up, ledger, story)

    try:
        index, attempts = 0, 0
        while index < len(steps):
            name, step = steps[index]
            attempts += 1
            assert attempts < 60, f"step {name} does not get done (seed {seed})"
            arm(index)
            try:
                story.guard(step)
                index += 1
            except Retry:
                continue
            except Crashed:
                try:  # the kill and the lost connection race: give the process a moment to end
                    up.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    raise AssertionError(f"the platform stopped answering but did not die (seed {seed})") from None
                log(f"killed during {name!r} at {time.monotonic() - started:.1f}s; restarting")
                restart()
        if killer is not None:  # a kill still waiting when the story ended lands now
            killer.cancel()
            killer.join()
        if up.process.poll() is not None:  # it fired just as the last step ended
            restart()
        while result.restarts < kills:  # every restart answers one kill
            up.process.kill()
            up.process.wait(timeout=10)
            log("killed after the last step; restarting")
            restart()
        result.checks += check(up, ledger, story)
    finally:
        if killer is not None:
            killer.cancel()
        if up.process is not None and up.process.poll() is None:
            up.stop()
    result.seconds = time.monotonic() - started
    return result
