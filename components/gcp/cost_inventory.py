"""What a GCP plan runs and what its resources cost (the kit's ``cost_inventory``; SDK-free).

The inventory is read from the recorded registrations — GKE clusters and node pools (machine type,
autoscaling totals, spot, boot disk) and Cloud Run services (CPU, memory and GPU limits, GPU zonal
redundancy, the service's minimum and maximum instances) — so it is exactly what the program
declared. Cloud Run GPU services are billed per instance: vCPU-seconds, GiB-seconds and
GPU-seconds for every second an instance exists (minimum instances all month), at a higher GPU rate
with zonal redundancy. Cloud NAT is billed per VM behind the gateway, so it is priced from the
pools. The GKE cluster fee comes from the version calendar (standard or extended period).
"""

from __future__ import annotations

import re
from typing import Any, Final

from mlfabric.components import prices
from mlfabric.components.costing import (
    Cluster,
    CostInventory,
    Counted,
    Endpoint,
    Inventory,
    LineItem,
    NodePool,
    PlanView,
    RecordView,
    Variant,
    as_int,
    concern_of,
    control_plane_item,
    exact,
    price_source,
)
from mlfabric.components.kubernetes.gpu_pool import GPU_POOL_LABEL, GPU_RESOURCE, SYSTEM_POOL_LABEL

# Type tokens the GCP components declare (strings: importing the components would load pulumi_gcp).
CLUSTER: Final = "gcp:container/cluster:Cluster"
NODE_POOL: Final = "gcp:container/nodePool:NodePool"
CLOUD_RUN: Final = "gcp:cloudrunv2/service:Service"
ROUTER_NAT: Final = "gcp:compute/routerNat:RouterNat"
FILESTORE: Final = "gcp:filestore/instance:Instance"
SQL_INSTANCE: Final = "gcp:sql/databaseInstance:DatabaseInstance"
WORKBENCH: Final = "gcp:workbench/instance:Instance"
ENDPOINT_LABEL: Final = "mlfabric-endpoint"
# The system pool boot disk and the CPU serving machine of the GCP components (pinned to theirs by
# a test: importing them would load pulumi_gcp).
SYSTEM_DISK_GIB: Final = 50
DEFAULT_SERVING_INSTANCE: Final = "e2-standard-4"
# Cloud Run's own default when a service sets no maximum.
_CLOUD_RUN_DEFAULT_MAX: Final = 100


def _zones(record: RecordView, clusters: dict[str, RecordView]) -> int:
    locations = record.inputs.get("nodeLocations")
    if not locations:
        cluster = clusters.get(str(record.inputs.get("cluster") or "").rsplit("/", 1)[-1])
        locations = (cluster.inputs.get("nodeLocations") if cluster else None) or [None]
    return len(locations)


def _pools(plan: PlanView) -> list[NodePool]:
    clusters = {str(r.inputs.get("name") or r.name): r for r in plan.of_type(CLUSTER)}
    pools: list[NodePool] = []
    for record in plan.of_type(NODE_POOL):
        inputs = record.inputs
        config = inputs.get("nodeConfig") or {}
        labels = config.get("labels") or {}
        scaling = inputs.get("autoscaling") or {}
        machine = str(config.get("machineType") or "unknown")
        if "totalMinNodeCount" in scaling or "totalMaxNodeCount" in scaling:
            low = as_int(scaling.get("totalMinNodeCount"))
            high = as_int(scaling.get("totalMaxNodeCount"), low)
        elif scaling:   # per-zone bounds
            zones = _zones(record, clusters)
            low = as_int(scaling.get("minNodeCount")) * zones
            high = as_int(scaling.get("maxNodeCount")) * zones or low
        else:
            low = high = as_int(inputs.get("nodeCount"), as_int(inputs.get("initialNodeCount"), 1))
        pool = labels.get(GPU_POOL_LABEL)
        gpu = pool is not None or bool(config.get("guestAccelerators")) or prices.is_gpu_machine("gcp", machine)
        pools.append(NodePool(
            name=str(pool) if pool else ("system" if labels.get(SYSTEM_POOL_LABEL) else record.name),
            role="gpu" if gpu else "system",
            machine=machine,
            min_nodes=low,
            max_nodes=max(high, low),
            spot=bool(config.get("spot") or config.get("preemptible")),
            disk_gib=as_int(config.get("diskSizeGb"), 100),
            logical=record.name,
        ))
    return pools


def _quantity(value: Any, default: float) -> float:
    """A Kubernetes-style quantity: "4", "1000m", "16Gi", "512Mi", "2G"."""
    text = str(value or "").strip()
    match = re.fullmatch(r"([\d.]+)\s*(m|Mi|Gi|Ti|M|G)?", text)
    if not match:
        return default
    number = float(match.group(1))
    scale = {"m": 0.001, "Mi": 1 / 1024, "Gi": 1.0, "Ti": 1024.0, "M": 1e6 / 2**30, "G": 1e9 / 2**30}
    return number * scale.get(match.group(2) or "", 1.0)


