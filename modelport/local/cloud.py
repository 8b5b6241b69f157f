"""`LocalCloud`: the embedded AWS with the local SageMaker attached, started and stopped
in the right order. `modelport local up` and the test helpers build on this."""

from __future__ import annotations

from typing import Self

from modelport.local.aws import EmbeddedAWS
from modelport.local.sagemaker import Clock, LocalSageMaker
from modelport.local.sagemaker.processes import Launcher, launch, reap_orphans
from modelport.local.sagemaker.service import processes_dir
from modelport.local.settings import LocalSettings
from modelport.local.statefiles import PrivateState, StateLock, tighten


class LocalCloud:
    """Embedded AWS + local SageMaker on one loopback port."""

    def __init__(
        self, settings: LocalSettings, *, launcher: Launcher = launch, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.launcher = launcher
        self.aws = EmbeddedAWS(settings)
        self.sagemaker = LocalSageMaker(settings, self.aws.client, launcher=launcher, clock=clock)
        self.aws.front.attach_sagemaker(self.sagemaker.app, self.sagemaker)
        self._lock = StateLock(settings.state_dir)
        self._private = PrivateState(settings.state_dir)
        #: processes of an earlier run that this start found and stopped
        self.orphans: list[dict] = []

    @property
    def url(self) -> str:
        return self.aws.url

    def start(self) -> LocalCloud:
        """Embedded AWS first (restoring its snapshot), then SageMaker brings endpoints back.

        Raises `StateDirInUse` when another local cloud holds the state directory and
        `PortInUse` when the AWS port is taken.
        """
        self._private.enter()
        try:
            self._lock.acquire()
        except BaseException:
            self._private.leave()
            raise
        tighten(self.settings.state_dir)  # what an earlier run (or version) left readable
        # what a killed predecessor left running (endpoint instances, jobs) goes first
        self.orphans = reap_orphans(processes_dir(self.settings.state_dir))
        try:
            self.aws.start()
        except BaseException:
            self._lock.release()
            self._private.leave()
            raise
        try:
            self.sagemaker.start()
        except BaseException:
            self.aws.stop(snapshot=False)
            self._lock.release()
            self._private.leave()
            raise
        return self

    def stop(self, *, snapshot: bool = True) -> None:
        """SageMaker's processes first, then the final snapshot and the AWS front
        (`snapshot=False` leaves the journal to be replayed, as after a crash)."""
        try:
            self.sagemaker.stop()
        finally:
            try:
                self.aws.stop(snapshot=snapshot)
            finally:
                self._lock.release()
                self._private.leave()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
