"""What a spec must satisfy on GCP only (the kit's ``spec_rules``; SDK-free). Everything a GCP
component or the cloud would refuse is checked here (or refused by a capability row,
``capabilities.py``), so ``validate`` reports it, every problem at once, and the program never raises
for a spec reason:

- labels: global tags that are still valid labels once lowercased (see ``tags.py``), no two keys
  merged by lowercasing, and at most 64 labels on any resource once mlfabric's own are merged in
  (3 identity labels and up to 2 per resource: ``MAX_MLFABRIC_LABELS``);
- the shape of an IAM member;
- machine types (``training.cluster.system_pool.machine``, ``serving.endpoints[].instance``) against
  the Compute Engine names mlfabric knows (``machine_types.json``), with the nearest names; an
  endpoint's instance must also fit a Cloud Run instance (1, 2, 4, 6 or 8 vCPUs, at most 4 GiB per
  vCPU, no GPU machine: use ``accelerator: l4``);
- ``network.existing_network_id``: a VPC network name or its self link;
- ``network.availability_zones``: at most 3 (the node zones of the cluster; every region has 3);
- ``monitoring.log_retention_days``: Cloud Logging keeps 1 to 3650 days;
- ``training.cluster.kubernetes_version`` is offered in the spec's GKE release channel;
- ``storage.replication_region``: a GCP region name (``us-east1``), not the platform's region;
- team members (``teams[].members``): no ``domain:`` principals (no Kubernetes subject), and ``group:``
  principals of one domain (the cluster's Google Groups for RBAC security group);
- GPU pools with ``queued_provisioning``: ``min_nodes`` 0, no ``reservation``, no ``spot`` (GKE's
  documented queued-provisioning node pool, ``training_rules.py``);
- ``training.shared_fs.capacity_gib``: a size Filestore's zonal tier sells;
- tracking and notebooks: what they need on GCP (``lifecycle_rules.py``).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

from mlfabric.components.gcp.lifecycle_rules import lifecycle_problems
from mlfabric.components.gcp.machines import machine_type, unknown_machine_message
from mlfabric.components.gcp.tags import LABEL_VALUE
from mlfabric.components.gcp.training_rules import pool_problems, shared_fs_problems
from mlfabric.components.kubernetes.batch_rules import batch_problems
from mlfabric.components.kubernetes.versions import VersionCalendar, load_calendar, today
from mlfabric.components.spec import Problems, principal_problems, tag_key_problem, team_members

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

_PRINCIPAL: Final = re.compile(r"^(user|group|serviceAccount|domain):[^\s:]+$")
_PRINCIPAL_EXAMPLE: Final = "a member such as user:ana@example.com, group:ml@example.com or serviceAccount:..."

# GCP: at most 64 labels per resource (https://cloud.google.com/resource-manager/docs/labels-overview,
# checked 2026-12-01).
MAX_LABELS: Final = 64
# mlfabric's own labels on one resource: the 3 identity labels (naming.identity_tags) and at most 2
# per resource (serving: mlfabric-endpoint + mlfabric-model; GPU pools: mlfabric-node-pool +
# mlfabric-accelerator; buckets, repositories and keys: 1).
MLFABRIC_LABELS: Final = (
    "mlfabric-platform", "mlfabric-environment", "managed-by", "mlfabric-endpoint", "mlfabric-model",
)
# Cloud Logging keeps a bucket's logs 1 to 3650 days.
MAX_LOG_RETENTION_DAYS: Final = 3650
# GKE places node pools in up to this many zones of the region (every GCP region has at least 3).
MAX_ZONES: Final = 3
# Cloud Run: CPUs an instance may have, and at most 4 GiB of memory per CPU
# (https://cloud.google.com/run/docs/configuring/services/cpu, .../memory-limits; checked 2026-12-01).
CLOUD_RUN_CPUS: Final = (1, 2, 4, 6, 8)
CLOUD_RUN_GIB_PER_CPU: Final = 4

_NETWORK_NAME: Final = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
_PROJECT: Final = r"[a-z][-a-z0-9]{4,28}[a-z0-9]"
_NETWORK_ID: Final = re.compile(
    rf"^(?:(?:https://www\.googleapis\.com/compute/v1/)?projects/{_PROJECT}/global/networks/)?{_NETWORK_NAME}$"
)
_CALENDAR: Final = Path(__file__).with_name("kubernetes_versions.json")


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 60 else f"{value[:57]!r}... ({len(value)} characters)"


def _label_values(spec: PlatformSpec) -> Problems:
    # A key every cloud refuses is already reported; its value is not judged on top.
    return [
        (("tags", key), "not a valid GCP label value once lowercased: at most 63 "
         f"lowercase letters, digits, '_' or '-' (got {value!r})")
        for key, value in spec.tags.items()
        if tag_key_problem(key) is None and not LABEL_VALUE.match(value.lower())
    ]


def _label_collisions(spec: PlatformSpec) -> Problems:
    lowered = [k.lower() for k in spec.tags]
    return [
        (("tags", key), f"collides with another key once lowercased for GCP (got {key!r})")
        for key in spec.tags
        if lowered.count(key.lower()) > 1
    ]


def _label_count(spec: PlatformSpec) -> Problems:
    merged = {k.lower() for k in spec.tags} | set(MLFABRIC_LABELS)
    if len(merged) <= MAX_LABELS:
        return []
    room = MAX_LABELS - len(MLFABRIC_LABELS)
    return [(("tags",), f"GCP takes at most {MAX_LABELS} labels per resource and mlfabric adds up to "
             f"{len(MLFABRIC_LABELS)} of its own, so at most {room} tags (got {len(spec.tags)})")]


def instance_problem(name: str) -> str | None:
    """Why ``name`` cannot be an endpoint's Cloud Run instance shape, or None."""
    machine = machine_type(name)
    if machine is None:
        return unknown_machine_message(name)
    if machine.vcpus is None or machine.memory_gib is None:
        return f"a GPU machine cannot be a Cloud Run instance: give accelerator: l4 instead (got {name!r})"
    if machine.shared_core or machine.vcpus not in CLOUD_RUN_CPUS or \
            machine.memory_gib > CLOUD_RUN_GIB_PER_CPU * machine.vcpus:
        return (f"does not fit a Cloud Run instance ({', '.join(map(str, CLOUD_RUN_CPUS))} vCPUs, at most "
                f"{CLOUD_RUN_GIB_PER_CPU} GiB per vCPU), e.g. e2-standard-4, n2-standard-8 (got {name!r}: "
                f"{machine.vcpus} vCPUs, {machine.memory_gib:g} GiB)")
    return None