def _cloud_run(record: RecordView) -> Endpoint:
    inputs = record.inputs
    template = inputs.get("template") or {}
    # An instance bills every container's CPU and memory (the tracking server has a proxy sidecar).
    every = [((c.get("resources") or {}).get("limits") or {}) for c in template.get("containers") or [{}]]
    limits = every[0] if len(every) == 1 else {
        "cpu": str(sum(_quantity(c.get("cpu"), 1.0) for c in every)),
        "memory": f"{sum(_quantity(c.get('memory'), 0.5) for c in every)}Gi",
        GPU_RESOURCE: str(sum(_quantity(c.get(GPU_RESOURCE), 0.0) for c in every)),
    }
    scaling = inputs.get("scaling") or template.get("scaling") or {}
    low = as_int(scaling.get("minInstanceCount"))
    high = as_int(scaling.get("maxInstanceCount"), _CLOUD_RUN_DEFAULT_MAX)
    gpus = as_int(_quantity(limits.get(GPU_RESOURCE), 0.0))
    accelerator = str((template.get("nodeSelector") or {}).get("accelerator") or "nvidia-l4") if gpus else ""
    name = str((inputs.get("labels") or {}).get(ENDPOINT_LABEL) or inputs.get("name") or record.name)
    variant = Variant(
        name="service", instance="Cloud Run", min_replicas=low, max_replicas=max(high, low),
        cpu=_quantity(limits.get("cpu"), 1.0), memory_gib=_quantity(limits.get("memory"), 0.5), gpu=accelerator,
        zonal_redundancy=bool(gpus) and not template.get("gpuZonalRedundancyDisabled"),
    )
    return Endpoint(name, str(inputs.get("name") or record.name), (variant,))


def read(plan: PlanView) -> Inventory:
    """Clusters, node pools and Cloud Run services, read from the plan's registrations."""
    clusters = [Cluster(str(r.inputs.get("name") or r.name), str(r.inputs.get("minMasterVersion") or ""), r.name)
                for r in plan.of_type(CLUSTER)]
    endpoints = [_cloud_run(r) for r in plan.of_type(CLOUD_RUN)]
    return Inventory("gcp", plan.spec.region, clusters, _pools(plan), endpoints, "plan")


def cloud_run_unit_price(variant: Variant, region: str) -> tuple[prices.UnitPrice | None, str]:
    """One Cloud Run instance for a month (vCPU + memory + GPU seconds), and what it is made of;
    None when any of the rates has no row for the region."""
    gpu_sku = f"{variant.gpu}-zonal-redundancy" if variant.zonal_redundancy else variant.gpu
    parts = [("cpu", variant.cpu), ("memory", variant.memory_gib)] + ([(gpu_sku, 1.0)] if variant.gpu else [])
    rates = [(sku, amount, prices.cloud_run_price(sku, region)) for sku, amount in parts]
    what = (f"{variant.cpu:g} vCPU, {variant.memory_gib:g} GiB"
            + (f", 1 {variant.gpu}{' zonal redundancy' if variant.zonal_redundancy else ''}" if variant.gpu else ""))
    missing = [sku for sku, _, rate in rates if rate is None]
    if missing:
        return None, f"{what}; no {region} rate for {', '.join(missing)}"
    monthly = sum(amount * rate.usd_per_month for _, amount, rate in rates if rate is not None)
    first = rates[-1][2]
    assert first is not None
    return (prices.UnitPrice(monthly, "month", first.source, all(r is not None and r.verified for _, _, r in rates)),
            what)


def _key_key(inputs: dict[str, Any]) -> prices.ServiceKey:
    level = str((inputs.get("versionTemplate") or {}).get("protectionLevel") or "SOFTWARE")
    return "hsm-key" if level == "HSM" else "kms-key"


def _external_address(inputs: dict[str, Any]) -> float:
    return 0.0 if str(inputs.get("addressType") or "EXTERNAL") == "INTERNAL" else 1.0


COUNTED: Final = (
    Counted(re.compile(r"^gcp:compute/(address:Address|globalAddress:GlobalAddress)$"), "public-ip",
            "external IP addresses", "address", _external_address),
    Counted(re.compile(r"^gcp:compute/(forwardingRule:ForwardingRule|globalForwardingRule:GlobalForwardingRule)$"),
            "load-balancer-application", "forwarding rules (load balancers)", "rule"),
    Counted(exact("gcp:kms/cryptoKey:CryptoKey"), _key_key, "Cloud KMS keys", "key version", overhead=True),
)


