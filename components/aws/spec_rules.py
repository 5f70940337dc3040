"""What a spec must satisfy on AWS only (the kit's ``spec_rules``; SDK-free): what EKS, EC2,
SageMaker, CloudWatch Logs and IAM would refuse at deploy time, caught before anything is declared,
so ``validate`` reports every problem at once and the program never raises for a spec reason.

- EKS: at least two zones for a cluster; the system pool's instance type is one EC2 sells and runs
  the x86_64 AMI the system node group uses;
- SageMaker: the endpoint instance type is one a production variant accepts; a shadow needs a single
  production variant; a bake step is at most an hour and a blue/green deployment at most 8 hours;
  data capture needs the ``artifacts`` bucket;
- CloudWatch Logs: only its retention periods;
- VPC: ``existing_network_id`` is a VPC id (``vpc-`` and 8 or 17 hex digits);
- tags: at most 50 per resource, counting mlfabric's identity tags and the ones it adds itself, and
  values of the characters IAM and SageMaker accept, keys that stay distinct when IAM ignores case
  (keys are already letters, digits, ``_``, ``-``, so none can take the reserved ``aws:`` prefix);
- traffic: ``canary_percent`` only with a strategy that has steps (it changes nothing all-at-once);
- IAM: principals are role/user ARNs; a custom persona may not take the training workload role's name;
- S3 replication: ``storage.replication_region`` is another AWS region and needs versioning;
- FSx for Lustre: ``training.shared_fs.capacity_gib`` is 1200, 2400 or a multiple of 2400 GiB
  (PERSISTENT_2 SSD, FSx API CreateFileSystem StorageCapacity), and ``import_datasets`` needs the
  ``datasets`` bucket;
- EC2 capacity reservations: ``gpu_pools[].reservation`` is a reservation id (``cr-`` and 17 hex
  digits) or a capacity reservation resource group ARN, on an on-demand pool (reservations hold
  on-demand capacity, never spot);
- teams: a member is never one of the platform's own IAM roles (``<platform>-<environment>-...``: rbac
  already gives the persona roles their EKS access entry, and EKS allows one per principal), and a
  custom persona is never named like a team role (``team-...``).

``notes`` says what ``interconnect: auto`` does for pools without EFA (standard networking).

Instance type names come from ``instance_types.json`` (the AWS API models' enums, with source and
date); an unknown name is refused with the nearest known names.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Final

from mlfabric.components import catalog
from mlfabric.components.aws import lifecycle_rules
from mlfabric.components.aws.efa_catalog import efa_interfaces, pool_instance_type, standard_networking_note
from mlfabric.components.kubernetes.batch_rules import batch_problems
from mlfabric.components.spec import Problems, principal_problems
from mlfabric.components.spec.serving import TrafficSpec
from mlfabric.components.spec.teams import team_members

if TYPE_CHECKING:
    from mlfabric.components.spec import EndpointSpec, PlatformSpec

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)
_PRINCIPAL: Final = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user|root)(/[\w+=,.@/-]+)?$")
_PRINCIPAL_EXAMPLE: Final = "an IAM role or user ARN such as arn:aws:iam::123456789012:role/Name"

# --- SageMaker blue/green limits (serving.py builds the update policy from the same numbers) -----
# The traffic-routing wait and the final termination wait are each at most an hour, and a whole
# blue/green deployment at most 8 hours.
MAX_WAIT_SECONDS: Final = 3600
MAX_DEPLOYMENT_SECONDS: Final = 28800
MIN_DEPLOYMENT_SECONDS: Final = 600
# Head room for provisioning the green fleet (GPU instances can take many minutes to come up).
PROVISIONING_SECONDS: Final = 1800

# --- instance types --------------------------------------------------------------------------------
INSTANCE_TYPES_FILE: Final = Path(__file__).with_name("instance_types.json")
# The system node group runs AL2023_x86_64_STANDARD: Graviton (arm64) and Mac instances cannot join it.
_ARM_OR_MAC: Final = re.compile(r"^(a1|mac\d*[a-z0-9-]*|[a-z]+\d+[a-z]*g[a-z]*)\.")
_NAME_SHAPE: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
_GCP_MACHINE: Final = re.compile(r"^[a-z]\d[a-z]?-(standard|highmem|highcpu|highgpu|megagpu|ultragpu|custom|micro|small|medium)")
_AZURE_SIZE: Final = re.compile(r"^(standard|basic)_", re.IGNORECASE)
_SHOWN: Final = 40

# --- tags --------------------------------------------------------------------------------------------
MAX_TAGS: Final = 50
IDENTITY_TAGS: Final = 3
# The most tags mlfabric adds to one resource besides the identity tags (tests/test_fidelity_aws.py
# plans the example stacks and checks these stay true): a GPU node group carries the pool's tags,
# two Cluster Autoscaler discovery tags and four node-template tags (and EFA_RESOURCE_TAGS with EFA); without a cluster, a subnet's
# Name, EKS role and tier tags are the most.
CLUSTER_RESOURCE_TAGS: Final = 8
# A GPU node group of a pool with EFA carries one more node-template tag (its EFA devices).
EFA_RESOURCE_TAGS: Final = 1
OTHER_RESOURCE_TAGS: Final = 3
# EKS adds eks:cluster-name and eks:nodegroup-name to a managed node group's instances and volumes.
EKS_ADDED_TAGS: Final = 2

_TAG_VALUE_PUNCTUATION: Final = "_.:/=+-@"
# Keys mlfabric itself puts on IAM roles besides the identity tags (rbac.py).
_IAM_TAG_KEYS: Final = ("mlfabric-persona", "mlfabric-workload", "mlfabric-team")

# --- network ------------------------------------------------------------------------------------------
_VPC_ID: Final = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")

# traffic.canary_percent when omitted
_DEFAULT_STEP: Final = TrafficSpec.model_fields["canary_percent"].default

# The IAM role the training workload assumes is named <base>-training (rbac.py).
_WORKLOAD_ROLE_SUFFIX: Final = "training"

# --- FSx for Lustre, capacity reservations ----------------------------------------------------------
# PERSISTENT_2 SSD: 1200 GiB, 2400 GiB, then increments of 2400 GiB (FSx API reference,
# CreateFileSystem StorageCapacity: https://docs.aws.amazon.com/fsx/latest/APIReference/API_CreateFileSystem.html).
FSX_SMALL_SIZES_GIB: Final = (1200,)
FSX_INCREMENT_GIB: Final = 2400
_RESERVATION_ID: Final = re.compile(r"^cr-[0-9a-f]{17}$")
_RESERVATION_GROUP: Final = re.compile(r"^arn:aws[a-z-]*:resource-groups:[a-z0-9-]+:\d{12}:group/[A-Za-z0-9._-]{1,128}$")


@functools.cache
def instance_types() -> tuple[frozenset[str], frozenset[str]]:
    """(EC2 instance types, SageMaker endpoint instance types) from ``instance_types.json``."""
    data = json.loads(INSTANCE_TYPES_FILE.read_text(encoding="utf-8"))
    return frozenset(data["ec2_instance_types"]), frozenset(data["sagemaker_endpoint_instance_types"])


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN - 3]}... ({len(value)} characters)"


def unknown_name(value: str, known: frozenset[str], what: str) -> str | None:
    """Why ``value`` is not one of ``known`` (``what`` names the kind), with up to 3 near names."""
    if value in known:
        return None
    if _GCP_MACHINE.match(value):
        hint = "this looks like a GCP machine type; "
    elif _AZURE_SIZE.match(value):
        hint = "this looks like an Azure VM size; "
    else:
        hint = ""
    # difflib is quadratic: suggest only for names shaped like an instance type.
    near = difflib.get_close_matches(value.lower(), sorted(known), n=3, cutoff=0.6) if _NAME_SHAPE.match(value) else []
    suggestion = f"; nearest: {', '.join(near)}" if near else ""
    return f"not {what} ({hint}see {INSTANCE_TYPES_FILE.name}){suggestion} (got {_shown(value)})"


def endpoint_instance(instance: str) -> str:
    """The SageMaker instance type an endpoint's ``instance`` names (the ``ml.`` prefix is optional)."""
    return instance if instance.startswith("ml.") else f"ml.{instance}"


