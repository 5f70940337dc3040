"""Monitoring on GCP: where alerts go, how long platform logs stay, cluster alerts and the dashboard.

Creates:

- ``gcp:projects/service:Service`` for Cloud Monitoring, Cloud Logging, Pub/Sub and Cloud KMS;
- the monitoring key (``gcp:kms/keyRing:KeyRing`` + ``gcp:kms/cryptoKey:CryptoKey``, rotated every ``storage.key_rotation_days``)
  used by the alert topic and the log bucket, with ``gcp:kms/cryptoKeyIAMMember`` grants for the
  Pub/Sub service agent (created first: ``gcp:projects/serviceIdentity:ServiceIdentity``) and the
  project's Cloud Logging service account (read with ``getProjectCmekSettings``);
- the alert stream: a CMEK ``gcp:pubsub/topic:Topic`` ``<platform>-<environment>-alerts``, a
  ``gcp:pubsub/topicIAMMember`` letting Cloud Monitoring's notification agent publish to it, and a
  ``pubsub`` ``gcp:monitoring/notificationChannel:NotificationChannel`` on it. That channel is
  ``alert_topic``, the counterpart of the SNS topic: it always exists (other tools subscribe to the
  topic), whether or not the spec lists anyone to notify;
- one ``NotificationChannel`` per ``monitoring.notify`` target: ``email`` for an address,
  ``webhook_tokenauth`` for an ``https://`` URL. ``notification_channels`` lists every channel (the
  alert stream first); every alert policy of the platform notifies all of them;
- a ``gcp:logging/projectBucketConfig:ProjectBucketConfig`` log bucket ``<platform>-<environment>``
  in the platform region keeping ``log_retention_days`` (CMEK) and a ``gcp:logging/projectSink``
  routing the platform's logs into it: its cluster's (``k8s_*`` resources) and its Cloud Run
  services' (``<platform>-<environment>-*``). The logs also stay in the project's ``_Default`` bucket
  for its own retention;
- with a cluster, two ``gcp:monitoring/alertPolicy:AlertPolicy``: GPU utilisation (GKE's
  ``kubernetes.io/node/accelerator/duty_cycle``) averaging below ``gpu_utilization_low_percent`` for
  an hour, and nodes whose ``Ready`` condition is not true for ten minutes
  (``kubernetes.io/node/status_condition``, reported by GKE 1.32.1 and later). A GPU pool scaled to
  zero sends no data, and no data never fires either alert;
- one ``gcp:monitoring/dashboard:Dashboard``: endpoint traffic, p99 latency and errors of the
  platform's Cloud Run services, GPU utilisation and not-ready nodes of its cluster.

Monitoring is built before serving: serving's endpoint alert policies notify
``notification_channels`` (``alert_channels``).

A destroyed log bucket keeps its id for 7 days (Cloud Logging's deletion grace period): recreating
the same stack within that week fails until the bucket is gone or restored (``gcloud logging
buckets undelete``).
"""

from __future__ import annotations

import json
from typing import Any, Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import naming
from mlfabric.components.concerns import MonitoringOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.alerts import (
    RUN_LATENCIES,
    RUN_REQUESTS,
    Aggregation,
    Alerts,
    metric_filter,
    threshold,
)
from mlfabric.components.gcp.common import (
    KMS_API,
    agent_key_user,
    concern_key,
    days,
    enable_apis,
    key_user,
    project_id,
    service_agent,
    services_prefix,
)
from mlfabric.components.spec import MonitoringSpec

MONITORING_API: Final = "monitoring.googleapis.com"
LOGGING_API: Final = "logging.googleapis.com"
PUBSUB_API: Final = "pubsub.googleapis.com"
PUBLISHER_ROLE: Final = "roles/pubsub.publisher"
ALERT_MESSAGE_RETENTION: Final = days(7)
_PERIOD: Final = "300s"
# Idle GPUs are a cost problem, not an outage: alert after an hour below the floor.
_GPU_IDLE_DURATION: Final = "3600s"
_NOT_READY_DURATION: Final = "600s"
_K8S_RESOURCES: Final = ("k8s_cluster", "k8s_node", "k8s_pod", "k8s_container")
GPU_DUTY_CYCLE: Final = "kubernetes.io/node/accelerator/duty_cycle"
NODE_STATUS: Final = "kubernetes.io/node/status_condition"
_PER_CLUSTER: Final = ("resource.label.cluster_name",)


def _log_filter(base_name: str, cluster_name: str | None) -> str:
    run = (f'(resource.type="cloud_run_revision" AND '
           f'resource.labels.service_name=~"^{services_prefix(base_name)}")')
    if cluster_name is None:
        return run
    kinds = " OR ".join(f'"{kind}"' for kind in _K8S_RESOURCES)
    return f'(resource.type=({kinds}) AND resource.labels.cluster_name="{cluster_name}") OR {run}'


