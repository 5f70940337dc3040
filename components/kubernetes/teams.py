"""What a team gets inside the training cluster, the same on every cloud.

Creates (children of the calling teams component, through its Kubernetes provider), per team:

- the namespace ``team-<name>`` (labelled ``mlfabric.dev/team``, so Kueue manages every job in it;
  pod security ``baseline`` enforced, ``restricted`` warned: NCCL and EFA workloads need more than
  ``restricted`` allows, nothing needs privilege);
- the ServiceAccount ``<name>`` jobs run as, annotated with the cloud's workload identity (the
  cloud home passes the annotations and labels);
- a ``ResourceQuota`` capping the GPUs the namespace's pods may request at the team's quota plus
  what it may borrow (a backstop for pods Kueue does not manage);
- a ``ClusterQueue`` ``<name>`` in the platform's cohort, with the team's nominal GPU quota per pool
  (and the CPU and memory that come with those GPUs on the pool's nodes), its borrowing limit, and
  preemption that reclaims lent GPUs when the owner needs them; and a ``LocalQueue`` ``<name>`` in
  the namespace, the queue jobs name (``kueue.x-k8s.io/queue-name: <name>``);
- ``RoleBinding``s of the built-in ``view``/``edit``/``admin`` ClusterRoles for members, where the
  cloud authorises Kubernetes users by name (the cloud home says whether it does);
- with a shared file system, a PersistentVolume and a ``shared-data`` claim bound to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import pulumi
import pulumi_kubernetes as k8s

from mlfabric.components import catalog
from mlfabric.components.kubernetes.device_plugin import MANAGED_BY
from mlfabric.components.kubernetes.gpu_pool import GPU_RESOURCE
from mlfabric.components.kubernetes.queueing import TEAM_LABEL, admission_check_name, flavor_name, kueue_api
from mlfabric.components.spec import PlatformSpec, TeamSpec
from mlfabric.components.spec.rbac import Template

NamespaceRole = Literal["view", "edit", "admin"]
# A persona's access level inside its team's namespace (Kubernetes' built-in ClusterRoles).
NAMESPACE_ROLES: Final[dict[Template, NamespaceRole]] = {
    "reader": "view",
    "data-scientist": "edit",
    "ml-engineer": "edit",
    "ci-deployer": "edit",
    "platform-admin": "admin",
}
SHARED_CLAIM: Final = "shared-data"
COVERED_RESOURCES: Final = ("cpu", "memory", GPU_RESOURCE)


def namespace_role(spec: PlatformSpec, persona: str) -> NamespaceRole:
    """The ClusterRole a persona's principals get in a team namespace."""
    template: Template = "reader" if persona == "reader" else spec.rbac.template(persona)
    return NAMESPACE_ROLES[template]


def cohort(spec: PlatformSpec) -> str:
    """The cohort every team's ClusterQueue joins (GPUs idle in one are lent to the others)."""
    return spec.base_name


@dataclass(frozen=True)
class PoolQuota:
    """A team's share of one pool, with the CPU and memory that come with those GPUs."""

    pool: str
    gpus: int
    borrow_gpus: int | None
    cpus_per_gpu: int
    memory_gib_per_gpu: int

    def resources(self) -> list[dict[str, object]]:
        def row(name: str, per_gpu: int, unit: str) -> dict[str, object]:
            quantity = self.gpus * per_gpu
            entry: dict[str, object] = {"name": name, "nominalQuota": f"{quantity}{unit}" if unit else quantity}
            if self.borrow_gpus is not None:
                lend = self.borrow_gpus * per_gpu
                entry["borrowingLimit"] = f"{lend}{unit}" if unit else lend
            return entry

        return [row("cpu", self.cpus_per_gpu, ""), row("memory", self.memory_gib_per_gpu, "Gi"),
                row(GPU_RESOURCE, 1, "")]


def pool_quotas(spec: PlatformSpec, team: TeamSpec) -> list[PoolQuota]:
    """The team's quotas with each pool's node shape (pools the spec declares, in spec order)."""
    if spec.training is None:
        return []
    pools = {pool.name: pool for pool in spec.training.gpu_pools}
    quotas = []
    for quota in team.gpu_quota:
        pool = pools[quota.pool]
        shape = catalog.gpu_shape(spec.cloud, pool.accelerator, pool.gpus_per_node)
        quotas.append(PoolQuota(quota.pool, quota.gpus, quota.borrow_gpus, shape.vcpus // shape.gpus,
                                shape.memory_gib // shape.gpus))
    return quotas


def gpu_ceiling(spec: PlatformSpec, team: TeamSpec) -> int:
    """The most GPUs the team's pods may hold at once: quota plus borrowing, or every GPU of its pools."""
    if spec.training is None:
        return 0
    total = 0
    for quota in pool_quotas(spec, team):
        pool = next(p for p in spec.training.gpu_pools if p.name == quota.pool)
        capacity = pool.max_nodes * catalog.gpu_shape(spec.cloud, pool.accelerator, pool.gpus_per_node).gpus
        total += capacity if quota.borrow_gpus is None else min(capacity, quota.gpus + quota.borrow_gpus)
    return total


def cluster_queue_spec(spec: PlatformSpec, team: TeamSpec) -> dict[str, object]:
    """The team's ClusterQueue: its quota per pool flavor in the platform's cohort."""
    quotas = pool_quotas(spec, team)
    flavors = [{"name": flavor_name(q.pool), "resources": q.resources()} for q in quotas]
    queued = {pool.name for pool in spec.training.gpu_pools if pool.queued_provisioning} if spec.training else set()
    checks = [{"name": admission_check_name(q.pool), "onFlavors": [flavor_name(q.pool)]}
              for q in quotas if q.pool in queued]
    queue: dict[str, object] = {
        "cohortName": cohort(spec),
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team.namespace}},
        "queueingStrategy": "BestEffortFIFO",
        # Lent GPUs come back when their owner's jobs wait; a team's own jobs never preempt each other
        # except for a higher priority class.
        "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
        "resourceGroups": [{"coveredResources": list(COVERED_RESOURCES), "flavors": flavors}] if flavors else [],
    }
    if checks:
        queue["admissionChecksStrategy"] = {"admissionChecks": checks}
    return queue


