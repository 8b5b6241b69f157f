"""What `modelport local up` shows, and where everything else goes: one logging set-up.

The terminal gets one readable line per platform event (a retrain that finished or failed,
a version registered, a deployment that succeeded or failed: the EventBridge events of
docs/contracts.md, read from the bus as a subscriber on AWS would), with its ids and its
cause, and Modelport's own warnings. Everything, including the embedded AWS's internals
(moto's Step Functions interpreter dumps its state on every failed Task, werkzeug logs
every request) and the in-process Lambdas' Powertools lines, goes to
``<state>/logs/platform.log`` (rotated), never to the terminal.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Any

#: the logger whose records are the terminal's event lines
EVENTS = "modelport.events"
LOG_FILE = Path("logs") / "platform.log"
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class _Terminal(logging.Filter):
    """Event lines, and warnings from Modelport's own code; nothing from libraries."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == EVENTS:
            return True
        return record.levelno >= logging.WARNING and record.name.split(".", 1)[0] == "modelport"


class _TerminalFormat(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = self.formatTime(record, "%H:%M:%S")
        text = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if record.name != EVENTS:
            text = f"{record.levelname.lower()}: {text}"
        return f"{when} {text}"


def configure(state_dir: Path, *, stream: Any = None, level: int = logging.INFO) -> Path:
    """Route every log record of this process: see the module docstring. Returns the log file."""
    path = Path(state_dir) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_modelport_local", False):
            root.removeHandler(handler)
            handler.close()
    to_file = logging.handlers.RotatingFileHandler(path, maxBytes=20 * 1024 * 1024, backupCount=3,
                                                   encoding="utf-8")
    to_file.setFormatter(logging.Formatter(_FILE_FORMAT))
    terminal = logging.StreamHandler(stream or sys.stderr)
    terminal.addFilter(_Terminal())
    terminal.setFormatter(_TerminalFormat())
    for handler in (to_file, terminal):
        handler._modelport_local = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # library warnings: to the file, not as stray stderr text
    # werkzeug's request lines and moto's interpreter are INFO/ERROR chatter: file only
    # (the root's terminal filter already drops them; this keeps werkzeug from adding its own).
    logging.getLogger("werkzeug").handlers.clear()
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "found credentials" per client
    return path


def adopt_powertools() -> None:
    """Send the in-process Lambdas' Powertools output (its own stdout handler) to the file.

    Powertools gives each service logger a stream handler on stdout and marks it with
    ``powertools_handler``; here the records go up to the root's handlers instead, like
    any library's. Call it after the handlers are imported (they are, once warm).
    """
    for logger in list(logging.root.manager.loggerDict.values()):
        handler = getattr(logger, "powertools_handler", None)
        if isinstance(logger, logging.Logger) and handler in logger.handlers:
            logger.removeHandler(handler)
            logger.propagate = True
    # Powertools adds a filter to the root's handlers that drops its services' records
    # (so they are not printed twice); with its own handler gone they must pass.
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_modelport_local", False):
            handler.filters = [f for f in handler.filters if type(f).__name__ != "SuppressFilter"]


def event_line(detail_type: str, detail: dict[str, Any]) -> str:
    """One platform event as the terminal's line: what happened, to what (ids), and why."""
    d = {k: v for k, v in detail.items() if v not in (None, "")}
    model = d.get("model", "?")
    if detail_type == "Retrain Finished":
        head = f"retrain {d.get('retrain_id', '?')} of {model}"
        outcome = d.get("outcome", "?")
        if outcome == "failed":
            return f"{head} failed: {short(d.get('cause') or d.get('error') or 'no cause given', 600)}"
        if outcome == "rejected_by_evaluation":
            return f"{head} rejected by evaluation: {short(d.get('note') or _versus(d))}"
        line = f"{head} {outcome}: version {d.get('version', '?')} ({_versus(d)})"
        if d.get("deployment_id"):
            line += f", deployment {d['deployment_id']}"
        return line + (f"; {short(d['note'])}" if d.get("note") else "")
    if detail_type == "Version Registered":
        return f"version {model} {d.get('version', '?')} registered by {d.get('by', '?')}"
    if detail_type == "Deployment Succeeded":
        was = f" (was {d['previous_version']})" if d.get("previous_version") else ""
        return (f"deployment {d.get('deployment_id', '?')}: {model} {d.get('version', '?')} is "
                f"{d.get('alias', '?')} on {d.get('endpoint', '?')}{was}")
    if detail_type == "Deployment Failed":
        keeps = f"; {d['serving_version']} keeps serving" if d.get("serving_version") else ""
        return (f"deployment {d.get('deployment_id', '?')} of {model} {d.get('version', '?')} to "
                f"{d.get('alias', '?')} failed at {d.get('step', '?')}: "
                f"{short(d.get('cause') or d.get('error') or 'no cause given', 600)}{keeps}")
    fields = ", ".join(f"{k}={short(str(v), 80)}" for k, v in d.items() if not isinstance(v, (dict, list)))
    return f"{detail_type.lower()}: {fields}"


def _versus(d: dict[str, Any]) -> str:
    metric = d.get("metric") or "metric"
    if d.get("candidate") is None:
        return "no evaluation"
    base = d.get("baseline")
    against = f" vs {base:.4g} ({d.get('baseline_version')})" if isinstance(base, (int, float)) else ", no baseline"
    return f"{metric} {d['candidate']:.4g}{against}"


def short(text: str, limit: int = 300) -> str:
    """First line of ``text``, at most ``limit`` characters."""
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


class EventFeed:
    """An SQS batch handler (``SqsEventSource``) that logs each EventBridge event as one line."""

    def __init__(self) -> None:
        self.log = logging.getLogger(EVENTS)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        import json

        for record in event.get("Records", []):
            try:
                body = json.loads(record.get("body") or "{}")
                line = event_line(str(body.get("detail-type", "event")), body.get("detail") or {})
            except (ValueError, TypeError, AttributeError):
                line = "an event that is not an EventBridge event arrived on the events queue"
            self.log.info("%s", line)
        return {"batchItemFailures": []}