def extra_items(plan: PlanView, inventory: Inventory) -> list[LineItem]:
    """Filestore capacity, GKE cluster management fees (from the version calendar) and Cloud NAT,
    billed per VM behind the gateway (capped at 32 VMs), so idle and full differ."""
    from mlfabric.components.gcp.kit import kubernetes_calendar

    calendar = kubernetes_calendar()
    items = [*filestore_items(plan), *lifecycle_items(plan)]
    items += [control_plane_item(r, "GKE cluster management", str(r.inputs.get("minMasterVersion") or ""), calendar)
             for r in plan.of_type(CLUSTER)]
    gateways = [r for r in plan.custom_resources if r.type == ROUTER_NAT]
    rates = prices.nat_rates(plan.spec.region)
    idle_vms = sum(p.min_nodes for p in inventory.pools)
    full_vms = sum(p.max_nodes for p in inventory.pools)
    for gateway in gateways:
        label = "Cloud NAT (per VM behind the gateway)"
        note = f"{idle_vms} VMs idle, {full_vms} at full scale"
        if rates is None:
            items.append(LineItem(concern_of(gateway), label, "gateway-month", 1.0, 1.0, None,
                                  note=f"{note}; no {plan.spec.region} rate in components/gcp/prices.json"))
            continue
        per_vm, cap = rates

        def month(vms: int, per_vm: prices.UnitPrice = per_vm, cap: prices.UnitPrice = cap) -> float:
            return cap.usd_per_month if vms > prices.NAT_CAP_VMS else vms * per_vm.usd_per_month

        source, as_of = price_source(per_vm)
        items.append(LineItem(concern_of(gateway), label, "gateway-month", month(idle_vms), month(full_vms), 1.0,
                              source, as_of, note=note, verified=per_vm.verified))
    return items


def filestore_sku(tier: str) -> str:
    """The price-file SKU of a Filestore tier's provisioned capacity, per GiB-month
    (``filestore-zonal-gib``)."""
    return f"filestore-{tier.lower()}-gib"


def filestore_items(plan: PlanView) -> list[LineItem]:
    """Filestore instances: provisioned capacity, billed per GiB-month whether used or not (idle and
    full alike); unpriced unless ``prices.json`` has the tier's row for the region."""
    items = []
    for record in plan.of_type(FILESTORE):
        tier = str(record.inputs.get("tier") or "ZONAL")
        shares = record.inputs.get("fileShares") or {}
        share: dict[str, Any] = shares[0] if isinstance(shares, list) and shares else dict(shares)
        gib = float(as_int(share.get("capacityGb")))
        sku = filestore_sku(tier)
        price = prices.lookup("gcp", "service", sku, plan.spec.region)
        label = f"Filestore {tier.lower()} capacity (shared file system)"
        if price is None:
            items.append(LineItem(concern_of(record), label, "GiB", gib, gib, None,
                                  note=f"no {plan.spec.region} row for {sku} in components/gcp/prices.json"))
            continue
        source, as_of = price_source(price)
        items.append(LineItem(concern_of(record), label, "GiB", gib, gib, price.usd_per_month, source, as_of,
                              verified=price.verified))
    return items


def lifecycle_items(plan: PlanView) -> list[LineItem]:
    """The tracking server's Cloud SQL instance (all month; unpriced: ``prices.json`` has no Cloud SQL
    rows) and each Workbench instance's VM (none idle: it stops when idle; all month at full scale),
    priced from the machine's row when there is one. Workbench's management fee and the disks are not
    in the estimate (the item's note says so)."""
    items: list[LineItem] = []
    region = plan.spec.region
    for record in plan.of_type(SQL_INSTANCE):
        settings = record.inputs.get("settings") or {}
        tier = str(settings.get("tier") or "unknown")
        availability = str(settings.get("availabilityType") or "ZONAL").lower()
        items.append(LineItem(concern_of(record), f"Cloud SQL PostgreSQL {tier} ({availability})", "instance",
                              1.0, 1.0, None, note=f"no {region} row for Cloud SQL {tier} in components/gcp/prices.json"))
    for record in plan.of_type(WORKBENCH):
        machine = str((record.inputs.get("gceSetup") or {}).get("machineType") or "unknown")
        price = prices.machine_price("gcp", machine, region)
        label = f"Workbench notebook VM {machine} (stops when idle)"
        if price is None:
            items.append(LineItem(concern_of(record), label, "instance", 0.0, 1.0, None,
                                  note=f"no {region} row for {machine} in components/gcp/prices.json"))
            continue
        source, as_of = price_source(price)
        items.append(LineItem(concern_of(record), label, "instance", 0.0, 1.0, price.usd_per_month, source, as_of,
                              note="VM only: Workbench's management fee and the disks are not included",
                              verified=price.verified))
    return items


def notes(inventory: Inventory) -> list[str]:
    """What GCP's line items leave out or approximate."""
    found: list[str] = []
    if inventory.endpoints:
        found.append("Cloud Run services are priced with instance-based billing: every instance (the "
                     "service's minimum all month) bills vCPU-, GiB- and GPU-seconds; requests and egress "
                     "are usage")
    return found


COST_INVENTORY: Final = CostInventory(read=read, counted=COUNTED, notes=notes, extra_items=extra_items,
                                      replica_price=cloud_run_unit_price)
