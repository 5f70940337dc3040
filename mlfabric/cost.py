"""``mlfabric cost``: the monthly cost of a stack, idle and at full scale, from the offline plan.

Two views of one plan:

- the **inventory** (:func:`inventory`): the node pools, serving endpoints and clusters the plan
  declares, with their machine types and scaling bounds. On AWS it is read from the recorded
  registrations themselves (``eks.NodeGroup`` scaling configs and instance types, SageMaker endpoint
  configurations and their autoscaling targets), so it is exactly what the program declared.
  ``preflight`` and ``verify`` read the same inventory. On a cloud whose components this module
  cannot read yet, pools and endpoints come from the spec, and only when the plan contains the
  concern's component (a concern not built on that cloud costs nothing: costs are what exists);
- the **estimate** (:func:`estimate`): one line item per billable thing, per component — control
  planes, system nodes, each GPU pool, each endpoint variant (main, challenger, shadow), boot disks,
  NAT gateways and public addresses counted from the plan, private endpoints, load balancers, keys,
  alarms, dashboards — priced from ``mlfabric.components.catalog`` (nodes) and ``mlfabric.components.prices``
  (everything else), each with its source and date.

Idle means GPU pools at ``min_nodes`` and endpoints at ``min_replicas``; full scale means every pool
at ``max_nodes`` and every endpoint at ``max_replicas``. A month is 730 hours. Spot pools are priced
at on-demand x (1 - ``prices.SPOT_DISCOUNT``). Usage-based charges (storage, requests, data processed,
logs, transfer) cannot be known offline and are named in the notes, not guessed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from mlfabric.components import catalog, prices
from mlfabric.components.catalog import Cloud
from mlfabric.components.spec import EndpointSpec, PlatformSpec
from mlfabric.plan import Plan, ResourceRecord

COST_FORMAT: Final = "mlfabric-cost/1"

# Type tokens and labels the AWS components declare (kept as strings: importing the components'
# AWS modules would load pulumi_aws into every cloud's plan; tests pin them to the components').
AWS_CLUSTER: Final = "aws:eks/cluster:Cluster"
AWS_NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
AWS_LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
AWS_ENDPOINT: Final = "aws:sagemaker/endpoint:Endpoint"
AWS_ENDPOINT_CONFIG: Final = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
AWS_SCALABLE_TARGET: Final = "aws:appautoscaling/target:Target"
GPU_POOL_LABEL: Final = "mlfabric.dev/gpu-pool"
SYSTEM_POOL_LABEL: Final = "mlfabric.dev/system-pool"
ENDPOINT_TAG: Final = "mlfabric-endpoint"
# EKS managed node groups without a launch template get a 20 GiB root volume.
_EKS_DEFAULT_DISK_GIB: Final = 20
# System pool boot disk of each cloud's cluster component, for spec-derived pools.
_SYSTEM_DISK_GIB: Final[dict[Cloud, int]] = {"aws": 50, "gcp": 50, "azure": 128}
# Serving instance when an endpoint names neither instance nor accelerator, per cloud: each serving
# component's default (pinned to theirs by a test).
DEFAULT_SERVING_INSTANCE: Final[dict[Cloud, str]] = {
    "aws": "ml.m5.xlarge",
    "gcp": "e2-standard-4",
    "azure": "Standard_DS3_v2",
}


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
    # "plan" when read from the registrations, "spec" when derived from the spec (see module doc)
    source: Literal["plan", "spec"] = "plan"


def _int(value: Any, default: int = 0) -> int:
    # Under the mock runtime integers arrive as floats.
    return int(value) if isinstance(value, int | float) else default


def _aws_pools(plan: Plan) -> list[NodePool]:
    disks = {
        r.name: _int(((r.inputs.get("blockDeviceMappings") or [{}])[0].get("ebs") or {}).get("volumeSize"))
        for r in plan.of_type(AWS_LAUNCH_TEMPLATE)
    }
    pools: list[NodePool] = []
    for record in plan.of_type(AWS_NODE_GROUP):
        inputs = record.inputs
        labels = inputs.get("labels") or {}
        pool = labels.get(GPU_POOL_LABEL)
        machine = str((inputs.get("instanceTypes") or ["unknown"])[0])
        scaling = inputs.get("scalingConfig") or {}
        low = _int(scaling.get("minSize"))
        gpu = pool is not None or prices.is_gpu_machine("aws", machine)
        pools.append(NodePool(
            name=str(pool) if pool else ("system" if labels.get(SYSTEM_POOL_LABEL) else record.name),
            role="gpu" if gpu else "system",
            machine=machine,
            min_nodes=low,
            max_nodes=_int(scaling.get("maxSize"), low),
            spot=inputs.get("capacityType") == "SPOT",
            disk_gib=disks.get(record.name) or _int(inputs.get("diskSize"), _EKS_DEFAULT_DISK_GIB),
            logical=record.name,
        ))
    return pools


def _aws_endpoints(plan: Plan) -> list[Endpoint]:
    configs = {
        (r.inputs.get("tags") or {}).get(ENDPOINT_TAG) or r.name: r for r in plan.of_type(AWS_ENDPOINT_CONFIG)
    }
    by_logical = {r.name: r for r in plan.of_type(AWS_ENDPOINT_CONFIG)}
    targets = {str(r.inputs.get("resourceId")): r.inputs for r in plan.of_type(AWS_SCALABLE_TARGET)}
    endpoints: list[Endpoint] = []
    for record in plan.of_type(AWS_ENDPOINT):
        physical = str(record.inputs.get("name") or record.name)
        name = str((record.inputs.get("tags") or {}).get(ENDPOINT_TAG) or physical)
        config = configs.get(name) or by_logical.get(record.name)
        if config is None:
            continue
        variants: list[Variant] = []
        for key, shadow in (("productionVariants", False), ("shadowProductionVariants", True)):
            for variant in config.inputs.get(key) or []:
                variant_name = str(variant.get("variantName"))
                initial = _int(variant.get("initialInstanceCount"), 1)
                target = targets.get(f"endpoint/{physical}/variant/{variant_name}") or {}
                variants.append(Variant(
                    name=variant_name,
                    instance=str(variant.get("instanceType") or "unknown"),
                    min_replicas=_int(target.get("minCapacity"), initial),
                    max_replicas=_int(target.get("maxCapacity"), initial),
                    shadow=shadow,
                ))
        endpoints.append(Endpoint(name, physical, tuple(variants)))
    return endpoints


def _has_component(plan: Plan, concern: str) -> bool:
    return any(r.type.startswith(f"mlfabric:{concern}:") for r in plan.components)


def _serving_instance(cloud: Cloud, endpoint: EndpointSpec) -> str:
    if endpoint.instance is not None:
        return endpoint.instance
    if endpoint.accelerator is not None:
        return catalog.gpu_shape(cloud, endpoint.accelerator).machine
    return DEFAULT_SERVING_INSTANCE[cloud]


def _spec_pools(spec: PlatformSpec) -> list[NodePool]:
    if spec.training is None:
        return []
    system = spec.training.cluster.system_pool
    pools = [NodePool("system", "system", system.machine or catalog.DEFAULT_SYSTEM_MACHINE[spec.cloud],
                      system.min_nodes, system.max_nodes, False, _SYSTEM_DISK_GIB[spec.cloud])]
    for pool in spec.training.gpu_pools:
        shape = catalog.gpu_shape(spec.cloud, pool.accelerator, pool.gpus_per_node)
        pools.append(NodePool(pool.name, "gpu", shape.machine, pool.min_nodes, pool.max_nodes, pool.spot,
                              pool.disk_gib))
    return pools


def _spec_endpoints(spec: PlatformSpec) -> list[Endpoint]:
    if spec.serving is None:
        return []
    endpoints: list[Endpoint] = []
    for endpoint in spec.serving.endpoints:
        instance = _serving_instance(spec.cloud, endpoint)
        names = ["main"]
        names += ["challenger"] if endpoint.traffic.challenger else []
        variants = [Variant(n, instance, endpoint.min_replicas, endpoint.max_replicas) for n in names]
        if endpoint.traffic.shadow is not None:
            variants.append(Variant("shadow", instance, endpoint.min_replicas, endpoint.max_replicas, shadow=True))
        endpoints.append(Endpoint(endpoint.name, f"{spec.base_name}-{endpoint.name}", tuple(variants)))
    return endpoints


def inventory(plan: Plan) -> Inventory:
    """Clusters, node pools and endpoints the plan declares (see the module docstring)."""
    spec = plan.spec
    if spec.cloud == "aws":
        clusters = [Cluster(str(r.inputs.get("name") or r.name), str(r.inputs.get("version") or ""), r.name)
                    for r in plan.of_type(AWS_CLUSTER)]
        return Inventory("aws", spec.region, clusters, _aws_pools(plan), _aws_endpoints(plan), "plan")
    version = spec.training.cluster.kubernetes_version if spec.training else ""
    built = _has_component(plan, "cluster")
    return Inventory(
        spec.cloud,
        spec.region,
        [Cluster(spec.base_name, version)] if built else [],
        _spec_pools(spec) if built else [],
        _spec_endpoints(spec) if _has_component(plan, "serving") else [],
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


def _source(price: prices.UnitPrice | None) -> tuple[str, str]:
    if price is None:
        return "", ""
    return f"{price.source.url} ({price.source.region})", price.source.as_of


def _item(component: str, item: str, unit: str, idle: float, full: float, price: prices.UnitPrice | None,
          *, factor: float = 1.0, gpu: bool = False, note: str = "") -> LineItem:
    source, as_of = _source(price)
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


def _concern_of(record: ResourceRecord) -> str:
    """The concern a resource belongs to, from the component types in its URN."""
    chain = record.urn.split("::")[2] if record.urn.count("::") >= 3 else ""
    for token in chain.split("$"):
        parts = token.split(":")
        if len(parts) == 3 and parts[0] == "mlfabric" and parts[1] != "platform":
            return parts[1]
    return "platform"


@dataclass(frozen=True)
class _Counted:
    """A resource type billed per unit: how to recognise it, what it costs, how many units it is."""

    pattern: re.Pattern[str]
    key: prices.ServiceKey | Callable[[dict[str, Any]], prices.ServiceKey | None]
    label: str
    unit: str
    units: Callable[[dict[str, Any]], float] = lambda _inputs: 1.0
    # Infrastructure (control planes, gateways, addresses) lists before a component's nodes and
    # replicas; overheads (keys, alarms, dashboards) after them.
    overhead: bool = False


def _alarm_metrics(inputs: dict[str, Any]) -> float:
    # CloudWatch bills an alarm per metric it evaluates; a metric-math expression is not a metric.
    queries = inputs.get("metricQueries") or []
    return float(sum(1 for q in queries if q.get("metric"))) if queries else 1.0


def _aws_lb_key(inputs: dict[str, Any]) -> prices.ServiceKey:
    kind = str(inputs.get("loadBalancerType") or "application")
    return {"network": "load-balancer-network", "gateway": "load-balancer-gateway"}.get(
        kind, "load-balancer-application")  # type: ignore[return-value]


def _interface_endpoint_zones(inputs: dict[str, Any]) -> float:
    if inputs.get("vpcEndpointType") != "Interface":
        return 0.0
    return float(len(inputs.get("subnetIds") or []) or 1)


def _azure_cluster_key(inputs: dict[str, Any]) -> prices.ServiceKey | None:
    tier = str((inputs.get("sku") or {}).get("tier") or "Free")
    return {"Standard": "cluster", "Premium": "cluster-premium"}.get(tier)  # type: ignore[return-value]


def _gcp_key_key(inputs: dict[str, Any]) -> prices.ServiceKey:
    level = str((inputs.get("versionTemplate") or {}).get("protectionLevel") or "SOFTWARE")
    return "hsm-key" if level == "HSM" else "kms-key"


def _azure_key_key(inputs: dict[str, Any]) -> prices.ServiceKey | None:
    kty = str((inputs.get("properties") or {}).get("kty") or "")
    return "hsm-key" if kty.endswith("-HSM") else None


def _external_address(inputs: dict[str, Any]) -> float:
    return 0.0 if str(inputs.get("addressType") or "EXTERNAL") == "INTERNAL" else 1.0


def _azure(kind: str) -> re.Pattern[str]:
    # azure-native tokens may carry an API version: azure-native:network/v20230501:NatGateway.
    module, name = kind.split(":")
    return re.compile(rf"^azure-native:{module}(/v[\w-]+)?:{name}$")


def _exact(token: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(token)}$")


_COUNTED: Final[dict[Cloud, tuple[_Counted, ...]]] = {
    "aws": (
        _Counted(_exact(AWS_CLUSTER), "cluster", "EKS control plane", "cluster"),
        _Counted(_exact("aws:ec2/natGateway:NatGateway"), "nat-gateway", "NAT gateways", "gateway"),
        _Counted(_exact("aws:ec2/eip:Eip"), "public-ip", "public IPv4 addresses", "address"),
        _Counted(_exact("aws:ec2/vpcEndpoint:VpcEndpoint"), "interface-endpoint", "interface VPC endpoints",
                 "endpoint-zone", _interface_endpoint_zones),
        _Counted(re.compile(r"^aws:(lb|alb)/loadBalancer:LoadBalancer$"), _aws_lb_key, "load balancers", "LB"),
        _Counted(_exact("aws:elb/loadBalancer:LoadBalancer"), "load-balancer-classic", "classic load balancers",
                 "LB"),
        _Counted(_exact("aws:kms/key:Key"), "kms-key", "KMS keys", "key", overhead=True),
        _Counted(_exact("aws:cloudwatch/metricAlarm:MetricAlarm"), "alarm-metric", "CloudWatch alarms",
                 "alarm metric", _alarm_metrics, overhead=True),
        _Counted(_exact("aws:cloudwatch/dashboard:Dashboard"), "dashboard", "CloudWatch dashboards", "dashboard", overhead=True),
    ),
    "gcp": (
        _Counted(_exact("gcp:container/cluster:Cluster"), "cluster", "GKE cluster management", "cluster"),
        _Counted(re.compile(r"^gcp:compute/(address:Address|globalAddress:GlobalAddress)$"), "public-ip",
                 "external IP addresses", "address", _external_address),
        _Counted(re.compile(r"^gcp:compute/(forwardingRule:ForwardingRule|globalForwardingRule:GlobalForwardingRule)$"),
                 "load-balancer-application", "forwarding rules (load balancers)", "rule"),
        _Counted(_exact("gcp:kms/cryptoKey:CryptoKey"), _gcp_key_key, "Cloud KMS keys", "key version", overhead=True),
    ),
    "azure": (
        _Counted(_azure("containerservice:ManagedCluster"), _azure_cluster_key, "AKS control plane", "cluster"),
        _Counted(_azure("network:NatGateway"), "nat-gateway", "NAT gateways", "gateway"),
        _Counted(_azure("network:PublicIPAddress"), "public-ip", "public IP addresses", "address"),
        _Counted(_azure("network:LoadBalancer"), "load-balancer-network", "load balancers", "LB"),
        _Counted(_azure("keyvault:Key"), _azure_key_key, "Key Vault HSM keys", "key", overhead=True),
    ),
}


def _counted_items(plan: Plan, cloud: Cloud, *, overhead: bool) -> list[LineItem]:
    totals: dict[tuple[str, str, str, prices.ServiceKey], float] = defaultdict(float)
    for record in plan.custom_resources:
        for rule in _COUNTED[cloud]:
            if rule.overhead != overhead or not rule.pattern.match(record.type):
                continue
            key = rule.key(record.inputs) if callable(rule.key) else rule.key
            units = rule.units(record.inputs)
            if key is not None and units:
                totals[(_concern_of(record), rule.label, rule.unit, key)] += units
            break
    items: list[LineItem] = []
    # Sorted: registration order under the mock runtime is not deterministic.
    for (component, label, unit, key), units in sorted(totals.items()):
        price = prices.service_price(cloud, key)
        items.append(_item(component, label, unit, units, units, price))
    return items


def _gcp_nat_items(plan: Plan, pools: Iterable[NodePool]) -> list[LineItem]:
    """Cloud NAT bills per VM behind the gateway (capped at 32 VMs), so idle and full differ."""
    gateways = [r for r in plan.custom_resources if r.type == "gcp:compute/routerNat:RouterNat"]
    if not gateways:
        return []
    pools = list(pools)
    idle_vms = sum(p.min_nodes for p in pools)
    full_vms = sum(p.max_nodes for p in pools)
    per_vm = prices.GCP_NAT_PER_VM_HOUR
    cap = prices.GCP_NAT_CAP_HOUR

    def hours(vms: int) -> float:
        return cap.usd_per_month if vms > prices.GCP_NAT_CAP_VMS else vms * per_vm.usd_per_month

    source, as_of = _source(per_vm)
    return [LineItem(_concern_of(g), "Cloud NAT (per VM behind the gateway)", "gateway-month", hours(idle_vms),
                     hours(full_vms), 1.0, source, as_of, note=f"{idle_vms} VMs idle, {full_vms} at full scale")
            for g in gateways]


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
    if cloud == "aws" and inventory_.clusters:
        notes.append("EKS versions in extended support cost $0.60 per cluster-hour instead of $0.10")
    if cloud == "aws" and inventory_.endpoints:
        notes.append("a SageMaker blue/green update runs a second fleet for its bake time (not included)")
    if cloud == "gcp" and inventory_.endpoints:
        notes.append("Vertex AI prediction nodes bill above the Compute Engine prices used here (a floor)")
    if cloud == "azure":
        notes.append("Key Vault software keys and storage bill per operation and GiB (usage)")
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
    found = inventory(plan)
    items = _counted_items(plan, cloud, overhead=False)
    if cloud == "gcp":
        items += _gcp_nat_items(plan, found.pools)
    for pool in sorted(found.pools, key=lambda p: (p.gpu, p.name)):
        items += _pool_items(cloud, pool)
    for endpoint in found.endpoints:
        items += _endpoint_items(cloud, endpoint)
    items += _counted_items(plan, cloud, overhead=True)
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
