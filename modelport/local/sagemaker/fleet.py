"""Endpoint instances (serving processes on loopback ports) and how requests pick one.

A `Fleet` is the instances of one production variant; a `FleetSet` is the fleets of one
endpoint config (blue or green). Choices are deterministic (weighted counters and
round-robin), so traffic splits are exact rather than random.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import urllib3

from modelport.local.sagemaker.aio import AsyncPool
from modelport.local.sagemaker.capture import CaptureConfig
from modelport.local.sagemaker.processes import ProcessHandle, stop, stop_many


class WeightedChooser:
    """Smooth weighted round-robin: over any window, each choice gets its share ±1."""

    def __init__(self) -> None:
        self._current: dict[str, float] = {}
        self._lock = threading.Lock()

    def choose(self, weights: dict[str, float]) -> str:
        with self._lock:
            total = sum(weights.values())
            best, best_value = "", float("-inf")
            for key, weight in weights.items():
                value = self._current.get(key, 0.0) + weight
                self._current[key] = value
                if value > best_value:
                    best, best_value = key, value
            self._current[best] -= total
            return best


@dataclass
class Instance:
    """One serving process."""

    process: ProcessHandle
    host: str
    port: int
    log_path: Path
    read_timeout_s: float
    invocations: int = 0
    #: server-side failures only (5xx answers, no answer, timeouts); never 4xx answers.
    errors: int = 0
    pool: urllib3.HTTPConnectionPool = field(init=False)
    #: the gateway's connections, on its event loop (created on first use)
    _async_pool: AsyncPool | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.pool = urllib3.HTTPConnectionPool(
            self.host, self.port, maxsize=32, block=False, retries=False,
            timeout=urllib3.Timeout(connect=2.0, read=self.read_timeout_s),
        )

    def async_pool(self) -> AsyncPool:
        if self._async_pool is None:
            self._async_pool = AsyncPool(self.host, self.port, read_timeout_s=self.read_timeout_s)
        return self._async_pool

    def close_pools(self) -> None:
        self.pool.close()
        if self._async_pool is not None:
            self._async_pool.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def ping(self) -> int:
        """Status of `GET /ping`, 0 when nothing answers."""
        try:
            response = self.pool.request(
                "GET", "/ping", timeout=urllib3.Timeout(connect=0.5, read=2.0), retries=False
            )
            return response.status
        except urllib3.exceptions.HTTPError:
            return 0

    def stop(self) -> None:
        self.close_pools()
        stop(self.process)


@dataclass
class Fleet:
    """The instances of one production variant."""

    variant_name: str
    model_name: str
    instance_type: str
    weight: float
    instances: list[Instance] = field(default_factory=list)
    _rr: itertools.count = field(default_factory=itertools.count, repr=False)

    def pick(self) -> Instance | None:
        live = [i for i in self.instances if i.alive]
        if not live:
            return None
        return live[next(self._rr) % len(live)]

    @property
    def counts(self) -> tuple[int, int]:
        """(invocations, errors) over all instances, including stopped ones."""
        return sum(i.invocations for i in self.instances), sum(i.errors for i in self.instances)

    def stop(self) -> None:
        stop_instances(self.instances)


def stop_instances(instances: list[Instance]) -> None:
    for instance in instances:
        instance.close_pools()
    stop_many([i.process for i in instances])


@dataclass
class FleetSet:
    """The fleets of one endpoint config."""

    config_name: str
    fleets: dict[str, Fleet]
    chooser: WeightedChooser = field(default_factory=WeightedChooser)
    #: the config's DataCaptureConfig, parsed (None: nothing captured).
    capture: CaptureConfig | None = None

    def pick(self, target_variant: str | None = None) -> tuple[Fleet, Instance] | None:
        if target_variant:
            fleet = self.fleets.get(target_variant)
            instance = fleet.pick() if fleet else None
            return (fleet, instance) if fleet and instance else None
        weights = {name: f.weight for name, f in self.fleets.items() if f.weight > 0}
        if not weights:
            weights = {name: 1.0 for name in self.fleets}
        for _ in range(len(weights)):
            fleet = self.fleets[self.chooser.choose(weights)]
            instance = fleet.pick()
            if instance is not None:
                return fleet, instance
        return None

    @property
    def counts(self) -> tuple[int, int]:
        totals = [f.counts for f in self.fleets.values()]
        return sum(t[0] for t in totals), sum(t[1] for t in totals)

    def stop(self) -> None:
        stop_instances([i for f in self.fleets.values() for i in f.instances])
