"""What an AWS plan runs and what its resources cost (the kit's ``cost_inventory``; SDK-free).

The inventory is read from the recorded registrations themselves — ``eks.NodeGroup`` scaling
configs and instance types, SageMaker endpoint configurations and their autoscaling targets — so it
is exactly what the program declared; ``preflight`` and ``verify`` read the same inventory.
"""

from __future__ import annotations

import re
from typing import Any, Final

from mlfabric.components import prices
from mlfabric.components.aws import lifecycle_costs
from mlfabric.components.aws.versions import eks_calendar
from mlfabric.components.costing import (
    Cluster,
    CostInventory,
    Counted,
    Endpoint,
    Inventory,
    LineItem,
    NodePool,
    PlanView,
    Variant,
    as_int,
    concern_of,
    control_plane_item,
    exact,
)
from mlfabric.components.kubernetes.gpu_pool import GPU_POOL_LABEL, SYSTEM_POOL_LABEL

# Type tokens and the tag the AWS components declare (kept as strings: importing the components'
# modules would load pulumi_aws into every cloud's plan). A wrong one empties the inventory, which
# tests/test_cost.py's inventory of the prod stack would show.
CLUSTER: Final = "aws:eks/cluster:Cluster"
NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
ENDPOINT: Final = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG: Final = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SCALABLE_TARGET: Final = "aws:appautoscaling/target:Target"
ENDPOINT_TAG: Final = "mlfabric-endpoint"
FSX_LUSTRE: Final = "aws:fsx/lustreFileSystem:LustreFileSystem"
# EKS managed node groups without a launch template get a 20 GiB root volume.
_EKS_DEFAULT_DISK_GIB: Final = 20


def _pools(plan: PlanView) -> list[NodePool]:
    disks = {
        r.name: as_int(((r.inputs.get("blockDeviceMappings") or [{}])[0].get("ebs") or {}).get("volumeSize"))
        for r in plan.of_type(LAUNCH_TEMPLATE)
    }
    pools: list[NodePool] = []
    for record in plan.of_type(NODE_GROUP):
        inputs = record.inputs
        labels = inputs.get("labels") or {}
        pool = labels.get(GPU_POOL_LABEL)
        machine = str((inputs.get("instanceTypes") or ["unknown"])[0])
        scaling = inputs.get("scalingConfig") or {}
        low = as_int(scaling.get("minSize"))
        gpu = pool is not None or prices.is_gpu_machine("aws", machine)
        pools.append(NodePool(
            name=str(pool) if pool else ("system" if labels.get(SYSTEM_POOL_LABEL) else record.name),
            role="gpu" if gpu else "system",
            machine=machine,
            min_nodes=low,
            max_nodes=as_int(scaling.get("maxSize"), low),
            spot=inputs.get("capacityType") == "SPOT",
            disk_gib=disks.get(record.name) or as_int(inputs.get("diskSize"), _EKS_DEFAULT_DISK_GIB),
            logical=record.name,
        ))
    return pools


def _variants(config: dict[str, Any], physical: str, targets: dict[str, dict[str, Any]]) -> list[Variant]:
    variants: list[Variant] = []
    for key, shadow in (("productionVariants", False), ("shadowProductionVariants", True)):
        for variant in config.get(key) or []:
            variant_name = str(variant.get("variantName"))
            initial = as_int(variant.get("initialInstanceCount"), 1)
            target = targets.get(f"endpoint/{physical}/variant/{variant_name}") or {}
            variants.append(Variant(
                name=variant_name,
                instance=str(variant.get("instanceType") or "unknown"),
                min_replicas=as_int(target.get("minCapacity"), initial),
                max_replicas=as_int(target.get("maxCapacity"), initial),
                shadow=shadow,
            ))
    return variants


def _endpoints(plan: PlanView) -> list[Endpoint]:
    configs = {
        (r.inputs.get("tags") or {}).get(ENDPOINT_TAG) or r.name: r for r in plan.of_type(ENDPOINT_CONFIG)
    }
    by_logical = {r.name: r for r in plan.of_type(ENDPOINT_CONFIG)}
    targets = {str(r.inputs.get("resourceId")): r.inputs for r in plan.of_type(SCALABLE_TARGET)}
    endpoints: list[Endpoint] = []
    for record in plan.of_type(ENDPOINT):
        physical = str(record.inputs.get("name") or record.name)
        name = str((record.inputs.get("tags") or {}).get(ENDPOINT_TAG) or physical)
        config = configs.get(name) or by_logical.get(record.name)
        if config is None:
            continue
        endpoints.append(Endpoint(name, physical, tuple(_variants(config.inputs, physical, targets))))
    return endpoints


def read(plan: PlanView) -> Inventory:
    """Clusters, node pools and endpoints, read from the plan's registrations."""
    clusters = [Cluster(str(r.inputs.get("name") or r.name), str(r.inputs.get("version") or ""), r.name)
                for r in plan.of_type(CLUSTER)]
    return Inventory("aws", plan.spec.region, clusters, _pools(plan), _endpoints(plan), "plan")


