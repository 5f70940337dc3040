"""Stack rules that join resources (alarms to endpoints, scaling to serving), on the example stacks'
real plans and on a synthetic stack of 100 endpoints.

The plans come from the same path ``mlfabric plan -s <stack>`` takes; mutations drop or edit recorded
resources to show each join is what makes the rule pass. What this cannot prove: that the engine
hands over the same property dependencies as the mock runtime records (the joins also match by
value for that reason).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlfabric.check import PackConfig, RuleSetting, Source, run_pack
from mlfabric.plan import ResourceRecord
from mlfabric.policies.rules import BY_ID
from tests.policies.helpers import R, records

ROOT = Path(__file__).resolve().parents[2]
CLOUD_RUN = "gcp:cloudrunv2/service:Service"
GCP_ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@cache
def _stack_records(stack: str) -> tuple[ResourceRecord, ...]:
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    return tuple(plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")).resources)


def stack_records(stack: str, keep: Callable[[ResourceRecord], bool] = lambda _: True) -> list[ResourceRecord]:
    """A fresh copy of a stack's planned resources (tests may edit them), without those ``keep`` refuses."""
    return [copy.deepcopy(r) for r in _stack_records(stack) if keep(r)]


def rule_messages(rule_id: str, resources: list[ResourceRecord], properties: dict[str, Any] | None = None) -> list[str]:
    source = Source("test", "mlfabric", "prod", None, "", resources)
    report = run_pack(source, PackConfig(None, None, {rule_id: RuleSetting(None, dict(properties or {}))}), [BY_ID[rule_id]])
    return [v.message for v in report.violations]


def named(record: ResourceRecord, suffix: str) -> bool:
    return record.name.endswith(suffix)


# --- GCP: Cloud Run v2 serving ----------------------------------------------------------------------------


def test_the_cloud_run_service_of_gcp_prod_is_watched_by_its_latency_and_error_policies() -> None:
    resources = stack_records("gcp-prod")
    assert any(r.type == CLOUD_RUN for r in resources)
    assert rule_messages("mlf-endpoint-alarms", resources) == []


def test_a_cloud_run_service_without_its_alert_policies_fails() -> None:
    resources = stack_records("gcp-prod", lambda r: not (r.type == GCP_ALERT and named(r, "-detector-error-rate")))
    assert rule_messages("mlf-endpoint-alarms", resources) == [
        "endpoint vision-prod-detector has no error alarm routed to a notification target"]


def test_a_cloud_run_alert_policy_without_notification_channels_fails() -> None:
    resources = stack_records("gcp-prod")
    for record in resources:
        if record.type == GCP_ALERT and named(record, "-detector-p99-latency"):
            record.inputs["notificationChannels"] = []
    [message] = rule_messages("mlf-endpoint-alarms", resources)
    assert "no latency alarm" in message and "vision-prod-detector-p99-latency notify nobody" in message


def test_the_gpu_budget_counts_cloud_run_gpus_at_max_instances() -> None:
    [message] = rule_messages("mlf-gpu-budget", stack_records("gcp-prod"), {"maxTotalGpus": 0})
    assert "service vision-prod-detector: 6 x 1 nvidia-l4" in message


# --- Azure: autoscaled deployments, log alerts, the AKS KMS key ------------------------------------------


def test_the_gpu_budget_counts_azure_deployments_at_their_autoscale_maximum() -> None:
    [message] = rule_messages("mlf-gpu-budget", stack_records("azure-prod"), {"maxTotalGpus": 0})
    assert re.search(r"deployment speech-prod-asr-main-[0-9a-f]{8}: 6 x 1 Standard_NC4as_T4_v3", message), message
    assert re.search(r"deployment speech-prod-asr-challenger-[0-9a-f]{8}: 6 x 1 Standard_NC4as_T4_v3", message), message


def test_without_autoscale_settings_azure_deployments_count_at_their_fixed_capacity() -> None:
    resources = stack_records("azure-prod", lambda r: not r.type.endswith(":AutoscaleSetting"))
    [message] = rule_messages("mlf-gpu-budget", resources, {"maxTotalGpus": 0})
    assert re.search(r"deployment speech-prod-asr-main-[0-9a-f]{8}: 2 x 1 Standard_NC4as_T4_v3", message), message


