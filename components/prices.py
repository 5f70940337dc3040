"""Unit prices of everything a platform runs — nodes, managed serving instances, control planes,
gateways, addresses, private endpoints, DNS zones, registries, keys, alarms, disks, Cloud Run
instance time — and spot ratios, per cloud and region, read from the committed price files
``components/<cloud>/prices.json``.

Every row of a price file names its SKU, region, unit, USD, source URL, the date it was read and
whether it was verified against the vendor's public page on that date (``verified: false`` rows say
what was found instead). A SKU with no row for the stack's region has **no price**: the estimate
names it as unpriced and says the total is incomplete; it never borrows another region's figure or
prints $0 for it. Usage-based charges (data processed, requests, storage, log ingestion) are not
here: an offline plan cannot know usage, and the estimate says so.

Maintainers refresh the files with ``python scripts/refresh_prices.py`` where the official price
sources are reachable (see that module); ``tests/test_cost_prices.py`` checks their schema and warns
when a file is more than 120 days old.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from mlfabric.components import catalog
from mlfabric.components.catalog import Cloud, PriceSource

# A month as the clouds' own calculators count it: 365 days x 24 h / 12.
HOURS_PER_MONTH: Final = 730
PRICE_FORMAT: Final = "mlfabric-prices/1"
# Regions whose rows apply everywhere (Azure private DNS zones are billed as "global").
ANY_REGION: Final = ("global", "*")

Per = Literal["second", "hour", "day", "month"]
Kind = Literal["machine", "sagemaker", "service", "cloudrun"]
KINDS: Final[tuple[Kind, ...]] = ("machine", "sagemaker", "service", "cloudrun")
_PER_MONTH: Final[dict[str, float]] = {
    "second": HOURS_PER_MONTH * 3600.0, "hour": float(HOURS_PER_MONTH), "day": HOURS_PER_MONTH / 24, "month": 1.0,
}
# The unit column of a price file -> what one unit is billed per.
_UNIT_PER: Final[dict[str, Per]] = {
    "hour": "hour", "day": "day", "month": "month",
    "vcpu-second": "second", "gib-second": "second", "gpu-second": "second",
}


def price_file(cloud: Cloud) -> Path:
    """Where a cloud's price file lives (in its home folder)."""
    return Path(__file__).with_name(cloud) / "prices.json"


@dataclass(frozen=True)
class UnitPrice:
    """The price of one unit of something (a node, a gateway, a GiB of disk) per ``per``."""

    usd: float
    per: Per
    source: PriceSource
    verified: bool = True

    @property
    def usd_per_month(self) -> float:
        return self.usd * _PER_MONTH[self.per]


@dataclass(frozen=True)
class SpotRatio:
    """Spot price / on-demand price for a family of machines: a low-high range from the price file.
    Estimates use ``high`` (a budget errs high, never low) and show the range."""

    family: str
    low: float
    high: float
    source: str
    as_of: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class PriceFileData:
    cloud: Cloud
    as_of: str
    rows: dict[tuple[str, str, str], UnitPrice]     # (kind, sku, region) -> price
    spot: dict[str, SpotRatio]                      # family ("*" = default) -> ratio


# --- schema --------------------------------------------------------------------------------------

_ROW_FIELDS: Final[dict[str, type | tuple[type, ...]]] = {
    "sku": str, "kind": str, "region": str, "unit": str, "usd": (int, float), "source": str, "as_of": str,
    "verified": bool,
}
_SPOT_FIELDS: Final[dict[str, type | tuple[type, ...]]] = {
    "family": str, "low": (int, float), "high": (int, float), "source": str, "as_of": str, "verified": bool,
}
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _check_fields(where: str, entry: Any, fields: dict[str, type | tuple[type, ...]]) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{where}: not an object"]
    problems = [f"{where}: {name} missing or not {getattr(kind, '__name__', 'a number')}"
                for name, kind in fields.items()
                if not isinstance(entry.get(name), kind) or (isinstance(entry.get(name), bool) and kind is not bool)]
    if isinstance(entry.get("as_of"), str) and not _DATE.match(entry["as_of"]):
        problems.append(f"{where}: as_of {entry['as_of']!r} is not YYYY-MM[-DD]")
    if isinstance(entry.get("source"), str) and not entry["source"].startswith("https://"):
        problems.append(f"{where}: source {entry['source']!r} is not an https URL")
    return problems


