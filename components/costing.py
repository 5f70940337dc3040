"""The cloud-neutral vocabulary of a cost estimate, shared by ``mlfabric cost`` and each cloud's
``cost_inventory`` (what that cloud's plans run and cost, reached through its kit).

Defines: the inventory a plan runs (clusters, node pools, endpoint variants), the line item a price
becomes, the rule that prices a resource type per unit (:class:`Counted`), what a cloud's cost
inventory hands the estimate (:class:`CostInventory`), and the spec-derived inventory of a cloud
whose components are not read from the plan yet. Nothing here names a cloud or imports an SDK, and
nothing reads ``mlfabric.plan`` itself: a cost inventory sees a plan through :class:`PlanView`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mlfabric.components import catalog, prices
from mlfabric.components.catalog import Cloud

if TYPE_CHECKING:
    from mlfabric.components.spec import EndpointSpec, PlatformSpec

class RecordView(Protocol):
    """One recorded registration, as a cost inventory reads it."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...


class PlanView(Protocol):
    """An offline plan, as a cost inventory reads it (``mlfabric.plan.Plan`` is one)."""

    @property
    def spec(self) -> PlatformSpec: ...
    @property
    def custom_resources(self) -> Sequence[RecordView]: ...
    @property
    def components(self) -> Sequence[RecordView]: ...
    def of_type(self, type_token: str) -> Sequence[RecordView]: ...


# --- inventory -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodePool:
    """One autoscaled group of identical nodes."""

    name: str                      # spec pool name, or "system"
    role: Literal["system", "gpu"]
    machine: str
    min_nodes: int
    max_nodes: int
    spot: bool
    disk_gib: int
    logical: str = ""              # the node group's logical name in the plan ("" from the spec)

    @property
    def gpu(self) -> bool:
        return self.role == "gpu"


@dataclass(frozen=True)
class Variant:
    """One model version's fleet behind an endpoint."""

    name: str                      # main, challenger or shadow
    instance: str
    min_replicas: int
    max_replicas: int
    shadow: bool = False


@dataclass(frozen=True)
class Endpoint:
    name: str                      # spec endpoint name
    physical: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class Cluster:
    name: str
    version: str
    logical: str = ""


@dataclass
class Inventory:
    """What a plan runs: clusters, node pools and serving endpoints with their scaling bounds."""

    cloud: Cloud
    region: str
    clusters: list[Cluster] = field(default_factory=list)
    pools: list[NodePool] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    # "plan" when read from the registrations, "spec" when derived from the spec (see spec_inventory)
    source: Literal["plan", "spec"] = "plan"


def as_int(value: Any, default: int = 0) -> int:
    """A recorded integer input (under the mock runtime integers arrive as floats)."""
    return int(value) if isinstance(value, int | float) else default


def _has_component(plan: PlanView, concern: str) -> bool:
    return any(r.type.startswith(f"mlfabric:{concern}:") for r in plan.components)


def _serving_instance(spec: PlatformSpec, endpoint: EndpointSpec, default_instance: str) -> str:
    if endpoint.instance is not None:
        return endpoint.instance
    if endpoint.accelerator is not None:
        return catalog.gpu_shape(spec.cloud, endpoint.accelerator).machine
    return default_instance


def _spec_pools(spec: PlatformSpec, system_disk_gib: int) -> list[NodePool]:
    if spec.training is None:
        return []
    system = spec.training.cluster.system_pool
    pools = [NodePool("system", "system", system.machine or catalog.DEFAULT_SYSTEM_MACHINE[spec.cloud],
                      system.min_nodes, system.max_nodes, False, system_disk_gib)]
    for pool in spec.training.gpu_pools:
        shape = catalog.gpu_shape(spec.cloud, pool.accelerator, pool.gpus_per_node)
        pools.append(NodePool(pool.name, "gpu", shape.machine, pool.min_nodes, pool.max_nodes, pool.spot,
                              pool.disk_gib))
    return pools


def _spec_endpoints(spec: PlatformSpec, default_instance: str) -> list[Endpoint]:
    if spec.serving is None:
        return []
    endpoints: list[Endpoint] = []
    for endpoint in spec.serving.endpoints:
        instance = _serving_instance(spec, endpoint, default_instance)
        names = ["main"]
        names += ["challenger"] if endpoint.traffic.challenger else []
        variants = [Variant(n, instance, endpoint.min_replicas, endpoint.max_replicas) for n in names]
        if endpoint.traffic.shadow is not None:
            variants.append(Variant("shadow", instance, endpoint.min_replicas, endpoint.max_replicas, shadow=True))
        endpoints.append(Endpoint(endpoint.name, f"{spec.base_name}-{endpoint.name}", tuple(variants)))
    return endpoints