def _machines(spec: PlatformSpec) -> Problems:
    problems: Problems = []
    if spec.training is not None:
        machine = spec.training.cluster.system_pool.machine
        if machine is not None and machine_type(machine) is None:
            problems.append((("training", "cluster", "system_pool", "machine"), unknown_machine_message(machine)))
    for index, endpoint in enumerate(spec.serving.endpoints if spec.serving else []):
        if endpoint.instance is not None and (problem := instance_problem(endpoint.instance)):
            problems.append((("serving", "endpoints", index, "instance"), problem))
    return problems


def _existing_network(spec: PlatformSpec) -> Problems:
    existing = spec.network.existing_network_id
    if existing is None or _NETWORK_ID.match(existing):
        return []
    return [(("network", "existing_network_id"), "on GCP give the VPC network's name (lowercase letters, "
             "digits and '-', up to 63) or its self link projects/<project>/global/networks/<name> "
             f"(got {_shown(existing)})")]


def _zones(spec: PlatformSpec) -> Problems:
    zones = spec.network.availability_zones
    if zones <= MAX_ZONES:
        return []
    return [(("network", "availability_zones"), f"mlfabric spreads GKE node pools over at most {MAX_ZONES} "
             f"zones of the region on GCP (got {zones})")]


_REGION: Final = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")


