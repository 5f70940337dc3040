"""What a spec must satisfy on Azure only (the kit's ``spec_rules``; SDK-free): what Azure, AKS, Azure
ML and Log Analytics would refuse, caught by ``validate`` before anything is declared, so the program
never raises for a spec reason.

- Log Analytics keeps logs 30 to 730 days; a persona principal is an Entra object id (GUID);
- VM sizes (``training.cluster.system_pool.machine``, ``serving.endpoints[].instance``) are names
  Azure sells (``vm_sizes.json``, with source and date), with the nearest known names suggested;
- ``network.existing_network_id`` is a VNet's ARM resource id;
- the AKS overlay's pod and service ranges fit outside ``network.cidr``; no GPU pool takes the
  system pool's name (``system``);
- Azure ML mirrors at most 50 % of live traffic to a shadow deployment; a staged rollout (canary or
  linear) fits in one deployment script run (``serving.rollout_minutes``);
- a GPU pool's ``reservation`` is a capacity reservation group's ARM id, on regular (not Spot) nodes;
- ``training.shared_fs.capacity_gib`` is a capacity an Azure Managed Lustre tier sells, within the
  subnet mlfabric gives it (``shared_fs.json``);
- tags: at most 50 per resource after mlfabric adds its own, keys without ``< > % & \\ ? /``, keys
  at most 512 characters (128 on storage accounts), values at most 256.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

from mlfabric.components import naming
from mlfabric.components.azure import ranges
from mlfabric.components.azure.regions import PAIRED_REGIONS
from mlfabric.components.spec import Problems, principal_problems

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

_PRINCIPAL: Final = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PRINCIPAL_EXAMPLE: Final = "an Entra object id (GUID)"
VM_SIZES_PATH: Final = Path(__file__).with_name("vm_sizes.json")

# A VNet's ARM id. Resource group: 1-90 letters, digits, _ - . ( ), not ending in '.'; VNet: 2-64
# letters, digits, _ - ., starting with a letter or digit, ending with one or '_'.
_VNET_ID: Final = re.compile(
    r"^/subscriptions/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"/resourceGroups/[-\w.()]{0,89}[-\w()]"
    r"/providers/(?i:Microsoft\.Network)/(?i:virtualNetworks)/[A-Za-z0-9][-\w.]{0,62}[A-Za-z0-9_]$"
)
_VNET_ID_EXAMPLE: Final = (
    "/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>"
)

# A capacity reservation group's ARM id (what AKS's capacityReservationGroupID takes).
_CRG_ID: Final = re.compile(
    r"^/subscriptions/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"/resourceGroups/[-\w.()]{0,89}[-\w()]"
    r"/providers/(?i:Microsoft\.Compute)/(?i:capacityReservationGroups)/[A-Za-z0-9][-\w.]{0,78}[A-Za-z0-9_]$"
)
_CRG_ID_EXAMPLE: Final = (
    "/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.Compute/"
    "capacityReservationGroups/<name>"
)

# Azure ML mirrors at most this share of live traffic to shadow deployments.
MAX_MIRROR_PERCENT: Final = 50
# The AKS system pool's name: a GPU pool cannot take it (nor keep it as its physical name).
SYSTEM_POOL: Final = "system"

# Azure Resource Manager's tag limits.
MAX_TAGS: Final = 50
MAX_TAG_KEY: Final = 512
MAX_STORAGE_TAG_KEY: Final = 128
MAX_TAG_VALUE: Final = 256
_TAG_KEY_FORBIDDEN: Final = frozenset("<>%&\\?/")
# Tags mlfabric adds to one resource besides the spec's: the three identity tags and at most two of
# its own (serving: mlfabric-endpoint + mlfabric-variant; GPU pools: mlfabric-node-pool +
# mlfabric-accelerator). tests/test_spec_rules_azure.py counts them on a plan.
ADDED_TAGS_PER_RESOURCE: Final = len(naming.identity_tags("x", "dev")) + 2


@functools.cache
def vm_sizes() -> tuple[str, ...]:
    """Every VM size name ``vm_sizes.json`` lists (its families expanded)."""
    data = json.loads(VM_SIZES_PATH.read_text(encoding="utf-8"))
    return tuple(family["pattern"].format(n=n) for family in data["families"] for n in family["n"])


def vm_size_problem(name: str) -> str | None:
    """Why Azure would refuse ``name`` as a VM size, with the nearest known names; None if known."""
    known = vm_sizes()
    if name in known:
        return None
    shown = name if len(name) <= 40 else f"{name[:37]}... ({len(name)} characters)"
    by_lower = {k.lower(): k for k in known}
    if name.lower() in by_lower:
        return f"VM size names are case-sensitive: use {by_lower[name.lower()]} (got {shown!r})"
    hint = ""
    if re.match(r"^[a-z][a-z0-9]*\.[a-z0-9]+$", name) or name.startswith("ml."):
        hint = " — that is an AWS instance type"
    elif re.match(r"^[a-z][a-z0-9]*-(standard|highmem|highcpu|megamem|ultramem)-\d+", name):
        hint = " — that is a GCP machine type"
    near = difflib.get_close_matches(name[:80], known, n=3, cutoff=0.6) if "\x00" not in name else []
    suggestion = f"; nearest: {', '.join(near)}" if near else "; e.g. Standard_D4s_v5, Standard_NC4as_T4_v3"
    return f"not an Azure VM size{hint}{suggestion} (got {shown!r})"


def _log_retention(spec: PlatformSpec) -> Problems:
    days = spec.monitoring.log_retention_days
    # A Log Analytics workspace keeps data 30 to 730 days.
    if 30 <= days <= 730:
        return []
    return [(("monitoring", "log_retention_days"), f"Log Analytics keeps 30 to 730 days (got {days})")]


def _vm_sizes(spec: PlatformSpec) -> Problems:
    problems: Problems = []
    if spec.training is not None and spec.training.cluster.system_pool.machine is not None:
        problem = vm_size_problem(spec.training.cluster.system_pool.machine)
        if problem:
            problems.append((("training", "cluster", "system_pool", "machine"), problem))
    if spec.serving is not None:
        for index, endpoint in enumerate(spec.serving.endpoints):
            if endpoint.instance is not None and (problem := vm_size_problem(endpoint.instance)):
                problems.append((("serving", "endpoints", index, "instance"), problem))
    return problems


# VM families whose sizes cannot enable encryption at host (the capability EncryptionAtHostSupported
# of `az vm list-skus` is False for them): legacy Av2 and B-series v1 and the retired NCv3. Every AKS
# pool mlfabric builds enables it (cluster.py), so a pool on one of these sizes is refused rather than
# silently left unencrypted. Source: the family pages of vm_sizes.json's source ("Encryption at host"
# in each family's feature table), checked 2026-12-01; `az vm list-skus -l <region> --query
# "[?name=='<size>'].capabilities"` is authoritative per region.
NO_HOST_ENCRYPTION_PATTERNS: Final = (
    re.compile(r"^Standard_A\d+m?_v2$"),
    re.compile(r"^Standard_B\d+(ls|s|ms)$"),
    re.compile(r"^Standard_NC\d+r?s_v3$"),
)


def supports_encryption_at_host(vm_size: str) -> bool:
    """Whether an AKS node pool of this VM size can enable encryption at host."""
    return not any(pattern.match(vm_size) for pattern in NO_HOST_ENCRYPTION_PATTERNS)


def _encryption_at_host(spec: PlatformSpec) -> Problems:
    if spec.training is None:
        return []
    problems: Problems = []
    machine = spec.training.cluster.system_pool.machine
    if machine is not None and vm_size_problem(machine) is None and not supports_encryption_at_host(machine):
        problems.append((("training", "cluster", "system_pool", "machine"),
                         f"{machine} cannot encrypt at host, which every AKS pool mlfabric builds does: pick a "
                         "size that can, e.g. Standard_D4s_v5"))
    return problems


def _replication_region(spec: PlatformSpec) -> Problems:
    target = spec.storage.replication_region
    if target is None:
        return []
    pair = PAIRED_REGIONS.get(spec.region)
    if target == pair:
        return []
    shown = target if len(target) <= 40 else f"{target[:37]}..."
    allowed = f"only its paired region {pair}" if pair else "no region: it has no paired region"
    return [(("storage", "replication_region"),
             f"Azure storage geo-replicates (GRS/GZRS) only to the region's pair; {spec.region} allows "
             f"{allowed} (got {shown!r})")]


def _existing_network(spec: PlatformSpec) -> Problems:
    network_id = spec.network.existing_network_id
    if network_id is None or _VNET_ID.match(network_id):
        return []
    shown = network_id if len(network_id) <= 60 else f"{network_id[:57]}... ({len(network_id)} characters)"
    return [(("network", "existing_network_id"), f"on Azure give the VNet's resource id, {_VNET_ID_EXAMPLE} (got {shown!r})")]


def _overlay_ranges(spec: PlatformSpec) -> Problems:
    # AKS's overlay pods and services need ranges outside the VNet: the cluster picks them from fixed
    # candidates (components/azure/ranges.py).
    if spec.training is None or ranges.cluster_ranges(spec.network.cidr) is not None:
        return []
    candidates = ", ".join((*ranges.POD_CIDRS, *ranges.SERVICE_CIDRS))
    return [(("network", "cidr"), f"overlaps every range AKS could use for pods or services ({candidates}); "
             f"use a smaller range such as 10.0.0.0/16 (got {spec.network.cidr!r})")]


def _gpu_pool_names(spec: PlatformSpec) -> Problems:
    if spec.training is None:
        return []
    return [
        (("training", "gpu_pools", index, "name" if pool.name == SYSTEM_POOL else "renamed_from"),
         f"{SYSTEM_POOL!r} is the name of the AKS system pool; choose another GPU pool name (got {SYSTEM_POOL!r})")
        for index, pool in enumerate(spec.training.gpu_pools)
        if SYSTEM_POOL in (pool.name, *pool.renamed_from)
    ]


def _shadow_mirror(spec: PlatformSpec) -> Problems:
    if spec.serving is None:
        return []
    return [
        (("serving", "endpoints", index, "traffic", "shadow", "percent"),
         f"Azure ML mirrors at most {MAX_MIRROR_PERCENT}% of live traffic (got {endpoint.traffic.shadow.percent})")
        for index, endpoint in enumerate(spec.serving.endpoints)
        if endpoint.traffic.shadow is not None and endpoint.traffic.shadow.percent > MAX_MIRROR_PERCENT
    ]


def _rollout_time(spec: PlatformSpec) -> Problems:
    # Imported here: serving's rollout plan is SDK-free, but only endpoints need it.
    from mlfabric.components.azure.rollout import MAX_ROLLOUT_MINUTES, rollout_minutes

    if spec.serving is None:
        return []
    problems: Problems = []
    for index, endpoint in enumerate(spec.serving.endpoints):
        minutes = rollout_minutes(endpoint.traffic)
        if minutes > MAX_ROLLOUT_MINUTES:
            traffic = endpoint.traffic
            problems.append((("serving", "endpoints", index, "traffic", "bake_minutes"),
                             f"a {traffic.strategy} rollout in steps of {traffic.canary_percent}% baking "
                             f"{traffic.bake_minutes} minutes each takes {minutes} minutes; the Azure deployment "
                             f"script that runs it stops after {MAX_ROLLOUT_MINUTES}: bake less or take larger "
                             f"steps (got {traffic.bake_minutes})"))
    return problems


def _tags(spec: PlatformSpec) -> Problems:
    problems: Problems = []
    own = [key for key in spec.tags if key.lower() not in {k.lower() for k in naming.identity_tags("x", "dev")}]
    if len(own) + ADDED_TAGS_PER_RESOURCE > MAX_TAGS:
        problems.append((("tags",), f"Azure allows {MAX_TAGS} tags per resource and mlfabric adds up to "
                         f"{ADDED_TAGS_PER_RESOURCE} of its own: give at most {MAX_TAGS - ADDED_TAGS_PER_RESOURCE} "
                         f"(got {len(own)})"))
    for key, value in spec.tags.items():
        if bad := sorted(set(key) & _TAG_KEY_FORBIDDEN):
            problems.append((("tags", key), f"Azure tag keys may not contain {' '.join(bad)} (got {key!r})"))
        if len(key) > MAX_STORAGE_TAG_KEY:
            problems.append((("tags", key), f"Azure storage accounts take tag keys of at most {MAX_STORAGE_TAG_KEY} "
                             f"characters (got {len(key)})"))
        if len(value) > MAX_TAG_VALUE:
            problems.append((("tags", key), f"Azure tag values are at most {MAX_TAG_VALUE} characters (got {len(value)})"))
    return problems


def _reservations(spec: PlatformSpec) -> Problems:
    if spec.training is None:
        return []
    problems: Problems = []
    for index, pool in enumerate(spec.training.gpu_pools):
        if pool.reservation is None:
            continue
        where = ("training", "gpu_pools", index, "reservation")
        shown = pool.reservation if len(pool.reservation) <= 60 else f"{pool.reservation[:57]}..."
        if not _CRG_ID.match(pool.reservation):
            problems.append((where, f"on Azure give the capacity reservation group's resource id, {_CRG_ID_EXAMPLE} "
                             f"(got {shown!r})"))
        elif pool.spot:
            # "Spot VMs ... are not supported with Capacity Reservation" (capacity-reservation-overview,
            # Limitations and restrictions).
            problems.append((where, "capacity reservations hold regular (pay-as-you-go) VMs, not Spot: set spot: "
                             f"false on this pool or drop the reservation (got {shown!r} with spot: true)"))
    return problems


def _shared_fs(spec: PlatformSpec) -> Problems:
    # Imported here: the tiers are data read once.
    from mlfabric.components.azure.shared_fs import GIB_PER_TIB, lustre_tier, max_subnet_tib, tiers

    if spec.training is None or spec.training.shared_fs is None:
        return []
    gib = spec.training.shared_fs.capacity_gib
    where = ("training", "shared_fs", "capacity_gib")
    sold = "; ".join(f"{t.mbps_per_tib} MB/s per TiB: {t.min_tib}-{t.max_tib} TiB in steps of {t.step_tib}"
                     for t in tiers())
    if lustre_tier(gib) is None:
        return [(where, f"Azure Managed Lustre sells whole TiB ({GIB_PER_TIB} GiB) in these tiers: {sold} "
                 f"(got {gib})")]
    if gib > max_subnet_tib() * GIB_PER_TIB:
        return [(where, f"Microsoft sizes a Managed Lustre subnet only up to {max_subnet_tib()} TiB "
                 f"({max_subnet_tib() * GIB_PER_TIB} GiB), the /23 mlfabric creates (got {gib})")]
    return []


def _serving_workspace(spec: PlatformSpec) -> Problems:
    # Azure ML online endpoints live in the ML workspace the registry concern creates.
    if spec.serving is None or spec.registry is not None:
        return []
    return [(("serving",), "Azure ML endpoints live in the ML workspace the registry section creates: add a "
             "registry section (got serving without registry)")]


# Personas (by the template they take) whose principals get a notebook: people who write code. Readers,
# CI and admins work elsewhere.
NOTEBOOK_TEMPLATES: Final = frozenset({"data-scientist", "ml-engineer"})
PLATFORM_ENVIRONMENT: Final = "platform"


def notebook_users(spec: PlatformSpec) -> dict[str, list[str]]:
    """Notebook environment (a team, or ``platform`` without teams) -> the principals that each get one
    compute instance in it (an Azure ML compute instance has exactly one user), in spec order.

    A team's users are its members whose persona writes code (data scientist, ML engineer); the
    ``platform`` environment's are the rbac personas of those templates."""
    if spec.notebooks is None:
        return {}
    found: dict[str, list[str]] = {}
    if spec.teams:
        from mlfabric.components.spec import team_members

        wanted = spec.notebooks.teams if spec.notebooks.teams is not None else [t.name for t in spec.teams]
        for member in team_members([t for t in spec.teams if t.name in wanted], "azure"):
            template = "reader" if member.persona == "reader" else spec.rbac.template(member.persona)
            if template in NOTEBOOK_TEMPLATES:
                _add_users(found.setdefault(member.team, []), member.principals)
        return {team: found.get(team, []) for team in wanted}
    platform: list[str] = []
    for grant in spec.rbac.grants("azure"):
        if grant.template in NOTEBOOK_TEMPLATES:
            _add_users(platform, grant.principals)
    return {PLATFORM_ENVIRONMENT: platform}


