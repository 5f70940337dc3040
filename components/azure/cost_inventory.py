"""What an Azure plan runs and what its resources cost (the kit's ``cost_inventory``; SDK-free).

The inventory is read from the recorded registrations — the AKS cluster (its system pool in
``agentPoolProfiles``), its agent pools (VM size, autoscaling bounds, Spot priority, OS disk) and
Azure ML online deployments (instance type, autoscale bounds) — so it is exactly what the program
declared. Besides nodes and replicas, an Azure platform pays for node OS disks (managed Premium SSD
tiers), private endpoints, private DNS zones, container registry units (including the Premium
registry Azure ML creates for a model registry), the AKS control plane (Standard or Premium tier,
rates from the version calendar) and Azure Managed Lustre file systems (per TiB of their tier's
capacity, price-file rows of kind ``service`` named after the tier's SKU, e.g.
``AMLFS-Durable-Premium-500``, per TiB-hour).
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
    control_plane_item,
    price_source,
)
from mlfabric.components.kubernetes.gpu_pool import GPU_POOL_LABEL

# The system pool OS disk and the CPU serving instance of the Azure components (pinned to theirs by
# a test: importing them would load pulumi_azure_native).
SYSTEM_DISK_GIB: Final = 128
DEFAULT_SERVING_INSTANCE: Final = "Standard_DS3_v2"
ENDPOINT_TAG: Final = "mlfabric-endpoint"
VARIANT_TAG: Final = "mlfabric-variant"


def _token(kind: str) -> re.Pattern[str]:
    # azure-native tokens may carry an API version: azure-native:network/v20230501:NatGateway.
    module, name = kind.split(":")
    return re.compile(rf"^azure-native:{module}(/v[\w-]+)?:{name}$")


def _of(plan: PlanView, kind: str) -> list[RecordView]:
    pattern = _token(kind)
    return [r for r in plan.custom_resources if pattern.match(r.type)]


def _pool(profile: dict[str, Any], fallback_name: str, logical: str) -> NodePool:
    low = as_int(profile.get("minCount"), as_int(profile.get("count"), 1)) if profile.get("enableAutoScaling") \
        else as_int(profile.get("count"), 1)
    high = as_int(profile.get("maxCount"), low) if profile.get("enableAutoScaling") else low
    labels = profile.get("nodeLabels") or {}
    gpu_pool = labels.get(GPU_POOL_LABEL)
    machine = str(profile.get("vmSize") or "unknown")
    system = str(profile.get("mode") or "User") == "System"
    return NodePool(
        name="system" if system else str(gpu_pool or profile.get("agentPoolName") or profile.get("name") or fallback_name),
        role="gpu" if gpu_pool or prices.is_gpu_machine("azure", machine) else "system",
        machine=machine,
        min_nodes=low,
        max_nodes=max(high, low),
        spot=str(profile.get("scaleSetPriority") or "Regular") == "Spot",
        disk_gib=as_int(profile.get("osDiskSizeGB"), SYSTEM_DISK_GIB),
        logical=logical,
        disk_billing="none" if str(profile.get("osDiskType") or "") == "Ephemeral" else "tier",
    )


def _autoscale(plan: PlanView) -> dict[tuple[str, str], tuple[int, int]]:
    """(endpoint, deployment) -> (min, max) instances from the autoscale settings targeting them."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for record in _of(plan, "monitor:AutoscaleSetting"):
        uri = str(record.inputs.get("targetResourceUri") or "")
        match = re.search(r"/onlineEndpoints/([^/]+)/deployments/([^/]+)/?$", uri, re.IGNORECASE)
        profiles = record.inputs.get("profiles") or []
        if not match or not profiles:
            continue
        capacity = profiles[0].get("capacity") or {}
        found[(match.group(1).lower(), match.group(2).lower())] = (
            as_int(float(capacity.get("minimum") or 0)), as_int(float(capacity.get("maximum") or 0)))
    return found


def _endpoints(plan: PlanView) -> list[Endpoint]:
    scaling = _autoscale(plan)
    by_endpoint: dict[str, list[Variant]] = {}
    physical: dict[str, str] = {}
    for record in _of(plan, "machinelearningservices:OnlineDeployment"):
        inputs = record.inputs
        tags = inputs.get("tags") or {}
        endpoint = str(inputs.get("endpointName") or record.name)
        deployment = str(inputs.get("deploymentName") or record.name)
        name = str(tags.get(ENDPOINT_TAG) or endpoint)
        capacity = as_int((inputs.get("sku") or {}).get("capacity"), 1)
        low, high = scaling.get((endpoint.lower(), deployment.lower()), (capacity, capacity))
        instance = str((inputs.get("properties") or {}).get("instanceType") or DEFAULT_SERVING_INSTANCE)
        role = str(tags.get(VARIANT_TAG) or deployment)
        by_endpoint.setdefault(name, []).append(
            Variant(role, instance, low, max(high, low), shadow=role == "shadow"))
        physical[name] = endpoint
    return [Endpoint(name, physical[name], tuple(sorted(variants, key=lambda v: v.name)))
            for name, variants in sorted(by_endpoint.items())]


