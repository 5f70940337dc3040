"""``mlfabric cost``: the monthly cost of a stack, idle and at full scale, from the offline plan.

Two views of one plan:

- the **inventory** (:func:`inventory`): the node pools, serving endpoints and clusters the plan
  declares, with their machine types and scaling bounds, as the cloud's kit reads them from the
  recorded registrations (``components/<cloud>/cost_inventory.py``), so it is exactly what the
  program declared. ``preflight`` and ``verify`` read the same inventory;
- the **estimate** (:func:`estimate`): one line item per billable thing, per component — control
  planes (rates by support tier from the version calendars), system nodes, each GPU pool, each
  endpoint variant (main, challenger, shadow; Cloud Run services per instance), boot and OS disks,
  NAT gateways, public addresses, private endpoints, DNS zones, registries, load balancers, keys,
  alarms, dashboards — priced from the cloud's price file (``components/<cloud>/prices.json``) for
  the stack's region, each with its source and date.

Idle means GPU pools at ``min_nodes`` and endpoints at ``min_replicas``; full scale is a **ceiling**:
every pool at ``max_nodes`` and every endpoint at ``max_replicas`` for the whole month. A month is
730 hours. Spot pools are priced at on-demand x the spot ratio of their family from the price file
(the high end of its range; the range is shown). An item without a price for the region is listed
as unpriced and the totals say "incomplete (N items unpriced)" — never $0; ``--strict`` exits 1 on
it. Usage-based charges (storage, requests, data processed, logs, transfer) cannot be known offline
and are named in the notes, not guessed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
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
    PlanView,
    Variant,
    concern_of,
    price_source,
)
from mlfabric.components.kit import kit_for
from mlfabric.components.kubernetes.gpu_pool import GPU_POOL_LABEL, SYSTEM_POOL_LABEL
from mlfabric.plan import Plan, ResourceRecord

# The day-2 tools (preflight, verify) import the inventory's vocabulary from here.
__all__ = [
    "GPU_POOL_LABEL",
    "SYSTEM_POOL_LABEL",
    "Cluster",
    "Comparison",
    "Endpoint",
    "Estimate",
    "Inventory",
    "LineItem",
    "NodePool",
    "Variant",
    "compare",
    "cost_summary_line",
    "estimate",
    "inventory",
    "load_estimate",
    "policy_config_entry",
    "render",
    "render_comparison",
    "to_json_text",
]

COST_FORMAT: Final = "mlfabric-cost/1"
CEILING: Final = "full scale is a ceiling: every pool at max_nodes and every endpoint at max_replicas all month"


def inventory(plan: PlanView) -> Inventory:
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
    price_file_as_of: str = ""
    # what each team's GPU quota may cost at most (part of the GPU pools' full-scale figure, not added)
    team_ceilings: list[TeamCeiling] = field(default_factory=list)

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

    @property
    def complete(self) -> bool:
        return not self.unpriced

    @property
    def unverified(self) -> list[LineItem]:
        return [i for i in self.items if i.priced and not i.verified]

    def completeness(self) -> str:
        """"complete" or "incomplete (N items unpriced)"."""
        n = len(self.unpriced)
        return "complete" if n == 0 else f"incomplete ({n} item{'s' if n != 1 else ''} unpriced)"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": COST_FORMAT,
            "stack": self.stack,
            "cloud": self.cloud,
            "region": self.region,
            "currency": "USD",
            "hours_per_month": prices.HOURS_PER_MONTH,
            "price_file_as_of": self.price_file_as_of,
            "full_scale": CEILING,
            "complete": self.complete,
            "totals": {
                "idle_usd_per_month": round(self.idle_usd, 2),
                "full_usd_per_month": round(self.full_usd, 2),
                "idle_gpu_usd_per_month": round(self.idle_gpu_usd, 2),
                "full_gpu_usd_per_month": round(self.full_gpu_usd, 2),
                "status": self.completeness(),
                "unpriced_items": len(self.unpriced),
            },
            "items": [
                {**asdict(i),
                 "idle_usd_per_month": round(i.idle_usd, 2) if i.priced else None,
                 "full_usd_per_month": round(i.full_usd, 2) if i.priced else None}
                for i in self.items
            ],
            "unpriced": [i.item for i in self.unpriced],
            "team_ceilings": [asdict(t) for t in self.team_ceilings],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class TeamCeiling:
    """The most GPUs of one pool a team's queue may hold at once, and what that costs a month."""

    team: str
    pool: str
    guaranteed_gpus: int
    ceiling_gpus: int  # guaranteed + what it may borrow, at most the pool's capacity
    usd_per_month: float | None  # None: the pool's machine has no price in the region


