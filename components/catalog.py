"""Cloud-neutral accelerator and machine catalogue, as data.

A GPU pool names an accelerator (``a100-80gb``); this table says which instance type (AWS),
machine type (GCP) or VM size (Azure) carries it, how many GPUs one node has, its vCPUs, memory
and on-demand price. Variants are rows, not branches: adding a machine is adding a row.

Prices are public on-demand list prices (Linux, no discounts) transcribed by hand from each
cloud's pricing page for the region named in ``PRICE_SOURCES``; they drift, so every figure
mlfabric prints carries that source and date. Verify before you budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Cloud = Literal["aws", "gcp", "azure"]
CLOUDS: Final[tuple[Cloud, ...]] = ("aws", "gcp", "azure")
# How each cloud is written in prose and table headers.
CLOUD_TITLES: Final[dict[Cloud, str]] = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}


@dataclass(frozen=True)
class PriceSource:
    """Where a cloud's prices in this table come from."""

    url: str
    region: str
    as_of: str


PRICE_SOURCES: Final[dict[Cloud, PriceSource]] = {
    "aws": PriceSource("https://aws.amazon.com/ec2/pricing/on-demand/", "us-east-1", "2024-12"),
    "gcp": PriceSource("https://cloud.google.com/compute/gpus-pricing", "us-central1", "2024-12"),
    "azure": PriceSource(
        "https://azure.microsoft.com/pricing/details/virtual-machines/linux/", "eastus", "2024-12"
    ),
}


@dataclass(frozen=True)
class Accelerator:
    """A GPU model, named the same on every cloud."""

    name: str
    gpu_memory_gib: int
    description: str


ACCELERATORS: Final[dict[str, Accelerator]] = {
    a.name: a
    for a in (
        Accelerator("t4", 16, "NVIDIA T4: inference and light fine-tuning"),
        Accelerator("l4", 24, "NVIDIA L4: inference, small training"),
        Accelerator("a10g", 24, "NVIDIA A10G: inference, mid-size training (AWS only)"),
        Accelerator("a100-40gb", 40, "NVIDIA A100 40 GB: training"),
        Accelerator("a100-80gb", 80, "NVIDIA A100 80 GB: large-model training"),
        Accelerator("h100-80gb", 80, "NVIDIA H100 80 GB: large-model training"),
    )
}


@dataclass(frozen=True)
class GpuShape:
    """One node shape: a machine carrying ``gpus`` accelerators of one kind."""

    cloud: Cloud
    accelerator: str
    gpus: int
    machine: str
    vcpus: int
    memory_gib: int
    usd_per_hour: float
    # The cloud's own name for the GPU: GKE's guest_accelerator type, and the
    # `k8s.amazonaws.com/accelerator`-style node label on the other clouds.
    device: str


def _shapes(cloud: Cloud, accelerator: str, device: str, *rows: tuple[int, str, int, int, float]) -> list[GpuShape]:
    return [GpuShape(cloud, accelerator, g, m, c, mem, p, device) for g, m, c, mem, p in rows]


