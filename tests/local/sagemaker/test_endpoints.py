"""Endpoints as real serving processes: invocation, round-robin, errors, deletion."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from modelport.local.testing import MODELPORT_IMAGE, ROLE_ARN, wait_endpoint, wait_for
from tests.local.sagemaker.conftest import predict


def instances(cloud, endpoint: str) -> list:
    runtime = cloud.sagemaker.endpoints.runtime(endpoint)
    return [i for f in runtime.blue.fleets.values() for i in f.instances]


def test_an_endpoint_serves_its_model_from_n_processes_in_round_robin(
    cloud, sm, runtime, endpoints, model, unique
):
    config = model("rr", offset=1000, count=3, instance_type="ml.g5.xlarge")
    described = endpoints(f"rr-{unique}", config)
    assert described["EndpointStatus"] == "InService"
    variant = described["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (3, 3)
    assert variant["DeployedImages"][0]["SpecifiedImage"] == MODELPORT_IMAGE

    for _ in range(9):
        assert predict(runtime, f"rr-{unique}", [[1, 2]]) == [1003.0]
    running = instances(cloud, f"rr-{unique}")
    assert len({i.process.pid for i in running}) == 3
    assert [i.invocations for i in running] == [3, 3, 3]
    assert all(i.log_path.exists() for i in running)


def test_invoke_passes_content_type_accept_and_custom_attributes_through(
    runtime, endpoints, model, unique
):
    endpoints(f"io-{unique}", model("io", offset=0))
    csv = runtime.invoke_endpoint(
        EndpointName=f"io-{unique}", Body=b"[[1, 2], [3, 4]]", ContentType="application/json",
        Accept="text/csv")
    assert csv["ContentType"].startswith("text/csv")
    assert csv["Body"].read().decode().split() == ["3.0", "7.0"]
    assert csv["InvokedProductionVariant"] == "AllTraffic"
    oip = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}
    answer = runtime.invoke_endpoint(
        EndpointName=f"io-{unique}", Body=json.dumps(oip), ContentType="application/json",
        CustomAttributes="modelport-protocol=oip-v2")
    assert json.loads(answer["Body"].read())["outputs"][0]["data"] == [3.0]


def test_container_errors_are_model_errors_with_the_original_status(runtime, endpoints, model, unique):
    endpoints(f"err-{unique}", model("err"))
    with pytest.raises(ClientError) as client_error:
        runtime.invoke_endpoint(EndpointName=f"err-{unique}", Body=b'{"nope": 1}',
                                ContentType="application/json")
    error = client_error.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert "invalid_input" in error["OriginalMessage"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    with pytest.raises(ClientError) as server_error:
        predict(runtime, f"err-{unique}", [[-1, 0]])
    assert server_error.value.response["OriginalStatusCode"] == 500
    assert "prediction failed" in server_error.value.response["OriginalMessage"]


def test_an_unknown_or_deleted_endpoint_cannot_be_invoked(cloud, sm, runtime, model, unique):
    with pytest.raises(ClientError) as missing:
        predict(runtime, f"nothing-{unique}", [[1]])
    assert missing.value.response["Error"]["Code"] == "ValidationError"
    sm.create_endpoint(EndpointName=f"del-{unique}", EndpointConfigName=model("del"))
    wait_endpoint(sm, f"del-{unique}")
    processes = [i.process for i in instances(cloud, f"del-{unique}")]
    sm.delete_endpoint(EndpointName=f"del-{unique}")
    with pytest.raises(ClientError):
        predict(runtime, f"del-{unique}", [[1]])
    wait_for(lambda: all(p.poll() is not None for p in processes), 15, what="processes to stop")
    with pytest.raises(ClientError) as gone:
        wait_for(lambda: sm.describe_endpoint(EndpointName=f"del-{unique}") and None, 15)
    assert "Could not find endpoint" in gone.value.response["Error"]["Message"]


def test_an_image_that_needs_docker_fails_the_endpoint_with_a_clear_reason(sm, endpoints, unique, bucket):
    sm.create_model(ModelName=f"docker-{unique}", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={
        "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu",
        "ModelDataUrl": f"s3://{bucket}/nothing.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=f"docker-{unique}", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"docker-{unique}",
        "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    described = endpoints(f"docker-{unique}", f"docker-{unique}")
    assert described["EndpointStatus"] == "Failed"
    assert "no Docker" in described["FailureReason"]
    assert "pytorch-inference" in described["FailureReason"]


def test_a_missing_artifact_fails_the_endpoint(sm, endpoints, unique, bucket):
    sm.create_model(ModelName=f"noart-{unique}", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={
        "Image": MODELPORT_IMAGE, "ModelDataUrl": f"s3://{bucket}/missing/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=f"noart-{unique}", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"noart-{unique}",
        "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    described = endpoints(f"noart-{unique}", f"noart-{unique}")
    assert described["EndpointStatus"] == "Failed"
    assert "missing/model.tar.gz" in described["FailureReason"]


def test_an_endpoint_comes_back_after_a_restart(cloud, sm, runtime, endpoints, model, unique):
    endpoints(f"back-{unique}", model("back", offset=7, count=2))
    old = {i.process.pid for i in instances(cloud, f"back-{unique}")}
    cloud.stop()
    cloud.start()
    described = wait_endpoint(sm, f"back-{unique}")
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert predict(runtime, f"back-{unique}", [[1]]) == [8.0]
    assert not old & {i.process.pid for i in instances(cloud, f"back-{unique}")}


def test_a_request_that_could_not_be_sent_goes_to_another_instance(
    cloud, runtime, endpoints, model, unique
):
    endpoints(f"retry-{unique}", model("retry", offset=1, count=2))
    stopping, healthy = instances(cloud, f"retry-{unique}")
    stopping.pool.close()  # what a fleet being swapped out looks like to a late request
    assert [predict(runtime, f"retry-{unique}", [[1]])[0] for _ in range(4)] == [2.0] * 4
    assert (stopping.invocations, stopping.errors, healthy.invocations) == (0, 0, 4)


def test_a_restart_does_not_need_the_deployed_config_and_model_to_still_exist(
    cloud, sm, runtime, endpoints, model, unique
):
    config = model("orphan", offset=3)
    endpoints(f"orphan-{unique}", config)
    sm.delete_endpoint_config(EndpointConfigName=config)
    sm.delete_model(ModelName=f"orphan-{unique}")
    cloud.stop()
    cloud.start()
    assert wait_endpoint(sm, f"orphan-{unique}")["EndpointStatus"] == "InService"
    assert predict(runtime, f"orphan-{unique}", [[1]]) == [4.0]
    assert "LocalDeployment" not in sm.describe_endpoint(EndpointName=f"orphan-{unique}")


def test_an_instance_whose_process_dies_is_replaced(cloud, sm, runtime, endpoints, model, unique):
    name = f"heal-{unique}"
    endpoints(name, model("heal", offset=1, count=2))
    victim, survivor = instances(cloud, name)
    victim.process.kill()
    victim.process.wait()
    assert [predict(runtime, name, [[1]])[0] for _ in range(3)] == [2.0] * 3  # the survivor serves

    def replaced():
        now = instances(cloud, name)
        described = sm.describe_endpoint(EndpointName=name)
        return (len(now) == 2 and all(i.alive for i in now) and victim not in now
                and described["EndpointStatus"] == "InService")

    wait_for(replaced, 30, what="a replacement instance")
    assert survivor in instances(cloud, name)
    assert sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]["CurrentInstanceCount"] == 2
