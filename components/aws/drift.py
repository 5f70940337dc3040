"""Drift monitoring of one SageMaker endpoint (``serving.endpoints[].monitoring.drift``), built by serving.

Creates, per endpoint with ``monitoring.drift`` (children of the serving component):

- an ``aws:iam/role:Role`` ``<endpoint>-monitor`` that SageMaker assumes for this account only: read
  the endpoint's captured requests (``data-capture/<endpoint>/`` of the artifacts bucket) and the
  baseline (``baseline_prefix`` of the datasets bucket), write reports under
  ``monitoring/<endpoint>/`` of the artifacts bucket, use the storage key through S3 only, write its
  processing-job logs, and (with a network) ENIs in the platform VPC only;
- an ``aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition`` ``<endpoint>-data-quality``:
  the Model Monitor analyzer image of the region (``ANALYZER_REGISTRIES``) comparing the endpoint's
  capture with ``<baseline_prefix>statistics.json`` and ``constraints.json`` (what a baselining job,
  ``suggest_baseline``, writes), reports and volumes encrypted with the storage key, network isolation,
  inter-container encryption, in the private subnets behind the serving security group;
- an ``aws:sagemaker/monitoringSchedule:MonitoringSchedule`` ``<endpoint>-data-quality`` running it
  hourly or daily;
- an ``aws:cloudwatch/eventRule:EventRule`` ``<endpoint>-drift`` matching this schedule's processing
  jobs that end with violations (the analyzer's exit message starts ``CompletedWithViolations``) or
  fail, and an ``aws:cloudwatch/eventTarget:EventTarget`` sending them to ``ctx.monitoring.alert_topic``
  (whose key and topic policies let EventBridge publish: ``monitoring.py``).

Model Monitor publishes only per-feature CloudWatch metrics (``feature_baseline_drift_<feature>``):
feature names are unknown when the stack is declared, so no CloudWatch alarm can watch "any
violation"; the processing job's end state can, through EventBridge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import caller_account, policy_document
from mlfabric.components.aws.lifecycle_rules import ANALYZER_REGISTRIES
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import DriftSpec

ANALYZER_REPOSITORY: Final = "sagemaker-model-monitor-analyzer"
# SageMaker schedule expressions (MonitoringScheduleConfig ScheduleExpression examples in the
# SageMaker API reference: cron(0 * ? * * *) hourly, cron(0 0 ? * * *) daily at midnight UTC).
SCHEDULES: Final = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)"}
MONITOR_INSTANCE: Final = "ml.m5.xlarge"
MONITOR_VOLUME_GIB: Final = 20
# An hourly run must end before the next one starts.
MAX_RUNTIME_SECONDS: Final = 1800
INPUT_PATH: Final = "/opt/ml/processing/input"
OUTPUT_PATH: Final = "/opt/ml/processing/output"
VIOLATIONS_PREFIX: Final = "CompletedWithViolations"


def analyzer_image(region: str) -> str | None:
    """The Model Monitor analyzer image of a region (None where it is not published)."""
    registry = ANALYZER_REGISTRIES.get(region)
    return f"{registry}.dkr.ecr.{region}.amazonaws.com/{ANALYZER_REPOSITORY}" if registry else None


def monitor_policy(args: list[Any], region: str, physical: str, baseline_prefix: str) -> dict[str, Any]:
    """The monitoring role's policy from (account, partition, key, artifacts ARN, datasets ARN, VPC id or None)."""
    account, partition, key, artifacts, datasets, vpc_id = args
    logs = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/ProcessingJobs"
    statements: list[dict[str, Any]] = [
        {"Sid": "ListCaptureAndBaseline", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": [artifacts, datasets],
         "Condition": {"StringLike": {"s3:prefix": [f"data-capture/{physical}/*", f"monitoring/{physical}/*",
                                                    f"{baseline_prefix}*"]}}},
        {"Sid": "ReadCapturedRequests", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [f"{artifacts}/data-capture/{physical}/*", f"{datasets}/{baseline_prefix}*"]},
        {"Sid": "WriteReports", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": f"{artifacts}/monitoring/{physical}/*"},
        {"Sid": "UseStorageKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"],
         "Resource": key},
        {"Sid": "WriteJobLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": [logs, f"{logs}:*"]},
        # CloudWatch PutMetricData has no resource-level permissions; the namespace condition scopes it.
        {"Sid": "PublishMonitorMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": "*aws/sagemaker/Endpoints/data-metric*"}}},
    ]
    if vpc_id is not None:
        statements += [
            {"Sid": "ManageEnisInThePlatformVpc", "Effect": "Allow",
             "Action": ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"],
             "Resource": "*", "Condition": {"ArnEquals": {"ec2:Vpc": f"arn:{partition}:ec2:{region}:{account}:vpc/{vpc_id}"}}},
            {"Sid": "DescribeNetwork", "Effect": "Allow",
             "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                        "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], "Resource": "*"},
        ]
    return policy_document(statements)


def drift_event_pattern(schedule_arn: str) -> dict[str, Any]:
    """This schedule's processing jobs that end with violations or fail (SageMaker Processing Job
    State Change events carry the job's description, MonitoringScheduleArn and ExitMessage included)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {
            "MonitoringScheduleArn": [schedule_arn],
            "$or": [{"ExitMessage": [{"prefix": VIOLATIONS_PREFIX}]}, {"ProcessingJobStatus": ["Failed"]}],
        },
    }


def declare_drift(
    owner: pulumi.Resource,
    ctx: PlatformContext,
    logical: str,
    physical: str,
    drift: DriftSpec,
    endpoint: aws.sagemaker.Endpoint,
    security_group: aws.ec2.SecurityGroup | None,
    opts: Callable[[str], pulumi.ResourceOptions],
) -> aws.sagemaker.MonitoringSchedule:
    """The monitoring role, job definition, schedule and the finding route of one endpoint; ``opts``
    gives a child's options by its logical name (the endpoint's rename aliases)."""
    storage, network = ctx.storage, ctx.network
    assert storage is not None
    image = analyzer_image(ctx.region)
    # spec_rules refuses drift in a region without the analyzer image, and without the two buckets.
    assert image is not None, f"no Model Monitor analyzer image in {ctx.region}"
    account, partition = caller_account(owner)
    artifacts = storage.bucket_ids.apply(lambda ids: ids["artifacts"])
    datasets = storage.bucket_ids.apply(lambda ids: ids["datasets"])
    names = storage.bucket_names
    vpc_id = network.network_id if network is not None else None
    policy = pulumi.Output.all(account, partition, storage.encryption_key_id, artifacts, datasets, vpc_id).apply(
        lambda a: monitor_policy(a, ctx.region, physical, drift.baseline_prefix))
    trust = account.apply(lambda a: policy_document([{
        "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": a}}}]))
    role = aws.iam.Role(
        f"{logical}-monitor",
        name=f"{physical}-monitor",
        description=f"mlfabric {ctx.base_name}: data-quality monitoring of endpoint {physical}",
        assume_role_policy=pulumi.Output.json_dumps(trust),
        inline_policies=[aws.iam.RoleInlinePolicyArgs(name="monitor", policy=pulumi.Output.json_dumps(policy))],
        tags=ctx.tags(),
        opts=opts(f"{logical}-monitor"),
    )
    baseline = names.apply(lambda n: f"s3://{n['datasets']}/{drift.baseline_prefix}")
    reports = names.apply(lambda n: f"s3://{n['artifacts']}/monitoring/{physical}/data-quality")
    vpc = (aws.sagemaker.DataQualityJobDefinitionNetworkConfigVpcConfigArgs(
        subnets=network.private_subnet_ids, security_group_ids=[security_group.id])
        if network is not None and security_group is not None else None)
    definition = aws.sagemaker.DataQualityJobDefinition(
        f"{logical}-data-quality",
        name=f"{physical}-data-quality",
        role_arn=role.arn,
        data_quality_app_specification=aws.sagemaker.DataQualityJobDefinitionDataQualityAppSpecificationArgs(
            image_uri=image, environment={"publish_cloudwatch_metrics": "Enabled"}),
        data_quality_baseline_config=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigArgs(
            constraints_resource=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigConstraintsResourceArgs(
                s3_uri=baseline.apply(lambda b: f"{b}constraints.json")),
            statistics_resource=aws.sagemaker.DataQualityJobDefinitionDataQualityBaselineConfigStatisticsResourceArgs(
                s3_uri=baseline.apply(lambda b: f"{b}statistics.json")),
        ),
        data_quality_job_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputArgs(
            endpoint_input=aws.sagemaker.DataQualityJobDefinitionDataQualityJobInputEndpointInputArgs(
                endpoint_name=endpoint.name, local_path=INPUT_PATH)),
        data_quality_job_output_config=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigArgs(
            kms_key_id=storage.encryption_key_id,
            monitoring_outputs=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsArgs(
                s3_output=aws.sagemaker.DataQualityJobDefinitionDataQualityJobOutputConfigMonitoringOutputsS3OutputArgs(
                    s3_uri=reports, local_path=OUTPUT_PATH, s3_upload_mode="EndOfJob"))),
        job_resources=aws.sagemaker.DataQualityJobDefinitionJobResourcesArgs(
            cluster_config=aws.sagemaker.DataQualityJobDefinitionJobResourcesClusterConfigArgs(
                instance_count=1, instance_type=MONITOR_INSTANCE, volume_size_in_gb=MONITOR_VOLUME_GIB,
                volume_kms_key_id=storage.encryption_key_id)),
        network_config=aws.sagemaker.DataQualityJobDefinitionNetworkConfigArgs(
            enable_network_isolation=True, enable_inter_container_traffic_encryption=True, vpc_config=vpc),
        stopping_condition=aws.sagemaker.DataQualityJobDefinitionStoppingConditionArgs(
            max_runtime_in_seconds=MAX_RUNTIME_SECONDS),
        tags=ctx.tags(),
        opts=opts(f"{logical}-data-quality"),
    )
    schedule = aws.sagemaker.MonitoringSchedule(
        f"{logical}-data-quality",
        name=f"{physical}-data-quality",
        monitoring_schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigArgs(
            monitoring_type="DataQuality",
            monitoring_job_definition_name=definition.name,
            schedule_config=aws.sagemaker.MonitoringScheduleMonitoringScheduleConfigScheduleConfigArgs(
                schedule_expression=SCHEDULES[drift.schedule]),
        ),
        tags=ctx.tags(),
        opts=opts(f"{logical}-data-quality"),
    )
    rule = aws.cloudwatch.EventRule(
        f"{logical}-drift",
        name=f"{physical}-drift",
        description=f"mlfabric {ctx.base_name}: data-quality violations or failures of {physical}'s monitoring",
        event_pattern=schedule.arn.apply(lambda arn: json.dumps(drift_event_pattern(arn))),
        tags=ctx.tags(),
        opts=opts(f"{logical}-drift"),
    )
    if ctx.monitoring is not None:
        aws.cloudwatch.EventTarget(
            f"{logical}-drift",
            rule=rule.name,
            arn=ctx.monitoring.alert_topic,
            opts=opts(f"{logical}-drift"),
        )
    return schedule
