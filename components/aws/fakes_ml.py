"""Fake AWS answers for the ML side (ECR, SageMaker, SNS, CloudWatch, Application Auto Scaling, EKS
access entries): the formats ``aws.fakes`` formats those types' ARNs and names with.

Which outputs each type computes comes from the SDK (``derived_outputs``); only formats live here:

- ``ARNS``: ARN templates (``str.format`` over the inputs, ``physical``, ``lower`` — the physical name
  in lower case, as SageMaker writes it —, ``account``, ``region``, ``uuid``);
- ``NAMED``: types whose id is their physical name;
- ``NAME_SEEDS``: what an auto-name's stable suffix is derived from, per type (kept as the offline
  plan has always derived them, so example stacks plan identically);
- ``PROVIDER_NAMED``: types the provider names itself when no name is given (Terraform's unique id,
  ``terraform-`` and 26 digits) rather than Pulumi's auto-naming.
"""

from __future__ import annotations

from typing import Final

from mlfabric.components.fakes import digest

_SAGEMAKER: Final = {
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "model-package-group",
    "aws:sagemaker/model:Model": "model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "endpoint-config",
    "aws:sagemaker/endpoint:Endpoint": "endpoint",
}

ARNS: Final[dict[str, str]] = {
    **{typ: f"arn:aws:sagemaker:{{region}}:{{account}}:{kind}/{{lower}}" for typ, kind in _SAGEMAKER.items()},
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{physical}",
    "aws:cloudwatch/dashboard:Dashboard": "arn:aws:cloudwatch::{account}:dashboard/{physical}",
    "aws:sns/topicSubscription:TopicSubscription": "{topic}:{uuid}",
    "aws:appautoscaling/target:Target": "arn:aws:application-autoscaling:{region}:{account}:scalable-target/{uuid}",
    "aws:appautoscaling/policy:Policy": "arn:aws:autoscaling:{region}:{account}:scalingPolicy:{uuid}:resource/"
    "{serviceNamespace}/{resourceId}:policyName/{physical}",
    "aws:eks/accessEntry:AccessEntry": "arn:aws:eks:{region}:{account}:access-entry/{clusterName}/role/{account}/{uuid}",
    # the lifecycle's SageMaker resources (SageMaker API reference: the ARN patterns of
    # DescribeMlflowTrackingServer, DescribeDomain, DescribeUserProfile, DescribeMonitoringSchedule,
    # DescribeDataQualityJobDefinition)
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer":
        "arn:aws:sagemaker:{region}:{account}:mlflow-tracking-server/{trackingServerName}",
    "aws:sagemaker/domain:Domain": "arn:aws:sagemaker:{region}:{account}:domain/{id}",
    "aws:sagemaker/userProfile:UserProfile": "arn:aws:sagemaker:{region}:{account}:user-profile/{domainId}/{userProfileName}",
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": "arn:aws:sagemaker:{region}:{account}:monitoring-schedule/{lower}",
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition":
        "arn:aws:sagemaker:{region}:{account}:data-quality-job-definition/{lower}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{region}:{account}:rule/{physical}",
}

NAMED: Final = frozenset({
    *_SAGEMAKER, "aws:ecr/repository:Repository", "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/dashboard:Dashboard", "aws:appautoscaling/policy:Policy",
})

NAME_SEEDS: Final[dict[str, str]] = {
    **{typ: f"sagemaker:{kind}" for typ, kind in _SAGEMAKER.items()},
    "aws:ecr/repository:Repository": "ecr",
    "aws:sns/topic:Topic": "sns",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm",
    "aws:cloudwatch/dashboard:Dashboard": "dashboard",
    "aws:iam/role:Role": "iam-role",
    "aws:appautoscaling/policy:Policy": "scaling-policy",
}

PROVIDER_NAMED: Final = frozenset({"aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"})


def provider_name(name: str, seed: str) -> str:
    """The name the provider assigns: ``terraform-`` and 26 digits (stable here)."""
    digits = str(int(digest(seed, name, length=20), 16))[:26].rjust(26, "0")
    return f"terraform-{digits}"