KUEUE_GROUP: Final = "kubernetes:kueue.x-k8s.io/"


def _gpu_quota(flavor: Any) -> tuple[int, int | None]:
    """(nominal GPUs, borrowing limit or None) of a ClusterQueue flavor."""
    for resource in flavor.get("resources") or []:
        if resource.get("name") == "nvidia.com/gpu":
            limit = resource.get("borrowingLimit")
            return int(float(resource.get("nominalQuota") or 0)), None if limit is None else int(float(limit))
    return 0, None


def team_ceilings(plan: PlanView, pools: Sequence[NodePool]) -> list[TeamCeiling]:
    """Each team's GPU ceiling per pool, read from the ClusterQueues the plan declares."""
    cloud, region = plan.spec.cloud, plan.spec.region
    gpu_pools = {p.name: p for p in pools if p.gpu}
    found = []
    queues = [r for r in plan.custom_resources if r.type.startswith(KUEUE_GROUP) and r.type.endswith(":ClusterQueue")]
    # by name: teams' queues register concurrently, and an estimate must read the same every time
    for queue in sorted(queues, key=lambda r: r.name):
        team = str((queue.inputs.get("metadata") or {}).get("name") or queue.name)
        for group in (queue.inputs.get("spec") or {}).get("resourceGroups") or []:
            for flavor in group.get("flavors") or []:
                pool = gpu_pools.get(str(flavor.get("name")))
                per_node = next((s.gpus for s in catalog.GPU_SHAPES if s.cloud == cloud and pool
                                 and s.machine == pool.machine), 0)
                if pool is None or not per_node:
                    continue
                nominal, borrow = _gpu_quota(flavor)
                capacity = pool.max_nodes * per_node
                ceiling = capacity if borrow is None else min(capacity, nominal + borrow)
                price = prices.machine_price(cloud, pool.machine, region)
                factor = prices.spot_ratio(cloud, pool.machine).high if pool.spot else 1.0
                usd = None if price is None else round(price.usd_per_month * factor * ceiling / per_node, 2)
                found.append(TeamCeiling(team, pool.name, nominal, ceiling, usd))
    return found


def _ceiling_notes(ceilings: Sequence[TeamCeiling]) -> list[str]:
    notes = []
    for team in dict.fromkeys(c.team for c in ceilings):
        rows = [c for c in ceilings if c.team == team]
        pools = ", ".join(f"{c.pool} {c.ceiling_gpus} ({c.guaranteed_gpus} guaranteed)" for c in rows)
        known = [c.usd_per_month for c in rows if c.usd_per_month is not None]
        money = f"at most {_usd(sum(known))}/month" if len(known) == len(rows) else "not fully priced"
        notes.append(f"team {team}: up to {pools} GPUs — {money}, part of the GPU pools' full-scale figure "
                     "(not added to it)")
    return notes


def _item(component: str, item: str, unit: str, idle: float, full: float, price: prices.UnitPrice | None,
          *, factor: float = 1.0, gpu: bool = False, note: str = "",
          usd_range: tuple[float, float] | None = None) -> LineItem:
    source, as_of = price_source(price)
    monthly = price.usd_per_month * factor if price is not None else None
    return LineItem(component, item, unit, idle, full, monthly, source, as_of, gpu, note,
                    price.verified if price is not None else True, usd_range if price is not None else None)


def _missing(cloud: Cloud, kind: prices.Kind, sku: str, region: str) -> str:
    elsewhere = prices.regions_priced(cloud, kind, sku)
    found = f" (priced for {', '.join(elsewhere)})" if elsewhere else ""
    return f"no {region} price for {sku} in components/{cloud}/prices.json{found}"