def _system_machine(spec: PlatformSpec) -> Problems:
    if spec.training is None or spec.training.cluster.system_pool.machine is None:
        return []
    machine = spec.training.cluster.system_pool.machine
    where = ("training", "cluster", "system_pool", "machine")
    ec2, _ = instance_types()
    problem = unknown_name(machine, ec2, "an EC2 instance type")
    if problem is None and _ARM_OR_MAC.match(machine):
        problem = (f"the system node group runs the x86_64 EKS AMI (AL2023_x86_64_STANDARD); choose an x86_64 "
                   f"instance type such as {catalog.DEFAULT_SYSTEM_MACHINE['aws']} (got {_shown(machine)})")
    return [(where, problem)] if problem else []


def _eks_zones(spec: PlatformSpec) -> Problems:
    # EKS refuses a cluster whose subnets do not span at least two zones.
    if spec.training is None or spec.network.availability_zones >= 2 or spec.network.existing_network_id:
        return []
    return [(("network", "availability_zones"), "EKS needs at least 2 zones for a training "
             f"cluster (got {spec.network.availability_zones})")]


def deployment_seconds(endpoint: EndpointSpec) -> int:
    """How long a blue/green update of ``endpoint`` may take: every bake plus provisioning."""
    traffic = endpoint.traffic
    bakes = {"all-at-once": 1, "canary": 2, "linear": math.ceil(100 / traffic.canary_percent)}[traffic.strategy]
    return max(MIN_DEPLOYMENT_SECONDS, bakes * traffic.bake_minutes * 60 + PROVISIONING_SECONDS)


