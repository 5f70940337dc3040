"""Monitoring on Azure: where alerts go, the cluster's health alerts, and diagnostic settings of
the platform's resources.

Creates, in the platform's resource group:

- ``monitor:ActionGroup`` ``ag-<platform>-<env>``: one e-mail or webhook receiver per spec notify
  target (common alert schema), named after the target so reordering the list replaces nothing;
- with a training cluster: a ``monitor:MetricAlert`` on AKS ``kube_node_status_condition`` (nodes
  not Ready for 10 of 15 minutes) and a ``monitor:ScheduledQueryRule`` on Container Insights GPU
  metrics (average GPU duty cycle below ``gpu_utilization_low_percent`` for an hour: idle spend);
- ``monitor:DiagnosticSetting`` ``mlfabric-monitoring`` into the platform's Log Analytics workspace
  for the container registry and the Azure ML workspace (all logs), and for the storage account's
  blob service (read/write/delete). The cluster's control-plane audit logs are the cluster's own
  setting, because ``training.cluster.audit_logging`` decides them.

The Log Analytics workspace and Application Insights themselves are Azure prerequisites
(``prerequisites.py``), created before any concern because the registry and the cluster need them.

Endpoint alerts (latency, errors) are declared by serving, built after monitoring, which sends them
to ``alert_topic`` (the action group id), as on the other clouds.
"""

from __future__ import annotations

from typing import Final

import pulumi
from pulumi_azure_native import monitor

from mlfabric.components import naming
from mlfabric.components.azure.common import ClusterHandles, RegistryHandles, storage_account_id
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.concerns import MonitoringOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import MonitoringSpec

DIAGNOSTIC_SETTING_NAME: Final = "mlfabric-monitoring"
STORAGE_LOG_CATEGORIES: Final = ("StorageRead", "StorageWrite", "StorageDelete")
AKS_METRICS: Final = "Microsoft.ContainerService/managedClusters"
# Container Insights writes GPU metrics of GPU nodes here (InsightsMetrics table).
GPU_DUTY_CYCLE_QUERY: Final = (
    'InsightsMetrics | where Namespace == "container.azm.ms/gpu" and Name == "containerGpuDutyCycle" '
    "| summarize AggregatedValue = avg(Val) by bin(TimeGenerated, 5m)"
)
_GROUP_SHORT_NAME_LENGTH: Final = 12


def action_group_short_name(base_name: str) -> str:
    """Azure allows 12 characters; longer platform names keep a stable hash suffix."""
    if len(base_name) <= _GROUP_SHORT_NAME_LENGTH:
        return base_name
    return base_name[: _GROUP_SHORT_NAME_LENGTH - 5] + "-" + naming.short_hash(base_name, length=4)


