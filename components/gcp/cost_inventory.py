"""What a GCP plan runs and what its resources cost (the kit's ``cost_inventory``; SDK-free).

Node pools and endpoints are derived from the spec (the GCP components are not read from the plan
yet), and only when the plan holds the concern's component. Cloud NAT is billed per VM behind the
gateway, so it is priced from the pools rather than counted.
"""

from __future__ import annotations

import re
from typing import Any, Final

from mlfabric.components import prices
from mlfabric.components.costing import (
    CostInventory,
    Counted,
    Inventory,
    LineItem,
    PlanView,
    concern_of,
    exact,
    price_source,
    spec_inventory,
)

# The system pool boot disk and the CPU serving machine of the GCP components (pinned to theirs by
# a test: importing them would load pulumi_gcp).
SYSTEM_DISK_GIB: Final = 50
DEFAULT_SERVING_INSTANCE: Final = "e2-standard-4"
ROUTER_NAT: Final = "gcp:compute/routerNat:RouterNat"


def read(plan: PlanView) -> Inventory:
    """Clusters, node pools and endpoints, derived from the spec."""
    return spec_inventory(plan, system_disk_gib=SYSTEM_DISK_GIB, default_instance=DEFAULT_SERVING_INSTANCE)


def _key_key(inputs: dict[str, Any]) -> prices.ServiceKey:
    level = str((inputs.get("versionTemplate") or {}).get("protectionLevel") or "SOFTWARE")
    return "hsm-key" if level == "HSM" else "kms-key"


def _external_address(inputs: dict[str, Any]) -> float:
    return 0.0 if str(inputs.get("addressType") or "EXTERNAL") == "INTERNAL" else 1.0


COUNTED: Final = (
    Counted(exact("gcp:container/cluster:Cluster"), "cluster", "GKE cluster management", "cluster"),
    Counted(re.compile(r"^gcp:compute/(address:Address|globalAddress:GlobalAddress)$"), "public-ip",
            "external IP addresses", "address", _external_address),
    Counted(re.compile(r"^gcp:compute/(forwardingRule:ForwardingRule|globalForwardingRule:GlobalForwardingRule)$"),
            "load-balancer-application", "forwarding rules (load balancers)", "rule"),
    Counted(exact("gcp:kms/cryptoKey:CryptoKey"), _key_key, "Cloud KMS keys", "key version", overhead=True),
)


def nat_items(plan: PlanView, inventory: Inventory) -> list[LineItem]:
    """Cloud NAT bills per VM behind the gateway (capped at 32 VMs), so idle and full differ."""
    gateways = [r for r in plan.custom_resources if r.type == ROUTER_NAT]
    if not gateways:
        return []
    idle_vms = sum(p.min_nodes for p in inventory.pools)
    full_vms = sum(p.max_nodes for p in inventory.pools)
    per_vm = prices.GCP_NAT_PER_VM_HOUR
    cap = prices.GCP_NAT_CAP_HOUR

    def hours(vms: int) -> float:
        return cap.usd_per_month if vms > prices.GCP_NAT_CAP_VMS else vms * per_vm.usd_per_month

    source, as_of = price_source(per_vm)
    return [LineItem(concern_of(g), "Cloud NAT (per VM behind the gateway)", "gateway-month", hours(idle_vms),
                     hours(full_vms), 1.0, source, as_of, note=f"{idle_vms} VMs idle, {full_vms} at full scale")
            for g in gateways]


def notes(inventory: Inventory) -> list[str]:
    """What GCP's line items leave out or approximate."""
    if inventory.endpoints:
        return ["Vertex AI prediction nodes bill above the Compute Engine prices used here (a floor)"]
    return []


COST_INVENTORY: Final = CostInventory(read=read, counted=COUNTED, notes=notes, extra_items=nat_items)
