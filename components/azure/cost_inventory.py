"""What an Azure plan runs and what its resources cost (the kit's ``cost_inventory``; SDK-free).

Node pools and endpoints are derived from the spec (the Azure components are not read from the plan
yet), and only when the plan holds the concern's component.
"""

from __future__ import annotations

import re
from typing import Any, Final

from mlfabric.components import prices
from mlfabric.components.costing import CostInventory, Counted, Inventory, PlanView, spec_inventory

# The system pool OS disk and the CPU serving instance of the Azure components (pinned to theirs by
# a test: importing them would load pulumi_azure_native).
SYSTEM_DISK_GIB: Final = 128
DEFAULT_SERVING_INSTANCE: Final = "Standard_DS3_v2"


def read(plan: PlanView) -> Inventory:
    """Clusters, node pools and endpoints, derived from the spec."""
    return spec_inventory(plan, system_disk_gib=SYSTEM_DISK_GIB, default_instance=DEFAULT_SERVING_INSTANCE)


def _cluster_key(inputs: dict[str, Any]) -> prices.ServiceKey | None:
    tier = str((inputs.get("sku") or {}).get("tier") or "Free")
    return {"Standard": "cluster", "Premium": "cluster-premium"}.get(tier)  # type: ignore[return-value]


def _key_key(inputs: dict[str, Any]) -> prices.ServiceKey | None:
    kty = str((inputs.get("properties") or {}).get("kty") or "")
    return "hsm-key" if kty.endswith("-HSM") else None


def _token(kind: str) -> re.Pattern[str]:
    # azure-native tokens may carry an API version: azure-native:network/v20230501:NatGateway.
    module, name = kind.split(":")
    return re.compile(rf"^azure-native:{module}(/v[\w-]+)?:{name}$")


COUNTED: Final = (
    Counted(_token("containerservice:ManagedCluster"), _cluster_key, "AKS control plane", "cluster"),
    Counted(_token("network:NatGateway"), "nat-gateway", "NAT gateways", "gateway"),
    Counted(_token("network:PublicIPAddress"), "public-ip", "public IP addresses", "address"),
    Counted(_token("network:LoadBalancer"), "load-balancer-network", "load balancers", "LB"),
    Counted(_token("keyvault:Key"), _key_key, "Key Vault HSM keys", "key", overhead=True),
)


def notes(inventory: Inventory) -> list[str]:
    """What Azure's line items leave out."""
    del inventory
    return ["Key Vault software keys and storage bill per operation and GiB (usage)"]


COST_INVENTORY: Final = CostInventory(read=read, counted=COUNTED, notes=notes)
