"""Cloud Monitoring alert policies as GCP's monitoring and serving concerns both declare them.

``Alerts(ctx, parent, channels).policy(...)`` creates one ``gcp:monitoring/alertPolicy:AlertPolicy``
under the calling component: any of its conditions fires it, every channel hears it, it closes itself
after 30 minutes without the condition, and it carries the platform's labels. ``threshold`` builds a
threshold condition (optionally on the ratio of two filters, e.g. errors per request) where missing
data never fires; ``metric_filter`` names one metric of some resources. ``alert_channels`` is where a
platform alert goes: every channel ``GcpMonitoring`` declares, else the monitoring handle's one
``alert_topic``. The Cloud Run metric types serving's alerts and monitoring's dashboard watch are
named here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import pulumi
import pulumi_gcp as gcp

from mlfabric.components.concerns import MonitoringOutputs
from mlfabric.components.context import PlatformContext

RUN_REQUESTS: Final = "run.googleapis.com/request_count"
RUN_LATENCIES: Final = "run.googleapis.com/request_latencies"
_AUTO_CLOSE: Final = "1800s"


@runtime_checkable
class NotificationChannels(Protocol):
    """A monitoring handle that lists every channel a platform alert notifies (GcpMonitoring)."""

    @property
    def notification_channels(self) -> pulumi.Output[list[str]]: ...


def alert_channels(monitoring: MonitoringOutputs | None) -> pulumi.Output[list[str]]:
    """Every channel a platform alert notifies: GcpMonitoring's list, else the one ``alert_topic``."""
    if monitoring is None:
        return pulumi.Output.from_input([])
    if isinstance(monitoring, NotificationChannels):
        return monitoring.notification_channels
    return monitoring.alert_topic.apply(lambda topic: [topic] if topic else [])


def metric_filter(metric: str, resources: pulumi.Output[str], *conditions: str) -> pulumi.Output[str]:
    """``metric.type="<metric>" AND <conditions> AND <resources>``: one metric of some resources.

    Built from the resources' output, so an alert on it depends on the resources it watches.
    """
    head = " AND ".join([f'metric.type="{metric}"', *conditions])
    return resources.apply(lambda where: f"{head} AND {where}")


@dataclass(frozen=True)
class Aggregation:
    """How a condition reduces a metric: aligned per series over ``period``, reduced across series."""

    aligner: str
    reducer: str
    group_by: Sequence[str]
    period: str = "60s"


def threshold(
    display_name: str,
    filter: pulumi.Input[str],
    *,
    comparison: str,
    value: float,
    duration: str,
    over: Aggregation,
    denominator: pulumi.Input[str] | None = None,
) -> gcp.monitoring.AlertPolicyConditionArgs:
    """A threshold condition on ``filter`` reduced ``over``; with ``denominator``, on the ratio of the two."""
    fields = list(over.group_by)
    return gcp.monitoring.AlertPolicyConditionArgs(
        display_name=display_name,
        condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
            filter=filter,
            comparison=comparison,
            threshold_value=value,
            duration=duration,
            aggregations=[
                gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                    alignment_period=over.period, per_series_aligner=over.aligner,
                    cross_series_reducer=over.reducer, group_by_fields=fields,
                )
            ],
            denominator_filter=denominator,
            denominator_aggregations=[
                gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs(
                    alignment_period=over.period, per_series_aligner=over.aligner,
                    cross_series_reducer=over.reducer, group_by_fields=fields,
                )
            ]
            if denominator is not None
            else None,
            trigger=gcp.monitoring.AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
            # No data (nothing deployed, a pool at zero, a quiet endpoint) is not an incident.
            evaluation_missing_data="EVALUATION_MISSING_DATA_INACTIVE",
        ),
    )


@dataclass(frozen=True)
class Alerts:
    """Where one component's alert policies go: its platform, its children, the channels they notify."""

    ctx: PlatformContext
    parent: pulumi.Resource
    channels: pulumi.Input[Sequence[str]]

    def policy(
        self,
        logical: str,
        display_name: str,
        conditions: Sequence[gcp.monitoring.AlertPolicyConditionArgs],
        *,
        documentation: str,
        severity: str = "WARNING",
        aliases: Sequence[pulumi.Alias] = (),
    ) -> gcp.monitoring.AlertPolicy:
        """One alert policy of the platform: any condition fires it, every channel hears it."""
        return gcp.monitoring.AlertPolicy(
            logical,
            project=self.ctx.account,
            display_name=display_name,
            combiner="OR",
            conditions=list(conditions),
            notification_channels=self.channels,
            enabled=True,
            severity=severity,
            documentation=gcp.monitoring.AlertPolicyDocumentationArgs(content=documentation, mime_type="text/markdown"),
            alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close=_AUTO_CLOSE),
            user_labels=self.ctx.tags(),
            opts=pulumi.ResourceOptions(parent=self.parent, aliases=list(aliases) or None),
        )
