"""CloudWatch adapter: the auto-rollback alarms of one endpoint (`functions.core.rollback`,
the same definition the CDK ModelEndpoint synthesizes)."""

from __future__ import annotations

from typing import Any

from functions.core.endpoints import EndpointSettings
from functions.core.rollback import alarm_names, rollback_alarms

__all__ = ["EndpointAlarms", "alarm_names"]


class EndpointAlarms:
    def __init__(self, client: Any) -> None:
        self._cloudwatch = client

    def ensure(self, endpoint: str, variant: str, settings: EndpointSettings, notify: tuple[str, ...] = ()) -> list[str]:
        """Create or update the error-rate and p99-latency alarms (telling `notify`'s topics
        when they change state); returns their names."""
        alarms = rollback_alarms(endpoint, variant, settings, notify)
        for alarm in alarms:
            self._cloudwatch.put_metric_alarm(**alarm)
        return [alarm["AlarmName"] for alarm in alarms]