def _pool_items(cloud: Cloud, region: str, pool: NodePool) -> list[LineItem]:
    what = "system nodes" if pool.role == "system" else f"GPU pool {pool.name}"
    capacity = "spot" if pool.spot else "on-demand"
    price = prices.machine_price(cloud, pool.machine, region)
    factor, note, usd_range = 1.0, "", None
    if pool.spot:
        ratio = prices.spot_ratio(cloud, pool.machine)
        factor = ratio.high
        note = f"spot: on-demand x {ratio.low:.2f}-{ratio.high:.2f}, priced at {ratio.high:.2f}"
        if price is not None:
            usd_range = (round(price.usd_per_month * ratio.low, 2), round(price.usd_per_month * ratio.high, 2))
    if price is None:
        note = "; ".join(n for n in (note, _missing(cloud, "machine", pool.machine, region)) if n)
    items = [_item("cluster", f"{what} ({pool.machine} {capacity})", "node", pool.min_nodes, pool.max_nodes,
                   price, factor=factor, gpu=pool.gpu, note=note, usd_range=usd_range)]
    if pool.disk_billing == "gib" and pool.disk_gib:
        disk = prices.service_price(cloud, "disk-gib", region)
        items.append(_item("cluster", f"{what} boot disks ({pool.disk_gib} GiB per node)", "GiB",
                           pool.min_nodes * pool.disk_gib, pool.max_nodes * pool.disk_gib, disk,
                           note="" if disk else _missing(cloud, "service", "disk-gib", region)))
    return items


def _endpoint_items(cloud: Cloud, region: str, endpoint: Endpoint) -> list[LineItem]:
    custom = kit_for(cloud).cost_inventory.replica_price
    items: list[LineItem] = []
    for variant in endpoint.variants:
        role = "shadow" if variant.shadow else variant.name
        if custom is not None and variant.cpu:
            price, what = custom(variant, region)
            items.append(_item("serving", f"endpoint {endpoint.name}: {role} ({variant.instance}: {what.split(';')[0]})",
                               "instance", variant.min_replicas, variant.max_replicas, price, gpu=bool(variant.gpu),
                               note="" if price else what.partition("; ")[2]))
            continue
        price = prices.serving_price(cloud, variant.instance, region)
        sku = prices.serving_sku(cloud, variant.instance)
        items.append(_item(
            "serving", f"endpoint {endpoint.name}: {role} ({variant.instance})", "replica",
            variant.min_replicas, variant.max_replicas, price, gpu=prices.is_gpu_machine(cloud, variant.instance),
            note="" if price else _missing(cloud, prices.serving_kind(cloud), sku, region),
        ))
    return items


def _counted_items(plan: PlanView, rules: tuple[Counted, ...], *, overhead: bool) -> list[LineItem]:
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
    cloud, region = plan.spec.cloud, plan.spec.region
    items: list[LineItem] = []
    # Sorted: registration order under the mock runtime is not deterministic.
    for (component, label, unit, key), units in sorted(totals.items()):
        price = prices.service_price(cloud, key, region)
        items.append(_item(component, label, unit, units, units, price,
                           note="" if price else _missing(cloud, "service", key, region)))
    return items


def _notes(plan: PlanView, inventory_: Inventory, items: list[LineItem]) -> list[str]:
    cloud = plan.spec.cloud
    notes = [
        f"monthly = {prices.HOURS_PER_MONTH} h; idle: GPU pools at min_nodes, endpoints at min_replicas; {CEILING}",
        f"prices: components/{cloud}/prices.json for {plan.spec.region} (as of {prices.load(cloud).as_of}); "
        "spot at on-demand x the family's spot ratio (high end of its range)",
        "not included (usage-based): object storage, requests, data processed by NAT gateways and endpoints, "
        "data transfer, log ingestion and retention, image storage",
    ]
    notes += kit_for(cloud).cost_inventory.notes(inventory_)
    for item in items:
        if not item.priced:
            notes.append(f"unpriced: {item.item}" + (f" ({item.note})" if item.note else "")
                         + " — not in the totals")
    unverified = [i for i in items if i.priced and not i.verified]
    if unverified:
        notes.append(f"{len(unverified)} item(s) use figures the price file marks verified: false "
                     "(not re-read on the vendor's page on its as_of date; see the file's notes)")
    if not any(r.type.endswith(("LoadBalancer", "ForwardingRule")) for r in plan.custom_resources):
        notes.append("load balancers created at run time by Kubernetes Services are not in the plan")
    return notes


_ORDER: Final = ("network", "cluster", "serving", "storage", "registry", "monitoring", "rbac", "platform")