def _alarm_metrics(inputs: dict[str, Any]) -> float:
    # CloudWatch bills an alarm per metric it evaluates; a metric-math expression is not a metric.
    queries = inputs.get("metricQueries") or []
    return float(sum(1 for q in queries if q.get("metric"))) if queries else 1.0


def _lb_key(inputs: dict[str, Any]) -> prices.ServiceKey:
    kind = str(inputs.get("loadBalancerType") or "application")
    return {"network": "load-balancer-network", "gateway": "load-balancer-gateway"}.get(
        kind, "load-balancer-application")  # type: ignore[return-value]


def _interface_endpoint_zones(inputs: dict[str, Any]) -> float:
    if inputs.get("vpcEndpointType") != "Interface":
        return 0.0
    return float(len(inputs.get("subnetIds") or []) or 1)


def control_plane_items(plan: PlanView, inventory: Inventory) -> list[LineItem]:
    """The EKS control plane of each cluster, at the standard rate or — for a version in extended
    support on ``today()`` — the extended-support rate, both from the version calendar."""
    del inventory
    calendar = eks_calendar()
    return [control_plane_item(r, "EKS control plane", str(r.inputs.get("version") or ""), calendar)
            for r in plan.custom_resources if r.type == CLUSTER]


def fsx_sku(inputs: dict[str, Any]) -> str:
    """The price-file SKU (kind ``service``, per GiB-month) of an FSx for Lustre file system:
    deployment type, storage type and throughput tier, e.g. ``fsx-lustre-persistent_2-ssd-125``."""
    deployment = str(inputs.get("deploymentType") or "scratch_1").lower()
    storage = str(inputs.get("storageType") or "ssd").lower()
    throughput = inputs.get("perUnitStorageThroughput")
    tier = f"-{as_int(throughput)}" if throughput is not None else ""
    return f"fsx-lustre-{deployment}-{storage}{tier}"


def shared_fs_items(plan: PlanView) -> list[LineItem]:
    """Each FSx for Lustre file system, billed per provisioned GiB-month (idle or busy alike);
    unpriced while the price file has no row for its SKU."""
    items = []
    for record in plan.of_type(FSX_LUSTRE):
        gib = float(as_int(record.inputs.get("storageCapacity")))
        sku = fsx_sku(record.inputs)
        price = prices.lookup("aws", "service", sku, plan.spec.region)
        items.append(LineItem(
            concern_of(record), f"FSx for Lustre {record.name}", "GiB", gib, gib,
            price.usd_per_month if price is not None else None,
            price.source.url if price is not None else "",
            price.source.as_of if price is not None else "",
            note="" if price is not None else f"no {sku} row in prices.json",
            verified=price.verified if price is not None else True,
        ))
    return items


def extra_items(plan: PlanView, inventory: Inventory) -> list[LineItem]:
    """Control planes, shared file systems and the lifecycle (tracking servers, notebooks, monitoring
    runs): priced by something other than a counted unit."""
    return [*control_plane_items(plan, inventory), *shared_fs_items(plan), *lifecycle_costs.items(plan)]


COUNTED: Final = (
    Counted(exact("aws:ec2/natGateway:NatGateway"), "nat-gateway", "NAT gateways", "gateway"),
    Counted(exact("aws:ec2/eip:Eip"), "public-ip", "public IPv4 addresses", "address"),
    Counted(exact("aws:ec2/vpcEndpoint:VpcEndpoint"), "interface-endpoint", "interface VPC endpoints",
            "endpoint-zone", _interface_endpoint_zones),
    Counted(re.compile(r"^aws:(lb|alb)/loadBalancer:LoadBalancer$"), _lb_key, "load balancers", "LB"),
    Counted(exact("aws:elb/loadBalancer:LoadBalancer"), "load-balancer-classic", "classic load balancers", "LB"),
    Counted(exact("aws:kms/key:Key"), "kms-key", "KMS keys", "key", overhead=True),
    Counted(exact("aws:cloudwatch/metricAlarm:MetricAlarm"), "alarm-metric", "CloudWatch alarms",
            "alarm metric", _alarm_metrics, overhead=True),
    Counted(exact("aws:cloudwatch/dashboard:Dashboard"), "dashboard", "CloudWatch dashboards", "dashboard",
            overhead=True),
)


def notes(inventory: Inventory) -> list[str]:
    """What AWS's line items leave out."""
    found: list[str] = []
    if inventory.clusters:
        calendar = eks_calendar()
        found.append(f"EKS control planes cost ${calendar.standard_usd_per_hour:.2f} per cluster-hour, "
                     f"${calendar.extended_support_usd_per_hour:.2f} for a version in extended support")
    if inventory.endpoints:
        found.append("a SageMaker blue/green update runs a second fleet for its bake time (not included)")
    return found


COST_INVENTORY: Final = CostInventory(read=read, counted=COUNTED, notes=notes, extra_items=extra_items)