def _row_problems(cloud: str, rows: list[Any]) -> list[str]:
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for i, entry in enumerate(rows):
        where = f"{cloud}: rows[{i}]"
        problems += _check_fields(where, entry, _ROW_FIELDS)
        if not isinstance(entry, dict):
            continue
        if entry.get("kind") not in KINDS:
            problems.append(f"{where}: kind {entry.get('kind')!r} is not one of {', '.join(KINDS)}")
        if entry.get("unit") not in _UNIT_PER:
            problems.append(f"{where}: unit {entry.get('unit')!r} is not one of {', '.join(_UNIT_PER)}")
        if isinstance(entry.get("usd"), int | float) and not entry["usd"] > 0:
            problems.append(f"{where}: usd must be > 0 (a SKU without a price has no row)")
        key = (str(entry.get("kind")), str(entry.get("sku")), str(entry.get("region")))
        if key in seen:
            problems.append(f"{where}: duplicate row for {key}")
        seen.add(key)
    return problems or ([] if rows else [f"{cloud}: no rows"])


def _spot_problems(cloud: str, spot: list[Any]) -> list[str]:
    problems: list[str] = []
    for i, entry in enumerate(spot):
        where = f"{cloud}: spot[{i}]"
        found = _check_fields(where, entry, _SPOT_FIELDS)
        problems += found
        if not found and not 0 < entry["low"] <= entry["high"] <= 1:
            problems.append(f"{where}: need 0 < low <= high <= 1")
    if not any(isinstance(s, dict) and s.get("family") == "*" for s in spot):
        problems.append(f"{cloud}: spot needs a default row (family '*')")
    return problems


def schema_problems(cloud: str, document: Any) -> list[str]:
    """Everything wrong with a price file's shape (empty when it is valid)."""
    if not isinstance(document, dict):
        return [f"{cloud}: the price file is not a JSON object"]
    problems: list[str] = []
    if document.get("format") != PRICE_FORMAT:
        problems.append(f"{cloud}: format must be {PRICE_FORMAT!r} (got {document.get('format')!r})")
    if document.get("cloud") != cloud or document.get("currency") != "USD":
        problems.append(f"{cloud}: cloud/currency must be {cloud!r}/'USD'")
    if not isinstance(document.get("as_of"), str) or not _DATE.match(document["as_of"]):
        problems.append(f"{cloud}: as_of must be YYYY-MM-DD")
    return problems + _row_problems(cloud, list(document.get("rows") or [])) + _spot_problems(
        cloud, list(document.get("spot") or []))


@functools.cache
def load(cloud: Cloud) -> PriceFileData:
    """A cloud's price file, checked and indexed (read once)."""
    document = json.loads(price_file(cloud).read_text())
    problems = schema_problems(cloud, document)
    if problems:
        raise ValueError(f"{price_file(cloud)}: " + "; ".join(problems))
    rows = {
        (r["kind"], r["sku"], r["region"]): UnitPrice(
            float(r["usd"]), _UNIT_PER[r["unit"]], PriceSource(r["source"], r["region"], r["as_of"]), r["verified"])
        for r in document["rows"]
    }
    spot = {s["family"]: SpotRatio(s["family"], float(s["low"]), float(s["high"]), s["source"], s["as_of"],
                                   s["verified"], s.get("note", "")) for s in document["spot"]}
    return PriceFileData(cloud, document["as_of"], rows, spot)


def home_region(cloud: Cloud) -> str:
    """The region the catalogue's reference prices are for (us-east-1, us-central1, eastus)."""
    return catalog.PRICE_SOURCES[cloud].region


def lookup(cloud: Cloud, kind: Kind, sku: str, region: str | None = None) -> UnitPrice | None:
    """The row for ``sku`` in ``region`` (or a region-independent row), else None: no guessing."""
    rows = load(cloud).rows
    for where in (region or home_region(cloud), *ANY_REGION):
        found = rows.get((kind, sku, where))
        if found is not None:
            return found
    return None


def regions_priced(cloud: Cloud, kind: Kind, sku: str) -> list[str]:
    """The regions a SKU has a row for (what an unpriced item's note points to)."""
    return sorted(r for k, s, r in load(cloud).rows if k == kind and s == sku)


# Keys of the service rows, shared by every cloud so the cost model reads them the same way.
ServiceKey = Literal[
    "nat-gateway",              # per gateway-hour (GCP: per VM-hour, see nat-vm / nat-cap)
    "public-ip",                # per in-use public IPv4 address-hour
    "interface-endpoint",       # AWS interface VPC endpoint, per endpoint-hour in one zone
    "private-endpoint",         # Azure private endpoint, per endpoint-hour
    "private-dns-zone",         # per hosted zone-month
    "load-balancer-application",
    "load-balancer-network",
    "load-balancer-gateway",
    "load-balancer-classic",
    "kms-key",                  # customer-managed key (one active version), per key-month
    "hsm-key",                  # HSM-protected key, per key-month
    "alarm-metric",             # per metric an alarm evaluates, per month
    "dashboard",                # per dashboard-month
    "disk-gib",                 # node boot disk, per GiB-month
    "cluster",                  # GKE cluster management fee (the version calendar prices control planes)
    "nat-vm", "nat-cap",        # GCP Cloud NAT: per VM-hour up to 32 VMs, flat above
    "registry-basic", "registry-standard", "registry-premium",   # Azure Container Registry units
    "os-disk-p10", "os-disk-p15", "os-disk-p20", "os-disk-p30",  # Azure Premium SSD managed OS disks
]


