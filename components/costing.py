"""The cloud-neutral vocabulary of a cost estimate, shared by ``mlfabric cost`` and each cloud's
``cost_inventory`` (what that cloud's plans run and cost, reached through its kit).

Defines: the inventory a plan runs (clusters, node pools, endpoint variants), the line item a price
becomes, the rule that prices a resource type per unit (:class:`Counted`), what a cloud's cost
inventory hands the estimate (:class:`CostInventory`). Every cloud reads its inventory from the plan's
registrations (what the program declared, not what the spec implies). Nothing here names a cloud or imports an SDK, and
nothing reads ``mlfabric.plan`` itself: a cost inventory sees a plan through :class:`PlanView`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mlfabric.components import prices
from mlfabric.components.catalog import Cloud

if TYPE_CHECKING:
    from mlfabric.components.kubernetes.versions import VersionCalendar
    from mlfabric.components.spec import PlatformSpec

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
    # how the boot disk is billed: "gib" (per GiB-month), "tier" (Azure managed disk tiers), "none"
    # (ephemeral OS disks live on the VM's cache/temp disk)
    disk_billing: Literal["gib", "tier", "none"] = "gib"

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
    # Cloud Run services (billed per instance: vCPU-seconds, GiB-seconds and GPU-seconds)
    cpu: float = 0.0
    memory_gib: float = 0.0
    gpu: str = ""                  # accelerator of one instance ("nvidia-l4"), "" for none
    zonal_redundancy: bool = False


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
    # "plan": read from the registrations (every cloud reads its plan; "spec" is kept for old callers)
    source: Literal["plan", "spec"] = "plan"


def as_int(value: Any, default: int = 0) -> int:
    """A recorded integer input (under the mock runtime integers arrive as floats)."""
    return int(value) if isinstance(value, int | float) else default


# --- line items ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    """One billable thing: units idle and at full scale, times a monthly unit price."""

    component: str                 # concern: network, cluster, serving, storage, registry, monitoring
    item: str
    unit: str                      # what one unit is: node, replica, gateway, GiB, key, ...
    idle_units: float
    full_units: float
    usd_per_unit_month: float | None   # None: no list price known (named as unpriced, not in the totals)
    source: str = ""
    as_of: str = ""
    gpu: bool = False
    note: str = ""
    verified: bool = True              # False: the price file marks the figure as not re-read
    # a spot item's price range per unit-month (low, high); the totals use the high end
    usd_range: tuple[float, float] | None = None

    @property
    def idle_usd(self) -> float:
        """Idle cost; 0 for an unpriced item, which the totals report as missing (never shown as $0)."""
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

    # the clusters, pools and endpoints a plan of this cloud runs (from its registrations)
    read: Callable[[PlanView], Inventory]
    # resource types billed per unit, first match wins
    counted: tuple[Counted, ...]
    # what the cloud's line items leave out or approximate, given what the plan runs
    notes: Callable[[Inventory], list[str]]
    # charges that fit none of the above (GCP's Cloud NAT bills per VM behind the gateway)
    extra_items: Callable[[PlanView, Inventory], list[LineItem]] = no_extra_items
    # one serving replica's monthly price and a description, when the cloud bills replicas in its own
    # way (Cloud Run instance time); None: the instance type's price (prices.serving_price)
    replica_price: Callable[[Variant, str], tuple[prices.UnitPrice | None, str]] | None = None


def control_plane_item(record: RecordView, label: str, version: str, calendar: VersionCalendar, *,
                       tier: Literal["standard", "extended", "free"] = "standard") -> LineItem:
    """A managed Kubernetes control plane, priced from the cloud's version calendar: the
    extended-support rate when ``tier`` asks for it or the version is in extended support on
    ``today()``, the standard rate otherwise, nothing on a free tier (AKS Free)."""
    from mlfabric.components.kubernetes.versions import today

    on = today()
    in_extended = calendar.phase(version, on) == "extended"
    if tier == "extended" or in_extended:
        rate = calendar.extended_support_usd_per_hour
        note = (f"Kubernetes {version} is in extended support on {on}" if in_extended
                else "premium tier: billed at the extended-support (long-term support) rate")
    elif tier == "free":
        rate, note = 0.0, "free tier: no control-plane fee"
    else:
        rate, note = calendar.standard_usd_per_hour, ""
    monthly = rate * prices.HOURS_PER_MONTH if rate is not None else None
    return LineItem(concern_of(record), label, "cluster", 1.0, 1.0, monthly, calendar.source,
                    calendar.as_of.isoformat(), note=note)
