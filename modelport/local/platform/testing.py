"""A started `Platform` for tests and benchmarks: free ports, fast health polling, no
periodic snapshots. One runs per process at a time (the embedded AWS is process-wide), so
start it once per test package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelport.local.platform import Platform
from modelport.local.platform.settings import PlatformSettings

TEST_DEFAULTS: dict[str, Any] = {
    "gateway_port": 0,
    "aws_port": 0,
    "snapshot_interval_s": 0,
    "health_timeout_s": 30.0,
    "health_poll_s": 0.05,
    "bake_check_s": 0.25,
    "gateway_workers": 8,
}


def settings_for_tests(state_dir: Path, **overrides: Any) -> PlatformSettings:
    return PlatformSettings(state_dir=state_dir, **{**TEST_DEFAULTS, **overrides})


@contextmanager
def running_platform(state_dir: Path, **overrides: Any) -> Iterator[Platform]:
    platform = Platform(settings_for_tests(state_dir, **overrides)).start()
    try:
        yield platform
    finally:
        platform.stop()