def service_price(cloud: Cloud, key: ServiceKey, region: str | None = None) -> UnitPrice | None:
    """The price of a service unit on a cloud in a region, or None when the file has no row for it."""
    return lookup(cloud, "service", key, region)


def machine_price(cloud: Cloud, machine: str, region: str | None = None) -> UnitPrice | None:
    """On-demand price of a node machine (or an Azure ML managed online endpoint instance)."""
    return lookup(cloud, "machine", machine, region)


def serving_price(cloud: Cloud, instance: str, region: str | None = None) -> UnitPrice | None:
    """Price of one serving replica: SageMaker hosting on AWS (``ml.*``, not the EC2 price), the VM
    price elsewhere."""
    if cloud == "aws":
        return lookup(cloud, "sagemaker", instance if instance.startswith("ml.") else f"ml.{instance}", region)
    return machine_price(cloud, instance, region)


def serving_kind(cloud: Cloud) -> Kind:
    return "sagemaker" if cloud == "aws" else "machine"


def serving_sku(cloud: Cloud, instance: str) -> str:
    """The price-file SKU of a serving instance (SageMaker's ``ml.`` names on AWS)."""
    return f"ml.{instance}" if cloud == "aws" and not instance.startswith("ml.") else instance


def cloud_run_price(sku: str, region: str) -> UnitPrice | None:
    """A Cloud Run instance-based billing rate: ``cpu`` (vCPU-s), ``memory`` (GiB-s), ``nvidia-l4``
    or ``nvidia-l4-zonal-redundancy`` (GPU-s)."""
    return lookup("gcp", "cloudrun", sku, region)


def machine_family(cloud: Cloud, machine: str) -> str:
    """The family a spot ratio is keyed by: ``g6`` (g6.xlarge), ``g2`` (g2-standard-4),
    ``NCas_T4_v3`` (Standard_NC4as_T4_v3)."""
    if cloud == "aws":
        return machine.removeprefix("ml.").split(".")[0]
    if cloud == "gcp":
        return machine.split("-", maxsplit=1)[0]
    size = machine.removeprefix("Standard_")
    match = re.match(r"^([A-Z]+)\d+([a-z]*)(_.*)?$", size)
    return f"{match.group(1)}{match.group(2)}{match.group(3) or ''}" if match else size


def spot_ratio(cloud: Cloud, machine: str) -> SpotRatio:
    """Spot / on-demand for a machine's family, else the cloud's default range."""
    spot = load(cloud).spot
    return spot.get(machine_family(cloud, machine)) or spot["*"]


def nat_rates(region: str) -> tuple[UnitPrice, UnitPrice] | None:
    """GCP Cloud NAT: (per VM-hour up to NAT_CAP_VMS VMs, flat hourly rate above), or None."""
    per_vm, cap = service_price("gcp", "nat-vm", region), service_price("gcp", "nat-cap", region)
    return (per_vm, cap) if per_vm is not None and cap is not None else None


NAT_CAP_VMS: Final = 32

# Accelerated instance-type families (their line items count as GPU spend).
_GPU_FAMILIES: Final = ("g", "p", "inf", "trn", "dl")


def is_gpu_machine(cloud: Cloud, machine: str) -> bool:
    """Whether a node or serving instance type carries accelerators."""
    if any(s.cloud == cloud and s.machine == machine for s in catalog.GPU_SHAPES):
        return True
    if cloud == "aws":
        return instance_class(machine) in _GPU_FAMILIES
    if cloud == "azure":
        return machine.removeprefix("Standard_").startswith(("NC", "ND", "NV"))
    return machine.startswith(("a2-", "a3-", "g2-", "a4-"))


def instance_class(instance: str) -> str:
    """The letters before an AWS instance family's generation digit: ``g`` for g6.xlarge and
    ml.g5.2xlarge, ``inf`` for inf2.xlarge, ``m`` for m6i.large."""
    family = instance.removeprefix("ml.").split(".")[0]
    return family[: next((i for i, ch in enumerate(family) if ch.isdigit()), len(family))]
