"""Monitoring on Azure: the platform's Log Analytics workspace and Application Insights, where alerts
go, the cluster's health alerts, and diagnostic settings of the platform's resources.

Creates, in the platform's resource group:

- ``operationalinsights:Workspace`` ``log-<platform>-<env>`` (PerGB2018, the spec's
  ``log_retention_days``, Entra-only ingestion and resource-context access) and a workspace-based
  ``applicationinsights:Component`` ``appi-<platform>-<env>`` on it;
- ``monitor:ActionGroup`` ``ag-<platform>-<env>``: one e-mail or webhook receiver per spec notify
  target (common alert schema), named after the target so reordering the list replaces nothing;
- with a training cluster: a ``monitor:MetricAlert`` on AKS ``kube_node_status_condition`` (nodes
  not Ready for 10 of 15 minutes) and a ``monitor:ScheduledQueryRule`` on Container Insights GPU
  metrics (average GPU duty cycle below ``gpu_utilization_low_percent`` for an hour: idle spend);
- ``monitor:DiagnosticSetting`` ``mlfabric-monitoring`` into the workspace for the container
  registry and the Azure ML workspace (all logs), and for the storage account's blob service
  (read/write/delete). The cluster's control-plane audit logs are the cluster's own setting,
  because ``training.cluster.audit_logging`` decides them.

Where the workspace lives, and why: the registry (the Azure ML workspace needs Application Insights)
and the cluster (Container Insights) are built *before* monitoring, but only monitoring knows the
spec's retention. So monitoring owns both telemetry resources, and the earlier concerns hold a
``Telemetry`` handle whose ids are Pulumi deferred outputs: monitoring resolves them once it has
declared the workspace (``pulumi.deferred_output``). The engine still sees plain dependencies (the
cluster depends on the workspace), never a cycle. MLPlatform always builds monitoring; a program
that builds a registry or a cluster on its own must resolve the handle itself (``provide``), or its
deployment waits forever.

Endpoint alerts (latency, errors) are declared by serving, built after monitoring, which sends them
to ``alert_topic`` (the action group id), as on the other clouds.
"""

from __future__ import annotations

from typing import Any, Final, Protocol, runtime_checkable

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from mlfabric.components import naming
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


class Telemetry:
    """The platform's Log Analytics workspace and Application Insights ids, promised to concerns
    built before monitoring (registry, cluster) and resolved by monitoring."""

    def __init__(self) -> None:
        workspace: tuple[pulumi.Output[str], Any] = pulumi.deferred_output()
        insights: tuple[pulumi.Output[str], Any] = pulumi.deferred_output()
        self.log_workspace_id, self._resolve_workspace = workspace
        self.app_insights_id, self._resolve_insights = insights
        self.provided = False

    def provide(self, log_workspace_id: pulumi.Input[str], app_insights_id: pulumi.Input[str]) -> None:
        """Resolve the promised ids (once)."""
        if self.provided:
            raise pulumi.RunError("the platform's telemetry handle was resolved twice")
        self.provided = True
        self._resolve_workspace(pulumi.Output.from_input(log_workspace_id))
        self._resolve_insights(pulumi.Output.from_input(app_insights_id))


@runtime_checkable
class HasTelemetry(Protocol):
    """An Azure component built before monitoring that needed the platform's telemetry."""

    telemetry: Telemetry


@runtime_checkable
class RegistryHandles(Protocol):
    """What monitoring reads from the Azure registry component (diagnostic settings)."""

    container_registry_id: pulumi.Output[str]
    ml_workspace_id: pulumi.Output[str]


@runtime_checkable
class ClusterHandles(Protocol):
    """What monitoring reads from the Azure cluster component (alerts)."""

    cluster_id: pulumi.Output[str]


def telemetry_for(ctx: PlatformContext) -> Telemetry:
    """The telemetry handle an earlier concern already holds, or a new one (monitoring resolves it)."""
    return pending_telemetry(ctx) or Telemetry()


def pending_telemetry(ctx: PlatformContext) -> Telemetry | None:
    for earlier in (ctx.network, ctx.storage, ctx.registry, ctx.cluster):
        if isinstance(earlier, HasTelemetry):
            return earlier.telemetry
    return None


def storage_account_id(bucket_ids: dict[str, str]) -> str:
    """The storage account a platform's blob containers live in (from any container's resource id)."""
    for container_id in bucket_ids.values():
        return container_id.split("/blobServices/", 1)[0]
    raise pulumi.RunError("storage: no blob container to find the platform's storage account from")


def action_group_short_name(base_name: str) -> str:
    """Azure allows 12 characters; longer platform names keep a stable hash suffix."""
    if len(base_name) <= _GROUP_SHORT_NAME_LENGTH:
        return base_name
    return base_name[: _GROUP_SHORT_NAME_LENGTH - 5] + "-" + naming.short_hash(base_name, length=4)


class AzureMonitoring(pulumi.ComponentResource):
    """Log Analytics + Application Insights, the alert action group, cluster alerts, diagnostics."""

    alert_topic: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    # Azure only: what serving and RBAC read.
    log_workspace_id: pulumi.Output[str]
    app_insights_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: MonitoringSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlfabric:monitoring:AzureMonitoring", name, None, opts)
        if ctx.resource_group_name is None:
            raise ValueError("AzureMonitoring needs ctx.resource_group_name (mlfabric.components.azure.provider.shared_handles)")
        self._name = name
        self._spec = spec
        self._ctx = ctx
        self._group: pulumi.Output[str] = ctx.resource_group_name
        self._child = pulumi.ResourceOptions(parent=self)
        base = ctx.base_name

        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=f"log-{base}",
            resource_group_name=self._group,
            location=ctx.region,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=spec.log_retention_days,
            features=operationalinsights.WorkspaceFeaturesArgs(
                # Agents and services write with Entra tokens only, never the shared workspace keys.
                disable_local_auth=True,
                # A reader of a resource sees that resource's logs, not the whole workspace.
                enable_log_access_using_only_resource_permissions=True,
            ),
            tags=ctx.tags(),
            # Logs are evidence: protected and retained like the data they describe.
            opts=ctx.stateful(self),
        )
        insights = applicationinsights.Component(
            f"{name}-insights",
            resource_name_=f"appi-{base}",
            resource_group_name=self._group,
            location=ctx.region,
            kind="web",
            application_type="web",
            workspace_resource_id=workspace.id,
            ingestion_mode="LogAnalytics",
            tags=ctx.tags(),
            opts=self._child,
        )
        pending = pending_telemetry(ctx)
        if pending is not None:
            pending.provide(workspace.id, insights.id)

        group = self._action_group()
        if isinstance(ctx.cluster, ClusterHandles):
            self._cluster_alerts(ctx.cluster.cluster_id, group.id)
        self._diagnostics(workspace.id)

        self.log_workspace_id = workspace.id
        self.app_insights_id = insights.id
        self.alert_topic = group.id
        # Container Insights' workbooks, on the platform's workspace.
        self.dashboard_url = workspace.id.apply(
            lambda workspace_id: f"https://portal.azure.com/#resource{workspace_id}/workbooks"
        )
        self.register_outputs({"alert_topic": self.alert_topic, "dashboard_url": self.dashboard_url})

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
            targets["storage"] = (blob, [monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in STORAGE_LOG_CATEGORIES])
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
