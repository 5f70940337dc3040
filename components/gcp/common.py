"""What every GCP concern shares. Concern modules import these from here, never from a sibling
concern's module. Declares nothing by itself; its helpers create, under the calling component:

- ``gcp:projects/service:Service`` per API a concern uses (``enable_api``, ``enable_apis``), left
  enabled on destroy because other concerns and other stacks use the same APIs;
- ``gcp:projects/serviceIdentity:ServiceIdentity`` for the Google-managed service agents GCP creates
  lazily (``service_agent``), so nothing is granted to an agent that does not exist yet;
- a concern's own customer-managed key: ``gcp:kms/keyRing:KeyRing`` + ``gcp:kms/cryptoKey:CryptoKey``
  (``concern_key``), and ``gcp:kms/cryptoKeyIAMMember`` grants letting one agent use a key
  (``key_user``, ``agent_key_user``).

It also holds what concerns must agree on without importing each other: the project and its number,
the subnet's secondary range names (network creates them, the cluster uses them), service account
ids within GCP's 30 characters, the name prefix of the platform's Cloud Run services, and the plain
names other concerns grant IAM on at declaration time (``repositories_of``, ``models_of``,
``services_of``), read from the handles through small Protocols.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import naming
from mlfabric.components.concerns import ClusterOutputs, RegistryOutputs, ServingOutputs
from mlfabric.components.context import PlatformContext

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s

    from mlfabric.components.kubernetes.queueing import Queueing
    from mlfabric.components.kubernetes.teams import SharedVolume

# --- APIs and service agents -------------------------------------------------------------------------

COMPUTE_API: Final = "compute.googleapis.com"
KMS_API: Final = "cloudkms.googleapis.com"

# Google-managed service agents ("service-<project number>@<domain>"), the identities that use a
# customer-managed key on a service's behalf. Agents GCP creates when the API is enabled are named by
# formula; the others are created on first use, so they are created explicitly
# (``gcp.projects.ServiceIdentity``) before anything is granted to them.
SERVICE_AGENT_DOMAINS: Final[dict[str, str]] = {
    "container.googleapis.com": "container-engine-robot.iam.gserviceaccount.com",
    "compute.googleapis.com": "compute-system.iam.gserviceaccount.com",
    "run.googleapis.com": "serverless-robot-prod.iam.gserviceaccount.com",
    "artifactregistry.googleapis.com": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "aiplatform.googleapis.com": "gcp-sa-aiplatform.iam.gserviceaccount.com",
    "pubsub.googleapis.com": "gcp-sa-pubsub.iam.gserviceaccount.com",
    "monitoring.googleapis.com": "gcp-sa-monitoring-notification.iam.gserviceaccount.com",
    # Filestore's primary service agent (https://cloud.google.com/iam/docs/service-agents)
    "file.googleapis.com": "cloud-filer.iam.gserviceaccount.com",
    # Cloud SQL's service agent, which uses an instance's CMEK (https://cloud.google.com/iam/docs/service-agents)
    "sqladmin.googleapis.com": "gcp-sa-cloud-sql.iam.gserviceaccount.com",
}
GENERATED_AGENTS: Final = frozenset(
    {
        "artifactregistry.googleapis.com",
        "aiplatform.googleapis.com",
        "pubsub.googleapis.com",
        "monitoring.googleapis.com",
        "file.googleapis.com",
        "sqladmin.googleapis.com",
    }
)

# --- keys ---------------------------------------------------------------------------------------------

KEY_USER_ROLE: Final = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
_SECONDS_PER_DAY: Final = 86400


def days(count: int) -> str:
    """A duration of ``count`` days as GCP APIs write durations (``"86400s"``)."""
    return f"{count * _SECONDS_PER_DAY}s"


# A key's rotation without a spec (components built alone): the spec's dev/staging default.
KEY_ROTATION: Final = days(365)
# Key versions wait this long in DESTROY_SCHEDULED before they are gone (Cloud KMS default, explicit).
KEY_DESTROY_DELAY: Final = days(30)

# --- the platform subnet ------------------------------------------------------------------------------

# Secondary ranges of the platform subnet, named the same in every stack (GKE refers to them by name).
PODS_RANGE: Final = "pods"
SERVICES_RANGE: Final = "services"
# Pods per node GKE reserves addresses for: each node takes a /25 of the pods range (64 pods need
# 128 addresses), so a /17 pods range holds 256 nodes and the smallest (/21, from a /20) 16.
MAX_PODS_PER_NODE: Final = 64

_ACCOUNT_ID_MAX: Final = 30


def subnet_ranges(cidr: str) -> tuple[str, str, str]:
    """(nodes, pods, services) ranges carved from ``cidr`` without overlap.

    Pods take the first half (GKE gives each node a block of them), nodes the next quarter, services
    a sixteenth after that; the rest stays free. A /16 gives pods /17, nodes /18, services /20.
    """
    network = ipaddress.IPv4Network(cidr)
    first_half, second_half = network.subnets(prefixlen_diff=1)
    nodes, rest = second_half.subnets(prefixlen_diff=1)
    services = next(rest.subnets(prefixlen_diff=2))
    return str(nodes), str(first_half), str(services)


def node_range(cidr: str) -> str:
    """The nodes' range of the platform subnet carved from ``network.cidr``."""
    return subnet_ranges(cidr)[0]


