"""EventBridge adapter: best-effort platform events (source `modelport`)."""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        # The change is committed already; a lost notification must not fail the request.
        try:
            self._events.put_events(
                Entries=[
                    {
                        "Source": "modelport",
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail, default=str),
                        "EventBusName": self._bus,
                    }
                ]
            )
        except Exception:
            logger.exception("could not publish %s", detail_type)