def _dashboard(base_name: str, cluster_name: str | None) -> str:
    run = (f'resource.type="cloud_run_revision" AND '
           f'resource.label."service_name"=starts_with("{services_prefix(base_name)}")')

    def chart(title: str, series: str, over: Aggregation) -> dict[str, Any]:
        aggregation = {"alignmentPeriod": over.period, "perSeriesAligner": over.aligner,
                       "crossSeriesReducer": over.reducer, "groupByFields": list(over.group_by)}
        query = {"timeSeriesFilter": {"filter": series, "aggregation": aggregation}}
        return {"title": title, "xyChart": {"dataSets": [{"plotType": "LINE", "timeSeriesQuery": query}]}}

    per_service = ("resource.label.service_name",)
    widgets = [
        chart("Endpoint requests/s", f'metric.type="{RUN_REQUESTS}" AND {run}',
              Aggregation("ALIGN_RATE", "REDUCE_SUM", per_service)),
        chart("Endpoint p99 latency (ms)", f'metric.type="{RUN_LATENCIES}" AND {run}',
              Aggregation("ALIGN_DELTA", "REDUCE_PERCENTILE_99", per_service)),
        chart("Endpoint 5xx/s", f'metric.type="{RUN_REQUESTS}" AND metric.label.response_code_class="5xx" AND {run}',
              Aggregation("ALIGN_RATE", "REDUCE_SUM", per_service)),
    ]
    if cluster_name is not None:
        node = f'resource.type="k8s_node" AND resource.label.cluster_name="{cluster_name}"'
        widgets += [
            chart("GPU utilisation (%)", f'metric.type="{GPU_DUTY_CYCLE}" AND {node}',
                  Aggregation("ALIGN_MEAN", "REDUCE_MEAN", ("resource.label.node_name",))),
            chart("Nodes not ready", f'metric.type="{NODE_STATUS}" AND metric.label.condition="Ready" AND '
                  f'metric.label.status!="True" AND {node}', Aggregation("ALIGN_FRACTION_TRUE", "REDUCE_SUM", ())),
        ]
    return json.dumps({"displayName": f"mlfabric {base_name}", "gridLayout": {"columns": "2", "widgets": widgets}})


