"""What a cloud's home hands the platform: its kit.

Each cloud folder (``components/aws``, ``components/gcp``, ``components/azure``) has a ``kit.py``
whose ``KIT`` says everything the cloud-neutral code needs from that cloud: how to create the
provider and the cloud-wide prerequisites, which component fulfils each concern, the fake answers
the offline plan gives for the cloud's resource types, the spec rules that hold only on that cloud,
how it renders tags and what its plans cost. Importing a kit imports no provider SDK: the
component classes are loaded when ``components()`` is called, so validating a spec or pricing a
plan never pays for an SDK, and a single-cloud stack never loads another cloud's SDK.

Adding a cloud is one new folder with a ``kit.py`` (see CONTRIBUTING.md); ``kit_for`` finds it by
the spec's ``cloud`` value, the one place a cloud's name becomes a module path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

if TYPE_CHECKING:
    from mlfabric.components.capabilities import Capability
    from mlfabric.components.concerns import ConcernComponent
    from mlfabric.components.context import PlatformContext
    from mlfabric.components.costing import CostInventory
    from mlfabric.components.fakes import World
    from mlfabric.components.kubernetes.versions import VersionCalendar
    from mlfabric.components.spec import PlatformSpec, Problems

ProviderFactory = Callable[[str, "PlatformSpec", pulumi.Resource], pulumi.ProviderResource]
# (platform name, spec, context, options for children) -> the context with the cloud's prerequisites
Prerequisites = Callable[[str, "PlatformSpec", "PlatformContext", pulumi.ResourceOptions], "PlatformContext"]
FakeOutputs = Callable[[str, str, dict[str, Any], "World"], dict[str, Any]]
FakeInvoke = Callable[[dict[str, Any], "World"], dict[str, Any]]
# spec -> (field path, message) for each rule of the cloud the spec breaks
SpecRules = Callable[["PlatformSpec"], "Problems"]
# spec -> notes ``validate`` and ``plan`` print for what the cloud does with a valid spec
SpecNotes = Callable[["PlatformSpec"], list[str]]
# merged tags -> the tags as the cloud takes them (raises naming.NamingError for one it cannot take)
TagRenderer = Callable[[Mapping[str, str]], dict[str, str]]


@dataclass(frozen=True)
class CloudKit:
    """Everything the platform, the offline plan and the tools ask of one cloud."""

    cloud: str
    # the Pulumi package prefix of the cloud's resource types (``aws``, ``gcp``, ``azure-native``)
    package: str
    create_provider: ProviderFactory
    prerequisites: Prerequisites
    # the component classes, one per concern the cloud builds (loaded on call: they import the SDK)
    components: Callable[[], tuple[type[ConcernComponent[Any]], ...]]
    fake_outputs: FakeOutputs
    fake_invokes: Mapping[str, FakeInvoke]
    # what the spec must satisfy on this cloud only, checked after the cloud-neutral rules
    spec_rules: SpecRules
    # merged tags rendered as the cloud takes them (GCP: lowercased labels)
    render_tags: TagRenderer
    # what the cloud's plans run and what its resource types cost, for ``mlfabric cost``
    cost_inventory: CostInventory
    # what the cloud does with each spec field (``components/capabilities.py``)
    capabilities: tuple[Capability, ...] = ()
    # the managed Kubernetes service's versions (``components/kubernetes/versions.py``); loaded on call
    kubernetes_calendar: Callable[[], VersionCalendar] | None = None
    # notes on what the cloud gives a valid spec (e.g. a GPU pool's interconnect), for validate and plan
    spec_notes: SpecNotes | None = None


def no_prerequisites(
    name: str, spec: PlatformSpec, ctx: PlatformContext, opts: pulumi.ResourceOptions
) -> PlatformContext:
    """For clouds whose concerns need nothing created before them."""
    del name, spec, opts
    return ctx


def kit_for(cloud: str) -> CloudKit:
    """The kit of the cloud the spec names."""
    kit: CloudKit = importlib.import_module(f"mlfabric.components.{cloud}.kit").KIT
    return kit


def build_order(components: Iterable[type[ConcernComponent[Any]]]) -> list[type[ConcernComponent[Any]]]:
    """The components in an order where each comes after every concern it needs (a stable
    topological sort: ties keep the kit's order). A need the kit does not build is skipped."""
    pending = list(components)
    present = {c.concern for c in pending}
    done: set[str] = set()
    ordered: list[type[ConcernComponent[Any]]] = []
    while pending:
        ready = next(
            (c for c in pending if all(n in done or n not in present for n in c.needs)), None
        )
        if ready is None:
            cycle = ", ".join(f"{c.concern} needs {list(c.needs)}" for c in pending)
            raise ValueError(f"concerns that need each other cannot be built: {cycle}")
        ordered.append(ready)
        done.add(ready.concern)
        pending.remove(ready)
    return ordered
