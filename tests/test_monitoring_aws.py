"""AwsMonitoring under the mock runtime.

What a mock test cannot prove: that CloudWatch really delivers alarms to the KMS-encrypted topic
(it needs the key policy and topic policy to be evaluated by AWS), that e-mail and webhook
subscribers confirm, that Container Insights publishes ``node_gpu_utilization`` and
``cluster_failed_node_count`` for the cluster (that needs the CloudWatch observability add-on
running on GPU nodes), or that the dashboard's SEARCH expressions find the endpoints' metrics.
Those need a real account (README: limits).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.aws.monitoring import AwsMonitoring
from mlfabric.components.concerns import MonitoringOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:monitoring:AwsMonitoring"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
KEY = "aws:kms/key:Key"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:fraud-prod-alerts"
CLUSTER = "fraud-prod-eks"


@dataclass(frozen=True)
class FakeCluster:
    """A ClusterOutputs handle made of plain values."""

    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    gpu_pool_names: pulumi.Output[dict[str, str]]


def fake_cluster() -> FakeCluster:
    return FakeCluster(
        cluster_name=pulumi.Output.from_input(CLUSTER),
        cluster_endpoint=pulumi.Output.from_input("https://ABCDEF.gr7.us-east-1.eks.amazonaws.com"),
        kubeconfig=pulumi.Output.secret("apiVersion: v1"),
        oidc_issuer_url=pulumi.Output.from_input("https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"),
        gpu_pool_names=pulumi.Output.from_input({"l4": "fraud-prod-l4"}),
    )


def build(
    environment: str = "prod", *, cluster: bool = True, **monitoring: Any
) -> tuple[list[ResourceRecord], dict[str, Any]]:
    spec = parse_spec(spec_data("aws", environment, monitoring=monitoring))

    def program() -> None:
        ctx = PlatformContext.from_spec(spec)
        if cluster:
            ctx = ctx.with_handles(cluster=fake_cluster())
        component = AwsMonitoring(spec.base_name, spec.monitoring, ctx)
        assert isinstance(component, MonitoringOutputs)
        pulumi.export("alert_topic", component.alert_topic)
        pulumi.export("dashboard_url", component.dashboard_url)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-east-1"),
    )
    return records, outputs


def statements(document: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(document)["Statement"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_creates_exact_children_without_a_cluster() -> None:
    records, _ = build(cluster=False, notify=["ml-oncall@example.com"])
    assert Counter(r.type for r in records if r.custom) == {
        KEY: 1,
        "aws:kms/alias:Alias": 1,
        TOPIC: 1,
        "aws:sns/topicPolicy:TopicPolicy": 1,
        SUBSCRIPTION: 1,
        LOG_GROUP: 1,
        "aws:cloudwatch/dashboard:Dashboard": 1,
    }
    component = only(records, COMPONENT)
    assert all(r.parent == component.urn for r in records if r.custom)


def test_a_cluster_adds_container_insights_log_groups_and_two_cluster_alarms() -> None:
    records, _ = build(notify=["ml-oncall@example.com", "https://hooks.example.com/alerts"])
    counts = Counter(r.type for r in records if r.custom)
    assert counts[LOG_GROUP] == 5
    assert counts[ALARM] == 2
    assert counts[SUBSCRIPTION] == 2
    names = {r.inputs["name"] for r in of_type(records, LOG_GROUP)}
    assert names == {"/mlfabric/fraud-prod"} | {
        f"/aws/containerinsights/{CLUSTER}/{kind}" for kind in ("application", "dataplane", "host", "performance")
    }


def test_the_alert_topic_is_encrypted_with_a_rotating_customer_managed_key() -> None:
    records, _ = build()
    key = only(records, KEY)
    assert key.inputs["enableKeyRotation"] is True
    topic = only(records, TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:us-east-1:123456789012:key/{key.id}"


def test_the_key_policy_lets_cloudwatch_use_the_key_and_never_allows_every_action() -> None:
    policy = statements(only(build()[0], KEY).inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy}
    alarms = by_sid["CloudWatchAlarmsPublishToTheEncryptedTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    logs = by_sid["CloudWatchLogsEncryptThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:*"
    )
    # A key policy's "*" resource is the key itself; the account keeps administering it through IAM.
    # (administration only: use is for the platform's roles, by ARN pattern)
    admin = by_sid["AccountAdministersKeyThroughIam"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert not {"kms:*", "kms:Decrypt", "kms:Encrypt"} & set(admin["Action"])
    assert by_sid["PlatformRolesUseKey"]["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/fraud-prod-*"}
    }
    for statement in policy:
        assert "*" not in as_list(statement["Action"])
        assert statement["Principal"] != "*"


def test_only_this_accounts_cloudwatch_alarms_may_publish_and_only_over_tls() -> None:
    records, _ = build()
    policy = only(records, "aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == TOPIC_ARN
    by_sid = {s["Sid"]: s for s in statements(policy.inputs["policy"])}
    publish = by_sid["ThisAccountsAlarmsPublish"]
    assert publish["Effect"] == "Allow"
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert publish["Resource"] == TOPIC_ARN
    assert publish["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(s["Principal"] != "*" for s in by_sid.values() if s["Effect"] == "Allow")


def test_each_notify_target_subscribes_by_email_or_https() -> None:
    records, _ = build(notify=["ml-oncall@example.com", "https://hooks.example.com/alerts"])
    subscriptions = {r.inputs["endpoint"]: r.inputs for r in of_type(records, SUBSCRIPTION)}
    assert subscriptions["ml-oncall@example.com"]["protocol"] == "email"
    assert subscriptions["https://hooks.example.com/alerts"]["protocol"] == "https"
    assert {s["topic"] for s in subscriptions.values()} == {TOPIC_ARN}


def test_subscription_names_do_not_depend_on_the_order_of_notify_targets() -> None:
    targets = ["a@example.com", "b@example.com"]
    first = {r.name for r in of_type(build(notify=targets)[0], SUBSCRIPTION)}
    second = {r.name for r in of_type(build(notify=list(reversed(targets)))[0], SUBSCRIPTION)}
    assert first == second


@pytest.mark.parametrize(("environment", "days"), [("dev", 30), ("prod", 90)])
def test_log_groups_keep_logs_for_the_environment_retention_encrypted_with_the_key(environment: str, days: int) -> None:
    records, _ = build(environment)
    key = only(records, KEY)
    for group in of_type(records, LOG_GROUP):
        assert group.inputs["retentionInDays"] == days
        assert group.inputs["kmsKeyId"] == f"arn:aws:kms:us-east-1:123456789012:key/{key.id}"


def test_log_retention_follows_the_spec() -> None:
    records, _ = build(log_retention_days=365)
    assert {g.inputs["retentionInDays"] for g in of_type(records, LOG_GROUP)} == {365}


def test_prod_log_groups_and_key_are_protected() -> None:
    records, _ = build("prod")
    assert all(r.protect and r.retain_on_delete for r in of_type(records, LOG_GROUP) + of_type(records, KEY))


def test_cluster_alarms_watch_container_insights_for_failed_nodes_and_idle_gpus() -> None:
    records, _ = build(gpu_utilization_low_percent=15)
    alarms = {r.inputs["metricName"]: r.inputs for r in of_type(records, ALARM)}
    assert set(alarms) == {"cluster_failed_node_count", "node_gpu_utilization"}
    for alarm in alarms.values():
        assert alarm["namespace"] == "ContainerInsights"
        assert alarm["dimensions"] == {"ClusterName": CLUSTER}
        assert alarm["alarmActions"] == [TOPIC_ARN]
        assert alarm["okActions"] == [TOPIC_ARN]
        assert alarm["treatMissingData"] == "notBreaching"
    failed = alarms["cluster_failed_node_count"]
    assert (failed["comparisonOperator"], failed["threshold"]) == ("GreaterThanThreshold", 0)
    gpu = alarms["node_gpu_utilization"]
    assert (gpu["comparisonOperator"], gpu["threshold"], gpu["statistic"]) == ("LessThanThreshold", 15, "Average")
    assert gpu["evaluationPeriods"] * gpu["period"] == 3600


def test_no_cluster_means_no_cluster_alarms_or_container_insights_log_groups() -> None:
    records, _ = build(cluster=False)
    assert not of_type(records, ALARM)
    assert [g.inputs["name"] for g in of_type(records, LOG_GROUP)] == ["/mlfabric/fraud-prod"]


def test_the_dashboard_shows_the_platforms_endpoints_and_cluster() -> None:
    records, _ = build()
    dashboard = only(records, "aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == "fraud-prod"
    body = json.loads(dashboard.inputs["dashboardBody"])
    text = json.dumps(body)
    assert 'EndpointName:\\"fraud-prod\\"' in text
    assert "ModelLatency" in text and "Invocation5XXErrors" in text
    assert ["ContainerInsights", "node_gpu_utilization", "ClusterName", CLUSTER] in [
        m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]
    ]
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == 2


def test_outputs_are_the_topic_arn_and_the_dashboard_console_url() -> None:
    _, outputs = build()
    assert outputs["alert_topic"] == TOPIC_ARN
    assert outputs["dashboard_url"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/fraud-prod"
    )