def estimate(plan: PlanView) -> Estimate:
    """Price everything the plan declares, idle and at full scale."""
    cloud, region = plan.spec.cloud, plan.spec.region
    costs = kit_for(cloud).cost_inventory
    found = costs.read(plan)
    items = _counted_items(plan, costs.counted, overhead=False)
    items += costs.extra_items(plan, found)
    for pool in sorted(found.pools, key=lambda p: (p.gpu, p.name)):
        items += _pool_items(cloud, region, pool)
    for endpoint in found.endpoints:
        items += _endpoint_items(cloud, region, endpoint)
    items += _counted_items(plan, costs.counted, overhead=True)
    # Stable: within a component, infrastructure, then nodes and replicas, then overheads.
    rank = {c: i for i, c in enumerate(_ORDER)}
    items.sort(key=lambda i: rank.get(i.component, len(rank)))
    stack = str(getattr(plan, "stack", ""))
    ceilings = team_ceilings(plan, found.pools)
    return Estimate(stack, cloud, region, items, _notes(plan, found, items) + _ceiling_notes(ceilings),
                    prices.load(cloud).as_of, ceilings)


# --- comparing two plans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LoadedPlan:
    """A plan read back from ``mlfabric plan --json`` (enough of it to estimate)."""

    stack: str
    spec: Any
    resources: list[ResourceRecord]

    @property
    def custom_resources(self) -> list[ResourceRecord]:
        return [r for r in self.resources if r.custom]

    @property
    def components(self) -> list[ResourceRecord]:
        return [r for r in self.resources if not r.custom and r.type != "pulumi:pulumi:Stack"]

    def of_type(self, type_token: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type == type_token]


def _item_from_json(data: dict[str, Any]) -> LineItem:
    names = set(LineItem.__dataclass_fields__)
    kept = {k: v for k, v in data.items() if k in names}
    if isinstance(kept.get("usd_range"), list):
        kept["usd_range"] = tuple(kept["usd_range"])
    return LineItem(**kept)


def load_estimate(path: Path) -> Estimate:
    """An estimate from a file: ``mlfabric cost --format json`` output, or ``mlfabric plan --json``
    output (estimated again with today's price files)."""
    document = json.loads(path.read_text())
    if document.get("format") == COST_FORMAT:
        return Estimate(str(document.get("stack") or ""), document["cloud"], document["region"],
                        [_item_from_json(i) for i in document.get("items") or []], list(document.get("notes") or []),
                        str(document.get("price_file_as_of") or ""),
                        [TeamCeiling(**t) for t in document.get("team_ceilings") or []])
    if str(document.get("format") or "").startswith("mlfabric-plan/"):
        spec = SimpleNamespace(cloud=document["cloud"], region=document["region"])
        fields = set(ResourceRecord.__dataclass_fields__)
        resources = [ResourceRecord(**{k: v for k, v in r.items() if k in fields}) for r in document["resources"]]
        return estimate(_LoadedPlan(str(document.get("stack") or ""), spec, resources))  # type: ignore[arg-type]
    raise ValueError(f"{path}: neither an mlfabric plan (--json) nor a cost estimate (format {COST_FORMAT})")


@dataclass
class Comparison:
    """The monthly delta between two estimates, item by item (keyed by component and item)."""

    old: Estimate
    new: Estimate
    rows: list[tuple[str, str, float | None, float | None, float | None, float | None]] = field(default_factory=list)

    @property
    def idle_delta(self) -> float:
        return self.new.idle_usd - self.old.idle_usd

    @property
    def full_delta(self) -> float:
        return self.new.full_usd - self.old.full_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "mlfabric-cost-compare/1",
            "old": {"stack": self.old.stack, "idle_usd_per_month": round(self.old.idle_usd, 2),
                    "full_usd_per_month": round(self.old.full_usd, 2), "status": self.old.completeness()},
            "new": {"stack": self.new.stack, "idle_usd_per_month": round(self.new.idle_usd, 2),
                    "full_usd_per_month": round(self.new.full_usd, 2), "status": self.new.completeness()},
            "delta": {"idle_usd_per_month": round(self.idle_delta, 2), "full_usd_per_month": round(self.full_delta, 2)},
            "items": [{"component": c, "item": i, "old_idle": oi, "new_idle": ni, "old_full": of, "new_full": nf}
                      for c, i, oi, ni, of, nf in self.rows],
        }


