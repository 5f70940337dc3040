"""AWS's kit: what the platform, the offline plan and the tools ask of AWS (see ``components/kit.py``).

Importing it imports no provider SDK; ``components()`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from mlfabric.components import naming
from mlfabric.components.aws import capabilities, cost_inventory, fakes, spec_rules
from mlfabric.components.aws.versions import eks_calendar
from mlfabric.components.kit import CloudKit, no_prerequisites

if TYPE_CHECKING:
    from mlfabric.components.concerns import ConcernComponent
    from mlfabric.components.spec import PlatformSpec


def _create_provider(name: str, spec: PlatformSpec, parent: pulumi.Resource) -> pulumi.ProviderResource:
    from mlfabric.components.aws.provider import create_provider

    return create_provider(name, spec, parent)


def _components() -> tuple[type[ConcernComponent[Any]], ...]:
    from mlfabric.components.aws.cluster import AwsTrainingCluster
    from mlfabric.components.aws.monitoring import AwsMonitoring
    from mlfabric.components.aws.network import AwsNetwork
    from mlfabric.components.aws.notebooks import AwsNotebooks
    from mlfabric.components.aws.rbac import AwsRbac
    from mlfabric.components.aws.registry import AwsRegistry
    from mlfabric.components.aws.serving import AwsServing
    from mlfabric.components.aws.storage import AwsStorage
    from mlfabric.components.aws.teams import AwsTeams
    from mlfabric.components.aws.tracking import AwsTracking
    from mlfabric.components.kubernetes.batch import KubernetesBatch

    return (AwsNetwork, AwsStorage, AwsRegistry, AwsTrainingCluster, AwsTeams, AwsTracking, AwsNotebooks,
            AwsMonitoring, AwsServing, AwsRbac, KubernetesBatch)


KIT = CloudKit(
    cloud="aws",
    package="aws",
    create_provider=_create_provider,
    prerequisites=no_prerequisites,
    components=_components,
    fake_outputs=fakes.outputs,
    fake_invokes=fakes.INVOKES,
    spec_rules=spec_rules.problems,
    render_tags=naming.as_given,
    cost_inventory=cost_inventory.COST_INVENTORY,
    capabilities=capabilities.CAPABILITIES,
    kubernetes_calendar=eks_calendar,
    spec_notes=spec_rules.notes,
)