def _sagemaker_limits(where: tuple[str | int, ...], endpoint: EndpointSpec, buckets: list[str]) -> Problems:
    """What SageMaker refuses, caught before anything is declared."""
    problems: Problems = []
    traffic = endpoint.traffic
    if endpoint.instance is not None:
        _, sagemaker = instance_types()
        problem = unknown_name(endpoint_instance(endpoint.instance), sagemaker, "a SageMaker endpoint instance type")
        if problem:
            problems.append(((*where, "instance"), problem))
    if traffic.challenger is not None and traffic.shadow is not None:
        problems.append(((*where, "traffic", "shadow"), "SageMaker runs a shadow variant only beside a single "
                         "production variant: drop the challenger or the shadow (got both)"))
    if traffic.bake_minutes * 60 > MAX_WAIT_SECONDS:
        problems.append(((*where, "traffic", "bake_minutes"), f"SageMaker bakes each step at most 60 minutes "
                         f"(got {traffic.bake_minutes})"))
    elif deployment_seconds(endpoint) > MAX_DEPLOYMENT_SECONDS:
        problems.append(((*where, "traffic"), f"a {traffic.strategy} rollout in {traffic.canary_percent}% steps "
                         f"baking {traffic.bake_minutes} minutes each exceeds SageMaker's 8-hour deployment "
                         "limit: use larger steps or shorter bakes"))
    if endpoint.data_capture_percent > 0 and "artifacts" not in buckets:
        problems.append(((*where, "data_capture_percent"), "data capture writes to the 'artifacts' bucket, which "
                         f"storage.buckets does not declare (got {endpoint.data_capture_percent})"))
    return problems


def _endpoints(spec: PlatformSpec) -> Problems:
    if spec.serving is None:
        return []
    buckets = [b.name for b in spec.storage.buckets]
    return [problem
            for index, endpoint in enumerate(spec.serving.endpoints)
            for problem in _sagemaker_limits(("serving", "endpoints", index), endpoint, buckets)]


def _log_retention(spec: PlatformSpec) -> Problems:
    days = spec.monitoring.log_retention_days
    if days in LOG_RETENTION_DAYS:
        return []
    return [(("monitoring", "log_retention_days"), "CloudWatch Logs accepts only "
             f"{', '.join(map(str, LOG_RETENTION_DAYS))} (got {days})")]


def _network_id(spec: PlatformSpec) -> Problems:
    vpc = spec.network.existing_network_id
    if vpc is None or _VPC_ID.match(vpc):
        return []
    return [(("network", "existing_network_id"), "must be a VPC id: 'vpc-' and 8 or 17 lowercase hex digits, "
             f"such as vpc-0a1b2c3d4e5f67890 (got {_shown(vpc)})")]


def _uses_efa(spec: PlatformSpec) -> bool:
    if spec.training is None:
        return False
    return any(pool.interconnect == "auto" and efa_interfaces(pool_instance_type(pool.accelerator, pool.gpus_per_node) or "")
               for pool in spec.training.gpu_pools)


