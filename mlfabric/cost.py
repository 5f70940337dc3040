"""``mlfabric cost``: the monthly cost of a stack, idle and at full scale, from the offline plan.

Two views of one plan:

- the **inventory** (:func:`inventory`): the node pools, serving endpoints and clusters the plan
  declares, with their machine types and scaling bounds, as the cloud's kit reads them
  (``components/<cloud>/cost_inventory.py``: from the recorded registrations where the cloud's
  components can be read, so it is exactly what the program declared, otherwise from the spec, and
  only when the plan contains the concern's component). ``preflight`` and ``verify`` read the same
  inventory;
- the **estimate** (:func:`estimate`): one line item per billable thing, per component — control
  planes, system nodes, each GPU pool, each endpoint variant (main, challenger, shadow), boot disks,
  NAT gateways and public addresses counted from the plan, private endpoints, load balancers, keys,
  alarms, dashboards — priced from ``mlfabric.components.catalog`` (nodes) and ``mlfabric.components.prices``
  (everything else), each with its source and date. Which resource types are billed per unit, and
  any charge of the cloud's own shape, come from the cloud's kit too.

Idle means GPU pools at ``min_nodes`` and endpoints at ``min_replicas``; full scale means every pool
at ``max_nodes`` and every endpoint at ``max_replicas``. A month is 730 hours. Spot pools are priced
at on-demand x (1 - ``prices.SPOT_DISCOUNT``). Usage-based charges (storage, requests, data processed,
logs, transfer) cannot be known offline and are named in the notes, not guessed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Final

from mlfabric.components import catalog, prices
from mlfabric.components.catalog import Cloud
from mlfabric.components.costing import (
    Cluster,
    Counted,
    Endpoint,
    Inventory,
    LineItem,
    NodePool,
    Variant,
    concern_of,
    price_source,
)
from mlfabric.components.kit import kit_for
from mlfabric.components.kubernetes.gpu_pool import GPU_POOL_LABEL, SYSTEM_POOL_LABEL
from mlfabric.plan import Plan

# The day-2 tools (preflight, verify) import the inventory's vocabulary from here.
__all__ = [
    "GPU_POOL_LABEL",
    "SYSTEM_POOL_LABEL",
    "Cluster",
    "Endpoint",
    "Estimate",
    "Inventory",
    "LineItem",
    "NodePool",
    "Variant",
    "cost_summary_line",
    "estimate",
    "inventory",
    "render",
    "to_json_text",
]

COST_FORMAT: Final = "mlfabric-cost/1"


def inventory(plan: Plan) -> Inventory:
    """Clusters, node pools and endpoints the plan declares, as the cloud's kit reads them."""
    return kit_for(plan.spec.cloud).cost_inventory.read(plan)


# --- line items ------------------------------------------------------------------------------------


@dataclass
class Estimate:
    """A stack's monthly cost, itemised."""

    stack: str
    cloud: Cloud
    region: str
    items: list[LineItem]
    notes: list[str]

    @property
    def idle_usd(self) -> float:
        return sum(i.idle_usd for i in self.items)

    @property
    def full_usd(self) -> float:
        return sum(i.full_usd for i in self.items)

    @property
    def idle_gpu_usd(self) -> float:
        return sum(i.idle_usd for i in self.items if i.gpu)

    @property
    def full_gpu_usd(self) -> float:
        return sum(i.full_usd for i in self.items if i.gpu)

    @property
    def unpriced(self) -> list[LineItem]:
        return [i for i in self.items if not i.priced]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": COST_FORMAT,
            "stack": self.stack,
            "cloud": self.cloud,
            "region": self.region,
            "currency": "USD",
            "hours_per_month": prices.HOURS_PER_MONTH,
            "spot_discount": prices.SPOT_DISCOUNT,
            "totals": {
                "idle_usd_per_month": round(self.idle_usd, 2),
                "full_usd_per_month": round(self.full_usd, 2),
                "idle_gpu_usd_per_month": round(self.idle_gpu_usd, 2),
                "full_gpu_usd_per_month": round(self.full_gpu_usd, 2),
            },
            "items": [
                {**asdict(i), "idle_usd_per_month": round(i.idle_usd, 2), "full_usd_per_month": round(i.full_usd, 2)}
                for i in self.items
            ],
            "unpriced": [i.item for i in self.unpriced],
            "notes": self.notes,
        }