def _add_users(users: list[str], principals: list[str]) -> None:
    for principal in principals:
        if principal not in users:
            users.append(principal)


def _lifecycle(spec: PlatformSpec) -> Problems:
    problems: Problems = []
    # Tracking, notebooks and batch endpoints are all parts of the ML workspace the registry creates.
    for section in ("tracking", "notebooks", "batch"):
        if getattr(spec, section) is not None and spec.registry is None:
            problems.append(((section,), "on Azure this lives in the ML workspace the registry section creates: add "
                             f"a registry section (got {section} without registry)"))
    buckets = {bucket.name for bucket in spec.storage.buckets}
    for index, endpoint in enumerate(spec.serving.endpoints if spec.serving else []):
        if endpoint.monitoring.drift is not None and "datasets" not in buckets:
            problems.append((("serving", "endpoints", index, "monitoring", "drift", "baseline_prefix"),
                             "the baseline is read from the datasets bucket: add a storage bucket named datasets "
                             f"(got buckets {', '.join(sorted(buckets)) or 'none'})"))
    if spec.notebooks is None:
        return problems
    if spec.notebooks.machine is not None:
        problem = vm_size_problem(spec.notebooks.machine)
        if problem:
            problems.append((("notebooks", "machine"), problem))
    for environment, users in notebook_users(spec).items():
        if not users:
            where = "teams[].members" if environment != PLATFORM_ENVIRONMENT else "rbac.personas"
            problems.append((("notebooks",), f"an Azure ML compute instance belongs to one user: give environment "
                             f"{environment!r} a data-scientist or ml-engineer principal in {where} (got none)"))
    return problems


def problems(spec: PlatformSpec) -> Problems:
    """Every Azure-only rule the spec breaks, as (field path, message)."""
    return [
        *_serving_workspace(spec),
        *_lifecycle(spec),
        *_log_retention(spec),
        *principal_problems(spec, _PRINCIPAL, _PRINCIPAL_EXAMPLE),
        *_existing_network(spec),
        *_overlay_ranges(spec),
        *_vm_sizes(spec),
        *_encryption_at_host(spec),
        *_replication_region(spec),
        *_gpu_pool_names(spec),
        *_reservations(spec),
        *_shared_fs(spec),
        *_shadow_mirror(spec),
        *_rollout_time(spec),
        *_tags(spec),
    ]


def interconnect_notes(spec: PlatformSpec) -> list[str]:
    """What ``interconnect: auto`` gives each GPU pool on Azure (the kit's ``spec_notes``: validate and
    plan print them)."""
    from mlfabric.components.azure.interconnect import pool_note

    if spec.training is None:
        return []
    notes = []
    for index, pool in enumerate(spec.training.gpu_pools):
        note = pool_note(pool.accelerator, pool.gpus_per_node, pool.interconnect)
        if note:
            notes.append(f"training.gpu_pools[{index}].interconnect: {note}")
    return notes
