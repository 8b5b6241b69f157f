"""The SageMaker control plane as boto3 sees it: shapes, error codes, validation, listing,
and the app served standalone for AWS_ENDPOINT_URL_SAGEMAKER(_RUNTIME)."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from modelport.local.testing import MODELPORT_IMAGE, ROLE_ARN


def error_of(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def test_missing_resources_answer_with_sagemakers_error_codes(sm, unique):
    for call, key, label in (
        (sm.describe_endpoint, "EndpointName", "endpoint"),
        (sm.describe_model, "ModelName", "model"),
        (sm.describe_endpoint_config, "EndpointConfigName", "endpoint configuration"),
        (sm.delete_endpoint, "EndpointName", "endpoint"),
    ):
        error = error_of(call, **{key: f"none-{unique}"})
        assert error["Code"] == "ValidationException"
        assert error["Message"].startswith(f'Could not find {label} "arn:aws:sagemaker:us-east-1:')
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_training_job(TrainingJobName=f"none-{unique}")


def test_models_and_configs_round_trip_and_refuse_duplicates(sm, unique, bucket):
    container = {"Image": MODELPORT_IMAGE, "ModelDataUrl": f"s3://{bucket}/m.tar.gz",
                 "Environment": {"MODELPORT_MAX_BATCH_SIZE": "8"}}
    arn = sm.create_model(ModelName=f"m-{unique}", PrimaryContainer=container,
                          ExecutionRoleArn=ROLE_ARN)["ModelArn"]
    described = sm.describe_model(ModelName=f"m-{unique}")
    assert described["ModelArn"] == arn and described["PrimaryContainer"] == container
    assert isinstance(described["CreationTime"], dt.datetime)
    error = error_of(sm.create_model, ModelName=f"m-{unique}", PrimaryContainer=container,
                     ExecutionRoleArn=ROLE_ARN)
    assert "Cannot create already existing model" in error["Message"]

    variants = [{"VariantName": "AllTraffic", "ModelName": f"m-{unique}",
                 "InstanceType": "ml.g6.2xlarge", "InitialInstanceCount": 2}]
    sm.create_endpoint_config(EndpointConfigName=f"c-{unique}", ProductionVariants=variants)
    assert sm.describe_endpoint_config(EndpointConfigName=f"c-{unique}")["ProductionVariants"] == variants
    missing_model = [{**variants[0], "ModelName": f"none-{unique}"}]
    error = error_of(sm.create_endpoint_config, EndpointConfigName=f"c2-{unique}",
                     ProductionVariants=missing_model)
    assert f"none-{unique}" in error["Message"]
    not_ml = [{**variants[0], "InstanceType": "g5.xlarge"}]
    error = error_of(sm.create_endpoint_config, EndpointConfigName=f"c3-{unique}",
                     ProductionVariants=not_ml)
    assert error["Code"] == "ValidationException" and "g5.xlarge" in error["Message"]
    sm.delete_endpoint_config(EndpointConfigName=f"c-{unique}")
    sm.delete_model(ModelName=f"m-{unique}")
    assert error_of(sm.describe_model, ModelName=f"m-{unique}")["Code"] == "ValidationException"


def test_requests_are_validated_against_the_service_model(cloud):
    unchecked = boto3.client(
        "sagemaker", endpoint_url=cloud.url, region_name="us-east-1",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}), **cloud.aws.credentials.boto3())
    error = error_of(unchecked.create_endpoint_config, EndpointConfigName="bad", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": "two"}])
    assert error["Code"] == "ValidationException"
    assert "InitialInstanceCount" in error["Message"]
    assert error_of(unchecked.create_model, PrimaryContainer={"Image": "x"})["Code"] == "ValidationException"


def test_operations_outside_the_local_subset_are_named_in_the_error(sm):
    error = error_of(sm.list_notebook_instances)
    assert error["Code"] == "UnknownOperationException"
    assert "ListNotebookInstances is not supported by the local SageMaker" in error["Message"]


def test_list_endpoints_filters_sorts_and_pages(sm, endpoints, model, unique):
    config = model("list")
    for suffix in ("a", "b", "c"):
        endpoints(f"list-{unique}-{suffix}", config, wait=False)
    names = [e["EndpointName"] for e in sm.list_endpoints(
        NameContains=f"list-{unique}", SortBy="Name", SortOrder="Ascending")["Endpoints"]]
    assert names == [f"list-{unique}-a", f"list-{unique}-b", f"list-{unique}-c"]
    first = sm.list_endpoints(NameContains=f"list-{unique}", SortBy="Name", MaxResults=2)
    assert [e["EndpointName"][-1] for e in first["Endpoints"]] == ["c", "b"]
    rest = sm.list_endpoints(NameContains=f"list-{unique}", SortBy="Name", MaxResults=2,
                             NextToken=first["NextToken"])
    assert [e["EndpointName"][-1] for e in rest["Endpoints"]] == ["a"] and "NextToken" not in rest


def test_the_app_serves_standalone_for_service_specific_endpoint_urls(
    cloud, monkeypatch, endpoints, model, unique
):
    endpoints(f"solo-{unique}", model("solo", offset=5))
    server = cloud.sagemaker.serve(credentials=cloud.aws.credentials)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        session = boto3.session.Session(region_name="us-east-1", **cloud.aws.credentials.boto3())
        sm, runtime = session.client("sagemaker"), session.client("sagemaker-runtime")
        assert sm.meta.endpoint_url == server.url
        assert sm.describe_endpoint(EndpointName=f"solo-{unique}")["EndpointStatus"] == "InService"
        answer = runtime.invoke_endpoint(EndpointName=f"solo-{unique}", Body=b"[[1]]",
                                         ContentType="application/json")
        assert answer["Body"].read() == b'{"predictions":[6.0]}'
    finally:
        server.stop()
