"""SageMaker control-plane operations: validation and records; long work goes to
`Endpoints` and `Training`. Error codes and messages follow SageMaker's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelport.local.sagemaker.endpoints import Endpoints
from modelport.local.sagemaker.processing import KIND as PROCESSING
from modelport.local.sagemaker.processing import Processing, local_path
from modelport.local.sagemaker.shapes import SageMakerError, not_found, validation
from modelport.local.sagemaker.store import Store
from modelport.local.sagemaker.training import Training


class Control:
    """One method per supported operation: params (boto3 style) → output record."""

    def __init__(
        self, store: Store, endpoints: Endpoints, training: Training, region: str, account: str,
        now: Callable[[], float], *, processing: Processing | None = None,
    ) -> None:
        self._store = store
        self._endpoints = endpoints
        self._training = training
        self._processing = processing
        self._region = region
        self._account = account
        self._now = now

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self._region}:{self._account}:{kind}/{name.lower()}"

    def operations(self) -> dict[str, Callable[[dict], dict]]:
        return {
            "CreateModel": self.create_model,
            "DescribeModel": self.describe_model,
            "DeleteModel": self.delete_model,
            "CreateEndpointConfig": self.create_endpoint_config,
            "DescribeEndpointConfig": self.describe_endpoint_config,
            "DeleteEndpointConfig": self.delete_endpoint_config,
            "CreateEndpoint": self.create_endpoint,
            "UpdateEndpoint": self.update_endpoint,
            "DescribeEndpoint": self.describe_endpoint,
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
            "CreateTrainingJob": self.create_training_job,
            "DescribeTrainingJob": self.describe_training_job,
            "StopTrainingJob": self.stop_training_job,
            **({"CreateProcessingJob": self.create_processing_job,
                "DescribeProcessingJob": self.describe_processing_job,
                "StopProcessingJob": self.stop_processing_job} if self._processing is not None else {}),
        }

    # -- models ---------------------------------------------------------------------------
    def create_model(self, p: dict) -> dict:
        name, arn = p["ModelName"], self.arn("model", p["ModelName"])
        if self._store.get("models", name):
            raise validation(f'Cannot create already existing model "{arn}".')
        if p.get("Containers"):
            raise validation("Multi-container models are not supported by the local SageMaker.")
        if not (p.get("PrimaryContainer") or {}).get("Image"):
            raise validation("PrimaryContainer.Image is required.")
        record = {k: v for k, v in p.items() if k != "Tags"}
        record.update(ModelArn=arn, CreationTime=self._now(),
                      EnableNetworkIsolation=p.get("EnableNetworkIsolation", False))
        self._store.put("models", name, record)
        return {"ModelArn": arn}

    def describe_model(self, p: dict) -> dict:
        return self._get("models", p["ModelName"], "model")

    def delete_model(self, p: dict) -> dict:
        self._get("models", p["ModelName"], "model")
        self._store.delete("models", p["ModelName"])
        return {}

    # -- endpoint configs -----------------------------------------------------------------
    def create_endpoint_config(self, p: dict) -> dict:
        name, arn = p["EndpointConfigName"], self.arn("endpoint-config", p["EndpointConfigName"])
        if self._store.get("endpoint_configs", name):
            raise validation(f'Cannot create already existing endpoint configuration "{arn}".')
        for variant in p["ProductionVariants"]:
            if variant.get("ServerlessConfig"):
                raise validation("Serverless variants are not supported by the local SageMaker.")
            instance_type = variant.get("InstanceType", "")
            if not instance_type.startswith("ml."):
                raise validation(
                    f"Value '{instance_type}' at 'productionVariants.instanceType' failed to "
                    "satisfy constraint: Member must be an ml.* instance type"
                )
            if variant.get("InitialInstanceCount", 1) < 1:
                raise validation("InitialInstanceCount must be at least 1.")
            self._get("models", variant["ModelName"], "model")
        names = [v["VariantName"] for v in p["ProductionVariants"]]
        if len(set(names)) != len(names):
            raise validation("Variant names must be unique within an endpoint configuration.")
        record = {k: v for k, v in p.items() if k != "Tags"}
        record.update(EndpointConfigArn=arn, CreationTime=self._now())
        self._store.put("endpoint_configs", name, record)
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, p: dict) -> dict:
        return self._get("endpoint_configs", p["EndpointConfigName"], "endpoint configuration")

    def delete_endpoint_config(self, p: dict) -> dict:
        self._get("endpoint_configs", p["EndpointConfigName"], "endpoint configuration")
        self._store.delete("endpoint_configs", p["EndpointConfigName"])
        return {}

    # -- endpoints ------------------------------------------------------------------------
    def create_endpoint(self, p: dict) -> dict:
        name, arn = p["EndpointName"], self.arn("endpoint", p["EndpointName"])
        self._get("endpoint_configs", p["EndpointConfigName"], "endpoint configuration")
        with self._store.lock:
            if self._store.get("endpoints", name):
                raise validation(f'Cannot create already existing endpoint "{arn}".')
            now = self._now()
            self._store.put("endpoints", name, {
                "EndpointName": name, "EndpointArn": arn,
                "EndpointConfigName": p["EndpointConfigName"],
                "EndpointStatus": "Creating", "CreationTime": now, "LastModifiedTime": now,
            })
        self._endpoints.create(name)
        return {"EndpointArn": arn}

    def update_endpoint(self, p: dict) -> dict:
        name = p["EndpointName"]
        record = self._get("endpoints", name, "endpoint")
        self._get("endpoint_configs", p["EndpointConfigName"], "endpoint configuration")
        deployment = p.get("DeploymentConfig")
        if deployment is None and p.get("RetainDeploymentConfig"):
            deployment = record.get("LastDeploymentConfig")
        if deployment and deployment.get("RollingUpdatePolicy"):
            raise validation("RollingUpdatePolicy is not supported locally; use BlueGreenUpdatePolicy.")
        if not self._endpoints.begin(name, "Updating"):
            raise validation(f'Cannot update in-progress endpoint "{record["EndpointArn"]}".')
        # RetainAllVariantProperties keeps the current instance count (DesiredInstanceCount)
        # unless it is excluded (API_UpdateEndpoint.html); weights and capture come from the
        # new config here (one variant; DataCaptureConfig is always taken from the config)
        excluded = {e.get("VariantPropertyType") for e in p.get("ExcludeRetainedVariantProperties") or []}
        retain = bool(p.get("RetainAllVariantProperties")) and "DesiredInstanceCount" not in excluded
        self._endpoints.update(name, p["EndpointConfigName"], deployment, retain_counts=retain)
        return {"EndpointArn": record["EndpointArn"]}

    def describe_endpoint(self, p: dict) -> dict:
        return self._get("endpoints", p["EndpointName"], "endpoint")

    def delete_endpoint(self, p: dict) -> dict:
        self._get("endpoints", p["EndpointName"], "endpoint")
        self._endpoints.delete(p["EndpointName"])
        return {}

    def list_endpoints(self, p: dict) -> dict:
        records = self._store.all("endpoints")
        if p.get("NameContains"):
            records = [r for r in records if p["NameContains"] in r["EndpointName"]]
        if p.get("StatusEquals"):
            records = [r for r in records if r["EndpointStatus"] == p["StatusEquals"]]
        for key, field, before in (
            ("CreationTimeBefore", "CreationTime", True), ("CreationTimeAfter", "CreationTime", False),
            ("LastModifiedTimeBefore", "LastModifiedTime", True),
            ("LastModifiedTimeAfter", "LastModifiedTime", False),
        ):
            if p.get(key) is not None:
                limit = p[key].timestamp()
                records = [r for r in records if (r[field] < limit if before else r[field] > limit)]
        sort = {"Name": "EndpointName", "Status": "EndpointStatus"}.get(p.get("SortBy", ""), "CreationTime")
        records.sort(key=lambda r: r[sort], reverse=p.get("SortOrder", "Descending") == "Descending")
        start = _token(p.get("NextToken"))
        size = p.get("MaxResults", 10)
        page = records[start : start + size]
        fields = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
        out: dict[str, Any] = {"Endpoints": [{k: r[k] for k in fields} for r in page]}
        if start + size < len(records):
            out["NextToken"] = str(start + size)
        return out

    # -- training jobs --------------------------------------------------------------------
    def create_training_job(self, p: dict) -> dict:
        name, arn = p["TrainingJobName"], self.arn("training-job", p["TrainingJobName"])
        if self._store.get("training_jobs", name):
            raise SageMakerError(
                "ResourceInUse",
                f"Training job names must be unique within an AWS account and region, and a "
                f"training job with this name already exists ({arn})",
            )
        if not p["AlgorithmSpecification"].get("TrainingImage"):
            raise validation("AlgorithmSpecification.TrainingImage is required locally "
                             "(built-in algorithms need SageMaker).")
        for channel in p.get("InputDataConfig") or []:
            source = channel["DataSource"].get("S3DataSource")
            if not source or source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise validation(f"Channel {channel['ChannelName']}: only S3Prefix S3 data "
                                 "sources are supported locally.")
        now = self._now()
        record = {k: v for k, v in p.items() if k != "Tags"}
        record.update(TrainingJobArn=arn, TrainingJobStatus="InProgress", SecondaryStatus="Starting",
                      CreationTime=now, LastModifiedTime=now, SecondaryStatusTransitions=[])
        self._store.put("training_jobs", name, record)
        self._training.start(name)
        return {"TrainingJobArn": arn}

    def describe_training_job(self, p: dict) -> dict:
        record = self._store.get("training_jobs", p["TrainingJobName"])
        if record is None:
            raise not_found()
        return record

    def stop_training_job(self, p: dict) -> dict:
        record = self.describe_training_job(p)
        if record["TrainingJobStatus"] != "InProgress":
            raise validation(
                f"The request was rejected because the training job is in status "
                f"{record['TrainingJobStatus']}."
            )
        self._training.stop(p["TrainingJobName"])
        return {}

    # -- processing jobs ------------------------------------------------------------------
    def create_processing_job(self, p: dict) -> dict:
        name, arn = p["ProcessingJobName"], self.arn("processing-job", p["ProcessingJobName"])
        for item in p.get("ProcessingInputs") or []:
            source = item.get("S3Input")
            if not source:
                raise validation(f"Input {item['InputName']}: only S3Input is supported locally.")
            if source.get("S3InputMode", "File") != "File":
                raise validation(f"Input {item['InputName']}: only File mode is supported locally.")
            local_path(source["LocalPath"])
        for output in (p.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            local_path(output["S3Output"]["LocalPath"])
        now = self._now()
        with self._store.lock:
            if self._store.get(PROCESSING, name):
                raise SageMakerError("ResourceInUse", f"Job name must be unique within an AWS account and "
                                     f"region, and a job with this name already exists ({arn})")
            record = {k: v for k, v in p.items() if k != "Tags"}
            record.update(ProcessingJobArn=arn, ProcessingJobStatus="InProgress", CreationTime=now,
                          LastModifiedTime=now)
            self._store.put(PROCESSING, name, record)
        assert self._processing is not None
        self._processing.start(name)
        return {"ProcessingJobArn": arn}

    def describe_processing_job(self, p: dict) -> dict:
        record = self._store.get(PROCESSING, p["ProcessingJobName"])
        if record is None:
            raise not_found()
        return record

    def stop_processing_job(self, p: dict) -> dict:
        record = self.describe_processing_job(p)
        if record["ProcessingJobStatus"] != "InProgress":
            raise validation(f"The request was rejected because the processing job is in status "
                             f"{record['ProcessingJobStatus']}.")
        assert self._processing is not None
        self._processing.stop(p["ProcessingJobName"])
        return {}

    def _get(self, kind: str, name: str, label: str) -> dict:
        record = self._store.get(kind, name)
        if record is None:
            arn_kind = {"endpoint configuration": "endpoint-config"}.get(label, label)
            raise validation(f'Could not find {label} "{self.arn(arn_kind, name)}".')
        return record


def _token(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise validation("Invalid pagination token.")
    return int(token)