def read(plan: PlanView) -> Inventory:
    """Clusters, node pools and online deployments, read from the plan's registrations."""
    clusters: list[Cluster] = []
    pools: list[NodePool] = []
    for record in _of(plan, "containerservice:ManagedCluster"):
        clusters.append(Cluster(str(record.inputs.get("resourceName") or record.name),
                                str(record.inputs.get("kubernetesVersion") or ""), record.name))
        for profile in record.inputs.get("agentPoolProfiles") or []:
            pools.append(_pool(profile, "system", record.name))
    for record in _of(plan, "containerservice:AgentPool"):
        pools.append(_pool(record.inputs, record.name, record.name))
    return Inventory("azure", plan.spec.region, clusters, pools, _endpoints(plan), "plan")


# Premium SSD tiers a managed OS disk of a given size bills as (GiB -> tier key).
OS_DISK_TIERS: Final[tuple[tuple[int, prices.ServiceKey], ...]] = (
    (128, "os-disk-p10"), (256, "os-disk-p15"), (512, "os-disk-p20"), (1024, "os-disk-p30"),
)


def os_disk_tier(disk_gib: int) -> prices.ServiceKey | None:
    """The Premium SSD tier of a managed OS disk (None above 1 TiB: not in the price file)."""
    return next((key for size, key in OS_DISK_TIERS if disk_gib <= size), None)


def _registry_key(inputs: dict[str, Any]) -> prices.ServiceKey | None:
    sku = str((inputs.get("sku") or {}).get("name") or "Basic").lower()
    return {"basic": "registry-basic", "standard": "registry-standard", "premium": "registry-premium"}.get(sku)  # type: ignore[return-value]


def _aml_registry_key(inputs: dict[str, Any]) -> prices.ServiceKey | None:
    # An Azure ML registry creates its own container registry per region (Premium by default).
    for region in inputs.get("regionDetails") or []:
        for acr in region.get("acrDetails") or []:
            sku = str((acr.get("systemCreatedAcrAccount") or {}).get("acrAccountSku") or "Premium")
            return _registry_key({"sku": {"name": sku}})
    return "registry-premium"


def _aml_registry_units(inputs: dict[str, Any]) -> float:
    return float(len(inputs.get("regionDetails") or []) or 1)


def _key_key(inputs: dict[str, Any]) -> prices.ServiceKey | None:
    kty = str((inputs.get("properties") or {}).get("kty") or "")
    return "hsm-key" if kty.endswith("-HSM") else None


COUNTED: Final = (
    Counted(_token("network:NatGateway"), "nat-gateway", "NAT gateways", "gateway"),
    Counted(_token("network:PublicIPAddress"), "public-ip", "public IP addresses", "address"),
    Counted(_token("network:LoadBalancer"), "load-balancer-network", "load balancers", "LB"),
    Counted(_token("network:PrivateEndpoint"), "private-endpoint", "private endpoints", "endpoint"),
    Counted(_token("privatedns:PrivateZone"), "private-dns-zone", "private DNS zones", "zone", overhead=True),
    Counted(_token("containerregistry:Registry"), _registry_key, "container registries", "registry"),
    Counted(_token("machinelearningservices:Registry"), _aml_registry_key,
            "Azure ML registry's own container registry", "registry", _aml_registry_units),
    Counted(_token("keyvault:Key"), _key_key, "Key Vault HSM keys", "key", overhead=True),
)


