"""SageMaker runtime `InvokeEndpoint`: pick blue or green, a variant, an instance; forward.

Container answers pass through (body, content type, custom attributes); a non-2xx answer
becomes `ModelError` (HTTP 424) with `OriginalStatusCode` and `OriginalMessage`, as
SageMaker reports it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import urllib3

from modelport.local.sagemaker.aio import NotSent
from modelport.local.sagemaker.capture import CaptureConfig
from modelport.local.sagemaker.fleet import (
    Fleet,
    FleetSet,
    Instance,
    WeightedChooser,
    stop_instances,
)
from modelport.local.sagemaker.shapes import SageMakerError

_FORWARDED = {
    "Content-Type": "Content-Type",
    "Accept": "Accept",
    "X-Amzn-SageMaker-Custom-Attributes": "X-Amzn-SageMaker-Custom-Attributes",
    "X-Amzn-SageMaker-Inference-Id": "X-Amzn-SageMaker-Inference-Id",
}


@dataclass
class InvokeResult:
    body: bytes
    content_type: str
    variant: str
    custom_attributes: str | None = None
    #: what the serving endpoint config captures (never answered to the caller).
    capture: CaptureConfig | None = None


@dataclass
class EndpointRuntime:
    """What serves one endpoint now: the blue fleets and, during an update, the green ones."""

    name: str
    blue: FleetSet | None = None
    green: FleetSet | None = None
    #: share of requests that go to green while an update shifts traffic (0..1).
    green_share: float = 0.0
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    chooser: WeightedChooser = field(default_factory=WeightedChooser)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def choose(self) -> FleetSet | None:
        green, share = self.green, self.green_share
        if green is None or share <= 0:
            return self.blue
        if share >= 1 or self.blue is None:
            return green
        pick = self.chooser.choose({"blue": 1.0 - share, "green": share})
        return green if pick == "green" else self.blue

    def stop(self) -> None:
        self.cancel.set()
        instances = [
            i for fleets in (self.green, self.blue) if fleets is not None
            for f in fleets.fleets.values() for i in f.instances
        ]
        self.green = self.blue = None
        stop_instances(instances)


#: attempts when a request could not be sent (an instance stopping during a blue/green swap).
_ATTEMPTS = 3


class _NotSent(Exception):
    """The request did not reach the container; another instance may take it."""


def invoke(
    runtime: EndpointRuntime,
    body: bytes,
    headers: dict[str, str],
    target_variant: str | None,
    account_id: str,
) -> InvokeResult:
    forwarded = {_FORWARDED[k]: v for k, v in headers.items() if k in _FORWARDED}
    for attempt in range(_ATTEMPTS):
        fleets, fleet, instance = _choose(runtime, target_variant)
        log_stream = _log_stream(runtime, fleet, instance, account_id)
        try:
            response = _forward(instance, body, forwarded, log_stream, last=attempt == _ATTEMPTS - 1)
            break
        except _NotSent:
            continue
    return _outcome(fleets, fleet, instance, log_stream, response.status, response.data,
                    response.headers.get("Content-Type"), response.headers.get("X-Amzn-SageMaker-Custom-Attributes"))


async def ainvoke(
    runtime: EndpointRuntime,
    body: bytes,
    headers: dict[str, str],
    target_variant: str | None,
    account_id: str,
) -> InvokeResult:
    """`invoke` on the caller's event loop (the gateway's direct path): no thread, no GIL
    handoff per request (see `aio`)."""
    forwarded = {_FORWARDED[k]: v for k, v in headers.items() if k in _FORWARDED}
    for attempt in range(_ATTEMPTS):
        fleets, fleet, instance = _choose(runtime, target_variant)
        log_stream = _log_stream(runtime, fleet, instance, account_id)
        try:
            status, answer, data = await _aforward(instance, body, forwarded, log_stream,
                                                   last=attempt == _ATTEMPTS - 1)
            break
        except _NotSent:
            continue
    return _outcome(fleets, fleet, instance, log_stream, status, data, answer.get("content-type"),
                    answer.get("x-amzn-sagemaker-custom-attributes"))


def _log_stream(runtime: EndpointRuntime, fleet: Fleet, instance: Instance, account_id: str) -> str:
    """SageMaker's log stream of the instance, `<variant>/<instance>` (callers see it: no host path)."""
    return (f"arn:aws:logs:local:{account_id}:log-group:/aws/sagemaker/Endpoints/"
            f"{runtime.name}:log-stream:{fleet.variant_name}/{instance.log_path.stem}")