def compare(old: Estimate, new: Estimate) -> Comparison:
    """Items added, removed or changed in cost between ``old`` and ``new`` (unchanged ones left out)."""
    def index(result: Estimate) -> dict[tuple[str, str], LineItem]:
        return {(i.component, i.item): i for i in result.items}

    before, after = index(old), index(new)
    rows: list[tuple[str, str, float | None, float | None, float | None, float | None]] = []
    for key in list(before) + [k for k in after if k not in before]:
        was, now = before.get(key), after.get(key)

        def usd(item: LineItem | None, idle: bool) -> float | None:
            if item is None:
                return 0.0
            if not item.priced:
                return None
            return item.idle_usd if idle else item.full_usd

        row = (key[0], key[1], usd(was, True), usd(now, True), usd(was, False), usd(now, False))
        if row[2] != row[3] or row[4] != row[5] or (was is None) != (now is None):
            rows.append(row)
    return Comparison(old, new, rows)


# --- budgets as policy -----------------------------------------------------------------------------

BUDGET_RULE: Final = "mlf-cost-budget"


def policy_config_entry(result: Estimate, budget: Any) -> dict[str, Any]:
    """The ``mlf-cost-budget`` entry of a policy config: the spec's budget and this estimate, for the
    policy pack (which imports nothing of mlfabric and cannot price a plan itself)."""
    entry: dict[str, Any] = {
        "estimate": {
            "idleUsdPerMonth": round(result.idle_usd, 2),
            "fullScaleUsdPerMonth": round(result.full_usd, 2),
            "unpricedItems": len(result.unpriced),
            "stack": result.stack,
            "priceFileAsOf": result.price_file_as_of,
        },
    }
    if budget is not None:
        if budget.idle_usd_per_month is not None:
            entry["idleUsdPerMonth"] = budget.idle_usd_per_month
        if budget.full_scale_usd_per_month is not None:
            entry["fullScaleUsdPerMonth"] = budget.full_scale_usd_per_month
    return entry


def write_policy_config(result: Estimate, budget: Any, environment: str, out: Path) -> None:
    """The environment's policy config with the ``mlf-cost-budget`` entry filled in, written to ``out``
    (for ``pulumi preview --policy-pack-config`` and ``mlfabric check``)."""
    from mlfabric.check.config import config_dir

    # The same lookup as `mlfabric check`: the checkout's policies/config, else the installed pack's.
    base_file = config_dir() / f"{environment}.json"
    document: dict[str, Any] = json.loads(base_file.read_text()) if base_file.exists() else {}
    setting = document.get(BUDGET_RULE)
    level = setting.get("enforcementLevel") if isinstance(setting, dict) else setting
    document[BUDGET_RULE] = {**({"enforcementLevel": level} if level else {}), **policy_config_entry(result, budget)}
    out.write_text(json.dumps(document, indent=2) + "\n")


# --- output ---------------------------------------------------------------------------------------


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


def _units(value: float) -> str:
    return f"{value:g}"


def _total(result: Estimate, value: float) -> str:
    return _usd(value) + ("" if result.complete else " + unpriced")


def cost_summary_line(plan: PlanView) -> str:
    """One line for ``mlfabric plan``: monthly cost idle and at full scale, with the price basis."""
    try:
        result = estimate(plan)
    except Exception as error:  # the plan must print even if pricing cannot be worked out
        return f"cost: not estimated ({type(error).__name__}: {error})"
    status = "" if result.complete else f"; {result.completeness()}"
    return (
        f"cost: {_usd(result.idle_usd)}/month idle, {_usd(result.full_usd)}/month at full scale (ceiling) "
        f"(GPU {_usd(result.idle_gpu_usd)} idle) — {result.cloud} list prices {result.region} "
        f"{result.price_file_as_of}{status}; `mlfabric cost` itemises"
    )


# Narrower than this for item names and the table gives way to one group of lines per item.
_ITEM_COLUMN: Final = 24


