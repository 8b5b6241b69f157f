"""Errors that reach callers show no host paths (issue 10, consumer-facing errors).

The local SageMaker named its log files by absolute path in `ModelError` messages (which
the gateway passes to the application) and in FailureReasons (which a deployment's cause
shows to any key). SageMaker names a log stream `<variant>/<instance>`, never a path.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from modelport.local.testing import wait_for


def no_host_path(text: str, cloud) -> None:
    assert str(cloud.settings.state_dir) not in text and "/tmp/" not in text, text


def test_a_model_error_names_the_log_stream_as_sagemaker_does(cloud, runtime, endpoints, model, unique):
    endpoints(f"err-{unique}", model("err"))
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=f"err-{unique}", Body=b"[[-1]]", ContentType="application/json")
    error = caught.value.response["Error"]
    assert error["Code"] == "ModelError"
    no_host_path(str(caught.value.response), cloud)
    assert f"log-group:/aws/sagemaker/Endpoints/err-{unique}:log-stream:AllTraffic/" in error["Message"]
    via_gateway = cloud.sagemaker.invoke
    with pytest.raises(Exception) as direct:
        via_gateway(f"err-{unique}", b"[[-1]]", content_type="application/json")
    no_host_path(str(direct.value) + str(getattr(direct.value, "fields", "")), cloud)


def test_a_failure_reason_names_no_host_path(cloud, sm, endpoints, model, unique, monkeypatch):
    monkeypatch.setattr(cloud.settings, "health_timeout_s", 2.0)  # it never turns healthy: fail fast
    endpoints(f"bad-{unique}", model("bad", corrupt=True), wait=False)
    failed = wait_for(lambda: (d := sm.describe_endpoint(EndpointName=f"bad-{unique}"))["EndpointStatus"] == "Failed"
                      and d, 120, what="the endpoint to fail")
    no_host_path(failed["FailureReason"], cloud)
    assert f"sagemaker/logs/bad-{unique}/" in failed["FailureReason"]  # where to look, relative to the state
