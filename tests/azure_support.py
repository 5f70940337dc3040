"""Azure component tests: the prerequisites MLPlatform creates before any Azure concern."""

from __future__ import annotations

import pulumi

from mlfabric.components.azure.prerequisites import AzurePrerequisites

SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"
GROUP_ID = f"{SUBSCRIPTION}/resourceGroups/rg-x"
WORKSPACE_ID = f"{GROUP_ID}/providers/Microsoft.OperationalInsights/workspaces/log-x"
INSIGHTS_ID = f"{GROUP_ID}/providers/Microsoft.Insights/components/appi-x"


def prerequisites(workspace_id: str = WORKSPACE_ID, insights_id: str = INSIGHTS_ID) -> AzurePrerequisites:
    """Fixed handles for a component built alone: group ``rg-x`` and its telemetry."""
    return AzurePrerequisites(
        resource_group_name=pulumi.Output.from_input("rg-x"),
        log_workspace_id=pulumi.Output.from_input(workspace_id),
        app_insights_id=pulumi.Output.from_input(insights_id),
    )

