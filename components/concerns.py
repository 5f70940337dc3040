"""The output contract of every concern, declared once.

Each concern (network, storage, registry, cluster, teams, monitoring, serving, rbac) is a base class here:
its annotations are the outputs every cloud's component exposes, with the same names on every
cloud; its class variables say which spec section it builds from, which other concerns it reads
from the context (``needs``: built first when the spec asks for them) and under which names its
outputs become stack outputs. A cloud's component subclasses the contract, assigns the outputs and
ends with ``self.register_contract()``, which registers exactly the contract's outputs, so the
names are written once. ``MLPlatform`` builds the components in the order their ``needs`` give.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import pulumi

from mlfabric.components.spec import (
    BatchSpec,
    MonitoringSpec,
    NetworkSpec,
    NotebooksSpec,
    PlatformSpec,
    RbacSpec,
    RegistrySpec,
    ServingSpec,
    StorageSpec,
    TeamSpec,
    TrackingSpec,
    TrainingSpec,
    image_repository,
)

if TYPE_CHECKING:
    from mlfabric.components.context import PlatformContext

SpecT = TypeVar("SpecT")


class ConcernComponent(pulumi.ComponentResource, Generic[SpecT]):
    """A concern's component on one cloud. Subclass a contract below, not this class.

    The constructor keeps what every component's methods read: ``self._name`` (the platform's
    logical name, the prefix of every child's name), ``self._spec`` (the concern's spec section),
    ``self._ctx`` (the platform context) and ``self._child`` (options that parent a child here).
    """

    # the component's Pulumi type token, ``mlfabric:<concern>:<Cloud><Thing>``: part of every URN
    type_token: ClassVar[str]
    # the concern's name: the context attribute that holds it once built
    concern: ClassVar[str]
    # the spec section the component is built from (handed to its constructor)
    section: ClassVar[str]
    # concerns this one reads from the context; each is built first where the spec asks for it
    needs: ClassVar[tuple[str, ...]] = ()
    # stack-output names that differ from the contract's attribute names
    exported_as: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self, name: str, spec: SpecT, ctx: PlatformContext, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Every concern is built as (name, its spec section, the platform context, options).
        super().__init__(self.type_token, name, None, opts)
        self._name = name
        self._spec = spec
        self._ctx = ctx
        self._child = pulumi.ResourceOptions(parent=self)

    @classmethod
    def contract(cls) -> type[ConcernComponent[Any]]:
        """The contract class (the direct subclass of ``ConcernComponent``) this component fulfils."""
        for klass in cls.__mro__:
            if ConcernComponent in klass.__bases__:
                return klass
        raise TypeError(f"{cls.__name__} fulfils no concern contract")

    @classmethod
    def output_names(cls) -> tuple[str, ...]:
        """The contract's outputs, in declaration order."""
        annotations = cls.contract().__annotations__
        return tuple(name for name, kind in annotations.items() if "ClassVar" not in str(kind))

    @classmethod
    def wanted(cls, spec: PlatformSpec) -> bool:
        """Whether the spec asks for this concern (its section is present)."""
        return getattr(spec, cls.section) is not None

    def register_contract(self, **extra: Any) -> None:
        """Register the contract's outputs (and any cloud-only extras); the last call of a constructor."""
        self.register_outputs({name: getattr(self, name) for name in self.output_names()} | extra)

    def stack_outputs(self) -> dict[str, Any]:
        """The contract's outputs under their stack-output names."""
        return {self.exported_as.get(name, name): getattr(self, name) for name in self.output_names()}


class NetworkOutputs(ConcernComponent[NetworkSpec]):
    """What the cluster, serving and private endpoints read from the network."""

    concern = "network"
    section = "network"

    @classmethod
    def wanted(cls, spec: PlatformSpec) -> bool:
        """Built whenever compute (a training cluster or serving) needs somewhere to run."""
        return spec.training is not None or spec.serving is not None

    # VPC id (AWS), VPC network id (GCP), VNet id (Azure)
    network_id: pulumi.Output[str]
    # subnets workloads run in (one per zone on AWS; the one regional subnet on GCP; AKS subnet on Azure)
    private_subnet_ids: pulumi.Output[list[str]]
    # subnets for internet-facing load balancers and NAT ([] where the cloud has no such subnet)
    public_subnet_ids: pulumi.Output[list[str]]


class StorageOutputs(ConcernComponent[StorageSpec]):
    """What other concerns and the stack outputs read from storage, on every cloud."""

    concern = "storage"
    section = "storage"
    exported_as: ClassVar[Mapping[str, str]] = {"encryption_key_id": "storage_key_id"}

    # spec bucket name -> physical name (S3/GCS bucket name, Azure container name)
    bucket_names: pulumi.Output[dict[str, str]]
    # spec bucket name -> URL (s3://..., gs://..., https://<account>.blob.core.windows.net/<c>)
    bucket_urls: pulumi.Output[dict[str, str]]
    # spec bucket name -> id IAM policies scope to (S3 ARN, GCS bucket name, container resource id)
    bucket_ids: pulumi.Output[dict[str, str]]
    # customer-managed key that encrypts the buckets (KMS ARN, Cloud KMS id, Key Vault key id)
    encryption_key_id: pulumi.Output[str]
    # where access logs go ("" when access logging is off)
    access_log_bucket: pulumi.Output[str]