def test_the_aks_kms_key_is_not_reported_for_rotation_but_the_storage_key_still_is_checked() -> None:
    resources = stack_records("azure-prod")
    assert rule_messages("mlf-kms-key-rotation", resources) == []
    for record in resources:
        if record.type == "azure-native:keyvault:Key" and record.inputs.get("keyName") == "storage-cmk":
            del record.inputs["properties"]["rotationPolicy"]
    assert rule_messages("mlf-kms-key-rotation", resources) == [
        "properties.rotationPolicy has no Rotate lifetime action: the key never rotates"]


@pytest.mark.parametrize(("stack", "type_token"), [
    ("azure-prod", "azure-native:machinelearningservices:Registry"),
    ("azure-prod", "azure-native:operationalinsights:Workspace"),
    ("gcp-prod", "gcp:logging/projectBucketConfig:ProjectBucketConfig"),
])
def test_prod_model_registries_and_log_stores_must_be_protected(stack: str, type_token: str) -> None:
    resources = stack_records(stack)
    assert any(r.type == type_token and r.protect for r in resources)
    assert rule_messages("mlf-prod-stateful-protected", resources) == []
    unprotected = [dataclasses.replace(r, protect=False) if r.type == type_token else r for r in resources]
    [message] = rule_messages("mlf-prod-stateful-protected", unprotected)
    assert message.startswith(type_token.rsplit(":", 1)[-1])


# --- joins by value, and at scale ----------------------------------------------------------------------------


def _alarm(endpoint: str, metric: str, index: int) -> R:
    return R(ALARM, f"{endpoint}-{index}", {"namespace": "AWS/SageMaker", "metricName": metric,
                                            "dimensions": {"EndpointName": endpoint, "VariantName": "AllTraffic"},
                                            "alarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"]})


def test_an_alarm_names_an_endpoint_as_a_whole_value_not_as_a_substring() -> None:
    fixture = [R("aws:sagemaker/endpoint:Endpoint", "scorer", {"name": "scorer"}),
               _alarm("scorer-v2", "ModelLatency", 0), _alarm("scorer-v2", "Invocation5XXErrors", 1)]
    assert rule_messages("mlf-endpoint-alarms", records(fixture)) == [
        "endpoint scorer has no latency and no error alarm routed to a notification target"]
    fixture += [_alarm("scorer", "ModelLatency", 2), _alarm("scorer", "Invocation5XXErrors", 3)]
    assert rule_messages("mlf-endpoint-alarms", records(fixture)) == []


def test_alarms_of_a_hundred_endpoints_are_joined_each_to_its_own_endpoint() -> None:
    fixture: list[R] = []
    for i in range(100):
        fixture.append(R("aws:sagemaker/endpoint:Endpoint", f"ep{i}", {"name": f"ep{i}-physical"}))
        metrics = ["ModelLatency", "Invocation5XXErrors", "CPUUtilization"] if i != 42 else ["ModelLatency", "CPUUtilization"]
        fixture += [_alarm(f"ep{i}-physical", metric, j) for j, metric in enumerate(metrics)]
    assert rule_messages("mlf-endpoint-alarms", records(fixture)) == [
        "endpoint ep42 has no error alarm routed to a notification target"]


@pytest.mark.parametrize(("stack", "drop"), [
    ("prod", "aws:sagemaker/monitoringSchedule:MonitoringSchedule"),
    ("azure-prod", "azure-native:machinelearningservices:Schedule"),
])
def test_an_example_prod_endpoint_without_its_drift_schedule_is_reported(stack: str, drop: str) -> None:
    resources = stack_records(stack)
    assert rule_messages("mlf-drift-monitoring", resources) == []
    without = [r for r in resources if r.type != drop]
    found = rule_messages("mlf-drift-monitoring", without)
    assert found and all("captures requests" in m or "collects model inputs" in m for m in found), found
