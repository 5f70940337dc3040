"""Fake computed outputs of AWS ML-side resources (ECR, SageMaker, SNS, CloudWatch, IAM...).

``OUTPUTS`` maps a type token to a function ``(name, inputs, world) -> outputs``; ``aws.outputs``
consults it before its generic ARN/name answer. Each answer carries what the real provider computes
(ARN, physical name, URL, id) in the format AWS uses, because an input built from an output the mock
did not return is silently dropped. ``__id`` becomes the resource id. Pure string formatting: no
provider SDK is imported here. Types the network and cluster share with the ML side (log groups,
security groups, inline role policies) are answered in ``aws.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from mlfabric.components.fakes import World

Fake = Callable[[str, dict[str, Any], World], dict[str, Any]]


def _hex(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _uuid(*parts: str) -> str:
    h = _hex(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _auto_name(name: str, typ: str) -> str:
    # Pulumi auto-naming: the logical name plus a random suffix; here a stable one.
    return f"{name}-{_hex(typ, name, length=7)}"


def _provider_name(name: str, typ: str) -> str:
    # Names the provider itself assigns when none is given (SageMaker models, endpoint configs):
    # Terraform's unique id, "terraform-" and 26 digits.
    digits = str(int(_hex(typ, name, length=20), 16))[:26].rjust(26, "0")
    return f"terraform-{digits}"


def _ecr_repository(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    repo = inputs.get("name") or _auto_name(name, "ecr")
    return {
        "__id": repo,
        "name": repo,
        "arn": f"arn:aws:ecr:{w.region}:{w.aws_account_id}:repository/{repo}",
        "registryId": w.aws_account_id,
        "repositoryUrl": f"{w.aws_account_id}.dkr.ecr.{w.region}.amazonaws.com/{repo}",
    }


def _ecr_lifecycle_policy(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del name
    return {"__id": inputs.get("repository", ""), "registryId": w.aws_account_id}


def _sagemaker(kind: str, *, provider_named: bool = False) -> Fake:
    typ = f"sagemaker:{kind}"

    def fake(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
        physical = inputs.get("name") or inputs.get("modelPackageGroupName")
        if not physical:
            physical = _provider_name(name, typ) if provider_named else _auto_name(name, typ)
        # SageMaker ARNs carry the resource name in lower case.
        arn = f"arn:aws:sagemaker:{w.region}:{w.aws_account_id}:{kind}/{physical.lower()}"
        answer = {"__id": physical, "arn": arn}
        answer["modelPackageGroupName" if kind == "model-package-group" else "name"] = physical
        return answer

    return fake


def _sns_topic(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    topic = inputs.get("name") or _auto_name(name, "sns")
    arn = f"arn:aws:sns:{w.region}:{w.aws_account_id}:{topic}"
    return {"__id": arn, "name": topic, "arn": arn, "owner": w.aws_account_id}


def _sns_subscription(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    arn = f"{inputs.get('topic', '')}:{_uuid('sns-subscription', name)}"
    return {
        "__id": arn,
        "arn": arn,
        "ownerId": w.aws_account_id,
        # e-mail and https subscriptions wait for the recipient's confirmation.
        "pendingConfirmation": inputs.get("protocol") in ("email", "email-json", "http", "https"),
        "confirmationWasAuthenticated": False,
    }


def _sns_topic_policy(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del name
    return {"__id": inputs.get("arn", ""), "owner": w.aws_account_id}


def _metric_alarm(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    alarm = inputs.get("name") or _auto_name(name, "alarm")
    return {"__id": alarm, "name": alarm, "arn": f"arn:aws:cloudwatch:{w.region}:{w.aws_account_id}:alarm:{alarm}"}


def _dashboard(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    dashboard = inputs.get("dashboardName") or _auto_name(name, "dashboard")
    return {"__id": dashboard, "dashboardArn": f"arn:aws:cloudwatch::{w.aws_account_id}:dashboard/{dashboard}"}


def _iam_role(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    role = inputs.get("name") or _auto_name(name, "iam-role")
    path = inputs.get("path") or "/"
    return {
        "__id": role,
        "name": role,
        "arn": f"arn:aws:iam::{w.aws_account_id}:role{path}{role}",
        "uniqueId": f"AROA{_hex('iam-role', name, length=17).upper()}",
        "createDate": "2024-01-01T00:00:00Z",
    }


def _scalable_target(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del name
    resource = inputs.get("resourceId", "")
    return {
        "__id": resource,
        "arn": f"arn:aws:application-autoscaling:{w.region}:{w.aws_account_id}:scalable-target/"
        f"{_hex('scalable-target', resource, length=32)}",
    }


def _scaling_policy(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    policy = inputs.get("name") or _auto_name(name, "scaling-policy")
    resource = inputs.get("resourceId", "")
    return {
        "__id": policy,
        "name": policy,
        "arn": f"arn:aws:autoscaling:{w.region}:{w.aws_account_id}:scalingPolicy:"
        f"{_uuid('scaling-policy', name)}:resource/{inputs.get('serviceNamespace', '')}/{resource}:policyName/{policy}",
        "alarmArns": [],
    }


def _eks_access_entry(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del name
    cluster, principal = inputs.get("clusterName", ""), inputs.get("principalArn", "")
    role = principal.rsplit("/", 1)[-1]
    return {
        "__id": f"{cluster}:{principal}",
        "accessEntryArn": f"arn:aws:eks:{w.region}:{w.aws_account_id}:access-entry/{cluster}/role/"
        f"{w.aws_account_id}/{role}/{_uuid('access-entry', cluster, principal)}",
        "type": inputs.get("type") or "STANDARD",
        "userName": principal,
        "kubernetesGroups": inputs.get("kubernetesGroups") or [],
        "createdAt": "2024-01-01T00:00:00Z",
        "modifiedAt": "2024-01-01T00:00:00Z",
    }


def _eks_access_policy_association(name: str, inputs: dict[str, Any], w: World) -> dict[str, Any]:
    del name, w
    ids = (inputs.get("clusterName", ""), inputs.get("principalArn", ""), inputs.get("policyArn", ""))
    return {"__id": "#".join(ids), "associatedAt": "2024-01-01T00:00:00Z", "modifiedAt": "2024-01-01T00:00:00Z"}


OUTPUTS: dict[str, Fake] = {
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _ecr_lifecycle_policy,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _sagemaker("model-package-group"),
    "aws:sagemaker/model:Model": _sagemaker("model", provider_named=True),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _sagemaker("endpoint-config", provider_named=True),
    "aws:sagemaker/endpoint:Endpoint": _sagemaker("endpoint"),
    "aws:sns/topic:Topic": _sns_topic,
    "aws:sns/topicSubscription:TopicSubscription": _sns_subscription,
    "aws:sns/topicPolicy:TopicPolicy": _sns_topic_policy,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:iam/role:Role": _iam_role,
    "aws:appautoscaling/target:Target": _scalable_target,
    "aws:appautoscaling/policy:Policy": _scaling_policy,
    "aws:eks/accessEntry:AccessEntry": _eks_access_entry,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _eks_access_policy_association,
}