def _item(component: str, item: str, unit: str, idle: float, full: float, price: prices.UnitPrice | None,
          *, factor: float = 1.0, gpu: bool = False, note: str = "") -> LineItem:
    source, as_of = price_source(price)
    monthly = price.usd_per_month * factor if price is not None else None
    return LineItem(component, item, unit, idle, full, monthly, source, as_of, gpu, note)


def _pool_items(cloud: Cloud, pool: NodePool) -> list[LineItem]:
    what = "system nodes" if pool.role == "system" else f"GPU pool {pool.name}"
    capacity = "spot" if pool.spot else "on-demand"
    factor = 1 - prices.SPOT_DISCOUNT if pool.spot else 1.0
    note = f"spot: on-demand x {factor:.2f}" if pool.spot else ""
    items = [_item("cluster", f"{what} ({pool.machine} {capacity})", "node", pool.min_nodes, pool.max_nodes,
                   prices.machine_price(cloud, pool.machine), factor=factor, gpu=pool.gpu, note=note)]
    disk = prices.service_price(cloud, "disk-gib")
    if disk is not None and pool.disk_gib:
        items.append(_item("cluster", f"{what} boot disks ({pool.disk_gib} GiB per node)", "GiB",
                           pool.min_nodes * pool.disk_gib, pool.max_nodes * pool.disk_gib, disk))
    return items


def _endpoint_items(cloud: Cloud, endpoint: Endpoint) -> list[LineItem]:
    items: list[LineItem] = []
    for variant in endpoint.variants:
        role = "shadow" if variant.shadow else variant.name
        items.append(_item(
            "serving", f"endpoint {endpoint.name}: {role} ({variant.instance})", "replica",
            variant.min_replicas, variant.max_replicas, prices.serving_price(cloud, variant.instance),
            gpu=prices.is_gpu_machine(cloud, variant.instance),
        ))
    return items


def _counted_items(plan: Plan, rules: tuple[Counted, ...], *, overhead: bool) -> list[LineItem]:
    totals: dict[tuple[str, str, str, prices.ServiceKey], float] = defaultdict(float)
    for record in plan.custom_resources:
        for rule in rules:
            if rule.overhead != overhead or not rule.pattern.match(record.type):
                continue
            key = rule.key(record.inputs) if callable(rule.key) else rule.key
            units = rule.units(record.inputs)
            if key is not None and units:
                totals[(concern_of(record), rule.label, rule.unit, key)] += units
            break
    items: list[LineItem] = []
    # Sorted: registration order under the mock runtime is not deterministic.
    for (component, label, unit, key), units in sorted(totals.items()):
        price = prices.service_price(plan.spec.cloud, key)
        items.append(_item(component, label, unit, units, units, price))
    return items


def _notes(plan: Plan, inventory_: Inventory, items: list[LineItem]) -> list[str]:
    cloud = plan.spec.cloud
    notes = [
        f"monthly = {prices.HOURS_PER_MONTH} h; idle: GPU pools at min_nodes, endpoints at min_replicas; "
        "full scale: every pool at max_nodes, every endpoint at max_replicas",
        f"spot capacity priced at on-demand x {1 - prices.SPOT_DISCOUNT:.2f} (mlfabric.components.prices.SPOT_DISCOUNT)",
        "not included (usage-based): object storage, requests, data processed by NAT gateways and endpoints, "
        "data transfer, log ingestion and retention, image storage",
    ]
    home = catalog.PRICE_SOURCES[cloud].region
    if plan.spec.region != home:
        notes.append(f"prices are {home} list prices; {plan.spec.region} may differ")
    if inventory_.source == "spec" and (inventory_.pools or inventory_.endpoints):
        notes.append("node pools and endpoints derived from the spec (this cloud's components are not read "
                     "from the plan yet)")
    notes += kit_for(cloud).cost_inventory.notes(inventory_)
    for item in items:
        if not item.priced:
            notes.append(f"no list price for {item.item} in components/prices.py or the catalogue: "
                         "not included in the totals")
    if not any(r.type.endswith(("LoadBalancer", "ForwardingRule")) for r in plan.custom_resources):
        notes.append("load balancers created at run time by Kubernetes Services are not in the plan")
    return notes