GPU_SHAPES: Final[tuple[GpuShape, ...]] = (
        # --- AWS: EC2 instance types (EKS managed node groups) ---
        *_shapes("aws", "t4", "nvidia-tesla-t4",
                 (1, "g4dn.xlarge", 4, 16, 0.526), (4, "g4dn.12xlarge", 48, 192, 3.912),
                 (8, "g4dn.metal", 96, 384, 7.824)),
        *_shapes("aws", "a10g", "nvidia-a10g",
                 (1, "g5.xlarge", 4, 16, 1.006), (4, "g5.12xlarge", 48, 192, 5.672),
                 (8, "g5.48xlarge", 192, 768, 16.288)),
        *_shapes("aws", "l4", "nvidia-l4",
                 (1, "g6.xlarge", 4, 16, 0.8048), (4, "g6.12xlarge", 48, 192, 4.6016),
                 (8, "g6.48xlarge", 192, 768, 13.3504)),
        *_shapes("aws", "a100-40gb", "nvidia-tesla-a100", (8, "p4d.24xlarge", 96, 1152, 21.96)),
        *_shapes("aws", "a100-80gb", "nvidia-a100-80gb", (8, "p4de.24xlarge", 96, 1152, 27.447)),
        *_shapes("aws", "h100-80gb", "nvidia-h100-80gb", (8, "p5.48xlarge", 192, 2048, 55.04)),
        # --- GCP: Compute Engine machine types (GKE node pools) ---
        *_shapes("gcp", "t4", "nvidia-tesla-t4",
                 (1, "n1-standard-4", 4, 15, 0.54), (2, "n1-standard-8", 8, 30, 1.08),
                 (4, "n1-standard-16", 16, 60, 2.16)),
        *_shapes("gcp", "l4", "nvidia-l4",
                 (1, "g2-standard-4", 4, 16, 0.7068), (2, "g2-standard-24", 24, 96, 1.9987),
                 (4, "g2-standard-48", 48, 192, 3.9974), (8, "g2-standard-96", 96, 384, 7.9947)),
        *_shapes("gcp", "a100-40gb", "nvidia-tesla-a100",
                 (1, "a2-highgpu-1g", 12, 85, 3.6731), (2, "a2-highgpu-2g", 24, 170, 7.3462),
                 (4, "a2-highgpu-4g", 48, 340, 14.6924), (8, "a2-highgpu-8g", 96, 680, 29.3847)),
        *_shapes("gcp", "a100-80gb", "nvidia-a100-80gb",
                 (1, "a2-ultragpu-1g", 12, 170, 5.0688), (2, "a2-ultragpu-2g", 24, 340, 10.1376),
                 (4, "a2-ultragpu-4g", 48, 680, 20.2752), (8, "a2-ultragpu-8g", 96, 1360, 40.5504)),
        *_shapes("gcp", "h100-80gb", "nvidia-h100-80gb", (8, "a3-highgpu-8g", 208, 1872, 88.2537)),
        # --- Azure: VM sizes (AKS node pools) ---
        *_shapes("azure", "t4", "nvidia-tesla-t4",
                 (1, "Standard_NC4as_T4_v3", 4, 28, 0.526), (4, "Standard_NC64as_T4_v3", 64, 440, 4.352)),
        *_shapes("azure", "a100-40gb", "nvidia-tesla-a100", (8, "Standard_ND96asr_v4", 96, 900, 27.197)),
        *_shapes("azure", "a100-80gb", "nvidia-a100-80gb",
                 (1, "Standard_NC24ads_A100_v4", 24, 220, 3.673),
                 (2, "Standard_NC48ads_A100_v4", 48, 440, 7.346),
                 (4, "Standard_NC96ads_A100_v4", 96, 880, 14.692),
                 (8, "Standard_ND96amsr_A100_v4", 96, 1900, 32.77)),
        *_shapes("azure", "h100-80gb", "nvidia-h100-80gb",
                 (1, "Standard_NC40ads_H100_v5", 40, 320, 6.98),
                 (2, "Standard_NC80adis_H100_v5", 80, 640, 13.96),
                 (8, "Standard_ND96isr_H100_v5", 96, 1900, 98.32)),
    )


@dataclass(frozen=True)
class Machine:
    """A CPU machine used for system pools and CPU serving."""

    cloud: Cloud
    name: str
    vcpus: int
    memory_gib: int
    usd_per_hour: float


CPU_MACHINES: Final[tuple[Machine, ...]] = (
    Machine("aws", "m6i.large", 2, 8, 0.096),
    Machine("aws", "m6i.xlarge", 4, 16, 0.192),
    Machine("aws", "m6i.2xlarge", 8, 32, 0.384),
    Machine("gcp", "e2-standard-4", 4, 16, 0.134),
    Machine("gcp", "n2-standard-4", 4, 16, 0.1942),
    Machine("gcp", "n2-standard-8", 8, 32, 0.3885),
    Machine("azure", "Standard_D4s_v5", 4, 16, 0.192),
    Machine("azure", "Standard_D8s_v5", 8, 32, 0.384),
)