class AzureMonitoring(MonitoringOutputs):
    """The alert action group, cluster alerts and diagnostic settings into the platform's workspace."""

    type_token = "mlfabric:monitoring:AzureMonitoring"
    needs = ("network", "storage", "registry", "cluster")

    # Azure only: the platform's telemetry (an Azure prerequisite), still readable where it used to be.
    log_workspace_id: pulumi.Output[str]
    app_insights_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: MonitoringSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        telemetry = prerequisites_of(ctx)
        self._group = telemetry.resource_group_name

        group = self._action_group()
        if isinstance(ctx.cluster, ClusterHandles):
            self._cluster_alerts(ctx.cluster.cluster_id, group.id)
        self._diagnostics(telemetry.log_workspace_id)

        self.log_workspace_id = telemetry.log_workspace_id
        self.app_insights_id = telemetry.app_insights_id
        self.alert_topic = group.id
        # Container Insights' workbooks, on the platform's workspace.
        self.dashboard_url = telemetry.log_workspace_id.apply(
            lambda workspace_id: f"https://portal.azure.com/#resource{workspace_id}/workbooks"
        )
        self.register_contract()

    def _action_group(self) -> monitor.ActionGroup:
        emails = [t for t in self._spec.notify if not t.startswith("https://")]
        hooks = [t for t in self._spec.notify if t.startswith("https://")]
        return monitor.ActionGroup(
            f"{self._name}-alerts",
            action_group_name=f"ag-{self._ctx.base_name}",
            resource_group_name=self._group,
            location="Global",
            group_short_name=action_group_short_name(self._ctx.base_name),
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"email-{naming.short_hash(t)}", email_address=t, use_common_alert_schema=True
                )
                for t in emails
            ],
            webhook_receivers=[
                monitor.WebhookReceiverArgs(
                    name=f"webhook-{naming.short_hash(t)}", service_uri=t, use_common_alert_schema=True
                )
                for t in hooks
            ],
            tags=self._ctx.tags(),
            opts=self._child,
        )

    def _cluster_alerts(self, cluster_id: pulumi.Output[str], action_group_id: pulumi.Output[str]) -> None:
        base, ctx = self._ctx.base_name, self._ctx
        monitor.MetricAlert(
            f"{self._name}-cluster-nodes-not-ready",
            rule_name=f"{base}-cluster-nodes-not-ready",
            resource_group_name=self._group,
            location="global",
            description="Worker nodes of the training cluster are not Ready (node condition Ready is false or "
            "unknown) for 10 of the last 15 minutes.",
            severity=1,
            enabled=True,
            scopes=[cluster_id],
            evaluation_frequency="PT5M",
            window_size="PT15M",
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name="NodesNotReady",
                        metric_namespace=AKS_METRICS,
                        metric_name="kube_node_status_condition",
                        dimensions=[
                            monitor.MetricDimensionArgs(name="condition", operator="Include", values=["Ready"]),
                            monitor.MetricDimensionArgs(name="status", operator="Include", values=["false", "unknown"]),
                        ],
                        operator="GreaterThan",
                        threshold=0,
                        time_aggregation="Average",
                    )
                ],
            ),
            auto_mitigate=True,
            actions=[monitor.MetricAlertActionArgs(action_group_id=action_group_id)],
            tags=ctx.tags(),
            opts=self._child,
        )
        floor = self._spec.gpu_utilization_low_percent
        monitor.ScheduledQueryRule(
            f"{self._name}-cluster-gpu-idle",
            rule_name=f"{base}-cluster-gpu-utilization-low",
            display_name=f"{base}: GPU utilisation low",
            resource_group_name=self._group,
            location=ctx.region,
            description=f"Average GPU utilisation of the training cluster stayed below {floor}% for an hour: "
            "GPUs are paid for and idle.",
            severity=3,
            enabled=True,
            kind="LogAlert",
            # Resource-centric: the query sees the cluster's Container Insights data only.
            scopes=[cluster_id],
            evaluation_frequency="PT15M",
            window_size="PT1H",
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                all_of=[
                    monitor.ConditionArgs(
                        query=GPU_DUTY_CYCLE_QUERY,
                        time_aggregation="Average",
                        metric_measure_column="AggregatedValue",
                        operator="LessThan",
                        threshold=floor,
                        failing_periods=monitor.ConditionFailingPeriodsArgs(
                            number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                        ),
                    )
                ]
            ),
            auto_mitigate=True,
            actions=monitor.ActionsArgs(action_groups=[action_group_id]),
            tags=ctx.tags(),
            # No GPU node running (a pool scaled to zero) returns no rows: not idle spend, no alert.
            opts=self._child,
        )

    def _diagnostics(self, workspace_id: pulumi.Output[str]) -> None:
        ctx = self._ctx
        targets: dict[str, tuple[pulumi.Input[str], list[monitor.DiagnosticsLogSettingsArgs]]] = {}
        all_logs = [monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)]
        if isinstance(ctx.registry, RegistryHandles):
            targets["registry"] = (ctx.registry.container_registry_id, all_logs)
            targets["ml-workspace"] = (ctx.registry.ml_workspace_id, all_logs)
        if ctx.storage is not None:
            blob = ctx.storage.bucket_ids.apply(lambda ids: f"{storage_account_id(ids)}/blobServices/default")
            blob_logs = [monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in STORAGE_LOG_CATEGORIES]
            targets["storage"] = (blob, blob_logs)
        for slug, (resource_uri, logs) in targets.items():
            monitor.DiagnosticSetting(
                f"{self._name}-diagnostics-{slug}",
                name=DIAGNOSTIC_SETTING_NAME,
                resource_uri=resource_uri,
                workspace_id=workspace_id,
                log_analytics_destination_type="Dedicated",
                logs=logs,
                opts=self._child,
            )
