"""Azure's kit: what the platform, the offline plan and the tools ask of Azure (see ``components/kit.py``).

Importing it imports no provider SDK; ``components()`` does.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

from mlfabric.components import naming
from mlfabric.components.azure import capabilities, cost_inventory, fakes, spec_rules
from mlfabric.components.kit import CloudKit

if TYPE_CHECKING:
    from mlfabric.components.concerns import ConcernComponent
    from mlfabric.components.context import PlatformContext
    from mlfabric.components.kubernetes.versions import VersionCalendar
    from mlfabric.components.spec import PlatformSpec


def _create_provider(name: str, spec: PlatformSpec, parent: pulumi.Resource) -> pulumi.ProviderResource:
    from mlfabric.components.azure.provider import create_provider

    return create_provider(name, spec, parent)


def _prerequisites(
    name: str, spec: PlatformSpec, ctx: PlatformContext, opts: pulumi.ResourceOptions
) -> PlatformContext:
    from mlfabric.components.azure.prerequisites import create_prerequisites

    return create_prerequisites(name, spec, ctx, opts)


def _components() -> tuple[type[ConcernComponent[Any]], ...]:
    from mlfabric.components.azure.cluster import AzureTrainingCluster
    from mlfabric.components.azure.monitoring import AzureMonitoring
    from mlfabric.components.azure.network import AzureNetwork
    from mlfabric.components.azure.notebooks import AzureNotebooks
    from mlfabric.components.azure.rbac import AzureRbac
    from mlfabric.components.azure.registry import AzureRegistry
    from mlfabric.components.azure.serving import AzureServing
    from mlfabric.components.azure.storage import AzureStorage
    from mlfabric.components.azure.teams import AzureTeams
    from mlfabric.components.azure.tracking import AzureTracking

    return (AzureNetwork, AzureStorage, AzureRegistry, AzureTrainingCluster, AzureTeams, AzureMonitoring,
            AzureServing, AzureRbac, AzureTracking, AzureNotebooks)


# AKS's minor versions with release, end of community support and end of LTS, each with its source.
CALENDAR_PATH = Path(__file__).with_name("kubernetes_versions.json")


@functools.cache
def aks_calendar() -> VersionCalendar:
    """The AKS version calendar (read once)."""
    from mlfabric.components.kubernetes.versions import load_calendar

    return load_calendar(CALENDAR_PATH)


KIT = CloudKit(
    cloud="azure",
    package="azure-native",
    create_provider=_create_provider,
    prerequisites=_prerequisites,
    components=_components,
    fake_outputs=fakes.outputs,
    fake_invokes=fakes.INVOKES,
    spec_rules=spec_rules.problems,
    render_tags=naming.as_given,
    cost_inventory=cost_inventory.COST_INVENTORY,
    capabilities=capabilities.CAPABILITIES,
    kubernetes_calendar=aks_calendar,
    spec_notes=spec_rules.interconnect_notes,
)
