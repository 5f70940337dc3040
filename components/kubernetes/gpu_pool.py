"""The GPU node pool every cloud builds, described once and cloud-neutrally.

Creates no resource: ``GpuPool.build(cloud, spec)`` turns a spec pool and its catalogue shape into
the frozen model each cloud's cluster module translates into its provider's arguments (an EKS
managed node group, a GKE node pool, an AKS agent pool). What a workload sees of a pool — the GPU
taint it must tolerate and the labels it selects on — is defined here and nowhere else, so the same
spec gives workloads the same tolerations and node selectors on every cloud:

- taint ``nvidia.com/gpu=present:NoSchedule``: only pods that tolerate it (pods asking for GPUs)
  land on GPU nodes;
- label ``mlfabric.dev/accelerator=<the cloud's GPU name>`` (``nvidia-l4``…) and
  ``mlfabric.dev/gpu-pool=<pool name>``; the system pool carries ``mlfabric.dev/system-pool=true``.

A cloud may add a label its own tooling reads (the AWS Cluster Autoscaler's accelerator label); it
never replaces these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pulumi

from mlfabric.components import catalog

if TYPE_CHECKING:
    from mlfabric.components.spec import GpuPoolSpec

# The extended resource the NVIDIA device plugin advertises (what a pod requests in its limits).
GPU_RESOURCE: Final = "nvidia.com/gpu"
ACCELERATOR_LABEL: Final = "mlfabric.dev/accelerator"
GPU_POOL_LABEL: Final = "mlfabric.dev/gpu-pool"
SYSTEM_POOL_LABEL: Final = "mlfabric.dev/system-pool"
SYSTEM_POOL_LABELS: Final = {SYSTEM_POOL_LABEL: "true"}
# Cloud tags (AWS, Azure) and resource labels (GCP) naming a node pool, for cost reports.
NODE_POOL_TAG: Final = "mlfabric-node-pool"
ACCELERATOR_TAG: Final = "mlfabric-accelerator"
SYSTEM_POOL_TAGS: Final = {NODE_POOL_TAG: "system"}


_EFFECT_CONSTANTS: Final = {
    "NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE",
}


@dataclass(frozen=True)
class Taint:
    """A Kubernetes node taint, spelled the way each API wants it."""

    key: str
    value: str
    effect: str  # Kubernetes spelling: NoSchedule, PreferNoSchedule, NoExecute

    @property
    def effect_constant(self) -> str:
        """The effect as the EKS and GKE APIs spell it (``NO_SCHEDULE``)."""
        return _EFFECT_CONSTANTS[self.effect]

    def __str__(self) -> str:
        """``key=value:Effect``, the form of ``kubectl taint`` and of AKS ``nodeTaints``."""
        return f"{self.key}={self.value}:{self.effect}"


# Named after the resource by NVIDIA's convention, so tolerating it reads as "may use GPUs".
GPU_TAINT: Final = Taint(key=GPU_RESOURCE, value="present", effect="NoSchedule")


@dataclass(frozen=True)
class GpuPool:
    """One autoscaled pool of identical GPU nodes, as every cloud builds it."""

    name: str
    # cloud-neutral accelerator of the spec (a100-80gb, l4, …)
    accelerator: str
    # instance type (AWS), machine type (GCP) or VM size (Azure)
    machine: str
    # the cloud's name for the GPU: the accelerator label's value, GKE's guest_accelerator type
    device: str
    gpus_per_node: int
    min_nodes: int
    max_nodes: int
    spot: bool
    disk_gib: int
    # fast node-to-node networking where the machine has it (each cloud decides what that is)
    interconnect: bool = False
    # a capacity reservation the nodes are launched into (the cloud's own reference)
    reservation: str | None = None
    # nodes provisioned all at once for a whole admitted job (GKE Dynamic Workload Scheduler)
    queued_provisioning: bool = False

    @classmethod
    def build(cls, cloud: catalog.Cloud, spec: GpuPoolSpec) -> GpuPool:
        """The pool ``spec`` asks for, on the catalogue shape ``cloud`` sells for it."""
        shape = catalog.gpu_shape(cloud, spec.accelerator, spec.gpus_per_node)
        return cls(
            name=spec.name,
            accelerator=spec.accelerator,
            machine=shape.machine,
            device=shape.device,
            gpus_per_node=shape.gpus,
            min_nodes=spec.min_nodes,
            max_nodes=spec.max_nodes,
            spot=spec.spot,
            disk_gib=spec.disk_gib,
            interconnect=spec.interconnect == "auto",
            reservation=spec.reservation,
            queued_provisioning=spec.queued_provisioning,
        )

    @property
    def suffix(self) -> str:
        """The suffix of the pool's child logical names (public API: part of every URN)."""
        return f"gpu-{self.name}"

    @property
    def taint(self) -> Taint:
        return GPU_TAINT

    @property
    def labels(self) -> dict[str, str]:
        """The Kubernetes labels every node of the pool carries."""
        return {ACCELERATOR_LABEL: self.device, GPU_POOL_LABEL: self.name}

    @property
    def tags(self) -> dict[str, str]:
        """The cloud tags (resource labels on GCP) of the pool's cloud resources."""
        return {NODE_POOL_TAG: self.name, ACCELERATOR_TAG: self.accelerator}


def pool_names(names: Mapping[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """The cluster's ``gpu_pool_names`` output: spec pool name -> the cloud's node group / pool name."""
    if not names:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(**names)
