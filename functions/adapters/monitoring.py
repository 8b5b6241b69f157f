"""Adapters of the monitoring Lambdas: the captures bucket (capture files, run inputs,
reports), processing jobs, CloudWatch metrics and EventBridge Scheduler schedules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

#: namespace of the drift metrics (dimensions Model, Alias and Feature or Metric).
METRICS_NAMESPACE = "Modelport/Monitoring"


class CaptureBucket:
    """The captures bucket: SageMaker's capture files and the monitoring runs' files."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def capture_files(self, prefix: str, start: datetime, end: datetime) -> list[str]:
        """Keys under `prefix` (`<endpoint>/<endpoint>/`, then `<variant>/yyyy/mm/dd/hh/...`)
        in the hours that overlap [start, end], relative to `prefix`. Keys sort by hour, so
        each variant is listed from the first hour and left at the first key past the last."""
        first, last = f"{start:%Y/%m/%d/%H}", f"{end:%Y/%m/%d/%H}"
        found: list[str] = []
        for variant in self._folders(prefix):
            base = f"{prefix}{variant}/"
            for key in self._keys(base, start_after=f"{base}{first}"):
                hour = key[len(base):len(base) + 13]
                if hour > last:
                    break
                if first <= hour and key.endswith(".jsonl"):
                    found.append(key[len(prefix):])
        return found

    def _folders(self, prefix: str) -> list[str]:
        folders: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix,
                                                                       Delimiter="/"):
            folders += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return folders

    def _keys(self, prefix: str, *, start_after: str) -> Iterator[str]:
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix,
                                                                       StartAfter=start_after):
            for item in page.get("Contents", []):
                yield item["Key"]

    def put_json(self, key: str, value: Any) -> str:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(value, default=str).encode(),
                            ContentType="application/json")
        return self.uri(key)

    def put_lines(self, key: str, rows: Iterable[dict[str, Any]]) -> int:
        lines = [json.dumps(row, default=str) for row in rows]
        body = ("\n".join(lines) + "\n").encode() if lines else b""
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/jsonlines")
        return len(lines)

    def read(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def get_json(self, key: str) -> Any | None:
        try:
            return json.loads(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def read_url(self, key: str, seconds: int) -> str:
        return self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                               ExpiresIn=seconds)


class ProcessingJobs:
    def __init__(self, client: Any) -> None:
        self._sagemaker = client

    def describe(self, name: str) -> dict[str, Any]:
        return self._sagemaker.describe_processing_job(ProcessingJobName=name)

    def stop(self, name: str) -> None:
        try:
            self._sagemaker.stop_processing_job(ProcessingJobName=name)
        except ClientError:
            pass  # it ended meanwhile


class MonitoringMetrics:
    """Per model, alias and feature: `FeatureDrift` (PSI), `Drifted` (0/1), `LiveMetric`, `MonitoredRows`."""

    def __init__(self, client: Any, namespace: str = METRICS_NAMESPACE) -> None:
        self._cloudwatch = client
        self._namespace = namespace

    def publish(self, model: str, alias: str, *, at: datetime, drifted: bool, rows: int,
                scores: dict[str, float | None], metric: str | None, live: float | None) -> None:
        base = [{"Name": "Model", "Value": model}, {"Name": "Alias", "Value": alias}]
        data = [
            {"MetricName": "Drifted", "Dimensions": base, "Timestamp": at, "Value": 1.0 if drifted else 0.0},
            {"MetricName": "MonitoredRows", "Dimensions": base, "Timestamp": at, "Value": float(rows),
             "Unit": "Count"},
            *({"MetricName": "FeatureDrift", "Dimensions": [*base, {"Name": "Feature", "Value": name[:255]}],
               "Timestamp": at, "Value": float(score)} for name, score in scores.items() if score is not None),
        ]
        if metric and live is not None:
            data.append({"MetricName": "LiveMetric", "Dimensions": [*base, {"Name": "Metric", "Value": metric}],
                         "Timestamp": at, "Value": float(live)})
        for start in range(0, len(data), 500):  # PutMetricData takes up to 1,000 values
            self._cloudwatch.put_metric_data(Namespace=self._namespace, MetricData=data[start:start + 500])


class MonitorSchedules:
    """EventBridge Scheduler: one schedule per deployed alias in the stage's group, whose
    target starts the monitor workflow (a Step Functions templated target)."""

    def __init__(self, client: Any, group: str, target_arn: str, role_arn: str) -> None:
        self._scheduler = client
        self._group = group
        self._target = target_arn
        self._role = role_arn

    def put(self, name: str, expression: str, input: dict[str, Any]) -> None:
        request = {
            "Name": name, "GroupName": self._group, "ScheduleExpression": expression,
            "FlexibleTimeWindow": {"Mode": "OFF"}, "State": "ENABLED",
            "Target": {"Arn": self._target, "RoleArn": self._role, "Input": json.dumps(input),
                       "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}},
            "Description": f"Modelport drift monitoring of {input.get('model')}:{input.get('alias')}",
        }  # fmt: skip
        try:
            self._scheduler.create_schedule(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConflictException":
                raise
            self._scheduler.update_schedule(**request)

    def delete(self, name: str) -> None:
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