class GcpMonitoring(MonitoringOutputs):
    """Alert stream (Pub/Sub) and channels from the spec, platform log bucket, cluster alerts, dashboard."""

    type_token = "mlfabric:monitoring:GcpMonitoring"
    needs = ("cluster",)

    def __init__(self, name: str, spec: MonitoringSpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        # Cloud Logging's retention limits are a spec rule (spec_rules.py): validate reports them.
        super().__init__(name, spec, ctx, opts)
        apis = enable_apis(name, ctx, self, MONITORING_API, LOGGING_API, PUBSUB_API, KMS_API)
        self._project = project_id(ctx, self)
        self._key = concern_key(name, "monitoring", ctx, self, apis[KMS_API]).key

        stream = self._alert_stream(apis)
        notify = [self._channel(target, apis[MONITORING_API]) for target in spec.notify]
        self.notification_channels: pulumi.Output[list[str]] = pulumi.Output.all(
            stream.name, *(c.name for c in notify)
        )

        cluster_name = ctx.cluster.cluster_name if ctx.cluster is not None else None
        self._log_bucket(apis[LOGGING_API], cluster_name)
        if cluster_name is not None:
            self._cluster_alerts(cluster_name)

        dashboard = gcp.monitoring.Dashboard(
            f"{name}-dashboard",
            project=ctx.account,
            dashboard_json=pulumi.Output.from_input(cluster_name).apply(lambda c: _dashboard(ctx.base_name, c)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[apis[MONITORING_API]]),
        )

        self.alert_topic = stream.name
        self.dashboard_url = pulumi.Output.all(dashboard.id, self._project).apply(
            lambda a: f"https://console.cloud.google.com/monitoring/dashboards/builder/{a[0].rsplit('/', 1)[-1]}"
            f"?project={a[1]}"
        )
        self.register_contract()

    def _alert_stream(self, apis: dict[str, gcp.projects.Service]) -> gcp.monitoring.NotificationChannel:
        """The CMEK Pub/Sub topic alerts are published to, and its notification channel."""
        name, ctx = self._name, self._ctx
        pubsub_key_user = agent_key_user(name, "monitoring", PUBSUB_API, self._key.id, ctx, self, apis[PUBSUB_API])
        topic = gcp.pubsub.Topic(
            f"{name}-alerts",
            name=f"{ctx.base_name}-alerts",
            project=ctx.account,
            kms_key_name=self._key.id,
            message_retention_duration=ALERT_MESSAGE_RETENTION,
            labels=ctx.tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pubsub_key_user]),
        )
        publisher = gcp.pubsub.TopicIAMMember(
            f"{name}-alerts-publisher",
            project=ctx.account,
            topic=topic.name,
            role=PUBLISHER_ROLE,
            member=service_agent(name, MONITORING_API, ctx, self, apis[MONITORING_API]),
            opts=self._child,
        )
        return gcp.monitoring.NotificationChannel(
            f"{name}-alerts",
            project=ctx.account,
            type="pubsub",
            display_name=f"mlfabric {ctx.base_name} alert stream",
            labels={"topic": topic.id},
            user_labels=ctx.tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[publisher, apis[MONITORING_API]]),
        )

    def _channel(self, target: str, api: pulumi.Resource) -> gcp.monitoring.NotificationChannel:
        webhook = target.startswith("https://")
        # Named by the target, not its position, so reordering the list replaces nothing.
        return gcp.monitoring.NotificationChannel(
            f"{self._name}-notify-{naming.short_hash(target)}",
            project=self._ctx.account,
            type="webhook_tokenauth" if webhook else "email",
            display_name=f"mlfabric {self._ctx.base_name}: {'webhook' if webhook else target}",
            labels={"url": target} if webhook else {"email_address": target},
            user_labels=self._ctx.tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[api]),
        )

    def _log_bucket(self, api: pulumi.Resource, cluster_name: pulumi.Output[str] | None) -> None:
        name, ctx = self._name, self._ctx
        settings = gcp.logging.get_project_cmek_settings_output(
            project=self._project, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[api])
        )
        logging_key_user = key_user(
            f"{name}-monitoring-logging-agent",
            self._key.id,
            settings.service_account_id.apply(lambda account: f"serviceAccount:{account}"),
            self,
        )
        bucket = gcp.logging.ProjectBucketConfig(
            f"{name}-logs",
            project=self._project,
            location=ctx.region,
            bucket_id=ctx.base_name,
            description=f"mlfabric {ctx.base_name}: platform logs",
            retention_days=self._spec.log_retention_days,
            cmek_settings=gcp.logging.ProjectBucketConfigCmekSettingsArgs(kms_key_name=self._key.id),
            opts=ctx.stateful(self, depends_on=[logging_key_user]),
        )
        gcp.logging.ProjectSink(
            f"{name}-logs",
            project=ctx.account,
            description=f"mlfabric {ctx.base_name}: the platform's cluster and endpoint logs",
            destination=bucket.id.apply(lambda bucket_id: f"logging.googleapis.com/{bucket_id}"),
            filter=pulumi.Output.from_input(cluster_name).apply(lambda c: _log_filter(ctx.base_name, c)),
            unique_writer_identity=True,
            opts=self._child,
        )

    def _cluster_alerts(self, cluster_name: pulumi.Output[str]) -> None:
        name, ctx, spec = self._name, self._ctx, self._spec
        alerts = Alerts(ctx, self, self.notification_channels)
        nodes = cluster_name.apply(lambda c: f'resource.type="k8s_node" AND resource.labels.cluster_name="{c}"')
        floor = spec.gpu_utilization_low_percent
        alerts.policy(
            f"{name}-cluster-gpu-idle",
            f"{ctx.base_name}: GPU utilisation below {floor:g}%",
            [
                threshold(
                    "Average GPU duty cycle of the cluster",
                    metric_filter(GPU_DUTY_CYCLE, nodes),
                    comparison="COMPARISON_LT",
                    value=floor,
                    duration=_GPU_IDLE_DURATION,
                    over=Aggregation("ALIGN_MEAN", "REDUCE_MEAN", _PER_CLUSTER, period=_PERIOD),
                )
            ],
            documentation=f"Average GPU utilisation of the training cluster stayed below {floor:g}% for an "
            "hour: GPUs are paid for and idle. Check for finished jobs holding nodes, or lower the pool's min_nodes.",
        )
        alerts.policy(
            f"{name}-cluster-nodes-not-ready",
            f"{ctx.base_name}: cluster nodes not ready",
            [
                threshold(
                    "Nodes whose Ready condition is False or Unknown",
                    metric_filter(
                        NODE_STATUS, nodes, 'metric.labels.condition="Ready"', 'metric.labels.status!="True"'
                    ),
                    comparison="COMPARISON_GT",
                    value=0,
                    duration=_NOT_READY_DURATION,
                    over=Aggregation("ALIGN_FRACTION_TRUE", "REDUCE_SUM", _PER_CLUSTER),
                )
            ],
            documentation="Worker nodes of the training cluster have not been Ready for 10 minutes. GKE "
            "auto-repair recreates unhealthy nodes; check the node pool's operations if this persists.",
            severity="ERROR",
        )
