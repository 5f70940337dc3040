"""The spec's `training` section: the cluster and its GPU pools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlfabric.components import catalog
from mlfabric.components.spec.base import (
    Cidr,
    KubernetesVersion,
    PoolName,
    PreviousPoolNames,
    SpecModel,
    SpecProblem,
    env_default,
    raise_if,
    rename_problems,
    renamed_from_field,
    unique_names,
)

# --- training ----------------------------------------------------------------------------------


class SystemPoolSpec(SpecModel):
    """The CPU node pool that runs cluster services (DNS, autoscaler, device plugin)."""

    machine: str | None = Field(
        None, min_length=2,
        description="Instance/machine type/VM size. Omitted: m6i.large (AWS), e2-standard-4 (GCP), "
        "Standard_D4s_v5 (Azure).",
    )
    min_nodes: int = env_default(dev=1, staging=2, prod=2, ge=1, le=100, description="Fewest nodes.")
    max_nodes: int = Field(4, ge=1, le=100, description="Most nodes. Omitted: 4.")

    @model_validator(mode="after")
    def _bounds(self) -> SystemPoolSpec:
        if self.min_nodes > self.max_nodes:
            raise SpecProblem(
                [(("min_nodes",), f"must be <= max_nodes ({self.max_nodes}) (got {self.min_nodes})")]
            )
        return self


class ClusterSpec(SpecModel):
    """The Kubernetes cluster GPU pools join (EKS, GKE, AKS)."""

    kubernetes_version: KubernetesVersion | None = Field(
        None,
        description="Kubernetes minor version, one the cloud's managed service supports today (see the "
        "version calendar). Omitted: the version this mlfabric release pins for the cloud (the newest in "
        "standard support when its calendar was last updated).",
    )
    endpoint_public_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="CIDRs allowed to reach the API server from the internet. Omitted or empty: "
        "private endpoint only.",
    )
    system_pool: SystemPoolSpec = Field(default_factory=SystemPoolSpec, description="The system node pool.")
    audit_logging: bool = Field(True, description="Ship control-plane audit logs. Omitted: on.")

    @property
    def version(self) -> str:
        """The cluster's Kubernetes minor version (the platform spec fills in the cloud's default)."""
        if self.kubernetes_version is None:
            raise ValueError("kubernetes_version is filled in by PlatformSpec: validate the whole spec")
        return self.kubernetes_version


class GpuPoolSpec(SpecModel):
    """One autoscaled pool of identical GPU nodes."""

    name: PoolName = Field(description="Pool name (1-12 lowercase letters/digits).")
    renamed_from: PreviousPoolNames = renamed_from_field("GPU pool")
    accelerator: str = Field(
        description="Cloud-neutral accelerator: " + ", ".join(catalog.ACCELERATORS) + "."
    )
    gpus_per_node: int | None = Field(
        None, ge=1, le=16,
        description="GPUs per node; must be a size the cloud sells. Omitted: the smallest size.",
    )
    min_nodes: int = Field(0, ge=0, le=1000, description="Fewest nodes; 0 scales to zero. Omitted: 0.")
    max_nodes: int = Field(2, ge=1, le=1000, description="Most nodes. Omitted: 2.")
    spot: bool = env_default(
        dev=True, staging=False, prod=False,
        description="Use spot/preemptible capacity (cheaper, can be reclaimed).",
    )
    disk_gib: int = Field(200, ge=50, le=16384, description="Node disk size in GiB. Omitted: 200.")
    interconnect: Literal["auto", "off"] = Field(
        "auto",
        description="Fast node-to-node networking for multi-node jobs where the machine has it (AWS: EFA "
        "with a cluster placement group; GCP: compact placement; see the capability table for what each "
        "cloud does). off: standard networking. Omitted: auto.",
    )
    reservation: str | None = Field(
        None, min_length=3, max_length=300,
        description="Capacity reservation the pool's nodes are launched into (an EC2 capacity "
        "reservation id, a Compute Engine reservation name, an Azure capacity reservation group id). "
        "Omitted: on-demand or spot capacity.",
    )
    queued_provisioning: bool = Field(
        False,
        description="Let large jobs wait for capacity instead of failing: nodes are provisioned all at "
        "once when the whole request can be met (GKE: Dynamic Workload Scheduler through Kueue's "
        "ProvisioningRequest check). Omitted: off.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> GpuPoolSpec:
        if self.min_nodes > self.max_nodes:
            raise SpecProblem(
                [(("min_nodes",), f"must be <= max_nodes ({self.max_nodes}) (got {self.min_nodes})")]
            )
        return self


class SharedFsSpec(SpecModel):
    """A high-throughput file system every team's jobs can mount (FSx for Lustre, Filestore or
    Parallelstore, Azure Managed Lustre)."""

    capacity_gib: int = Field(
        ge=1024, le=1_048_576,
        description="Capacity in GiB; each cloud sells it in its own increments (see the capability table).",
    )
    import_datasets: bool = Field(
        False,
        description="Link the file system to the datasets bucket, so its objects appear as files and "
        "new files can be exported back (FSx for Lustre data repository association, Azure Managed "
        "Lustre blob integration; refused where the cloud has no such link). Omitted: off.",
    )


class TrainingSpec(SpecModel):
    """A GPU training cluster. Omit the section for a platform without one."""

    cluster: ClusterSpec = Field(default_factory=ClusterSpec, description="Cluster settings.")
    gpu_pools: list[GpuPoolSpec] = Field(
        default_factory=list, description="GPU node pools. Omitted: none (a CPU-only cluster)."
    )
    shared_fs: SharedFsSpec | None = Field(
        None,
        description="A shared high-throughput file system, encrypted with the platform's key and "
        "reachable only from the cluster's subnets; each team claims it through a PersistentVolumeClaim "
        "in its namespace. Omitted: none.",
    )

    @model_validator(mode="after")
    def _names_unique(self) -> TrainingSpec:
        raise_if(unique_names((p.name for p in self.gpu_pools), "gpu_pools")
                 + rename_problems(((p.name, p.renamed_from) for p in self.gpu_pools), "gpu_pools"))
        return self

