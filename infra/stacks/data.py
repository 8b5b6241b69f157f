"""Data stack: the platform's key, tables, buckets and the dataset-notification queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.schema import AUDIT, METADATA, TableSchema
from infra.settings import StageSettings

#: Objects under this prefix of the datasets bucket start a retrain (DESIGN §1).
DATASETS_PREFIX = "datasets/"
#: SageMaker's data-capture files (and nothing else the platform writes there is indexed).
CAPTURE_SUFFIX = ".jsonl"


class DataStack(Stack):
    """KMS key, metadata + audit tables, artifact/dataset/capture buckets, dataset and capture
    notification queues + DLQs, and the stage's alarm topic.

    Exposes everything it creates; the stacks that use a resource do the grants. The alarm
    topic lives here, below every other stack, because both the Observability stack's alarms
    and the endpoints' rollback alarms (the deploy workflow's, in the Api stack; pinned ones,
    in the Serving stack) notify it: in the Observability stack, which depends on the Api
    stack, the deploy workflow could not reference it without a cycle.
    """

    def __init__(self, scope: Construct, id: str, *, settings: StageSettings, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.settings = settings
        self.schema: TableSchema = METADATA
        removal = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "PlatformKey",
            description=f"Modelport {settings.name}: data at rest (tables, buckets, queues, logs)",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self._allow_service_use_of_key()

        self.table = self._table("MetadataTable", METADATA, removal)
        self.audit_table = self._table("AuditTable", AUDIT, removal)

        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            # S3 server access logging cannot deliver to an SSE-KMS bucket; SSE-S3 is the option.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=removal,
        )
        self.artifacts_bucket = self._bucket("ArtifactsBucket", "artifacts/", removal)
        self.datasets_bucket = self._bucket("DatasetsBucket", "datasets/", removal)
        self.captures_bucket = self._bucket("CapturesBucket", "captures/", removal)

        # The queues get their own key: S3 must be allowed to use it for this bucket only, and
        # that key-policy condition on the bucket ARN would be circular on the bucket's own key.
        self.queue_key = kms.Key(
            self,
            "QueueKey",
            description=f"Modelport {settings.name}: dataset notification queues",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.dataset_dlq = sqs.Queue(
            self,
            "DatasetEventsDlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.queue_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.dataset_queue = sqs.Queue(
            self,
            "DatasetEventsQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.queue_key,
            enforce_ssl=True,
            # six times the trigger Lambda's timeout, as the SQS event source advises
            visibility_timeout=Duration.minutes(6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dataset_dlq, max_receive_count=5),
        )
        self.datasets_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.dataset_queue),
            s3.NotificationKeyFilter(prefix=DATASETS_PREFIX),
        )
        # new capture files → the capture indexer (labels are checked against what was captured)
        self.capture_dlq = sqs.Queue(
            self,
            "CaptureEventsDlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.queue_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.capture_queue = sqs.Queue(
            self,
            "CaptureEventsQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.queue_key,
            enforce_ssl=True,
            visibility_timeout=Duration.minutes(6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.capture_dlq, max_receive_count=5),
        )
        self.captures_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.capture_queue),
            s3.NotificationKeyFilter(suffix=CAPTURE_SUFFIX),
        )
        self.alarm_topic = self._alarm_topic()

    def _alarm_topic(self) -> sns.Topic:
        """Where every alarm of the stage goes; CloudWatch (of this account) may publish to it."""
        topic = sns.Topic(
            self, "AlarmTopic", display_name=f"Modelport {self.settings.name} alarms", master_key=self.key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        for address in self.settings.alarm_emails:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        return topic

    def _table(self, id: str, schema: TableSchema, removal: RemovalPolicy) -> dynamodb.Table:
        def attribute(name: str) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)

        table = dynamodb.Table(
            self,
            id,
            partition_key=attribute(schema.keys.partition),
            sort_key=attribute(schema.keys.sort),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self.settings.production,
            time_to_live_attribute=schema.ttl_attribute,
            removal_policy=removal,
        )
        for index in schema.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=attribute(index.keys.partition),
                sort_key=attribute(index.keys.sort),
                projection_type=dynamodb.ProjectionType(index.projection),
            )
        return table

    def _bucket(self, id: str, log_prefix: str, removal: RemovalPolicy) -> s3.Bucket:
        return s3.Bucket(
            self,
            id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            # one data key per bucket instead of one KMS call per object
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=log_prefix,
            removal_policy=removal,
        )

    def _allow_service_use_of_key(self) -> None:
        """CloudWatch Logs (encrypted log groups) and CloudWatch alarms (encrypted SNS topic)."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:*"
                    }
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