class RegistryOutputs(ConcernComponent[RegistrySpec]):
    """What serving and CI read from the registries."""

    concern = "registry"
    section = "registry"

    # spec repository name -> image URL prefix (push/pull address)
    registry_urls: pulumi.Output[dict[str, str]]
    # spec model name -> model registry id (model package group ARN, Vertex/Azure ML registry id)
    model_registry_ids: pulumi.Output[dict[str, str]]


class ImageRegistry(Protocol):
    """What resolving an image needs of the registry concern (its component, or a test's stand-in)."""

    registry_urls: pulumi.Output[dict[str, str]]


def image_url(image: str, registry: ImageRegistry | None) -> pulumi.Output[str]:
    """An image as the spec gives it, as a pull address: a platform repository's name and tag or digest
    (``scorer:1.4.2``) resolved against the registry's URLs; a full image URL as it is. The spec
    refuses an image naming a repository the registry does not declare."""
    repository = image_repository(image)
    if repository is None:
        return pulumi.Output.from_input(image)
    if registry is None:
        raise ValueError(f"image {image!r} names a platform repository but there is no registry")
    suffix = image[len(repository):]
    return registry.registry_urls.apply(lambda urls: urls[repository] + suffix)


class ClusterOutputs(ConcernComponent[TrainingSpec]):
    """What serving, RBAC and the stack outputs read from the cluster."""

    concern = "cluster"
    section = "training"


    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    # a kubeconfig for the cluster; always a secret
    kubeconfig: pulumi.Output[str]
    # OIDC issuer URL used for workload identity (IRSA, GKE Workload Identity, AKS workload identity)
    oidc_issuer_url: pulumi.Output[str]
    # spec GPU pool name -> node group / node pool name
    gpu_pool_names: pulumi.Output[dict[str, str]]
    # the shared file system (training.shared_fs): {"id", "driver", "volume_handle", "capacity_gib",
    # and the CSI volume attributes}; empty without one
    shared_fs: pulumi.Output[dict[str, Any]]


class TeamsOutputs(ConcernComponent[list[TeamSpec]]):
    """What a team's members and jobs read: where to submit, and as whom jobs run."""

    concern = "teams"
    section = "teams"
    needs: ClassVar[tuple[str, ...]] = ("cluster", "storage", "registry")

    # team name -> {"namespace", "queue" (the LocalQueue jobs name), "service_account", "identity"
    # (IAM role ARN, Google service-account email, managed identity client id), "storage_prefix"}
    teams: pulumi.Output[dict[str, dict[str, str]]]

    @classmethod
    def wanted(cls, spec: PlatformSpec) -> bool:
        """Built when the spec declares teams (they need the training cluster, which the spec checks)."""
        return bool(spec.teams) and spec.training is not None


class TrackingOutputs(ConcernComponent[TrackingSpec]):
    """Where experiments are tracked (an MLflow tracking URI: set MLFLOW_TRACKING_URI to it)."""

    concern = "tracking"
    section = "tracking"

    tracking_uri: pulumi.Output[str]


class NotebooksOutputs(ConcernComponent[NotebooksSpec]):
    """The notebook environments: environment name (a team, or "platform") -> its URL or id."""

    concern = "notebooks"
    section = "notebooks"

    notebooks: pulumi.Output[dict[str, str]]


class BatchOutputs(ConcernComponent[BatchSpec]):
    """Where each batch job is submitted and where its results go."""

    concern = "batch"
    section = "batch"

    # job name -> {"submit": an invocation URL or the command that runs it, "output": where results go}
    batch_jobs: pulumi.Output[dict[str, dict[str, str]]]


class MonitoringOutputs(ConcernComponent[MonitoringSpec]):
    """What serving (alarm actions) and the stack outputs read from monitoring."""

    concern = "monitoring"
    section = "monitoring"

    # where alarms are routed: SNS topic ARN (AWS), notification channel id (GCP), action group id (Azure)
    alert_topic: pulumi.Output[str]
    # platform dashboard (console URL)
    dashboard_url: pulumi.Output[str]


class ServingOutputs(ConcernComponent[ServingSpec]):
    """What CI smoke tests and monitoring read from serving."""

    concern = "serving"
    section = "serving"

    # spec endpoint name -> cloud endpoint name
    endpoint_names: pulumi.Output[dict[str, str]]
    # spec endpoint name -> HTTPS invocation URL
    endpoint_urls: pulumi.Output[dict[str, str]]


class RbacOutputs(ConcernComponent[RbacSpec]):
    """What users and training jobs read from RBAC."""

    concern = "rbac"
    section = "rbac"

    # persona -> role the persona's principals assume (IAM role ARN, custom role / group id, ...)
    persona_roles: pulumi.Output[dict[str, str]]
    # identity training pods run as (IAM role ARN, Google service account email, managed identity client id)
    workload_identity: pulumi.Output[str]
