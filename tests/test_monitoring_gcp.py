"""GcpMonitoring under the mock runtime.

What a mock test cannot prove: that Cloud Monitoring accepts these filters and aggregations (the
metric kinds must match the aligners), that GKE reports ``node/status_condition`` (1.32.1+) and
``node/accelerator/duty_cycle`` for these nodes, that an e-mail channel is verified by its owner,
that the monitoring and Pub/Sub agents hold their grants before the first alert, or that the log
sink's writer may write to a CMEK bucket. Those need a real project (README: limits).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.concerns import MonitoringOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.alerts import alert_channels
from mlfabric.components.gcp.monitoring import GcpMonitoring
from mlfabric.components.spec import SpecError, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:monitoring:GcpMonitoring"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
TOPIC = "gcp:pubsub/topic:Topic"
PUBLISHER = "gcp:pubsub/topicIAMMember:TopicIAMMember"
BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
SINK = "gcp:logging/projectSink:ProjectSink"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_USER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
SERVICE = "gcp:projects/service:Service"
PROJECT = "ml-platform-test"
NUMBER = "123456789012"
NOTIFY = ["ml-oncall@example.com", "https://hooks.example.com/alerts"]


@dataclass(frozen=True)
class FakeCluster:
    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    gpu_pool_names: pulumi.Output[dict[str, str]]


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.records if r.custom)


def build(environment: str = "prod", cluster: bool = True, **monitoring: Any) -> Built:
    spec = parse_spec(spec_data("gcp", environment, monitoring=monitoring))
    ctx = PlatformContext.from_spec(spec, account=PROJECT)

    def program() -> None:
        o = pulumi.Output.from_input
        handles = {"cluster": FakeCluster(o("fraud-prod"), o("https://10.0.0.2"), o("{}"), o("https://issuer"), o({}))}
        component = GcpMonitoring(spec.base_name, spec.monitoring, ctx.with_handles(**(handles if cluster else {})))
        assert isinstance(component, MonitoringOutputs)
        pulumi.export("alert_topic", component.alert_topic)
        pulumi.export("dashboard_url", component.dashboard_url)
        pulumi.export("channels", component.notification_channels)
        pulumi.export("fallback", alert_channels(component))

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-central1"),
    )
    return Built(records, outputs)


@pytest.fixture(scope="module")
def prod() -> Built:
    return build(notify=NOTIFY, latency_p99_ms=250, gpu_utilization_low_percent=12.5, log_retention_days=400)


def _policy(built: Built, suffix: str) -> dict[str, Any]:
    return only(built.records, POLICY, f"fraud-prod-{suffix}").inputs


def test_creates_exact_child_types_with_a_cluster_and_two_notify_targets(prod: Built) -> None:
    assert prod.counts() == {
        SERVICE: 4,            # Monitoring, Logging, Pub/Sub, Cloud KMS
        "gcp:kms/keyRing:KeyRing": 1,
        KEY: 1,
        "gcp:projects/serviceIdentity:ServiceIdentity": 2,   # Pub/Sub and monitoring notification agents
        KEY_USER: 2,           # Pub/Sub agent (topic), Cloud Logging (log bucket)
        TOPIC: 1,
        PUBLISHER: 1,
        CHANNEL: 3,            # the alert stream + e-mail + webhook
        BUCKET: 1,
        SINK: 1,
        POLICY: 2,             # GPU idle, nodes not ready
        DASHBOARD: 1,
    }
    component = only(prod.records, COMPONENT)
    assert all(r.parent == component.urn for r in prod.records if r.custom)


def test_without_a_cluster_there_are_no_cluster_alerts_but_still_a_dashboard() -> None:
    built = build(cluster=False)
    assert POLICY not in built.counts()
    assert built.counts()[DASHBOARD] == 1
    assert built.counts()[CHANNEL] == 1  # the alert stream exists even with nobody to notify


def test_notify_targets_become_email_and_webhook_channels(prod: Built) -> None:
    channels = {r.inputs["type"]: r.inputs for r in of_type(prod.records, CHANNEL)}
    assert channels["email"]["labels"] == {"email_address": "ml-oncall@example.com"}
    assert channels["webhook_tokenauth"]["labels"] == {"url": "https://hooks.example.com/alerts"}
    assert all(c["userLabels"]["mlfabric-platform"] == "fraud" for c in channels.values())


def test_alert_topic_is_the_pubsub_channel_on_an_encrypted_topic(prod: Built) -> None:
    topic, key = only(prod.records, TOPIC), only(prod.records, KEY)
    stream = next(r for r in of_type(prod.records, CHANNEL) if r.inputs["type"] == "pubsub")
    assert stream.inputs["labels"] == {"topic": topic.id}
    assert prod.outputs["alert_topic"] == stream.id
    assert topic.inputs["kmsKeyName"] == key.id and topic.inputs["name"] == "fraud-prod-alerts"
    pubsub_agent = next(r for r in of_type(prod.records, KEY_USER) if "pubsub" in r.name)
    assert pubsub_agent.inputs["member"] == f"serviceAccount:service-{NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
    assert pubsub_agent.urn in topic.dependencies
    publisher = only(prod.records, PUBLISHER).inputs
    assert publisher["role"] == "roles/pubsub.publisher"
    assert publisher["member"] == f"serviceAccount:service-{NUMBER}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"


def test_every_alert_notifies_every_channel_stream_first(prod: Built) -> None:
    channels = [str(r.id) for r in of_type(prod.records, CHANNEL)]
    assert sorted(prod.outputs["channels"]) == sorted(channels)
    assert prod.outputs["channels"][0] == prod.outputs["alert_topic"]
    assert prod.outputs["fallback"] == prod.outputs["channels"]
    for policy in of_type(prod.records, POLICY):
        assert policy.inputs["notificationChannels"] == prod.outputs["channels"]
        assert policy.inputs["enabled"] is True


def test_gpu_idle_alert_fires_below_the_spec_floor_for_an_hour(prod: Built) -> None:
    (condition,) = _policy(prod, "cluster-gpu-idle")["conditions"]
    threshold = condition["conditionThreshold"]
    assert threshold["comparison"] == "COMPARISON_LT"
    assert threshold["thresholdValue"] == 12.5
    assert threshold["duration"] == "3600s"
    assert 'metric.type="kubernetes.io/node/accelerator/duty_cycle"' in threshold["filter"]
    assert 'resource.labels.cluster_name="fraud-prod"' in threshold["filter"]
    assert threshold["evaluationMissingData"] == "EVALUATION_MISSING_DATA_INACTIVE"


def test_node_health_alert_counts_nodes_not_ready(prod: Built) -> None:
    policy = _policy(prod, "cluster-nodes-not-ready")
    threshold = policy["conditions"][0]["conditionThreshold"]
    assert 'metric.type="kubernetes.io/node/status_condition"' in threshold["filter"]
    assert 'metric.labels.condition="Ready"' in threshold["filter"]
    assert 'metric.labels.status!="True"' in threshold["filter"]
    assert threshold["comparison"] == "COMPARISON_GT" and threshold["thresholdValue"] == 0
    assert threshold["aggregations"][0]["perSeriesAligner"] == "ALIGN_FRACTION_TRUE"
    assert policy["severity"] == "ERROR"


def test_platform_logs_stay_for_the_spec_retention_in_a_cmek_bucket(prod: Built) -> None:
    bucket, key = only(prod.records, BUCKET), only(prod.records, KEY)
    assert bucket.inputs["retentionDays"] == 400
    assert bucket.inputs["location"] == "us-central1" and bucket.inputs["bucketId"] == "fraud-prod"
    assert bucket.inputs["cmekSettings"] == {"kmsKeyName": key.id}
    logging_agent = next(r for r in of_type(prod.records, KEY_USER) if "logging" in r.name)
    assert logging_agent.inputs["member"] == f"serviceAccount:service-{NUMBER}@gcp-sa-logging.iam.gserviceaccount.com"
    assert logging_agent.urn in bucket.dependencies
    sink = only(prod.records, SINK).inputs
    assert sink["destination"] == f"logging.googleapis.com/{bucket.id}"
    assert 'resource.labels.cluster_name="fraud-prod"' in sink["filter"]
    assert 'resource.labels.service_name=~"^fraud-prod-"' in sink["filter"]
    assert only(build(cluster=False).records, SINK).inputs["filter"].startswith('(resource.type="cloud_run_revision"')


def test_retention_beyond_what_cloud_logging_keeps_is_refused_by_the_spec() -> None:
    """validate == plan: the spec refuses it before any resource is declared."""
    with pytest.raises(SpecError, match=r"^monitoring\.log_retention_days: Cloud Logging keeps 1 to 3650 days \(got 3653\)$"):
        parse_spec(spec_data("gcp", "prod", monitoring={"log_retention_days": 3653}))


def test_dashboard_shows_endpoints_and_the_cluster(prod: Built) -> None:
    board = json.loads(only(prod.records, DASHBOARD).inputs["dashboardJson"])
    titles = [w["title"] for w in board["gridLayout"]["widgets"]]
    assert titles == ["Endpoint requests/s", "Endpoint p99 latency (ms)", "Endpoint 5xx/s", "GPU utilisation (%)",
                      "Nodes not ready"]
    assert prod.outputs["dashboard_url"].startswith("https://console.cloud.google.com/monitoring/dashboards/builder/")
    assert prod.outputs["dashboard_url"].endswith(f"?project={PROJECT}")


def test_key_and_log_bucket_are_protected_in_prod(prod: Built) -> None:
    assert all(r.protect for r in prod.records if r.type in (KEY, "gcp:kms/keyRing:KeyRing", BUCKET))
