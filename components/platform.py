"""MLPlatform: composes one component per concern for the spec's cloud.

Only the chosen cloud's modules are imported (``importlib``), so a single-cloud stack never loads
another cloud's SDK. Concerns are built in dependency order and hand their outputs on through the
context; which concerns exist is decided here and nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from mlfabric.components.concerns import (
    ClusterOutputs,
    MonitoringOutputs,
    NetworkOutputs,
    RbacOutputs,
    RegistryOutputs,
    ServingOutputs,
    StorageOutputs,
)
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import PlatformSpec

# Every concern's component takes (name, spec section, context, options, **sections it also reads).
ComponentFactory = Callable[..., pulumi.ComponentResource]


@dataclass(frozen=True)
class Concern:
    """One concern: where its spec lives, what it exposes, and which class builds it per cloud."""

    name: str
    section: str
    outputs: type
    classes: dict[str, str]
    # Built whenever the spec section is present; `needed_by` adds sections that require it too.
    needed_by: tuple[str, ...] = ()
    # Stack-output names that differ from the component's attribute names.
    export_as: tuple[tuple[str, str], ...] = ()
    # Other spec sections the component reads, passed as keyword arguments (section name = keyword),
    # on every cloud and on one cloud only (e.g. the `gcp:` block's release channel for GKE).
    reads: tuple[str, ...] = ()
    cloud_reads: tuple[tuple[str, tuple[str, ...]], ...] = ()


# In dependency order: each concern may read the handles of those above it from the context.
CONCERNS: Final[tuple[Concern, ...]] = (
    Concern("network", "network", NetworkOutputs, {"aws": "AwsNetwork", "gcp": "GcpNetwork", "azure": "AzureNetwork"},
            needed_by=("training", "serving")),
    Concern("storage", "storage", StorageOutputs, {"aws": "AwsStorage", "gcp": "GcpStorage", "azure": "AzureStorage"},
            export_as=(("encryption_key_id", "storage_key_id"),)),
    Concern("registry", "registry", RegistryOutputs, {"aws": "AwsRegistry", "gcp": "GcpRegistry", "azure": "AzureRegistry"}),
    Concern("cluster", "training", ClusterOutputs, {"aws": "AwsTrainingCluster", "gcp": "GcpTrainingCluster",
                                                     "azure": "AzureTrainingCluster"},
            cloud_reads=(("gcp", ("gcp",)),)),
    Concern("monitoring", "monitoring", MonitoringOutputs, {"aws": "AwsMonitoring", "gcp": "GcpMonitoring",
                                                           "azure": "AzureMonitoring"}),
    # Alarm thresholds live in the monitoring section; serving builds the alarms its rollouts watch.
    Concern("serving", "serving", ServingOutputs, {"aws": "AwsServing", "gcp": "GcpServing", "azure": "AzureServing"}, reads=("monitoring",)),
    Concern("rbac", "rbac", RbacOutputs, {"aws": "AwsRbac", "gcp": "GcpRbac", "azure": "AzureRbac"}),
)

def component_class(concern: Concern, cloud: str) -> ComponentFactory:
    """The ComponentResource class that implements ``concern`` on ``cloud``."""
    module = importlib.import_module(f"mlfabric.components.{cloud}.{concern.name}")
    cls: ComponentFactory = getattr(module, concern.classes[cloud])
    return cls


def _wanted(concern: Concern, spec: PlatformSpec) -> bool:
    """Whether the spec asks for a concern (monitoring and rbac always; network when compute needs it)."""
    if concern.needed_by:
        return any(getattr(spec, section) is not None for section in concern.needed_by)
    return getattr(spec, concern.section) is not None


class MLPlatform(pulumi.ComponentResource):
    """A complete ML platform on one cloud, from one spec.

    Public results are the stack outputs (`stack_outputs()`): identity (cloud, region, environment)
    and, for every concern built, the attributes of its output Protocol.
    """

    cloud: pulumi.Output[str]
    region: pulumi.Output[str]
    environment: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: PlatformSpec,
        account: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlfabric:platform:MLPlatform", name, None, opts)
        provider_module = importlib.import_module(f"mlfabric.components.{spec.cloud}.provider")
        provider = provider_module.create_provider(name, spec, self)
        child = pulumi.ResourceOptions(parent=self, providers=[provider])
        ctx = PlatformContext.from_spec(spec, account=account)
        # Cloud-wide prerequisites every concern needs (Azure: the resource group).
        ctx = ctx.with_handles(**provider_module.shared_handles(name, spec, ctx, child))

        self.cloud = pulumi.Output.from_input(spec.cloud)
        self.region = pulumi.Output.from_input(spec.region)
        self.environment = pulumi.Output.from_input(spec.environment)
        self._exports: dict[str, Any] = {}
        for concern in CONCERNS:
            if not _wanted(concern, spec):
                continue
            if spec.cloud not in concern.classes:
                pulumi.log.warn(
                    f"{concern.section}: not yet built on {spec.cloud} by this mlfabric version; nothing declared",
                    self,
                )
                continue
            sections = concern.reads + dict(concern.cloud_reads).get(spec.cloud, ())
            extra = {section: getattr(spec, section) for section in sections}
            component = component_class(concern, spec.cloud)(name, getattr(spec, concern.section), ctx, child, **extra)
            ctx = ctx.with_handles(**{concern.name: component})
            self._export(concern, component)
        self.register_outputs(self.stack_outputs())

    def _export(self, concern: Concern, component: pulumi.ComponentResource) -> None:
        renamed = dict(concern.export_as)
        for attribute in concern.outputs.__annotations__:
            self._exports[renamed.get(attribute, attribute)] = getattr(component, attribute)

    def stack_outputs(self) -> dict[str, Any]:
        """What `pulumi stack output --json` shows; CI jobs and `mlfabric verify` read these."""
        return {"cloud": self.cloud, "region": self.region, "environment": self.environment, **self._exports}
