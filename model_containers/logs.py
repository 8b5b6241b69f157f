"""Logging set-up shared by the serve and train entry points (and each server worker)."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    """Plain timestamped lines on stderr (CloudWatch adds its own metadata); idempotent."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