# What a cluster's system pool runs on when the spec names no machine.
DEFAULT_SYSTEM_MACHINE: Final[dict[Cloud, str]] = {
    "aws": "m6i.large",
    "gcp": "e2-standard-4",
    "azure": "Standard_D4s_v5",
}


class CatalogError(ValueError):
    """A request the catalogue cannot satisfy; the message lists what it can."""


def accelerators_offered(cloud: Cloud) -> list[str]:
    """Accelerator names the cloud offers, in catalogue order."""
    seen: dict[str, None] = {}
    for shape in GPU_SHAPES:
        if shape.cloud == cloud:
            seen.setdefault(shape.accelerator)
    return list(seen)


def gpu_counts(cloud: Cloud, accelerator: str) -> list[int]:
    """GPUs-per-node sizes the cloud sells for an accelerator (empty when not offered)."""
    return [s.gpus for s in GPU_SHAPES if s.cloud == cloud and s.accelerator == accelerator]


def gpu_shape(cloud: Cloud, accelerator: str, gpus_per_node: int | None = None) -> GpuShape:
    """The node shape for ``accelerator`` on ``cloud``; the smallest one when no count is given."""
    counts = gpu_counts(cloud, accelerator)
    if not counts:
        raise CatalogError(
            f"{accelerator!r} is not offered on {cloud} (offered: {', '.join(accelerators_offered(cloud))})"
        )
    wanted = min(counts) if gpus_per_node is None else gpus_per_node
    for shape in GPU_SHAPES:
        if shape.cloud == cloud and shape.accelerator == accelerator and shape.gpus == wanted:
            return shape
    sizes = ", ".join(str(c) for c in counts)
    raise CatalogError(
        f"{accelerator} on {cloud} comes in nodes of {sizes} GPUs (got {gpus_per_node})"
    )


def cpu_machine(cloud: Cloud, name: str) -> Machine | None:
    """The catalogue row of a CPU machine, or None when the catalogue does not list it."""
    return next((m for m in CPU_MACHINES if m.cloud == cloud and m.name == name), None)


# Regions where mlfabric has been designed to run; a region outside this list is almost always a
# typo (us-east1 on AWS, eastus on GCP), which is cheaper to catch here than after a failed deploy.
REGIONS: Final[dict[Cloud, tuple[str, ...]]] = {
    "aws": (
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1",
        "eu-south-1", "eu-south-2", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-east-1", "me-south-1", "me-central-1", "af-south-1", "il-central-1", "us-gov-west-1",
        "us-gov-east-1",
    ),
    "gcp": (
        "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2",
        "us-west3", "us-west4", "northamerica-northeast1", "northamerica-northeast2",
        "southamerica-east1", "southamerica-west1", "europe-west1", "europe-west2", "europe-west3",
        "europe-west4", "europe-west6", "europe-west8", "europe-west9", "europe-west10",
        "europe-west12", "europe-north1", "europe-central2", "europe-southwest1", "asia-east1",
        "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1",
        "asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1",
        "australia-southeast2", "me-central1", "me-central2", "me-west1", "africa-south1",
    ),
    "azure": (
        "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus",
        "westus", "westus2", "westus3", "canadacentral", "canadaeast", "brazilsouth",
        "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "germanywestcentral",
        "swedencentral", "switzerlandnorth", "norwayeast", "polandcentral", "italynorth",
        "spaincentral", "uaenorth", "qatarcentral", "israelcentral", "southafricanorth",
        "centralindia", "southindia", "eastasia", "southeastasia", "japaneast", "japanwest",
        "koreacentral", "australiaeast", "australiasoutheast",
    ),
}
