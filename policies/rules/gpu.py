"""GPU facts the cluster and budget rules need: which machines carry GPUs, and how many.

The pack may import nothing of mlfabric, so this is a small copy of what ``components/catalog.py``
knows (a test keeps the two in agreement) plus the common sizes a hand-written stack might use.
Unknown GPU machines are reported, never silently counted as zero: add them with the budget
rule's ``gpusPerInstanceType`` config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from .base import get, items, number

# EC2 (and SageMaker, with an "ml." prefix) instance type -> GPUs per instance.
AWS_GPUS: Final[dict[str, int]] = {
    **dict.fromkeys(("g4dn.xlarge", "g4dn.2xlarge", "g4dn.4xlarge", "g4dn.8xlarge", "g4dn.16xlarge"), 1),
    "g4dn.12xlarge": 4, "g4dn.metal": 8,
    **dict.fromkeys(("g5.xlarge", "g5.2xlarge", "g5.4xlarge", "g5.8xlarge", "g5.16xlarge"), 1),
    "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    **dict.fromkeys(("g6.xlarge", "g6.2xlarge", "g6.4xlarge", "g6.8xlarge", "g6.16xlarge"), 1),
    "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8,
    **dict.fromkeys(("g6e.xlarge", "g6e.2xlarge", "g6e.4xlarge", "g6e.8xlarge", "g6e.16xlarge"), 1),
    "g6e.12xlarge": 4, "g6e.24xlarge": 4, "g6e.48xlarge": 8,
    "p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8, "p3dn.24xlarge": 8,
    "p4d.24xlarge": 8, "p4de.24xlarge": 8, "p5.48xlarge": 8, "p5e.48xlarge": 8, "p5en.48xlarge": 8,
}
# GCE machine types with GPUs built in (A2, A3, G2); N1 machines get GPUs as guest accelerators.
GCP_GPUS: Final[dict[str, int]] = {
    **{f"a2-highgpu-{n}g": n for n in (1, 2, 4, 8)}, "a2-megagpu-16g": 16,
    **{f"a2-ultragpu-{n}g": n for n in (1, 2, 4, 8)},
    **{f"a3-highgpu-{n}g": n for n in (1, 2, 4, 8)}, "a3-megagpu-8g": 8, "a3-edgegpu-8g": 8,
    **dict.fromkeys(("g2-standard-4", "g2-standard-8", "g2-standard-12", "g2-standard-16", "g2-standard-32"), 1),
    "g2-standard-24": 2, "g2-standard-48": 4, "g2-standard-96": 8,
}
AZURE_GPUS: Final[dict[str, int]] = {
    **dict.fromkeys(("Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3"), 1),
    "Standard_NC64as_T4_v3": 4,
    "Standard_NC24ads_A100_v4": 1, "Standard_NC48ads_A100_v4": 2, "Standard_NC96ads_A100_v4": 4,
    "Standard_ND96asr_v4": 8, "Standard_ND96amsr_A100_v4": 8,
    "Standard_NC40ads_H100_v5": 1, "Standard_NC80adis_H100_v5": 2, "Standard_ND96isr_H100_v5": 8,
    "Standard_NC6s_v3": 1, "Standard_NC12s_v3": 2, "Standard_NC24s_v3": 4,
}

_AWS_GPU_FAMILY = re.compile(r"^(ml\.)?(g\d+[a-z]*|p\d+[a-z]*)\.")
_GCP_GPU_MACHINE = re.compile(r"^(a2|a3|a4|g2|g4)-")
_AZURE_GPU_SIZE = re.compile(r"^Standard_N[CDVG]", re.IGNORECASE)


def aws_instance(instance: str) -> str:
    return instance[3:] if instance.startswith("ml.") else instance


def is_gpu_machine(machine: Any) -> bool:
    """An EC2/SageMaker instance type, GCE machine type or Azure VM size that carries GPUs."""
    if not isinstance(machine, str):
        return False
    return bool(_AWS_GPU_FAMILY.match(machine) or _GCP_GPU_MACHINE.match(machine) or _AZURE_GPU_SIZE.match(machine))


def gpus_per_machine(machine: str, extra: Mapping[str, Any] | None = None) -> int | None:
    """GPUs on one machine of this type; None when unknown (the caller reports it)."""
    for table in (extra or {}, AWS_GPUS, GCP_GPUS, AZURE_GPUS):
        for key in (machine, aws_instance(machine)):
            if key in table:
                value = number(table[key])
                return int(value) if value is not None else None
    return None


# --- recognising GPU node pools on each cloud -----------------------------------------------------

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
AKS_AGENT_POOL = "azure-native:containerservice:AgentPool"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
_GPU_AMI = re.compile(r"GPU|NVIDIA", re.IGNORECASE)


def pool_machines(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The instance/machine types/VM size a node pool's props name."""
    if resource_type == EKS_NODE_GROUP:
        return [str(t) for t in items(props.get("instanceTypes"))]
    if resource_type == GKE_NODE_POOL:
        machine = get(props, "nodeConfig.machineType")
        return [str(machine)] if machine else []
    machine = props.get("vmSize")
    return [str(machine)] if machine else []