def _cluster_resource_tags(spec: PlatformSpec) -> int:
    return CLUSTER_RESOURCE_TAGS + (EFA_RESOURCE_TAGS if _uses_efa(spec) else 0)


def max_global_tags(spec: PlatformSpec) -> int:
    """How many global tags fit on every resource the spec declares, under AWS's 50-tag limit."""
    added = _cluster_resource_tags(spec) + EKS_ADDED_TAGS if spec.training is not None else OTHER_RESOURCE_TAGS
    return MAX_TAGS - IDENTITY_TAGS - added


def _tag_count(spec: PlatformSpec) -> Problems:
    allowed = max_global_tags(spec)
    if len(spec.tags) <= allowed:
        return []
    why = (f"GPU node groups carry {_cluster_resource_tags(spec)} more (autoscaler discovery and node-template tags) "
           f"and EKS adds {EKS_ADDED_TAGS} to their instances" if spec.training is not None
           else f"some resources carry {OTHER_RESOURCE_TAGS} more (Name, role, tier)")
    return [(("tags",), f"AWS allows {MAX_TAGS} tags per resource; mlfabric adds {IDENTITY_TAGS} identity tags "
             f"and {why}: at most {allowed} global tags (got {len(spec.tags)})")]


def _tag_value_problem(value: str) -> str | None:
    # IAM, SageMaker, ECR and most AWS APIs accept only letters, digits, spaces and _ . : / = + - @.
    bad = sorted({ch for ch in value if not (ch.isalnum() or ch in _TAG_VALUE_PUNCTUATION
                                             or unicodedata.category(ch) == "Zs")})
    if not bad:
        return None
    return (f"AWS tag values take only letters, digits, spaces and {' '.join(_TAG_VALUE_PUNCTUATION)} "
            f"(IAM and SageMaker refuse others; got {_shown(value)}, with {''.join(bad)!r})")


def _tag_key_cases(spec: PlatformSpec) -> Problems:
    # IAM compares tag keys ignoring case: two keys that differ only in case fail on every IAM role.
    seen: dict[str, str] = {key.lower(): key for key in _IAM_TAG_KEYS}
    problems: Problems = []
    for key in spec.tags:
        other = seen.get(key.lower())
        if other is not None and other != key:
            problems.append((("tags", key), f"IAM treats tag keys case-insensitively, so this collides with "
                             f"{other!r} on the platform's IAM roles (got {key!r})"))
        seen.setdefault(key.lower(), key)
    return problems


def _tag_values(spec: PlatformSpec) -> Problems:
    return [(("tags", key), problem) for key, value in spec.tags.items() if (problem := _tag_value_problem(value))]


def _all_at_once_steps(spec: PlatformSpec) -> Problems:
    # An all-at-once update shifts all traffic in one step: a step size would change nothing.
    if spec.serving is None:
        return []
    return [(("serving", "endpoints", index, "traffic", "canary_percent"), "an all-at-once update has no step to "
             "size, so canary_percent would change nothing: use strategy canary or linear, or omit "
             f"canary_percent (got {endpoint.traffic.canary_percent})")
            for index, endpoint in enumerate(spec.serving.endpoints)
            if endpoint.traffic.strategy == "all-at-once" and endpoint.traffic.canary_percent != _DEFAULT_STEP]


def _persona_names(spec: PlatformSpec) -> Problems:
    return [(("rbac", "custom_personas", name), f"on AWS a persona's IAM role would be named like the training "
             f"workload role ({spec.base_name}-{_WORKLOAD_ROLE_SUFFIX}); choose another name (got {name!r})")
            for name in spec.rbac.custom_personas if name == _WORKLOAD_ROLE_SUFFIX]


def _replication_region(spec: PlatformSpec) -> Problems:
    # S3 replication needs versioning on both buckets, and a destination in another region.
    target = spec.storage.replication_region
    if target is None:
        return []
    shown = _shown(target)
    where = ("storage", "replication_region")
    if target not in catalog.REGIONS["aws"]:
        near = difflib.get_close_matches(target, catalog.REGIONS["aws"], n=3)
        hint = f" (nearest: {', '.join(near)})" if near else ""
        return [(where, f"must be an AWS region mlfabric knows{hint} (got {shown})")]
    if target == spec.region:
        return [(where, f"must differ from the platform's region {spec.region}: a replica in the same region "
                 f"survives no regional outage (got {shown})")]
    if not spec.storage.versioning:
        return [(where, "S3 replicates only versioned buckets: set storage.versioning to true, or omit "
                 f"replication_region (got {shown} with versioning false)")]
    return []


