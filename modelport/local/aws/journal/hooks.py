"""Where moto changes S3 objects and SQS messages, whatever request (or notification,
or redrive) caused it: thin wrappers around moto's backend methods that tell the active
`Sink` (the durable layer).

* S3: `put_object` (which copies and completed multipart uploads go through as well)
  stores the new body as a blob *before* moto creates the version; every method that
  changes a key records the (bucket, key) in the current request's `touched` set, whose
  after-images the durable layer journals when the request ends.
* SQS: every change of a message is journaled at once, under one lock that also covers
  the change itself, so the images of one message are in the journal in the order its
  changes happened (a send from an S3 notification and a receive on another thread
  cannot swap places).

Installed once per process (moto's backends are process-wide); with no active sink the
wrappers only call through.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, Protocol


class Sink(Protocol):
    def s3_body(self, value: bytes) -> str: ...

    def s3_attach(self, key: Any, digest: str) -> None: ...

    def sqs_changed(self, entries: list[dict]) -> None: ...


_active: Sink | None = None
_local = threading.local()
_installed = False
_install_lock = threading.Lock()
#: held around every SQS message change and the append of its image
SQS_LOCK = threading.RLock()


def activate(sink: Sink | None) -> None:
    global _active
    _active = sink


def touched() -> set[tuple[str, str]] | None:
    return getattr(_local, "touched", None)


class recording:
    """`with recording() as keys:` collects the S3 keys changed on this thread."""

    def __enter__(self) -> set[tuple[str, str]]:
        self._previous = getattr(_local, "touched", None)
        _local.touched = set()
        return _local.touched

    def __exit__(self, *exc: object) -> None:
        _local.touched = self._previous


def _note(bucket: str | None, key: str | None) -> None:
    keys = touched()
    if keys is not None and bucket and key:
        keys.add((bucket, key))


def _wrap(cls: Any, name: str, make: Callable[[Callable], Callable]) -> None:
    original = getattr(cls, name)
    if getattr(original, "_modelport_hook", False):
        return
    wrapped = functools.wraps(original)(make(original))
    wrapped._modelport_hook = True  # type: ignore[attr-defined]
    setattr(cls, name, wrapped)


def _key_args(original: Callable, bucket_arg: str, key_arg: str) -> Callable[..., tuple[str | None, str | None]]:
    signature = inspect.signature(original)

    def locate(*args: Any, **kwargs: Any) -> tuple[str | None, str | None]:
        bound = signature.bind_partial(*args, **kwargs).arguments
        return bound.get(bucket_arg), bound.get(key_arg)

    return locate


def _install_s3() -> None:
    from moto.s3.models import S3Backend

    def put_object(original: Callable) -> Callable:
        locate = _key_args(original, "bucket_name", "key_name")
        signature = inspect.signature(original)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            sink = _active
            if sink is None:
                return original(*args, **kwargs)
            bucket, key = locate(*args, **kwargs)
            value = signature.bind_partial(*args, **kwargs).arguments.get("value", b"")
            data = value.encode() if isinstance(value, str) else bytes(value or b"")
            digest = sink.s3_body(data)  # durable before the version exists
            created = original(*args, **kwargs)
            sink.s3_attach(created, digest)
            _note(bucket, key)
            return created

        return wrapper

    def by_name(bucket_arg: str, key_arg: str) -> Callable[[Callable], Callable]:
        def make(original: Callable) -> Callable:
            locate = _key_args(original, bucket_arg, key_arg)

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return original(*args, **kwargs)
                finally:
                    _note(*locate(*args, **kwargs))

            return wrapper

        return make

    def by_key(original: Callable) -> Callable:
        signature = inspect.signature(original)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return original(*args, **kwargs)
            finally:
                key = signature.bind_partial(*args, **kwargs).arguments.get("key")
                if key is not None:
                    _note(getattr(key, "bucket_name", None), getattr(key, "name", None))

        return wrapper

    _wrap(S3Backend, "put_object", put_object)
    for method in ("delete_object", "put_object_acl", "put_object_legal_hold", "put_object_retention",
                   "delete_object_tagging"):
        _wrap(S3Backend, method, by_name("bucket_name", "key_name"))
    _wrap(S3Backend, "put_object_tagging", by_key)


def _install_sqs() -> None:
    from moto.sqs.models import Message, Queue, SQSBackend

    from modelport.local.aws.journal import sqs_state

    def add_message(original: Callable) -> Callable:
        def wrapper(self: Any, message: Any) -> Any:
            with SQS_LOCK:  # a receiver's change of this message waits for its image
                result = original(self, message)
                sink = _active
                # a FIFO queue drops a duplicate within its deduplication interval
                added = any(m is message for m in reversed(self._messages))
                if sink is not None and added:
                    sink.sqs_changed([sqs_state.image(self.name, message)])
                return result

        return wrapper

    def delete_message(original: Callable) -> Callable:
        def wrapper(self: Any, receipt_handle: str) -> Any:
            with SQS_LOCK:
                ids = [m.id for m in self._messages if m.had_receipt_handle(receipt_handle)]
                result = original(self, receipt_handle)
                sink = _active
                if sink is not None and ids:
                    sink.sqs_changed([sqs_state.gone(self.name, i) for i in ids])
                return result

        return wrapper

    def in_queue(original: Callable) -> Callable:
        """Backend methods that change messages of one queue (receive, visibility)."""

        def wrapper(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            previous = getattr(_local, "sqs", None)
            _local.sqs = (queue_name, [])
            try:
                return original(self, queue_name, *args, **kwargs)
            finally:
                _, changed = _local.sqs
                _local.sqs = previous
                sink = _active
                if sink is not None and changed:
                    # the last state of each message, under the lock the changes were made in
                    with SQS_LOCK:
                        sink.sqs_changed([sqs_state.image(queue_name, m) for m in dict.fromkeys(changed)])

        return wrapper

    def message_change(original: Callable) -> Callable:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            with SQS_LOCK:
                result = original(self, *args, **kwargs)
                context = getattr(_local, "sqs", None)
                if context is not None:
                    context[1].append(self)
                return result

        return wrapper

    def purge(original: Callable) -> Callable:
        def wrapper(self: Any, queue_name: str) -> Any:
            with SQS_LOCK:
                result = original(self, queue_name)
                sink = _active
                if sink is not None:
                    sink.sqs_changed([sqs_state.purged(queue_name)])
                return result

        return wrapper

    _wrap(Queue, "add_message", add_message)
    _wrap(Queue, "delete_message", delete_message)
    for method in ("receive_message", "change_message_visibility"):
        _wrap(SQSBackend, method, in_queue)
    for method in ("mark_received", "change_visibility"):
        _wrap(Message, method, message_change)
    _wrap(SQSBackend, "purge_queue", purge)


def install() -> None:
    global _installed
    from modelport.local.aws.journal import transactions

    with _install_lock:
        if not _installed:
            _install_s3()
            _install_sqs()
            transactions.install()
            _installed = True
