"""Prices of what a platform runs besides the catalogue's nodes: managed control planes, NAT
gateways, public addresses, load balancers, private endpoints, keys, alarms, disks and managed
serving instances (SageMaker real-time hosting), per cloud, as data.

Like ``catalog.py`` these are public on-demand list prices (no discounts, no free tiers) transcribed
by hand from each cloud's pricing page for one region, dated; every figure ``mlfabric cost`` prints
carries its source and date. Usage-based charges (data processed, requests, storage, log ingestion)
are not here: an offline plan cannot know usage, and the estimate says so.

Node prices stay in ``catalog.py`` (GPU shapes and CPU machines); ``EXTRA_MACHINES`` only adds CPU
instance types people commonly give as ``system_pool.machine`` so they are priced too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from mlfabric.components import catalog
from mlfabric.components.catalog import Cloud, PriceSource

# A month as the clouds' own calculators count it: 365 days x 24 h / 12.
HOURS_PER_MONTH: Final = 730

# Spot/preemptible capacity is priced at on-demand x (1 - SPOT_DISCOUNT). Spot prices float per
# zone and hour, so the estimate takes the conservative end of what the clouds publish: GCP lists
# Spot VM discounts of 60-91% (https://cloud.google.com/spot-vms/pricing), AWS advertises "up to 90%"
# and its Spot Instance Advisor showed 60-75% average savings for g4dn/g5/g6 in us-east-1
# (https://aws.amazon.com/ec2/spot/instance-advisor/, 2024-12), Azure "up to 90%"
# (https://azure.microsoft.com/pricing/spot-advisor/). Budgeting at 60% off errs high, never low.
SPOT_DISCOUNT: Final = 0.60

Per = Literal["hour", "month"]


@dataclass(frozen=True)
class UnitPrice:
    """The price of one unit of something (a cluster, a gateway, a GiB of disk) per hour or month."""

    usd: float
    per: Per
    source: PriceSource

    @property
    def usd_per_month(self) -> float:
        return self.usd * HOURS_PER_MONTH if self.per == "hour" else self.usd


_AWS_EKS = PriceSource("https://aws.amazon.com/eks/pricing/", "us-east-1", "2024-12")
_AWS_VPC = PriceSource("https://aws.amazon.com/vpc/pricing/", "us-east-1", "2024-12")
_AWS_PRIVATELINK = PriceSource("https://aws.amazon.com/privatelink/pricing/", "us-east-1", "2024-12")
_AWS_ELB = PriceSource("https://aws.amazon.com/elasticloadbalancing/pricing/", "us-east-1", "2024-12")
_AWS_KMS = PriceSource("https://aws.amazon.com/kms/pricing/", "us-east-1", "2024-12")
_AWS_CLOUDWATCH = PriceSource("https://aws.amazon.com/cloudwatch/pricing/", "us-east-1", "2024-12")
_AWS_EBS = PriceSource("https://aws.amazon.com/ebs/pricing/", "us-east-1", "2024-12")
_AWS_SAGEMAKER = PriceSource(
    "https://aws.amazon.com/sagemaker/pricing/ (Real-Time Inference)", "us-east-1", "2024-12"
)
_GCP_GKE = PriceSource("https://cloud.google.com/kubernetes-engine/pricing", "us-central1", "2024-12")
_GCP_NAT = PriceSource("https://cloud.google.com/nat/pricing", "us-central1", "2024-12")
_GCP_NETWORK = PriceSource("https://cloud.google.com/vpc/network-pricing", "us-central1", "2024-12")
_GCP_KMS = PriceSource("https://cloud.google.com/kms/pricing", "us-central1", "2024-12")
_GCP_DISK = PriceSource("https://cloud.google.com/compute/disks-image-pricing", "us-central1", "2024-12")
_AZURE_AKS = PriceSource("https://azure.microsoft.com/pricing/details/kubernetes-service/", "eastus", "2024-12")
_AZURE_NETWORK = PriceSource(
    "https://azure.microsoft.com/pricing/details/azure-nat-gateway/ and .../ip-addresses/ and "
    ".../load-balancer/", "eastus", "2024-12",
)
_AZURE_KEYVAULT = PriceSource("https://azure.microsoft.com/pricing/details/key-vault/", "eastus", "2024-12")

# Keys of SERVICE_PRICES, shared by every cloud so the cost model reads them the same way.
ServiceKey = Literal[
    "cluster",                  # managed Kubernetes control plane, per cluster-hour
    "cluster-premium",          # long-term-support / premium control-plane tier, per cluster-hour
    "nat-gateway",              # per gateway-hour (GCP: per VM-hour, see GCP_NAT_*)
    "public-ip",                # per in-use public IPv4 address-hour
    "interface-endpoint",       # private endpoint, per endpoint-hour in one zone
    "load-balancer-application",
    "load-balancer-network",
    "load-balancer-gateway",
    "load-balancer-classic",
    "kms-key",                  # customer-managed key (one active version), per key-month
    "hsm-key",                  # HSM-protected key, per key-month
    "alarm-metric",             # per metric an alarm evaluates, per month
    "dashboard",                # per dashboard-month
    "disk-gib",                 # node boot disk, per GiB-month
]

SERVICE_PRICES: Final[dict[Cloud, dict[ServiceKey, UnitPrice]]] = {
    "aws": {
        # Standard support; a Kubernetes version in extended support costs $0.60/h instead.
        "cluster": UnitPrice(0.10, "hour", _AWS_EKS),
        "cluster-premium": UnitPrice(0.60, "hour", _AWS_EKS),
        "nat-gateway": UnitPrice(0.045, "hour", _AWS_VPC),       # + $0.045/GB processed (usage)
        "public-ip": UnitPrice(0.005, "hour", _AWS_VPC),         # every public IPv4 since 2024-02
        "interface-endpoint": UnitPrice(0.01, "hour", _AWS_PRIVATELINK),  # + $0.01/GB (usage)
        "load-balancer-application": UnitPrice(0.0225, "hour", _AWS_ELB),  # + LCUs (usage)
        "load-balancer-network": UnitPrice(0.0225, "hour", _AWS_ELB),      # + NLCUs (usage)
        "load-balancer-gateway": UnitPrice(0.0125, "hour", _AWS_ELB),
        "load-balancer-classic": UnitPrice(0.025, "hour", _AWS_ELB),
        "kms-key": UnitPrice(1.00, "month", _AWS_KMS),
        "alarm-metric": UnitPrice(0.10, "month", _AWS_CLOUDWATCH),  # standard resolution
        "dashboard": UnitPrice(3.00, "month", _AWS_CLOUDWATCH),
        "disk-gib": UnitPrice(0.08, "month", _AWS_EBS),             # gp3, baseline IOPS/throughput
    },
    "gcp": {
        # GKE Standard and Autopilot cluster management fee (one zonal/Autopilot cluster per billing
        # account gets a $74.40 monthly credit, not applied here).
        "cluster": UnitPrice(0.10, "hour", _GCP_GKE),
        "public-ip": UnitPrice(0.005, "hour", _GCP_NETWORK),
        "load-balancer-application": UnitPrice(0.025, "hour", _GCP_NETWORK),  # per forwarding rule (first 5)
        "kms-key": UnitPrice(0.06, "month", _GCP_KMS),   # per active key version (software)
        "hsm-key": UnitPrice(1.00, "month", _GCP_KMS),
        "disk-gib": UnitPrice(0.10, "month", _GCP_DISK),  # pd-balanced
    },
    "azure": {
        # AKS Free tier has no control-plane fee; Standard (uptime SLA) and Premium (LTS) do.
        "cluster": UnitPrice(0.10, "hour", _AZURE_AKS),
        "cluster-premium": UnitPrice(0.60, "hour", _AZURE_AKS),
        "nat-gateway": UnitPrice(0.045, "hour", _AZURE_NETWORK),
        "public-ip": UnitPrice(0.005, "hour", _AZURE_NETWORK),     # Standard static
        "load-balancer-network": UnitPrice(0.025, "hour", _AZURE_NETWORK),  # Standard, first 5 rules
        "hsm-key": UnitPrice(1.00, "month", _AZURE_KEYVAULT),       # software keys: per operation only
    },
}

# Cloud NAT bills per VM that uses the gateway: $0.0014 per VM-hour up to 32 VMs, then a flat
# $0.044 per hour (https://cloud.google.com/nat/pricing, us-central1, 2024-12).
GCP_NAT_PER_VM_HOUR: Final = UnitPrice(0.0014, "hour", _GCP_NAT)
GCP_NAT_CAP_VMS: Final = 32
GCP_NAT_CAP_HOUR: Final = UnitPrice(0.044, "hour", _GCP_NAT)

# SageMaker real-time inference hosting, per instance-hour (the instance price includes the
# SageMaker fee; the ml.* prices are not the EC2 ones). Types missing here are reported as unpriced,
# never guessed.
SAGEMAKER_HOSTING: Final[dict[str, float]] = {
    "ml.t2.medium": 0.056, "ml.t2.large": 0.111, "ml.t2.xlarge": 0.222,
    "ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461, "ml.m5.4xlarge": 0.922,
    "ml.m5.12xlarge": 2.765, "ml.m5.24xlarge": 5.53,
    "ml.c5.large": 0.102, "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408, "ml.c5.4xlarge": 0.816,
    "ml.c5.9xlarge": 1.836,
    "ml.g4dn.xlarge": 0.7364, "ml.g4dn.2xlarge": 0.94, "ml.g4dn.4xlarge": 1.505,
    "ml.g4dn.8xlarge": 2.72, "ml.g4dn.12xlarge": 4.89, "ml.g4dn.16xlarge": 5.44,
    "ml.g5.xlarge": 1.408, "ml.g5.2xlarge": 1.515, "ml.g5.4xlarge": 2.03, "ml.g5.8xlarge": 3.06,
    "ml.g5.12xlarge": 7.09, "ml.g5.48xlarge": 20.36,
    "ml.p4d.24xlarge": 37.688,
}

# CPU instance types often used for system pools, beyond the catalogue's CPU_MACHINES (EC2 Linux
# on-demand, us-east-1, from catalog.PRICE_SOURCES["aws"]).
EXTRA_MACHINES: Final[dict[Cloud, dict[str, float]]] = {
    "aws": {
        "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664,
        "m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384,
        "m6i.4xlarge": 0.768, "m7i.large": 0.1008, "m7i.xlarge": 0.2016,
        "c6i.large": 0.085, "c6i.xlarge": 0.17,
    },
    "gcp": {},
    # Azure Linux pay-as-you-go, eastus (catalog.PRICE_SOURCES["azure"]); Azure ML managed online
    # endpoints bill the VM price with no surcharge.
    "azure": {"Standard_DS3_v2": 0.293, "Standard_D2s_v5": 0.096},
}

# Accelerated instance-type families (their line items count as GPU spend).
_GPU_FAMILIES: Final = ("g", "p", "inf", "trn", "dl")


def service_price(cloud: Cloud, key: ServiceKey) -> UnitPrice | None:
    """The price of a service unit on a cloud, or None when the cloud has no such charge here."""
    return SERVICE_PRICES[cloud].get(key)


def machine_price(cloud: Cloud, machine: str) -> UnitPrice | None:
    """On-demand price of a node machine: the catalogue's GPU shapes and CPU machines, then extras."""
    source = catalog.PRICE_SOURCES[cloud]
    for shape in catalog.GPU_SHAPES:
        if shape.cloud == cloud and shape.machine == machine:
            return UnitPrice(shape.usd_per_hour, "hour", source)
    row = catalog.cpu_machine(cloud, machine)
    if row is not None:
        return UnitPrice(row.usd_per_hour, "hour", source)
    extra = EXTRA_MACHINES[cloud].get(machine)
    return UnitPrice(extra, "hour", source) if extra is not None else None


def serving_price(cloud: Cloud, instance: str) -> UnitPrice | None:
    """Price of one serving replica: SageMaker hosting on AWS, the VM price elsewhere."""
    if cloud == "aws":
        hourly = SAGEMAKER_HOSTING.get(instance if instance.startswith("ml.") else f"ml.{instance}")
        return UnitPrice(hourly, "hour", _AWS_SAGEMAKER) if hourly is not None else None
    return machine_price(cloud, instance)


def is_gpu_machine(cloud: Cloud, machine: str) -> bool:
    """Whether a node or serving instance type carries accelerators."""
    if any(s.cloud == cloud and s.machine == machine for s in catalog.GPU_SHAPES):
        return True
    if cloud == "aws":
        return instance_class(machine) in _GPU_FAMILIES
    return False


def instance_class(instance: str) -> str:
    """The letters before an AWS instance family's generation digit: ``g`` for g6.xlarge and
    ml.g5.2xlarge, ``inf`` for inf2.xlarge, ``m`` for m6i.large."""
    family = instance.removeprefix("ml.").split(".")[0]
    return family[: next((i for i, ch in enumerate(family) if ch.isdigit()), len(family))]