_ORDER: Final = ("network", "cluster", "serving", "storage", "registry", "monitoring", "rbac", "platform")


def estimate(plan: Plan) -> Estimate:
    """Price everything the plan declares, idle and at full scale."""
    cloud = plan.spec.cloud
    costs = kit_for(cloud).cost_inventory
    found = costs.read(plan)
    items = _counted_items(plan, costs.counted, overhead=False)
    items += costs.extra_items(plan, found)
    for pool in sorted(found.pools, key=lambda p: (p.gpu, p.name)):
        items += _pool_items(cloud, pool)
    for endpoint in found.endpoints:
        items += _endpoint_items(cloud, endpoint)
    items += _counted_items(plan, costs.counted, overhead=True)
    # Stable: within a component, infrastructure, then nodes and replicas, then overheads.
    rank = {c: i for i, c in enumerate(_ORDER)}
    items.sort(key=lambda i: rank.get(i.component, len(rank)))
    return Estimate(plan.stack, cloud, plan.spec.region, items, _notes(plan, found, items))


# --- output ---------------------------------------------------------------------------------------


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _units(value: float) -> str:
    return f"{value:g}"


def cost_summary_line(plan: Plan) -> str:
    """One line for ``mlfabric plan``: monthly cost idle and at full scale, with the price basis."""
    try:
        result = estimate(plan)
    except Exception as error:  # the plan must print even if pricing cannot be worked out
        return f"cost: not estimated ({type(error).__name__}: {error})"
    source = catalog.PRICE_SOURCES[result.cloud]
    unpriced = f"; {len(result.unpriced)} item(s) without a list price" if result.unpriced else ""
    return (
        f"cost: {_usd(result.idle_usd)}/month idle, {_usd(result.full_usd)}/month at full scale "
        f"(GPU {_usd(result.idle_gpu_usd)} idle) — {result.cloud} list prices {source.region} {source.as_of}"
        f"{unpriced}; `mlfabric cost` itemises"
    )


def render(console: Any, result: Estimate) -> None:
    """A rich table of line items, totals, price sources and notes."""
    from rich.markup import escape
    from rich.table import Table

    sources: dict[tuple[str, str], int] = {}
    for item in result.items:
        if item.source:
            sources.setdefault((item.source, item.as_of), len(sources) + 1)
    table = Table(title=f"Monthly cost — stack {result.stack}, {result.cloud} {result.region} (USD, "
                        f"{prices.HOURS_PER_MONTH} h)")
    for column, justify in (("component", "left"), ("item", "left"), ("unit price /mo", "right"),
                            ("idle", "right"), ("idle $/mo", "right"), ("full", "right"), ("full $/mo", "right"),
                            ("src", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for item in result.items:
        price = _usd(item.usd_per_unit_month) + f" /{item.unit}" if item.usd_per_unit_month is not None else "n/a"
        ref = sources.get((item.source, item.as_of))
        text = escape(item.item) + (f" [dim]({escape(item.note)})[/]" if item.note else "")
        table.add_row(item.component, text, price,
                      _units(item.idle_units), _usd(item.idle_usd), _units(item.full_units), _usd(item.full_usd),
                      f"[{ref}]" if ref else "")
    table.add_section()
    table.add_row("", "[bold]total[/]", "", "", f"[bold]{_usd(result.idle_usd)}[/]", "",
                  f"[bold]{_usd(result.full_usd)}[/]", "")
    table.add_row("", "of which GPU", "", "", _usd(result.idle_gpu_usd), "", _usd(result.full_gpu_usd), "")
    console.print(table)
    if not result.items:
        console.print("nothing in this plan has a fixed hourly or monthly price", highlight=False)
    for (url, as_of), ref in sources.items():
        console.print(escape(f"[{ref}] {url}, {as_of}"), highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)


def to_json_text(result: Estimate) -> str:
    return json.dumps(result.to_json(), indent=2) + "\n"