def _outcome(
    fleets: FleetSet, fleet: Fleet, instance: Instance, log_stream: str, status: int, data: bytes,
    content_type: str | None, custom_attributes: str | None,
) -> InvokeResult:
    if not 200 <= status < 300:
        # what SageMaker's Invocation5XXErrors counts: a client error (4xx) is the caller's
        # fault and never judges a fleet (Invocation4XXErrors), so no caller can force a rollback
        if status >= 500:
            instance.errors += 1
        text = data.decode("utf-8", "replace")
        side = "client" if status < 500 else "server"
        raise SageMakerError(
            "ModelError",
            f"Received {side} error ({status}) from primary with message \"{text}\". "
            f"See {log_stream} for more information.",
            status=424,
            OriginalStatusCode=status,
            OriginalMessage=text,
            LogStreamArn=log_stream,
        )
    return InvokeResult(
        body=data,
        content_type=content_type or "application/json",
        variant=fleet.variant_name,
        custom_attributes=custom_attributes,
        capture=fleets.capture,
    )


def _choose(runtime: EndpointRuntime, target_variant: str | None) -> tuple[FleetSet, Fleet, Instance]:
    fleets = runtime.choose()
    chosen = fleets.pick(target_variant) if fleets is not None else None
    if chosen is not None:
        return fleets, *chosen
    if target_variant and fleets is not None and target_variant not in fleets.fleets:
        raise SageMakerError(
            "ValidationError", f"Variant {target_variant} not found for endpoint {runtime.name}."
        )
    raise SageMakerError(
        "ServiceUnavailable",
        f"No instance of endpoint {runtime.name} is running; check its status.",
        status=503,
    )


def _forward(
    instance: Instance, body: bytes, headers: dict[str, str], log_stream: str, last: bool
) -> urllib3.BaseHTTPResponse:
    try:
        response = instance.pool.urlopen(
            "POST", "/invocations", body=body, headers=headers, retries=False,
            preload_content=True,
        )
    except (urllib3.exceptions.ClosedPoolError, urllib3.exceptions.NewConnectionError) as exc:
        # The instance is being stopped (its fleet was swapped out): the request was not
        # sent, so it goes to another instance, as SageMaker's router would do.
        if not last:
            raise _NotSent() from exc
        instance.invocations += 1
        instance.errors += 1
        raise _unreachable(exc, log_stream) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        instance.invocations += 1
        instance.errors += 1
        raise SageMakerError(
            "ModelError",
            f"Your invocation timed out while waiting for a response from the model container. "
            f"See {log_stream} for more information.",
            status=424, OriginalStatusCode=0, OriginalMessage=str(exc), LogStreamArn=log_stream,
        ) from exc
    except urllib3.exceptions.HTTPError as exc:
        instance.invocations += 1
        instance.errors += 1
        raise _unreachable(exc, log_stream) from exc
    instance.invocations += 1
    return response


def _unreachable(exc: Exception, log_stream: str) -> SageMakerError:
    return SageMakerError(
        "ModelError",
        f"The model container did not answer ({type(exc).__name__}). "
        f"See {log_stream} for more information.",
        status=424, OriginalStatusCode=0, OriginalMessage=str(exc), LogStreamArn=log_stream,
    )


async def _aforward(
    instance: Instance, body: bytes, headers: dict[str, str], log_stream: str, last: bool
) -> tuple[int, dict[str, str], bytes]:
    try:
        status, answer, data = await instance.async_pool().post("/invocations", body, headers)
    except NotSent as exc:
        if not last:
            raise _NotSent() from exc
        instance.invocations += 1
        instance.errors += 1
        raise _unreachable(exc, log_stream) from exc
    except TimeoutError as exc:
        instance.invocations += 1
        instance.errors += 1
        raise SageMakerError(
            "ModelError",
            f"Your invocation timed out while waiting for a response from the model container. "
            f"See {log_stream} for more information.",
            status=424, OriginalStatusCode=0, OriginalMessage=str(exc), LogStreamArn=log_stream,
        ) from exc
    except ConnectionError as exc:
        instance.invocations += 1
        instance.errors += 1
        raise _unreachable(exc, log_stream) from exc
    instance.invocations += 1
    return status, answer, data
