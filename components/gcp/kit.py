"""GCP's kit: what the platform, the offline plan and the tools ask of GCP (see ``components/kit.py``).

Importing it imports no provider SDK; ``components()`` does.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

from mlfabric.components.gcp import capabilities, cost_inventory, fakes, spec_rules, tags, training_rules
from mlfabric.components.kit import CloudKit, no_prerequisites

if TYPE_CHECKING:
    from mlfabric.components.concerns import ConcernComponent
    from mlfabric.components.kubernetes.versions import VersionCalendar
    from mlfabric.components.spec import PlatformSpec

# GKE's minor versions, with sources and dates (ships in the wheel: package-data "*/*.json").
KUBERNETES_VERSIONS = Path(__file__).with_name("kubernetes_versions.json")


@functools.cache
def kubernetes_calendar() -> VersionCalendar:
    """GKE's version calendar, read once."""
    from mlfabric.components.kubernetes.versions import load_calendar

    return load_calendar(KUBERNETES_VERSIONS)


def _create_provider(name: str, spec: PlatformSpec, parent: pulumi.Resource) -> pulumi.ProviderResource:
    from mlfabric.components.gcp.provider import create_provider

    return create_provider(name, spec, parent)


def _components() -> tuple[type[ConcernComponent[Any]], ...]:
    from mlfabric.components.gcp.cluster import GcpTrainingCluster
    from mlfabric.components.gcp.monitoring import GcpMonitoring
    from mlfabric.components.gcp.network import GcpNetwork
    from mlfabric.components.gcp.notebooks import GcpNotebooks
    from mlfabric.components.gcp.rbac import GcpRbac
    from mlfabric.components.gcp.registry import GcpRegistry
    from mlfabric.components.gcp.serving import GcpServing
    from mlfabric.components.gcp.storage import GcpStorage
    from mlfabric.components.gcp.teams import GcpTeams
    from mlfabric.components.gcp.tracking import GcpTracking
    from mlfabric.components.kubernetes.batch import KubernetesBatch

    return (GcpNetwork, GcpStorage, GcpRegistry, GcpTrainingCluster, GcpTeams, GcpTracking, GcpMonitoring,
            GcpServing, GcpRbac, GcpNotebooks, KubernetesBatch)


KIT = CloudKit(
    cloud="gcp",
    package="gcp",
    create_provider=_create_provider,
    prerequisites=no_prerequisites,
    components=_components,
    fake_outputs=fakes.outputs,
    fake_invokes=fakes.INVOKES,
    spec_rules=spec_rules.problems,
    render_tags=tags.render_labels,
    cost_inventory=cost_inventory.COST_INVENTORY,
    capabilities=capabilities.CAPABILITIES,
    kubernetes_calendar=kubernetes_calendar,
    spec_notes=training_rules.interconnect_notes,
)