def _replication_region(spec: PlatformSpec) -> Problems:
    region = spec.storage.replication_region
    if region is None:
        return []
    if not _REGION.match(region):
        return [(("storage", "replication_region"), f"{_shown(region)} is not a GCP region name "
                 "(e.g. us-east1, europe-west4)")]
    if region == spec.region:
        return [(("storage", "replication_region"), f"{_shown(region)} is the platform's own region: "
                 "a replica must be in another region")]
    return []


def _log_retention(spec: PlatformSpec) -> Problems:
    days = spec.monitoring.log_retention_days
    if days <= MAX_LOG_RETENTION_DAYS:
        return []
    return [(("monitoring", "log_retention_days"),
             f"Cloud Logging keeps 1 to {MAX_LOG_RETENTION_DAYS} days (got {days})")]


@functools.cache
def _calendar() -> VersionCalendar:
    return load_calendar(_CALENDAR)


@functools.cache
def _channels() -> dict[str, tuple[str, ...]]:
    rows = json.loads(_CALENDAR.read_text(encoding="utf-8"))["releases"]
    return {str(row["minor"]): tuple(row.get("channels", ())) for row in rows}


def _release_channel(spec: PlatformSpec) -> Problems:
    """A version the calendar knows but the spec's channel does not offer (the calendar's own
    refusals, unknown or ended versions, are the cloud-neutral check's)."""
    if spec.training is None:
        return []
    version = spec.training.cluster.version
    channel = spec.gcp.release_channel if spec.gcp is not None else "REGULAR"
    channels = _channels()
    if version not in channels or channel in channels[version] or _calendar().problem(version, today()):
        return []
    offered = [minor for minor, where in channels.items() if channel in where]
    span = f"{offered[0]} to {offered[-1]}" if offered else "none"
    return [(("training", "cluster", "kubernetes_version"),
             f"GKE's {channel} channel offers {span} (gcp.release_channel; the Extended channel, which "
             f"keeps older versions, is not offered by mlfabric) (got {version!r})")]


def _team_members(spec: PlatformSpec) -> Problems:
    """Team members GKE can name in a RoleBinding: users and service accounts by email, groups through
    Google Groups for RBAC, which a cluster enables for one domain (gke-security-groups@<domain>)."""
    problems: Problems = []
    domains: dict[str, tuple[str | int, ...]] = {}
    for member in team_members(spec.teams, "gcp"):
        for index, principal in enumerate(member.principals):
            if principal.startswith("domain:"):
                problems.append(((*member.path, index), "a whole domain is no Kubernetes RBAC subject on GKE: "
                                 f"list its users or a group instead (got {principal!r})"))
            elif principal.startswith("group:") and "@" in principal:
                domains.setdefault(principal.split("@", 1)[1], (*member.path, index))
    if len(domains) > 1:
        first, *others = sorted(domains)
        problems += [(domains[domain], "GKE's Google Groups for RBAC reads one domain's groups "
                      f"(gke-security-groups@{first}); team groups must all be in it (got {domain!r})")
                     for domain in others]
    return problems


def problems(spec: PlatformSpec) -> Problems:
    """Every GCP-only rule the spec breaks, as (field path, message)."""
    return [
        *_label_values(spec),
        *_label_collisions(spec),
        *_label_count(spec),
        *principal_problems(spec, _PRINCIPAL, _PRINCIPAL_EXAMPLE),
        *_existing_network(spec),
        *_zones(spec),
        *_machines(spec),
        *_log_retention(spec),
        *_release_channel(spec),
        *_replication_region(spec),
        *_team_members(spec),
        *pool_problems(spec),
        *shared_fs_problems(spec),
        *lifecycle_problems(spec),
        *batch_problems(spec),
    ]
