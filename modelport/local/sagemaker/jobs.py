"""What the local SageMaker's job runners share: one thread per job, a stop event each,
and a shutdown that stops them all (training and processing jobs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelport.local.sagemaker.clock import Clock
from modelport.local.sagemaker.processes import Launcher
from modelport.local.sagemaker.store import Store
from modelport.local.settings import LocalSettings


class JobThreads:
    """Subclasses implement `_run(name)`, which must record how the job ended."""

    #: the thread name's prefix (`training-<job>`, `processing-<job>`)
    kind = "job"

    def __init__(self, settings: LocalSettings, store: Store, s3: Callable[[], Any], launcher: Launcher,
                 clock: Clock, root: Path) -> None:
        self._settings = settings
        self._store = store
        self._s3 = s3
        self._launch = launcher
        self._clock = clock
        self._root = root
        self._stops: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        #: set by stop_all: a job stopped now was interrupted (Failed), not stopped by a caller
        self._shutting_down = False

    def _spawn(self, name: str) -> None:
        self._shutting_down = False
        self._stops[name] = threading.Event()
        thread = threading.Thread(target=self._run, args=(name,), name=f"{self.kind}-{name}", daemon=True)
        self._threads[name] = thread
        thread.start()

    def _signal_stop(self, name: str) -> None:
        event = self._stops.get(name)
        if event is not None:
            event.set()

    def stop_all(self) -> None:
        self._shutting_down = True
        for event in self._stops.values():
            event.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=30)

    def _run(self, name: str) -> None:
        raise NotImplementedError
