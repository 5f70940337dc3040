"""Monitoring on AWS: where alarms go, where logs stay, and the platform dashboard.

With drift monitoring on an endpoint, the key and topic policies also let this account's EventBridge
rules publish (drift findings, ``drift.py``); otherwise they are unchanged.

Creates: a customer-managed ``aws:kms/key:Key`` (rotation on; its policy lets CloudWatch publish to
the encrypted topic and CloudWatch Logs encrypt the log groups) and its alias; the alert
``aws:sns/topic:Topic`` encrypted with that key, an ``aws:sns/topicPolicy:TopicPolicy`` letting this
account's CloudWatch alarms publish (and refusing plain HTTP), one
``aws:sns/topicSubscription:TopicSubscription`` per spec notify target (``email`` or ``https``);
the platform ``aws:cloudwatch/logGroup:LogGroup`` ``/mlfabric/<platform>-<environment>`` and, with a
cluster, the four Container Insights log groups, all with the spec's retention and KMS; one
``aws:cloudwatch/dashboard:Dashboard``; with a cluster, two ``aws:cloudwatch/metricAlarm:MetricAlarm``
on Container Insights metrics (failed nodes, GPU utilisation below the spec's floor).

Monitoring is built before serving: serving's endpoint alarms send to ``alert_topic``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from mlfabric.components import naming
from mlfabric.components.aws.common import (
    caller_account,
    concern_key,
    deny_insecure_transport,
    platform_key_statements,
    platform_log_group_name,
    policy_document,
)
from mlfabric.components.concerns import MonitoringOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import MonitoringSpec

CONTAINER_INSIGHTS = "ContainerInsights"
# Log groups the CloudWatch observability add-on writes to; created here so retention and KMS apply
# (left to the add-on they would be created unencrypted and kept forever).
CONTAINER_INSIGHTS_LOG_GROUPS = ("application", "dataplane", "host", "performance")
_PERIOD_SECONDS = 300
# Idle GPUs are a cost problem, not an outage: alarm after an hour below the floor.
_GPU_IDLE_PERIODS = 12


def _events_key_statement() -> dict[str, Any]:
    # EventBridge rules cannot publish to a topic encrypted with a customer key without this grant.
    return {"Sid": "EventBridgeRulesPublishToTheEncryptedTopic", "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*"}


def _events_topic_statement(topic_arn: str, account: str, partition: str, region: str) -> dict[str, Any]:
    # Only this account's mlfabric rules (drift findings, serving.py) publish.
    return {"Sid": "ThisAccountsDriftRulesPublish", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish", "Resource": topic_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:events:{region}:{account}:rule/*"},
                          "StringEquals": {"aws:SourceAccount": account}}}


def _key_policy(account: str, partition: str, region: str, base_name: str, events: bool = False) -> dict[str, Any]:
    return policy_document(
        [
            # The account administers the key through IAM (without it the key could become
            # unmanageable; KMS refuses such a policy anyway); only the platform's roles use it.
            *platform_key_statements(partition, account, base_name),
            {
                # CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key.
                "Sid": "CloudWatchAlarmsPublishToTheEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogsEncryptThisAccountsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"
                    }
                },
            },
            *([_events_key_statement()] if events else []),
        ]
    )


def _topic_policy(topic_arn: str, account: str, partition: str, region: str, events: bool = False) -> dict[str, Any]:
    return policy_document(
        [
            {
                "Sid": "ThisAccountsAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"},
                    "StringEquals": {"aws:SourceAccount": account},
                },
            },
            *([_events_topic_statement(topic_arn, account, partition, region)] if events else []),
            deny_insecure_transport("sns:Publish", topic_arn),
        ]
    )


def _dashboard_body(
    base_name: str, region: str, cluster_name: str | None, alarm_arns: Sequence[str]
) -> str:
    def search(metric: str, stat: str) -> dict[str, Any]:
        query = (
            f"SEARCH('{{AWS/SageMaker,EndpointName,VariantName}} MetricName=\"{metric}\" "
            f"EndpointName:\"{base_name}\"', '{stat}', {_PERIOD_SECONDS})"
        )
        return {"expression": query, "id": metric.lower().replace(" ", ""), "label": ""}

    def widget(title: str, metrics: list[Any], x: int, y: int) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": region, "view": "timeSeries", "stat": "Average",
                           "period": _PERIOD_SECONDS, "metrics": metrics},
        }

    widgets: list[dict[str, Any]] = [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 1,
         "properties": {"markdown": f"# mlfabric {base_name}"}},
        widget("Endpoint invocations", [[search("Invocations", "Sum")]], 0, 1),
        widget("Endpoint p99 model latency (µs)", [[search("ModelLatency", "p99")]], 12, 1),
        widget("Endpoint 5XX errors", [[search("Invocation5XXErrors", "Sum")]], 0, 7),
        widget("Endpoint 4XX errors", [[search("Invocation4XXErrors", "Sum")]], 12, 7),
    ]
    if cluster_name is not None:
        dims = ["ClusterName", cluster_name]
        widgets += [
            widget("Cluster nodes",
                   [[CONTAINER_INSIGHTS, "cluster_node_count", *dims],
                    [CONTAINER_INSIGHTS, "cluster_failed_node_count", *dims]], 0, 13),
            widget("GPU utilisation (%)", [[CONTAINER_INSIGHTS, "node_gpu_utilization", *dims]], 12, 13),
            {"type": "alarm", "x": 0, "y": 19, "width": 24, "height": 3,
             "properties": {"title": "Cluster alarms", "alarms": list(alarm_arns)}},
        ]
    return json.dumps({"widgets": widgets})


class AwsMonitoring(MonitoringOutputs):
    """Encrypted alert topic with the spec's subscribers, log retention, dashboard, cluster alarms."""

    type_token = "mlfabric:monitoring:AwsMonitoring"
    needs = ("cluster",)

    def __init__(
        self,
        name: str,
        spec: MonitoringSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        account, partition = caller_account(self)
        # Drift findings reach the topic through EventBridge: only then are its grants added.
        self._events = ctx.spec is not None and ctx.spec.serving is not None and any(
            e.monitoring.drift is not None for e in ctx.spec.serving.endpoints)
        key_policy = pulumi.Output.all(account, partition).apply(
            lambda a: _key_policy(a[0], a[1], ctx.region, ctx.base_name, self._events))
        self.key = concern_key(
            self,
            ctx,
            f"{name}-monitoring",
            "alert topic and log encryption",
            alias="monitoring",
            policy=pulumi.Output.json_dumps(key_policy),
        )
        self.topic = self._alert_topic(account, partition)
        dashboard = self._logs_and_dashboard()

        self.alert_topic = self.topic.arn
        self.dashboard_url = dashboard.dashboard_name.apply(
            lambda d: f"https://{ctx.region}.console.aws.amazon.com/cloudwatch/home?region={ctx.region}"
            f"#dashboards/dashboard/{d}"
        )
        self.register_contract()

    def _alert_topic(self, account: pulumi.Output[str], partition: pulumi.Output[str]) -> aws.sns.Topic:
        """The encrypted topic alarms publish to, its policy and one subscription per notify target."""
        name, ctx, child = self._name, self._ctx, self._child
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=f"{ctx.base_name}-alerts",
            display_name=f"mlfabric {ctx.base_name} alerts",
            kms_master_key_id=self.key.arn,
            tags=ctx.tags(),
            opts=child,
        )
        topic_policy = pulumi.Output.all(topic.arn, account, partition).apply(
            lambda a: _topic_policy(a[0], a[1], a[2], ctx.region, self._events)
        )
        aws.sns.TopicPolicy(f"{name}-alerts", arn=topic.arn, policy=pulumi.Output.json_dumps(topic_policy), opts=child)
        for target in self._spec.notify:
            # Named by the target, not its position, so reordering the list replaces nothing.
            aws.sns.TopicSubscription(
                f"{name}-notify-{naming.short_hash(target)}",
                topic=topic.arn,
                protocol="https" if target.startswith("https://") else "email",
                endpoint=target,
                opts=child,
            )
        return topic

    def _logs_and_dashboard(self) -> aws.cloudwatch.Dashboard:
        """The platform's log groups, with a cluster its Container Insights log groups and alarms,
        and the dashboard that shows them."""
        name, ctx = self._name, self._ctx
        self._log_group(f"{name}-platform-logs", platform_log_group_name(ctx.base_name))
        alarm_arns: list[pulumi.Output[str]] = []
        cluster_name: pulumi.Output[str] | None = None
        if ctx.cluster is not None:
            cluster_name = ctx.cluster.cluster_name
            for kind in CONTAINER_INSIGHTS_LOG_GROUPS:
                self._log_group(
                    f"{name}-container-insights-{kind}",
                    pulumi.Output.concat("/aws/containerinsights/", cluster_name, f"/{kind}"),
                )
            alarm_arns = [a.arn for a in self._cluster_alarms(cluster_name)]

        body = pulumi.Output.all(cluster_name, *alarm_arns).apply(
            lambda a: _dashboard_body(ctx.base_name, ctx.region, a[0], a[1:])
        )
        return aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=ctx.base_name, dashboard_body=body, opts=self._child
        )

    def _log_group(self, logical: str, group_name: pulumi.Input[str]) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            logical,
            name=group_name,
            retention_in_days=self._spec.log_retention_days,
            kms_key_id=self.key.arn,
            tags=self._ctx.tags(),
            opts=self._ctx.stateful(self),
        )

    def _cluster_alarms(self, cluster_name: pulumi.Output[str]) -> list[aws.cloudwatch.MetricAlarm]:
        base = self._ctx.base_name
        actions = [self.topic.arn]
        common: dict[str, Any] = {
            "namespace": CONTAINER_INSIGHTS,
            "dimensions": {"ClusterName": cluster_name},
            "period": _PERIOD_SECONDS,
            # No data means no Container Insights or no GPU node running (a pool scaled to zero):
            # neither is an outage nor idle spend.
            "treat_missing_data": "notBreaching",
            "alarm_actions": actions,
            "ok_actions": actions,
            "tags": self._ctx.tags(),
            "opts": self._child,
        }
        not_ready = aws.cloudwatch.MetricAlarm(
            f"{self._name}-cluster-nodes-not-ready",
            name=f"{base}-cluster-nodes-not-ready",
            alarm_description="Worker nodes of the training cluster are failing (a node condition is set) "
            "for 10 of the last 15 minutes.",
            metric_name="cluster_failed_node_count",
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            **common,
        )
        gpu_idle = aws.cloudwatch.MetricAlarm(
            f"{self._name}-cluster-gpu-idle",
            name=f"{base}-cluster-gpu-utilization-low",
            alarm_description=f"Average GPU utilisation of the training cluster stayed below "
            f"{self._spec.gpu_utilization_low_percent}% for an hour: GPUs are paid for and idle.",
            metric_name="node_gpu_utilization",
            statistic="Average",
            comparison_operator="LessThanThreshold",
            threshold=self._spec.gpu_utilization_low_percent,
            evaluation_periods=_GPU_IDLE_PERIODS,
            datapoints_to_alarm=_GPU_IDLE_PERIODS,
            **common,
        )
        return [not_ready, gpu_idle]
