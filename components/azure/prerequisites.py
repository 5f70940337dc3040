"""What every Azure concern needs before it is built: the platform's resource group and its
telemetry (a Log Analytics workspace and a workspace-based Application Insights).

Creates, with the options the platform gives (its children, on its Azure provider):

- ``resources:ResourceGroup`` ``rg-<platform>-<env>``: every Azure resource of the platform lives
  in it;
- ``operationalinsights:Workspace`` ``log-<platform>-<env>`` (PerGB2018, the spec's
  ``monitoring.log_retention_days``, Entra-only ingestion, resource-context access);
- ``applicationinsights:Component`` ``appi-<platform>-<env>`` on that workspace.

With deletion protection (prod) the group and the workspace are protected and retained: deleting a
group deletes everything in it, and logs are evidence. Concerns read the handles with
``prerequisites_of(ctx)``.

The registry (the Azure ML workspace needs Application Insights), the cluster (Container Insights)
and monitoring (diagnostic settings, alerts) all read the telemetry, so it is created here, first.
The workspace and Application Insights used to be children of the monitoring component: each carries
an alias to that former URN, so no deployed workspace is replaced by the move.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import applicationinsights, operationalinsights

from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import PlatformSpec

# The component the telemetry resources were children of before they became prerequisites.
MONITORING_COMPONENT = "mlfabric:monitoring:AzureMonitoring"
# Pulumi's mock runtime counts the root stack as a parent in URNs; the engine never does.
_ROOT_STACK = "pulumi:pulumi:Stack$"


@dataclass(frozen=True)
class AzurePrerequisites:
    """The handles every Azure concern reads from ``ctx.prerequisites``."""

    resource_group_name: pulumi.Output[str]
    log_workspace_id: pulumi.Output[str]
    app_insights_id: pulumi.Output[str]


def prerequisites_of(ctx: PlatformContext) -> AzurePrerequisites:
    """The platform's Azure prerequisites; a clear error where a program built a concern without them."""
    if not isinstance(ctx.prerequisites, AzurePrerequisites):
        raise pulumi.RunError(
            "an Azure concern needs ctx.prerequisites from "
            "mlfabric.components.azure.prerequisites.create_prerequisites (MLPlatform creates them)"
        )
    return ctx.prerequisites


def child_urn(parent_urn: str, type_: str, name: str) -> str:
    """The URN the engine gives a child ``type_`` named ``name`` of the resource ``parent_urn``.

    A URN is ``urn:pulumi:<stack>::<project>::<parent types $-joined>$<type>::<name>``. The root
    stack is no parent in the engine's URNs; under the mock runtime it is, so it is dropped here.
    """
    qualified, _, _ = parent_urn.rpartition("::")
    prefix, _, parent_types = qualified.rpartition("::")
    return f"{prefix}::{parent_types.removeprefix(_ROOT_STACK)}${type_}::{name}"


def former_monitoring_parent(name: str, parent: pulumi.Resource | None) -> pulumi.Alias:
    """An alias to where a telemetry resource lived before it became a prerequisite: under the
    monitoring component ``name``, a child of ``parent`` (the platform)."""
    if parent is None:
        return pulumi.Alias(parent=pulumi.create_urn(name, MONITORING_COMPONENT))
    return pulumi.Alias(parent=parent.urn.apply(lambda urn: child_urn(urn, MONITORING_COMPONENT, name)))


def create_prerequisites(
    name: str, spec: PlatformSpec, ctx: PlatformContext, opts: pulumi.ResourceOptions
) -> PlatformContext:
    """Create the resource group and the telemetry; return the context that carries them.

    ``opts`` (parent, provider) are kept on every resource: they are the platform's own."""
    protected = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(protect=spec.deletion_protection, retain_on_delete=spec.deletion_protection)
    )
    moved = pulumi.ResourceOptions(aliases=[former_monitoring_parent(name, opts.parent)])
    group = azure_native.resources.ResourceGroup(
        f"{name}-rg",
        resource_group_name=f"rg-{spec.base_name}",
        location=spec.region,
        tags=ctx.tags(),
        opts=protected,
    )
    workspace = operationalinsights.Workspace(
        f"{name}-logs",
        workspace_name=f"log-{spec.base_name}",
        resource_group_name=group.name,
        location=spec.region,
        sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=spec.monitoring.log_retention_days,
        features=operationalinsights.WorkspaceFeaturesArgs(
            # Agents and services write with Entra tokens only, never the shared workspace keys.
            disable_local_auth=True,
            # A reader of a resource sees that resource's logs, not the whole workspace.
            enable_log_access_using_only_resource_permissions=True,
        ),
        tags=ctx.tags(),
        opts=pulumi.ResourceOptions.merge(protected, moved),
    )
    insights = applicationinsights.Component(
        f"{name}-insights",
        resource_name_=f"appi-{spec.base_name}",
        resource_group_name=group.name,
        location=spec.region,
        kind="web",
        application_type="web",
        workspace_resource_id=workspace.id,
        ingestion_mode="LogAnalytics",
        tags=ctx.tags(),
        opts=pulumi.ResourceOptions.merge(opts, moved),
    )
    return ctx.with_handles(
        prerequisites=AzurePrerequisites(
            resource_group_name=group.name, log_workspace_id=workspace.id, app_insights_id=insights.id
        )
    )