def spec_inventory(plan: PlanView, *, system_disk_gib: int, default_instance: str) -> Inventory:
    """Pools and endpoints derived from the spec, for a cloud whose components are not read from the
    plan yet — and only when the plan holds the concern's component (a concern not built on that
    cloud costs nothing: costs are what exists). ``system_disk_gib`` is the cloud's system pool boot
    disk; ``default_instance`` serves an endpoint that names neither instance nor accelerator."""
    spec = plan.spec
    version = spec.training.cluster.version if spec.training else ""
    built = _has_component(plan, "cluster")
    return Inventory(
        spec.cloud,
        spec.region,
        [Cluster(spec.base_name, version)] if built else [],
        _spec_pools(spec, system_disk_gib) if built else [],
        _spec_endpoints(spec, default_instance) if _has_component(plan, "serving") else [],
        "spec",
    )


# --- line items ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    """One billable thing: units idle and at full scale, times a monthly unit price."""

    component: str                 # concern: network, cluster, serving, storage, registry, monitoring
    item: str
    unit: str                      # what one unit is: node, replica, gateway, GiB, key, ...
    idle_units: float
    full_units: float
    usd_per_unit_month: float | None   # None: no list price known (not in the totals)
    source: str = ""
    as_of: str = ""
    gpu: bool = False
    note: str = ""

    @property
    def idle_usd(self) -> float:
        return self.idle_units * (self.usd_per_unit_month or 0.0)

    @property
    def full_usd(self) -> float:
        return self.full_units * (self.usd_per_unit_month or 0.0)

    @property
    def priced(self) -> bool:
        return self.usd_per_unit_month is not None


def price_source(price: prices.UnitPrice | None) -> tuple[str, str]:
    """A price's source as a line item shows it: ``(url (region), as_of)``."""
    if price is None:
        return "", ""
    return f"{price.source.url} ({price.source.region})", price.source.as_of


def concern_of(record: RecordView) -> str:
    """The concern a resource belongs to, from the component types in its URN."""
    chain = record.urn.split("::")[2] if record.urn.count("::") >= 3 else ""
    for token in chain.split("$"):
        parts = token.split(":")
        if len(parts) == 3 and parts[0] == "mlfabric" and parts[1] != "platform":
            return parts[1]
    return "platform"


def _one_unit(inputs: dict[str, Any]) -> float:
    del inputs
    return 1.0


@dataclass(frozen=True)
class Counted:
    """A resource type billed per unit: how to recognise it, what it costs, how many units it is."""

    pattern: re.Pattern[str]
    key: prices.ServiceKey | Callable[[dict[str, Any]], prices.ServiceKey | None]
    label: str
    unit: str
    units: Callable[[dict[str, Any]], float] = _one_unit
    # Infrastructure (control planes, gateways, addresses) lists before a component's nodes and
    # replicas; overheads (keys, alarms, dashboards) after them.
    overhead: bool = False


def exact(token: str) -> re.Pattern[str]:
    """A pattern that matches one type token and nothing else."""
    return re.compile(rf"^{re.escape(token)}$")


# --- what a cloud hands the estimate -----------------------------------------------------------------


def no_extra_items(plan: PlanView, inventory: Inventory) -> list[LineItem]:
    """For clouds whose every charge is a counted resource, a node pool or an endpoint."""
    del plan, inventory
    return []


@dataclass(frozen=True)
class CostInventory:
    """What one cloud's plans run and what its resource types cost (a kit's ``cost_inventory``)."""

    # the clusters, pools and endpoints a plan of this cloud runs
    read: Callable[[PlanView], Inventory]
    # resource types billed per unit, first match wins
    counted: tuple[Counted, ...]
    # what the cloud's line items leave out or approximate, given what the plan runs
    notes: Callable[[Inventory], list[str]]
    # charges that fit none of the above (GCP's Cloud NAT bills per VM behind the gateway)
    extra_items: Callable[[PlanView, Inventory], list[LineItem]] = no_extra_items