def gke_accelerators(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in items(get(props, "nodeConfig.guestAccelerators")) if isinstance(a, Mapping)]


def is_gpu_pool(resource_type: str, props: Mapping[str, Any]) -> bool:
    """Does this node pool (EKS node group, GKE node pool, AKS agent pool) run GPU nodes?"""
    if resource_type == EKS_NODE_GROUP and _GPU_AMI.search(str(props.get("amiType") or "")):
        return True
    if resource_type == GKE_NODE_POOL and gke_accelerators(props):
        return True
    return any(is_gpu_machine(m) for m in pool_machines(resource_type, props))


def pool_gpus_per_node(resource_type: str, props: Mapping[str, Any], extra: Mapping[str, Any] | None) -> int | None:
    """GPUs on one node of the pool; None when the machine is unknown."""
    if resource_type == GKE_NODE_POOL and gke_accelerators(props):
        counts = [number(a.get("count")) for a in gke_accelerators(props)]
        return int(sum(c for c in counts if c is not None))
    known = [gpus_per_machine(m, extra) for m in pool_machines(resource_type, props)]
    if not known or any(k is None for k in known):
        return None
    return max(k for k in known if k is not None)


def pool_max_nodes(resource_type: str, props: Mapping[str, Any]) -> int | None:
    """The most nodes the pool may scale to (GKE: per-zone max times zones when not a total)."""
    if resource_type == EKS_NODE_GROUP:
        value = number(get(props, "scalingConfig.maxSize"))
    elif resource_type == GKE_NODE_POOL:
        total = number(get(props, "autoscaling.totalMaxNodeCount"))
        per_zone = number(get(props, "autoscaling.maxNodeCount"))
        zones = max(len(items(props.get("nodeLocations"))), 1)
        fixed = number(props.get("nodeCount")) or number(props.get("initialNodeCount"))
        value = total if total is not None else (per_zone * zones if per_zone is not None else fixed)
    else:
        autoscale = props.get("enableAutoScaling")
        value = number(props.get("maxCount")) if autoscale in (True, "true") else None
        value = value if value is not None else number(props.get("count"))
    return int(value) if value is not None else None


def node_pools(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Node pools declared by a resource: the resource itself, or an AKS cluster's inline pools."""
    if resource_type in (EKS_NODE_GROUP, GKE_NODE_POOL) or (resource_type.startswith("azure-native:containerservice") and resource_type.endswith(":AgentPool")):
        return [(resource_type, props)]
    if resource_type.startswith("azure-native:containerservice") and resource_type.endswith(":ManagedCluster"):
        return [(AKS_AGENT_POOL, p) for p in items(props.get("agentPoolProfiles")) if isinstance(p, Mapping)]
    return []
