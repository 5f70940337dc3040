"""The address ranges AKS's overlay network uses, chosen outside the VNet (SDK-free: the spec rules
check the same choice the cluster makes, before anything is declared)."""

from __future__ import annotations

import ipaddress
from typing import Final

# Overlay pod and service ranges: outside the VNet by construction (the first that does not overlap).
POD_CIDRS: Final = ("192.168.0.0/16", "100.64.0.0/16", "172.31.0.0/16")
SERVICE_CIDRS: Final = ("172.16.0.0/16", "10.254.0.0/16", "100.96.0.0/16")


def free_range(candidates: tuple[str, ...], taken: list[str]) -> str | None:
    """The first candidate that overlaps none of ``taken``, or None."""
    used = [ipaddress.ip_network(t) for t in taken]
    for candidate in candidates:
        network = ipaddress.ip_network(candidate)
        if not any(network.overlaps(u) for u in used):
            return candidate
    return None


def cluster_ranges(vnet_cidr: str) -> tuple[str, str, str] | None:
    """(pod CIDR, service CIDR, DNS service IP), none overlapping the VNet or each other; None when
    the VNet's range overlaps every candidate (the spec rules refuse that network.cidr)."""
    pods = free_range(POD_CIDRS, [vnet_cidr])
    if pods is None:
        return None
    services = free_range(SERVICE_CIDRS, [vnet_cidr, pods])
    if services is None:
        return None
    return pods, services, str(ipaddress.ip_network(services)[10])