# --- the project --------------------------------------------------------------------------------------


def project_id(ctx: PlatformContext, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The project every resource lives in: the spec's/stack's, else the provider's."""
    if ctx.account:
        return pulumi.Output.from_input(ctx.account)
    return gcp.organizations.get_project_output(opts=pulumi.InvokeOutputOptions(parent=parent)).project_id


def project_number(ctx: PlatformContext, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The project number service agents are named after."""
    project = gcp.organizations.get_project_output(
        project_id=ctx.account, opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return project.number


# --- APIs and service agents -------------------------------------------------------------------------


def api_slug(service: str) -> str:
    """``container`` for ``container.googleapis.com``: the suffix of logical names about a service."""
    return service.split(".", 1)[0]


def enable_api(logical: str, service: str, ctx: PlatformContext, parent: pulumi.Resource) -> gcp.projects.Service:
    """Enable one API, left enabled on destroy (other concerns and stacks use it too)."""
    return gcp.projects.Service(
        logical,
        service=service,
        project=ctx.account,
        disable_on_destroy=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def enable_apis(
    name: str, ctx: PlatformContext, parent: pulumi.Resource, *services: str
) -> dict[str, gcp.projects.Service]:
    """Enable each API as ``<name>-<api slug>-api``; keyed by the API's service name."""
    return {service: enable_api(f"{name}-{api_slug(service)}-api", service, ctx, parent) for service in services}


def service_agent(
    name: str, service: str, ctx: PlatformContext, parent: pulumi.Resource, api: pulumi.Resource | None
) -> pulumi.Output[str]:
    """The IAM member of a service's Google-managed agent, created first where GCP creates it lazily."""
    if service in GENERATED_AGENTS:
        identity = gcp.projects.ServiceIdentity(
            f"{name}-{api_slug(service)}-agent",
            service=service,
            project=ctx.account,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[api] if api is not None else None),
        )
        return identity.member
    domain = SERVICE_AGENT_DOMAINS[service]
    return project_number(ctx, parent).apply(lambda number: f"serviceAccount:service-{number}@{domain}")


# --- keys ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConcernKey:
    """A concern's own customer-managed key (and the ring that holds it)."""

    key_ring: gcp.kms.KeyRing
    key: gcp.kms.CryptoKey


def concern_key(
    name: str,
    purpose: str,
    ctx: PlatformContext,
    parent: pulumi.Resource,
    kms_api: pulumi.Resource,
    *,
    rotation_period: str | None = None,
    labels: Mapping[str, str] | None = None,
    location: str | None = None,
) -> ConcernKey:
    """A regional key ring and key ``<name>-<purpose>`` for one concern; stateful (protected in prod).

    Both hold a concern's only key: replacing either makes everything encrypted with it unreadable.
    ``rotation_period`` defaults to the spec's ``storage.key_rotation_days`` (90 days in prod): every
    concern's key rotates on the platform's one schedule.
    ``labels`` defaults to the platform's tags plus ``mlfabric-key: <purpose>``; ``location`` to the
    platform region (a replica's key lives in the replica's region).
    """
    key_ring = gcp.kms.KeyRing(
        f"{name}-{purpose}",
        location=location or ctx.region,
        project=ctx.account,
        opts=ctx.stateful(parent, depends_on=[kms_api]),
    )
    key = gcp.kms.CryptoKey(
        f"{name}-{purpose}",
        key_ring=key_ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=rotation_period or key_rotation(ctx),
        destroy_scheduled_duration=KEY_DESTROY_DELAY,
        labels=ctx.tags({"mlfabric-key": purpose}) if labels is None else labels,
        opts=ctx.stateful(parent),
    )
    return ConcernKey(key_ring, key)


def key_rotation(ctx: PlatformContext) -> str:
    """The platform's key rotation period: ``storage.key_rotation_days``, else yearly."""
    return days(ctx.spec.storage.key_rotation_days) if ctx.spec is not None else KEY_ROTATION


def key_user(
    logical: str, key_id: pulumi.Input[str], member: pulumi.Input[str], parent: pulumi.Resource
) -> gcp.kms.CryptoKeyIAMMember:
    """Let one identity encrypt and decrypt with one key (and nothing else)."""
    return gcp.kms.CryptoKeyIAMMember(
        logical,
        crypto_key_id=key_id,
        role=KEY_USER_ROLE,
        member=member,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def agent_key_user(
    name: str,
    purpose: str,
    service: str,
    key_id: pulumi.Input[str],
    ctx: PlatformContext,
    parent: pulumi.Resource,
    api: pulumi.Resource | None,
    *,
    slug: str | None = None,
) -> gcp.kms.CryptoKeyIAMMember:
    """Let ``service``'s Google-managed agent use a concern's key: ``<name>-<purpose>-<slug>-agent``.

    ``slug`` defaults to the API's (``run`` for ``run.googleapis.com``).
    """
    member = service_agent(name, service, ctx, parent, api)
    return key_user(f"{name}-{purpose}-{slug or api_slug(service)}-agent", key_id, member, parent)


# --- names --------------------------------------------------------------------------------------------


def account_id(base_name: str, suffix: str) -> str:
    """A service account id ``<base>-<suffix>`` within GCP's 30 characters, hashed when longer."""
    candidate = f"{base_name}-{suffix}"
    if len(candidate) <= _ACCOUNT_ID_MAX:
        return candidate
    digest = naming.short_hash(base_name, suffix)
    room = _ACCOUNT_ID_MAX - len(digest) - 2
    # Keep as much of the suffix as fits, and at least the base's first letter (an id starts with one).
    head = max(1, room - len(suffix))
    return f"{base_name[:head].rstrip('-')}-{digest}-{suffix[: room - head]}".rstrip("-")


def services_prefix(base_name: str) -> str:
    """Every Cloud Run service of the platform is named ``<platform>-<environment>-<endpoint>``."""
    return f"{base_name}-"


def tracking_service_name(base_name: str) -> str:
    """The Cloud Run service of the platform's MLflow tracking server (RBAC grants on it by name)."""
    return f"{services_prefix(base_name)}mlflow"


def dict_output(values: Mapping[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """One output of a dict of outputs; ``{}`` when there are none."""
    # Output.all() of nothing resolves to a list, not an empty dict.
    if not values:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(**values)


# --- what other concerns grant on, known at declaration -----------------------------------------------


@runtime_checkable
class DeclaredRegistry(Protocol):
    """A registry whose repository and model ids are plain strings before anything deploys (GcpRegistry)."""

    @property
    def repository_ids(self) -> Mapping[str, str]: ...  # spec repository -> Artifact Registry repository id

    @property
    def model_ids(self) -> Mapping[str, str]: ...  # spec model -> Vertex AI model id


@runtime_checkable
class DeclaredServing(Protocol):
    """Serving whose Cloud Run service names are plain strings before anything deploys (GcpServing)."""

    @property
    def service_names(self) -> Mapping[str, str]: ...  # spec endpoint -> Cloud Run service name


def _declared_registry(registry: RegistryOutputs) -> DeclaredRegistry:
    if not isinstance(registry, DeclaredRegistry):
        raise TypeError("a GCP concern needs the registry's repository_ids and model_ids (a GcpRegistry handle)")
    return registry


def repositories_of(registry: RegistryOutputs | None) -> dict[str, str]:
    """Spec repository name -> Artifact Registry repository id, known before anything is deployed.

    Per-repository IAM needs the repositories when resources are declared, not when outputs resolve,
    so it reads ``GcpRegistry.repository_ids`` (plain strings), not ``registry_urls``.
    """
    return {} if registry is None else dict(_declared_registry(registry).repository_ids)


def models_of(registry: RegistryOutputs | None) -> dict[str, str]:
    """Spec model name -> Vertex AI model id, known before anything is deployed (``{}`` without a registry)."""
    return {} if registry is None else dict(_declared_registry(registry).model_ids)


def services_of(serving: ServingOutputs | None) -> dict[str, str]:
    """Spec endpoint name -> Cloud Run service name, known before anything is deployed.

    Per-service IAM needs the services when resources are declared, so it reads
    ``GcpServing.service_names`` (plain strings), not ``endpoint_names``.
    """
    if serving is None:
        return {}
    if not isinstance(serving, DeclaredServing):
        raise TypeError("a GCP concern needs the serving concern's service_names (a GcpServing handle)")
    return dict(serving.service_names)


@runtime_checkable
class DeclaredCluster(Protocol):
    """A training cluster whose Kubernetes provider, queueing and shared volume the teams concern
    builds on (GcpTrainingCluster)."""

    @property
    def kubernetes(self) -> k8s.Provider: ...  # the provider every in-cluster object goes through

    @property
    def queueing(self) -> Queueing: ...  # Kueue, JobSet and the pools' flavors

    @property
    def shared_volume(self) -> SharedVolume | None: ...  # the shared file system's CSI volume


def cluster_of(cluster: ClusterOutputs | None) -> DeclaredCluster:
    """The cluster handle with what the teams concern needs (a GcpTrainingCluster)."""
    if cluster is None or not isinstance(cluster, DeclaredCluster):
        raise TypeError("the GCP teams concern needs the training cluster's kubernetes provider, queueing "
                        "and shared volume (a GcpTrainingCluster handle)")
    return cluster