def extra_items(plan: PlanView, inventory: Inventory) -> list[LineItem]:
    """The AKS control plane (Standard: the standard rate; Premium, or a version in long-term
    support: the extended rate; Free: no fee) and managed OS disks of every pool's nodes."""
    from mlfabric.components.azure.kit import aks_calendar

    calendar = aks_calendar()
    items: list[LineItem] = []
    for record in _of(plan, "containerservice:ManagedCluster"):
        tier = str((record.inputs.get("sku") or {}).get("tier") or "Free")
        version = str(record.inputs.get("kubernetesVersion") or "")
        extended = tier == "Premium" or calendar.phase(version, _today()) == "extended"
        if tier == "Free" and not extended:
            continue
        items.append(control_plane_item(record, f"AKS control plane ({'Premium' if extended else tier} tier)",
                                        version, calendar, tier="extended" if extended else "standard"))
    region = plan.spec.region
    for pool in inventory.pools:
        if pool.disk_billing != "tier" or not pool.disk_gib:
            continue
        key = os_disk_tier(pool.disk_gib)
        price = prices.service_price("azure", key, region) if key else None
        source, as_of = price_source(price)
        what = "system nodes" if pool.role == "system" else f"GPU pool {pool.name}"
        tier_name = key.removeprefix("os-disk-").upper() if key else "no tier"
        note = "" if price else f"no {region} price for {tier_name} in components/azure/prices.json"
        items.append(LineItem("cluster", f"{what} OS disks ({pool.disk_gib} GiB managed, {tier_name})", "disk",
                              pool.min_nodes, pool.max_nodes, price.usd_per_month if price else None, source, as_of,
                              note=note, verified=price.verified if price else True))
    return [*items, *lustre_items(plan), *notebook_items(plan), *drift_items(plan)]


def notebook_items(plan: PlanView) -> list[LineItem]:
    """Azure ML compute instances, per VM size: the VM's price while running (none when stopped by
    idle shutdown, so none idle; every instance running all month at full scale)."""
    sizes: dict[str, int] = {}
    for record in _of(plan, "machinelearningservices:Compute"):
        properties = record.inputs.get("properties") or {}
        if properties.get("computeType") != "ComputeInstance":
            continue
        size = str((properties.get("properties") or {}).get("vmSize") or "unknown")
        sizes[size] = sizes.get(size, 0) + 1
    items: list[LineItem] = []
    region = plan.spec.region
    for size, count in sorted(sizes.items()):
        price = prices.machine_price("azure", size, region)
        source, as_of = price_source(price)
        note = "stopped when idle (no VM charge); its OS disk bills while stopped (not priced here)"
        if price is None:
            note = f"no {region} price for {size} in components/azure/prices.json; {note}"
        items.append(LineItem("notebooks", f"notebook compute instances ({size})", "instance", 0, count,
                              price.usd_per_month if price else None, source, as_of, note=note,
                              verified=price.verified if price else True))
    return items


def drift_items(plan: PlanView) -> list[LineItem]:
    """Azure ML model monitors: each run is a serverless Spark job, billed per run (unpriced here)."""
    monitors = [r for r in _of(plan, "machinelearningservices:Schedule")
                if ((r.inputs.get("properties") or {}).get("action") or {}).get("actionType") == "CreateMonitor"]
    if not monitors:
        return []
    return [LineItem("serving", "drift monitor runs (Azure ML serverless Spark, per run)", "monitor",
                     len(monitors), len(monitors), None,
                     note="serverless Spark bills per vCore-hour of each run: no row in components/azure/prices.json")]


def lustre_items(plan: PlanView) -> list[LineItem]:
    """Azure Managed Lustre: the file system's provisioned TiB, billed whether used or not."""
    items: list[LineItem] = []
    region = plan.spec.region
    for record in _of(plan, "storagecache:AmlFilesystem"):
        sku = str((record.inputs.get("sku") or {}).get("name") or "")
        tib = float(record.inputs.get("storageCapacityTiB") or 0)
        price = prices.lookup("azure", "service", sku, region) if sku else None
        source, as_of = price_source(price)
        note = "" if price else f"no {region} price for {sku or 'the tier'} (per TiB-hour) in components/azure/prices.json"
        items.append(LineItem("cluster", f"Azure Managed Lustre {sku} ({tib:g} TiB)", "TiB", tib, tib,
                              price.usd_per_month if price else None, source, as_of, note=note,
                              verified=price.verified if price else True))
    return items


def _today() -> Any:
    from mlfabric.components.kubernetes.versions import today

    return today()


def notes(inventory: Inventory) -> list[str]:
    """What Azure's line items leave out."""
    found = ["Key Vault software keys and storage bill per operation and GiB (usage); private endpoints "
             "and DNS zones also bill per GB processed and per query (usage)"]
    found.append("the ML workspace's MLflow tracking has no charge of its own (runs and artifacts bill as the "
                 "workspace's storage)")
    if any(p.disk_billing == "tier" for p in inventory.pools):
        found.append("node OS disks priced as managed Premium SSD tiers (ephemeral OS disks would cost nothing)")
    return found


COST_INVENTORY: Final = CostInventory(read=read, counted=COUNTED, notes=notes, extra_items=extra_items)