@dataclass(frozen=True)
class Subject:
    """A Kubernetes RBAC subject (a user or group the cloud's authenticator names)."""

    kind: Literal["User", "Group"]
    name: str


@dataclass(frozen=True)
class TeamIdentity:
    """What the cloud home tells the shared code about a team's workload identity."""

    # the identity jobs run as: an IAM role ARN, a Google service-account email, a client id
    identity: pulumi.Input[str]
    annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SharedVolume:
    """How the cluster's CSI driver mounts the shared file system (a static PersistentVolume)."""

    driver: str
    volume_handle: pulumi.Input[str]
    capacity_gib: int
    attributes: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    mount_options: Sequence[str] = ()


@dataclass(frozen=True)
class TeamObjects:
    """A team's objects in the cluster (its outputs are read from these)."""

    namespace: k8s.core.v1.Namespace
    service_account: k8s.core.v1.ServiceAccount
    local_queue: k8s.apiextensions.CustomResource
    cluster_queue: k8s.apiextensions.CustomResource


def _metadata(name: str, namespace: str | None, team: TeamSpec,
              labels: Mapping[str, str] | None = None,
              annotations: Mapping[str, pulumi.Input[str]] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name=name, namespace=namespace, labels={**MANAGED_BY, TEAM_LABEL: team.name, **(labels or {})},
        annotations=dict(annotations) if annotations else None,
    )


def team_objects(
    name: str,
    spec: PlatformSpec,
    team: TeamSpec,
    identity: TeamIdentity,
    members: Mapping[NamespaceRole, Sequence[Subject]],
    opts: pulumi.ResourceOptions,
    shared: SharedVolume | None = None,
) -> TeamObjects:
    """The team's namespace, identity, quota, queues, member bindings and shared-data claim."""
    prefix = f"{name}-{team.name}"
    namespace = k8s.core.v1.Namespace(
        prefix,
        metadata=_metadata(team.namespace, None, team, labels={
            "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted",
        }),
        opts=opts,
    )
    inside = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace]))
    account = k8s.core.v1.ServiceAccount(
        prefix,
        metadata=_metadata(team.name, team.namespace, team, labels=identity.labels, annotations=identity.annotations),
        opts=inside,
    )
    k8s.core.v1.ResourceQuota(
        f"{prefix}-gpus",
        metadata=_metadata("gpus", team.namespace, team),
        spec=k8s.core.v1.ResourceQuotaSpecArgs(hard={f"requests.{GPU_RESOURCE}": str(gpu_ceiling(spec, team))}),
        opts=inside,
    )
    cluster_queue = k8s.apiextensions.CustomResource(
        f"{prefix}-queue",
        api_version=kueue_api(),
        kind="ClusterQueue",
        metadata=_metadata(team.name, None, team),
        spec=cluster_queue_spec(spec, team),
        opts=opts,
    )
    local_queue = k8s.apiextensions.CustomResource(
        f"{prefix}-local-queue",
        api_version=kueue_api(),
        kind="LocalQueue",
        metadata=_metadata(team.name, team.namespace, team),
        spec={"clusterQueue": team.name},
        opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[namespace, cluster_queue])),
    )
    for role, subjects in members.items():
        if not subjects:
            continue
        k8s.rbac.v1.RoleBinding(
            f"{prefix}-{role}",
            metadata=_metadata(f"mlfabric-{role}", team.namespace, team),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role),
            subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind=s.kind, name=s.name)
                      for s in subjects],
            opts=inside,
        )
    if shared is not None:
        shared_claim(prefix, team, shared, inside)
    return TeamObjects(namespace, account, local_queue, cluster_queue)


def shared_claim(prefix: str, team: TeamSpec, shared: SharedVolume, opts: pulumi.ResourceOptions) -> None:
    """A static PersistentVolume of the shared file system, bound to the team's ``shared-data`` claim."""
    volume_name = f"{team.namespace}-{SHARED_CLAIM}"
    storage = f"{shared.capacity_gib}Gi"
    k8s.core.v1.PersistentVolume(
        f"{prefix}-shared",
        metadata=_metadata(volume_name, None, team),
        spec=k8s.core.v1.PersistentVolumeSpecArgs(
            capacity={"storage": storage},
            access_modes=["ReadWriteMany"],
            persistent_volume_reclaim_policy="Retain",  # deleting a claim never deletes shared data
            storage_class_name="",
            mount_options=list(shared.mount_options) or None,
            claim_ref=k8s.core.v1.ObjectReferenceArgs(namespace=team.namespace, name=SHARED_CLAIM),
            csi=k8s.core.v1.CSIPersistentVolumeSourceArgs(
                driver=shared.driver, volume_handle=shared.volume_handle,
                volume_attributes=dict(shared.attributes) or None,
            ),
        ),
        opts=opts,
    )
    k8s.core.v1.PersistentVolumeClaim(
        f"{prefix}-shared",
        metadata=_metadata(SHARED_CLAIM, team.namespace, team),
        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
            access_modes=["ReadWriteMany"], storage_class_name="", volume_name=volume_name,
            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": storage}),
        ),
        opts=opts,
    )