def _table_width(item_width: int, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """Columns a ``pad_edge=False`` table needs: the item column at ``item_width``, every other column
    as wide as its widest plain-text cell (those never wrap), a space each side of inner cell edges,
    and a border between and around the columns. ``rows`` hold the figure columns only."""
    figures = [max(len(text) for text in column) for column in zip(headers, *rows, strict=True)]
    count = 1 + len(figures)
    return item_width + sum(figures) + 2 * (count - 1) + count + 1


def _longest_word(texts: Sequence[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=0)


def _sources(result: Estimate) -> dict[tuple[str, str], int]:
    """Each (price page, as-of date) once, numbered in order of first use."""
    sources: dict[tuple[str, str], int] = {}
    for item in result.items:
        if item.source:
            sources.setdefault((item.source, item.as_of), len(sources) + 1)
    return sources


def _item_text(item: LineItem) -> str:
    counts = f"{_units(item.idle_units)} -> {_units(item.full_units)} {item.unit}"
    return f"{item.item} {counts}" + (f" ({item.note})" if item.note else "")


def _price_text(item: LineItem) -> str:
    if item.usd_per_unit_month is None:
        return "unpriced"
    return _usd(item.usd_per_unit_month) + ("*" if not item.verified else "")


_ESTIMATE_FIGURES: Final = ("$/unit-mo", "idle $/mo", "full $/mo")


def _estimate_table(result: Estimate, sources: dict[tuple[str, str], int], item_width: int) -> tuple[Any, int]:
    """The estimate as a table, and the width it needs with every figure unbroken."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(pad_edge=False)
    table.add_column("item (idle -> full units) \\[source]", ratio=1, overflow="fold", min_width=item_width)
    for column in _ESTIMATE_FIGURES:
        table.add_column(column, justify="right", no_wrap=True, overflow="fold")
    plain: list[list[str]] = []
    component = None
    for item in result.items:
        if item.component != component:
            component = item.component
            table.add_row(f"[bold]{escape(component)}[/]", "", "", "")
        price = escape(_price_text(item)) if item.priced else "[red]unpriced[/]"
        ref = sources.get((item.source, item.as_of))
        idle = _usd(item.idle_usd) if item.priced else "[red]n/a[/]"
        full = _usd(item.full_usd) if item.priced else "[red]n/a[/]"
        source = f" \\[{ref}]" if ref else ""
        table.add_row("  " + escape(_item_text(item)) + source, price, idle, full)
        plain.append([_price_text(item), _usd(item.idle_usd), _usd(item.full_usd)])
    table.add_section()
    # An incomplete total says so in its label, keeping the figure columns as narrow as the figures.
    status = "" if result.complete else f" [red]+ unpriced — {escape(result.completeness())}[/]"
    table.add_row(f"[bold]total[/]{status}", "", f"[bold]{_usd(result.idle_usd)}[/]", f"[bold]{_usd(result.full_usd)}[/]")
    table.add_row("  of which GPU", "", _usd(result.idle_gpu_usd), _usd(result.full_gpu_usd))
    plain.append(["", _usd(result.idle_usd), _usd(result.full_usd)])
    return table, _table_width(item_width, _ESTIMATE_FIGURES, plain)


def _print_estimate_list(console: Any, result: Estimate, sources: dict[tuple[str, str], int]) -> None:
    """One group of lines per item, for widths the table does not fit: the item and its units, then
    its figures; every figure whole, lines broken only between words."""
    from mlfabric.cli_options import GLUE, say

    component = None
    for item in result.items:
        if item.component != component:
            component = item.component
            say(console, component, style="bold")
        ref = sources.get((item.source, item.as_of))
        say(console, _item_text(item) + (f"{GLUE}[{ref}]" if ref else ""), indent="  ", hang="    ")
        if item.priced:
            say(console, f"idle{GLUE}{_usd(item.idle_usd)}/mo · full{GLUE}{_usd(item.full_usd)}/mo · "
                         f"{_price_text(item)}{GLUE}per{GLUE}unit-mo", indent="    ", hang="    ")
        else:
            say(console, "unpriced: no list price (not in the totals)", indent="    ", hang="    ", style="red")
    unpriced = "" if result.complete else f"{GLUE}+{GLUE}unpriced"
    say(console, f"total: idle{GLUE}{_usd(result.idle_usd)}/mo{unpriced} · "
                 f"full{GLUE}{_usd(result.full_usd)}/mo{unpriced}", style="bold", hang="  ")
    say(console, f"of which GPU: idle{GLUE}{_usd(result.idle_gpu_usd)}/mo · full{GLUE}{_usd(result.full_gpu_usd)}/mo",
        indent="  ", hang="    ")


def render(console: Any, result: Estimate) -> None:
    """Line items, totals, price sources and notes, fitted to the console's width: a table while
    every figure fits unbroken beside item names of a readable width, else one group of lines per
    item. A price-source URL is never cut: longer than the width, it gets a line of its own."""
    from mlfabric.cli_options import say

    sources = _sources(result)
    say(console, f"Monthly cost — stack {result.stack}, {result.cloud} {result.region} (USD, "
                 f"{prices.HOURS_PER_MONTH} h; full = ceiling)", style="italic", hang="  ")
    # Item cells are indented by two: that indent belongs to their first word.
    item_width = max(_ITEM_COLUMN, _longest_word([f"··{_item_text(i)}" for i in result.items]))
    table, needed = _estimate_table(result, sources, item_width)
    if needed <= console.width:
        console.print(table)
    else:
        _print_estimate_list(console, result, sources)
    say(console, f"total: {_total(result, result.idle_usd)}/month idle, {_total(result, result.full_usd)}/month "
                 f"at full scale — {result.completeness()}", hang="  ")
    say(console, "full $/mo is a ceiling: every pool at max_nodes and every endpoint at max_replicas for the "
                 "whole month.", hang="  ")
    if not result.items:
        say(console, "nothing in this plan has a fixed hourly or monthly price", hang="  ")
    if result.unverified:
        say(console, "* figure marked verified: false in the price file (check before you budget)", hang="  ")
    for (url, as_of), ref in sources.items():
        # Wrapped between words only: a URL longer than the width gets a line of its own, unbroken (a
        # URL cut in two is no longer a link in a CI log), and nothing sticks to it but spaces.
        say(console, f"[{ref}] {url} · {as_of}", hang="    ")
    for note in result.notes:
        say(console, note, lead="note: ", lead_style="yellow", hang="  ")


_COMPARISON_FIGURES: Final = ("idle before", "idle after", "full before", "full after")


def _comparison_table(comparison: Comparison, item_width: int) -> tuple[Any, int]:
    """The delta as a table, and the width it needs with every figure unbroken."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(pad_edge=False)
    table.add_column("item", ratio=1, overflow="fold", min_width=item_width)
    for column in _COMPARISON_FIGURES:
        table.add_column(column, justify="right", no_wrap=True, overflow="fold")

    def money(value: float | None) -> str:
        return "[red]unpriced[/]" if value is None else _usd(value)

    plain: list[list[str]] = []
    for component, item, old_idle, new_idle, old_full, new_full in comparison.rows:
        figures = (old_idle, new_idle, old_full, new_full)
        table.add_row(escape(f"{component}: {item}"), *(money(value) for value in figures))
        plain.append(["unpriced" if value is None else _usd(value) for value in figures])
    table.add_section()
    totals = [_usd(comparison.old.idle_usd), _usd(comparison.new.idle_usd), _usd(comparison.old.full_usd),
              _usd(comparison.new.full_usd)]
    table.add_row("[bold]total[/]", *totals)
    plain.append(totals)
    return table, _table_width(item_width, _COMPARISON_FIGURES, plain)


def render_comparison(console: Any, comparison: Comparison) -> None:
    """The monthly delta of a change, idle and at full scale, item by item (a table when it fits the
    width, else one group of lines per item)."""
    from mlfabric.cli_options import GLUE, say

    def money(value: float | None) -> str:
        return "unpriced" if value is None else _usd(value)

    say(console, f"Monthly cost delta — {comparison.old.stack or 'old'} -> {comparison.new.stack or 'new'} (USD)",
        style="italic", hang="  ")
    items = [f"{component}: {item}" for component, item, *_ in comparison.rows]
    table, needed = _comparison_table(comparison, max(_ITEM_COLUMN, _longest_word(items)))
    if needed <= console.width:
        console.print(table)
    else:
        for (component, item, old_idle, new_idle, old_full, new_full) in comparison.rows:
            say(console, f"{component}: {item}", hang="    ")
            say(console, f"idle{GLUE}{money(old_idle)}{GLUE}->{GLUE}{money(new_idle)} · "
                         f"full{GLUE}{money(old_full)}{GLUE}->{GLUE}{money(new_full)}", indent="    ", hang="    ")
        say(console, f"total: idle{GLUE}{_usd(comparison.old.idle_usd)}{GLUE}->{GLUE}{_usd(comparison.new.idle_usd)} · "
                     f"full{GLUE}{_usd(comparison.old.full_usd)}{GLUE}->{GLUE}{_usd(comparison.new.full_usd)}",
            style="bold", hang="  ")
    say(console, f"delta: {_signed(comparison.idle_delta)}/month idle, {_signed(comparison.full_delta)}/month at "
                 "full scale (ceiling)", hang="  ")
    for result, name in ((comparison.old, "before"), (comparison.new, "after")):
        if not result.complete:
            say(console, f"{name}: {result.completeness()}", style="red", hang="  ")
    if not comparison.rows:
        say(console, "no item changed in cost", hang="  ")


def to_json_text(result: Estimate | Comparison) -> str:
    return json.dumps(result.to_json(), indent=2) + "\n"


# --- the command -----------------------------------------------------------------------------------

EXIT_INCOMPLETE: Final = 1


def _show(plan: PlanView, shown: Estimate | Comparison, output_format: str, console: Any) -> None:
    """``shown`` as markdown on stdout, or as text on ``console`` followed by what the plan holds."""
    import sys

    if output_format == "markdown":
        from mlfabric import markdown

        text = (markdown.comparison_markdown(shown) if isinstance(shown, Comparison)
                else markdown.cost_markdown(shown))
        sys.stdout.write(text.rstrip("\n") + "\n")
        return
    if console is None:
        from rich.console import Console

        console = Console()
    if isinstance(shown, Comparison):
        render_comparison(console, shown)
    else:
        render(console, shown)
    if isinstance(plan, Plan):
        from mlfabric.cli_options import say

        say(console, f"plan: {plan.counts().describe()}", hang="  ")


def run(plan: PlanView, *, output_format: str = "text", json_out: Path | None = None, strict: bool = False,
        compare_with: Path | None = None, policy_config: Path | None = None, console: Any = None) -> int:
    """``mlfabric cost``: print the estimate (or its delta against ``compare_with``) and return the
    exit code: 1 under ``strict`` when an item is unpriced, else 0."""
    import sys

    from mlfabric.errors import UsageError

    result = estimate(plan)
    shown: Estimate | Comparison = result
    if compare_with is not None:
        try:
            shown = compare(load_estimate(compare_with), result)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UsageError([f"--compare {compare_with}: {error}"]) from None
    if policy_config is not None:
        spec = plan.spec
        write_policy_config(result, getattr(spec, "budget", None), str(getattr(spec, "environment", "dev")),
                            policy_config)
    if output_format == "json" or (json_out is not None and str(json_out) == "-"):
        sys.stdout.write(to_json_text(shown))
    else:
        _show(plan, shown, output_format, console)
    if json_out is not None and str(json_out) != "-":
        json_out.write_text(to_json_text(shown))
        # Never on stdout when stdout carries a document (json, markdown).
        print(f"estimate written to {json_out}", file=sys.stdout if output_format == "text" else sys.stderr)
    if strict and not result.complete:
        sys.stderr.write(f"cost: {result.completeness()}: {', '.join(i.item for i in result.unpriced)}\n")
        return EXIT_INCOMPLETE
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mlfabric.cost``: the ``mlfabric cost`` options, until ``mlfabric.day2`` delegates
    to :func:`run` (see the module docstring of ``mlfabric.day2``)."""
    import argparse

    from mlfabric.cli_options import read_stack
    from mlfabric.errors import UsageError
    from mlfabric.plan import plan_stack

    parser = argparse.ArgumentParser(prog="mlfabric cost", description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("-s", "--stack")
    parser.add_argument("-f", "--file", type=Path)
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text", dest="output_format")
    parser.add_argument("--json", type=Path, dest="json_out")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any item is unpriced")
    parser.add_argument("--compare", type=Path, dest="compare_with",
                        help="an older `mlfabric plan --json` or `mlfabric cost --format json` file")
    parser.add_argument("--policy-config", type=Path,
                        help="write the environment's policy config with the mlf-cost-budget entry filled in")
    args = parser.parse_args(argv)
    try:
        return run(plan_stack(read_stack(args.stack, args.file)), output_format=args.output_format,
                   json_out=args.json_out, strict=args.strict, compare_with=args.compare_with,
                   policy_config=args.policy_config)
    except UsageError as error:
        import sys

        sys.stderr.write(f"{error}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