def _shared_fs(spec: PlatformSpec) -> Problems:
    if spec.training is None or spec.training.shared_fs is None:
        return []
    shared, where = spec.training.shared_fs, ("training", "shared_fs")
    problems: Problems = []
    size = shared.capacity_gib
    if size not in FSX_SMALL_SIZES_GIB and size % FSX_INCREMENT_GIB:
        below = max(FSX_INCREMENT_GIB, size // FSX_INCREMENT_GIB * FSX_INCREMENT_GIB)
        problems.append(((*where, "capacity_gib"), "FSx for Lustre (PERSISTENT_2, SSD) takes 1200 GiB or a multiple "
                         f"of {FSX_INCREMENT_GIB} GiB, e.g. {below} or {below + FSX_INCREMENT_GIB} (got {size})"))
    if shared.import_datasets and "datasets" not in {b.name for b in spec.storage.buckets}:
        problems.append(((*where, "import_datasets"), "links the file system to the 'datasets' bucket, which "
                         "storage.buckets does not declare (got true)"))
    return problems


def _reservations(spec: PlatformSpec) -> Problems:
    if spec.training is None:
        return []
    problems: Problems = []
    for index, pool in enumerate(spec.training.gpu_pools):
        if pool.reservation is None:
            continue
        where = ("training", "gpu_pools", index, "reservation")
        if not (_RESERVATION_ID.match(pool.reservation) or _RESERVATION_GROUP.match(pool.reservation)):
            problems.append((where, "must be an EC2 capacity reservation id ('cr-' and 17 hex digits, such as "
                             "cr-0123456789abcdef0) or a capacity reservation resource group ARN "
                             f"(arn:aws:resource-groups:<region>:<account>:group/<name>) (got {_shown(pool.reservation)})"))
        elif pool.spot:
            problems.append((where, "a capacity reservation holds on-demand capacity: set spot to false on this "
                             f"pool, or drop the reservation (got {_shown(pool.reservation)} with spot true)"))
    return problems


def _team_members(spec: PlatformSpec) -> Problems:
    own = re.compile(rf"^arn:aws[a-z-]*:iam::\d{{12}}:role/(.*/)?{re.escape(spec.base_name)}-")
    problems: Problems = [
        ((*member.path, index), "is one of the platform's own IAM roles, which already have their EKS access "
         "entry (EKS allows one per principal): list the people or roles that assume it instead "
         f"(got {principal!r})")
        for member in team_members(spec.teams, spec.cloud)
        for index, principal in enumerate(member.principals)
        if own.match(principal)
    ]
    problems += [(("rbac", "custom_personas", name), f"on AWS a persona's IAM role ({spec.base_name}-{name}) would "
                  f"be named like a team's role ({spec.base_name}-team-<team>); choose another name (got {name!r})")
                 for name in spec.rbac.custom_personas if name.startswith("team-")]
    return problems


def notes(spec: PlatformSpec) -> list[str]:
    """What ``interconnect: auto`` gives each GPU pool whose instance type has no EFA."""
    if spec.training is None:
        return []
    found = []
    for index, pool in enumerate(spec.training.gpu_pools):
        machine = pool_instance_type(pool.accelerator, pool.gpus_per_node)
        if pool.interconnect == "auto" and machine is not None and not efa_interfaces(machine):
            found.append(f"training.gpu_pools[{index}].interconnect: {standard_networking_note(machine)}")
    return found


def problems(spec: PlatformSpec) -> Problems:
    """Every AWS-only rule the spec breaks, as (field path, message)."""
    return [
        *_network_id(spec),
        *_eks_zones(spec),
        *_system_machine(spec),
        *_endpoints(spec),
        *_log_retention(spec),
        *_tag_count(spec),
        *_tag_key_cases(spec),
        *_tag_values(spec),
        *_all_at_once_steps(spec),
        *principal_problems(spec, _PRINCIPAL, _PRINCIPAL_EXAMPLE),
        *_persona_names(spec),
        *_replication_region(spec),
        *_shared_fs(spec),
        *_reservations(spec),
        *_team_members(spec),
        *lifecycle_rules.problems(spec),
        *batch_problems(spec),
    ]
