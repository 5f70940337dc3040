"""The one typed config: pydantic v2 models of an mlfabric platform spec.

A spec lives in a Pulumi stack file under the config key ``mlfabric:platform``. It is parsed once,
at the edge (``mlfabric.components.program``), and every component receives the typed section it needs.

Environment-dependent defaults (prod protects and versions, dev scales to zero and uses spot) are
declared next to each field with :func:`env_default` and filled in before validation, so the
JSON Schema shows them (``x-environment-defaults``) and a model's value never depends on code
elsewhere. Errors come out as one line per problem: ``path.to.field: what is wrong (got X)``.

The rules here hold on every cloud. What only one cloud refuses (EKS's two zones, SageMaker's
limits, CloudWatch's retention periods, GCP label values, Log Analytics' retention, the shape of a
principal) lives in that cloud's home, ``components/<cloud>/spec_rules.py``, and is checked through
its kit after the cloud-neutral rules, so a spec's problems list those last.
"""

from __future__ import annotations

import ipaddress
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo

from mlfabric.components import catalog
from mlfabric.components.catalog import Cloud

SPEC_CONFIG_KEY: Final = "mlfabric:platform"
SCHEMA_ID: Final = "https://mlfabric.dev/schema/platform-v1.json"
ENV_DEFAULTS_KEY: Final = "x-environment-defaults"

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: Final[tuple[Environment, ...]] = ("dev", "staging", "prod")
Persona = Literal["data-scientist", "ml-engineer", "platform-admin", "ci-deployer"]

# Identity tags mlfabric sets on every resource; users may not override them (policies and cost
# reports group by them).
RESERVED_TAG_KEYS: Final = frozenset({"mlfabric-platform", "mlfabric-environment", "managed-by"})

# The bucket name storage components use for access logs; a user bucket may not take it.
ACCESS_LOG_BUCKET: Final = "access-logs"


# (path of the field, relative to the model validated; what is wrong with it)
Problems = list[tuple[tuple[str | int, ...], str]]


class SpecProblem(ValueError):
    """A validator's finding that names the field it is about (relative to the model validated)."""

    def __init__(self, problems: Iterable[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


class SpecError(Exception):
    """A spec that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def env_default(*, dev: Any, staging: Any, prod: Any, description: str, **kwargs: Any) -> Any:
    """A field whose default depends on ``environment``.

    The static default is the prod value (the safe one, should a section ever be built on its
    own); the root model fills in the environment's value before validation.
    """
    by_env = {"dev": dev, "staging": staging, "prod": prod}
    return Field(
        default=prod,
        description=f"{description} Default by environment: dev {dev!r}, staging {staging!r}, "
        f"prod {prod!r}.",
        json_schema_extra={ENV_DEFAULTS_KEY: by_env},
        **kwargs,
    )


# --- constrained scalar types ----------------------------------------------------------------

_PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
_ITEM_NAME = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_TAG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_K8S_VERSION = re.compile(r"^1\.\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _platform_name(value: str) -> str:
    if not _PLATFORM_NAME.match(value) or "--" in value:
        raise ValueError(
            "must be 3-20 lowercase letters, digits or single hyphens, starting with a letter"
        )
    return value


def _item_name(value: str) -> str:
    if not _ITEM_NAME.match(value) or "--" in value:
        raise ValueError(
            # 3 is the floor of Azure blob container names, the strictest cloud.
            "must be 3-24 lowercase letters, digits or single hyphens, starting with a letter"
        )
    return value


def _pool_name(value: str) -> str:
    # AKS node pool names are the strictest of the three clouds: 1-12 lowercase alphanumerics.
    if not _POOL_NAME.match(value):
        raise ValueError("must be 1-12 lowercase letters or digits, starting with a letter")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("not a valid IPv4 CIDR block such as 10.0.0.0/16") from None
    if network.version != 4:
        raise ValueError("must be an IPv4 CIDR block")
    return str(network)


def _tag_value(value: str) -> str:
    if len(value) > 256:
        raise ValueError("tag values are at most 256 characters")
    return value


def _k8s_version(value: str) -> str:
    if not _K8S_VERSION.match(value):
        raise ValueError("must be a Kubernetes minor version such as '1.31'")
    return value


def _notify_target(value: str) -> str:
    if not (_EMAIL.match(value) or value.startswith("https://")):
        raise ValueError("must be an e-mail address or an https:// webhook URL")
    return value


PlatformName = Annotated[str, AfterValidator(_platform_name)]
ItemName = Annotated[str, AfterValidator(_item_name)]
PoolName = Annotated[str, AfterValidator(_pool_name)]
Cidr = Annotated[str, AfterValidator(_cidr)]
TagValue = Annotated[str, AfterValidator(_tag_value)]
KubernetesVersion = Annotated[str, AfterValidator(_k8s_version)]
NotifyTarget = Annotated[str, AfterValidator(_notify_target)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _unique(values: Iterable[str], path: str) -> list[tuple[tuple[str | int, ...], str]]:
    seen: set[str] = set()
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, value in enumerate(values):
        if value in seen:
            problems.append(((path, index), f"duplicate name (got {value!r})"))
        seen.add(value)
    return problems


def _raise_if(problems: list[tuple[tuple[str | int, ...], str]]) -> None:
    if problems:
        raise SpecProblem(problems)


# --- cloud-only knobs ------------------------------------------------------------------------


class AwsOptions(_Model):
    """Settings that exist only on AWS."""

    account_id: str | None = Field(
        None,
        pattern=r"^\d{12}$",
        description="When set, the AWS provider refuses to deploy into any other account "
        "(allowed_account_ids). Omitted: whatever account the credentials belong to.",
    )


class GcpOptions(_Model):
    """Settings that exist only on GCP."""

    project: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description="Project that holds the platform. Omitted: the stack's `gcp:project` config.",
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field(
        "REGULAR", description="GKE release channel. Omitted: REGULAR."
    )


class AzureOptions(_Model):
    """Settings that exist only on Azure."""

    subscription_id: str | None = Field(
        None,
        pattern=r"^[0-9a-fA-F-]{36}$",
        description="Subscription that holds the platform. Omitted: the logged-in subscription.",
    )


# --- network -----------------------------------------------------------------------------------


class NetworkSpec(_Model):
    """The platform's private network."""

    cidr: Cidr = Field("10.0.0.0/16", description="Address space of the VPC/VNet. Omitted: 10.0.0.0/16.")
    availability_zones: int = env_default(
        dev=2, staging=2, prod=3, ge=1, le=6,
        description="Zones the subnets and node groups span.",
    )
    nat_gateways: Literal["single", "per-zone"] = env_default(
        dev="single", staging="single", prod="per-zone",
        description="One NAT gateway for the platform, or one per zone (no zonal single point "
        "of failure).",
    )
    flow_logs: bool = env_default(
        dev=False, staging=False, prod=True, description="Record VPC/VNet flow logs."
    )
    private_endpoints: bool = env_default(
        dev=False, staging=True, prod=True,
        description="Reach storage, registries and ML services through private endpoints.",
    )
    existing_network_id: str | None = Field(
        None,
        min_length=3,
        description="Reuse this VPC/VNet (id) instead of creating one. Omitted: a new network.",
    )

    @model_validator(mode="after")
    def _cidr_fits_zones(self) -> NetworkSpec:
        prefix = ipaddress.ip_network(self.cidr).prefixlen
        if prefix > 20:
            raise SpecProblem(
                [(("cidr",), f"must be /20 or larger to hold public and private subnets per zone (got {self.cidr!r})")]
            )
        return self


# --- storage -----------------------------------------------------------------------------------


class BucketSpec(_Model):
    """One object-storage bucket (S3 bucket, GCS bucket, Azure blob container)."""

    name: ItemName = Field(description="Logical bucket name; the physical name adds platform and environment.")
    retention_days: int | None = Field(
        None, ge=1, le=36500,
        description="Delete objects this many days after creation. Omitted: kept until deleted.",
    )
    archive_after_days: int | None = Field(
        None, ge=30, le=36500,
        description="Move objects to the cloud's infrequent-access class after this many days "
        "(at least 30, S3's minimum). Omitted: objects stay in the standard class.",
    )

    @model_validator(mode="after")
    def _archive_before_retention(self) -> BucketSpec:
        if (
            self.archive_after_days is not None
            and self.retention_days is not None
            and self.archive_after_days >= self.retention_days
        ):
            raise SpecProblem(
                [(("archive_after_days",), f"must be less than retention_days ({self.retention_days}) "
                  f"(got {self.archive_after_days})")]
            )
        return self


def _default_buckets() -> list[BucketSpec]:
    return [BucketSpec(name="datasets"), BucketSpec(name="artifacts"), BucketSpec(name="models")]


class StorageSpec(_Model):
    """Object storage for datasets, artifacts and models: encrypted, private, TLS only."""

    buckets: list[BucketSpec] = Field(
        default_factory=_default_buckets,
        min_length=1,
        description="Buckets to create (at least one). Omitted: datasets, artifacts and models.",
    )
    versioning: bool = env_default(
        dev=False, staging=True, prod=True, description="Keep previous object versions."
    )
    noncurrent_version_retention_days: int = env_default(
        dev=7, staging=30, prod=90, ge=1, le=3650,
        description="Delete previous object versions this many days after they are replaced.",
    )
    access_logging: bool = env_default(
        dev=False, staging=False, prod=True,
        description="Record every access to the buckets in a dedicated log bucket.",
    )
    force_destroy: bool = env_default(
        dev=True, staging=False, prod=False,
        description="Let `pulumi destroy` delete non-empty buckets. Only allowed in dev.",
    )
    key_rotation_days: int = Field(
        365, ge=90, le=2560,
        description="Rotate the customer-managed encryption key this often. Omitted: yearly.",
    )

    @model_validator(mode="after")
    def _names_unique(self) -> StorageSpec:
        problems = _unique((b.name for b in self.buckets), "buckets")
        problems += [
            (("buckets", index, "name"), f"reserved for the access-log bucket (got {bucket.name!r})")
            for index, bucket in enumerate(self.buckets)
            if bucket.name == ACCESS_LOG_BUCKET
        ]
        _raise_if(problems)
        return self


# --- training ----------------------------------------------------------------------------------


class SystemPoolSpec(_Model):
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


class ClusterSpec(_Model):
    """The Kubernetes cluster GPU pools join (EKS, GKE, AKS)."""

    kubernetes_version: KubernetesVersion = Field("1.31", description="Kubernetes minor version. Omitted: 1.31.")
    endpoint_public_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="CIDRs allowed to reach the API server from the internet. Omitted or empty: "
        "private endpoint only.",
    )
    system_pool: SystemPoolSpec = Field(default_factory=SystemPoolSpec, description="The system node pool.")
    audit_logging: bool = Field(True, description="Ship control-plane audit logs. Omitted: on.")


class GpuPoolSpec(_Model):
    """One autoscaled pool of identical GPU nodes."""

    name: PoolName = Field(description="Pool name (1-12 lowercase letters/digits).")
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

    @model_validator(mode="after")
    def _bounds(self) -> GpuPoolSpec:
        if self.min_nodes > self.max_nodes:
            raise SpecProblem(
                [(("min_nodes",), f"must be <= max_nodes ({self.max_nodes}) (got {self.min_nodes})")]
            )
        return self


class TrainingSpec(_Model):
    """A GPU training cluster. Omit the section for a platform without one."""

    cluster: ClusterSpec = Field(default_factory=ClusterSpec, description="Cluster settings.")
    gpu_pools: list[GpuPoolSpec] = Field(
        default_factory=list, description="GPU node pools. Omitted: none (a CPU-only cluster)."
    )

    @model_validator(mode="after")
    def _names_unique(self) -> TrainingSpec:
        _raise_if(_unique((p.name for p in self.gpu_pools), "gpu_pools"))
        return self


# --- registry ----------------------------------------------------------------------------------


class RegistrySpec(_Model):
    """Container repositories and model registries."""

    repositories: list[ItemName] = Field(
        default_factory=list, description="Container image repositories. Omitted: none."
    )
    models: list[ItemName] = Field(
        default_factory=list, description="Registered models (model package groups). Omitted: none."
    )
    immutable_tags: bool = env_default(
        dev=False, staging=True, prod=True,
        description="Refuse to overwrite an existing image tag.",
    )
    scan_on_push: bool = Field(True, description="Scan images for vulnerabilities on push. Omitted: on.")
    untagged_image_retention_days: int = Field(
        14, ge=1, le=3650, description="Delete untagged images after this many days. Omitted: 14."
    )

    @model_validator(mode="after")
    def _names_unique(self) -> RegistrySpec:
        _raise_if(_unique(self.repositories, "repositories") + _unique(self.models, "models"))
        return self


# --- serving -----------------------------------------------------------------------------------


class VariantSpec(_Model):
    """A second model version that receives part of an endpoint's traffic."""

    image: str = Field(min_length=1, description="Image of this version (repository:tag or full URL).")
    percent: int = Field(ge=1, le=100, description="Share of traffic (challenger) or of requests mirrored (shadow).")


class TrafficSpec(_Model):
    """How traffic moves when an endpoint is updated, and how it is split between versions."""

    strategy: Literal["all-at-once", "canary", "linear"] = Field(
        "canary", description="Deployment strategy for updates. Omitted: canary."
    )
    canary_percent: int = Field(10, ge=1, le=50, description="Traffic share of the canary step. Omitted: 10.")
    bake_minutes: int = Field(
        10, ge=0, le=1440,
        description="Minutes each step watches the alarms before going on (rolls back on alarm). Omitted: 10.",
    )
    challenger: VariantSpec | None = Field(
        None, description="A/B test: a second version serving `percent` of live traffic. Omitted: none."
    )
    shadow: VariantSpec | None = Field(
        None, description="A shadow version receiving a copy of `percent` of requests; its answers "
        "are discarded. Omitted: none.",
    )

    @model_validator(mode="after")
    def _champion_keeps_traffic(self) -> TrafficSpec:
        if self.challenger is not None and self.challenger.percent > 99:
            raise SpecProblem(
                [(("challenger", "percent"), f"must be <= 99 so the main version keeps traffic (got {self.challenger.percent})")]
            )
        return self


class EndpointSpec(_Model):
    """One autoscaled HTTPS inference endpoint."""

    name: ItemName = Field(description="Endpoint name.")
    model: ItemName = Field(description="Model it serves; must be listed in registry.models.")
    image: str = Field(
        min_length=1,
        description="Serving image: repository:tag of a platform repository, or a full image URL.",
    )
    instance: str | None = Field(
        None, min_length=2,
        description="Instance type/VM size, e.g. ml.g5.xlarge. Give this or `accelerator`. "
        "Omitted with no accelerator: a CPU instance.",
    )
    accelerator: str | None = Field(
        None, description="Cloud-neutral accelerator; the catalogue picks a 1-GPU instance."
    )
    min_replicas: int = env_default(
        dev=1, staging=2, prod=2, ge=1, le=100,
        description="Fewest serving replicas (instances).",
    )
    max_replicas: int = Field(4, ge=1, le=100, description="Most serving replicas. Omitted: 4.")
    target_invocations_per_replica: int = Field(
        100, ge=1, le=100000,
        description="Autoscaling target: invocations per replica per minute. Omitted: 100.",
    )
    traffic: TrafficSpec = Field(default_factory=TrafficSpec, description="Deployment and traffic split.")
    data_capture_percent: int = env_default(
        dev=0, staging=10, prod=20, ge=0, le=100,
        description="Share of requests and responses captured to the artifacts bucket.",
    )

    @model_validator(mode="after")
    def _shape(self) -> EndpointSpec:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.instance is not None and self.accelerator is not None:
            problems.append(((("accelerator",)), f"give either instance or accelerator, not both (got instance {self.instance!r} and accelerator {self.accelerator!r})"))
        if self.min_replicas > self.max_replicas:
            problems.append((("min_replicas",), f"must be <= max_replicas ({self.max_replicas}) (got {self.min_replicas})"))
        _raise_if(problems)
        return self


class ServingSpec(_Model):
    """Inference endpoints. Omit the section for a platform without serving."""

    endpoints: list[EndpointSpec] = Field(default_factory=list, description="Endpoints. Omitted: none.")

    @model_validator(mode="after")
    def _names_unique(self) -> ServingSpec:
        _raise_if(_unique((e.name for e in self.endpoints), "endpoints"))
        return self


# --- monitoring and rbac --------------------------------------------------------------------------


class MonitoringSpec(_Model):
    """Alarms, dashboards and log retention."""

    notify: list[NotifyTarget] = Field(
        default_factory=list,
        description="E-mail addresses or https:// webhooks that receive alarms. Omitted: none "
        "(alarms still fire and show on the dashboard).",
    )
    latency_p99_ms: int = Field(1000, ge=1, le=600000, description="Alarm when endpoint p99 latency exceeds this. Omitted: 1000.")
    error_rate_percent: float = Field(
        1.0, gt=0, le=100, description="Alarm when the endpoint error rate exceeds this. Omitted: 1.0."
    )
    gpu_utilization_low_percent: float = Field(
        10.0, ge=0, le=100,
        description="Alarm when a GPU pool's average utilisation stays below this (idle spend). Omitted: 10.",
    )
    log_retention_days: int = env_default(
        dev=30, staging=30, prod=90, ge=1, le=3653,
        description="Days platform logs are kept.",
    )


class RbacSpec(_Model):
    """Who may do what: personas mapped to the cloud's principals."""

    personas: dict[Persona, list[str]] = Field(
        default_factory=dict,
        description="Persona -> principals: IAM role/user ARNs (AWS), `user:`/`group:`/"
        "`serviceAccount:` members (GCP), Entra object ids (Azure). Omitted: no human access "
        "is granted by the platform.",
    )


# --- the root ------------------------------------------------------------------------------------

class PlatformSpec(_Model):
    """An mlfabric platform: one per stack (environment)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="mlfabric platform spec",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    spec_version: Literal[1] = Field(1, description="Spec format version. Omitted: 1.")
    name: PlatformName = Field(description="Platform name, used in every resource name (3-20 chars).")
    environment: Environment = Field(description="dev, staging or prod: drives the protective defaults.")
    cloud: Cloud = Field(description="aws, gcp or azure.")
    region: str = Field(description="Region every resource is created in (an explicit provider).")
    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        description="Tags/labels on every resource, merged under mlfabric's identity tags. "
        "Rendered as GCP labels (lowercased) on GCP.",
    )
    deletion_protection: bool = env_default(
        dev=False, staging=False, prod=True,
        description="Protect stateful resources (buckets, keys, registries, clusters) from "
        "deletion: `protect` and retain-on-delete in Pulumi, deletion protection in the cloud.",
    )
    aws: AwsOptions | None = Field(None, description="AWS-only settings (cloud: aws).")
    gcp: GcpOptions | None = Field(None, description="GCP-only settings (cloud: gcp).")
    azure: AzureOptions | None = Field(None, description="Azure-only settings (cloud: azure).")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="The private network.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Object storage.")
    training: TrainingSpec | None = Field(None, description="GPU training cluster. Omitted: none.")
    registry: RegistrySpec | None = Field(None, description="Registries. Omitted: none.")
    serving: ServingSpec | None = Field(None, description="Inference endpoints. Omitted: none.")
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, description="Alarms and logs.")
    rbac: RbacSpec = Field(default_factory=RbacSpec, description="Personas and their principals.")

    @model_validator(mode="before")
    @classmethod
    def _apply_environment_defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("environment") in ENVIRONMENTS:
            return _fill_environment_defaults(cls, data, data["environment"])
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> PlatformSpec:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for check in (
            self._check_region,
            self._check_cloud_blocks,
            self._check_tags,
            self._check_storage,
            self._check_gpu_pools,
            self._check_serving,
        ):
            problems.extend(check())
        # Imported here: each cloud's kit imports its rules, and they import this module.
        from mlfabric.components.kit import kit_for

        problems.extend(kit_for(self.cloud).spec_rules(self))
        _raise_if(problems)
        return self

    def _check_region(self) -> list[tuple[tuple[str | int, ...], str]]:
        regions = catalog.REGIONS[self.cloud]
        if self.region in regions:
            return []
        return [(("region",), f"not a {self.cloud} region (got {self.region!r}); e.g. {', '.join(regions[:4])}")]

    def _check_cloud_blocks(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [
            ((other,), f"only applies when cloud is {other} (cloud is {self.cloud})")
            for other in catalog.CLOUDS
            if other != self.cloud and getattr(self, other) is not None
        ]

    def _check_tags(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("tags", key), problem) for key in self.tags if (problem := tag_key_problem(key))]

    def _check_storage(self) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.storage.force_destroy and self.environment != "dev":
            problems.append((("storage", "force_destroy"), f"only allowed in dev (got true in {self.environment})"))
        elif self.storage.force_destroy and self.deletion_protection:
            problems.append((("storage", "force_destroy"), "contradicts deletion_protection: true (got true)"))
        return problems

    def _check_gpu_pools(self) -> list[tuple[tuple[str | int, ...], str]]:
        if self.training is None:
            return []
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, pool in enumerate(self.training.gpu_pools):
            try:
                catalog.gpu_shape(self.cloud, pool.accelerator, pool.gpus_per_node)
            except catalog.CatalogError as error:
                field = "accelerator" if not catalog.gpu_counts(self.cloud, pool.accelerator) else "gpus_per_node"
                problems.append((("training", "gpu_pools", index, field), str(error)))
        return problems

    def _check_serving(self) -> list[tuple[tuple[str | int, ...], str]]:
        if self.serving is None:
            return []
        problems: list[tuple[tuple[str | int, ...], str]] = []
        models = self.registry.models if self.registry else []
        repositories = self.registry.repositories if self.registry else []
        for index, endpoint in enumerate(self.serving.endpoints):
            where: tuple[str | int, ...] = ("serving", "endpoints", index)
            if endpoint.model not in models:
                problems.append(((*where, "model"), f"not declared in registry.models "
                                 f"(got {endpoint.model!r}; declared: {', '.join(models) or 'none'})"))
            if endpoint.accelerator is not None:
                try:
                    catalog.gpu_shape(self.cloud, endpoint.accelerator)
                except catalog.CatalogError as error:
                    problems.append(((*where, "accelerator"), str(error)))
            images = [("image", endpoint.image)]
            images += [(f"traffic.{k}.image", v.image) for k, v in
                       (("challenger", endpoint.traffic.challenger), ("shadow", endpoint.traffic.shadow)) if v]
            for field, image in images:
                repository = image_repository(image)
                if repository is not None and repository not in repositories:
                    problems.append(((*where, *field.split(".")), "names no repository of registry.repositories "
                                     f"and is not a full image URL (got {image!r})"))
        return problems

    @property
    def base_name(self) -> str:
        """Prefix of every logical and physical name: ``<name>-<environment>``."""
        return f"{self.name}-{self.environment}"


def tag_key_problem(key: str) -> str | None:
    """What is wrong with a tag key on every cloud, or None (a cloud's rules judge only usable keys)."""
    if not _TAG_KEY.match(key):
        return f"tag keys are 1-63 letters, digits, '_' or '-', starting with a letter (got {key!r})"
    if key.lower() in RESERVED_TAG_KEYS:
        return f"reserved for mlfabric's identity tags (got {key!r})"
    return None


def principal_problems(spec: PlatformSpec, pattern: re.Pattern[str], example: str) -> Problems:
    """Each persona principal that is not the cloud's kind of principal (``pattern``, e.g. ``example``)."""
    return [
        (("rbac", "personas", persona, index), f"must be {example} (got {principal!r})")
        for persona, principals in spec.rbac.personas.items()
        for index, principal in enumerate(principals)
        if not pattern.match(principal)
    ]


def image_repository(image: str) -> str | None:
    """The platform repository an image names, or None for a full URL (registry host present)."""
    head = image.split("/", 1)[0]
    if "/" in image and ("." in head or ":" in head or head == "localhost"):
        return None
    name = image.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name else name


# --- environment defaults ------------------------------------------------------------------------


def _nested_model(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """('model'|'list', M) when a field holds a model M or a list of M (optionally None)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _nested_model(members[0]) if len(members) == 1 else None
    if origin is list:
        inner = get_args(annotation)[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return ("list", inner)
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return None


def _default_of(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        factory = typing.cast(Callable[[], Any], info.default_factory)
        value = factory()
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    if isinstance(value, list):
        return [v.model_dump(exclude_unset=True) if isinstance(v, BaseModel) else v for v in value]
    return value


def _fill_environment_defaults(model: type[BaseModel], data: Mapping[str, Any], env: str) -> dict[str, Any]:
    filled = dict(data)
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and ENV_DEFAULTS_KEY in extra and name not in filled:
            by_env = typing.cast(dict[str, Any], extra[ENV_DEFAULTS_KEY])
            filled[name] = by_env[env]
            continue
        nested = _nested_model(info.annotation)
        if nested is None:
            continue
        kind, sub = nested
        if name not in filled:
            default = _default_of(info)
            if default is None or default == []:
                continue
            filled[name] = default
        value = filled[name]
        if kind == "model" and isinstance(value, Mapping):
            filled[name] = _fill_environment_defaults(sub, value, env)
        elif kind == "list" and isinstance(value, list):
            filled[name] = [
                _fill_environment_defaults(sub, item, env) if isinstance(item, Mapping) else item
                for item in value
            ]
    return filled


# --- parsing and errors --------------------------------------------------------------------------


def _format_path(loc: Iterable[str | int]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself is wrong", not a field
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(spec)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] | None = PlatformSpec
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        nested = _nested_model(info.annotation)
        model = nested[1] if nested else None
    return list(model.model_fields) if model else []


def format_errors(error: ValidationError) -> list[str]:
    """One line per problem: ``path.to.field: what is wrong (got X)``."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, SpecProblem):
            lines.extend(f"{_format_path(loc + sub)}: {message}" for sub, message in cause.problems)
            continue
        if kind == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc[:-1]))
            lines.append(f"{_format_path(loc)}: unknown key (allowed: {allowed})")
        elif kind == "missing":
            lines.append(f"{_format_path(loc)}: required field is missing")
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            lines.append(f"{_format_path(loc)}: must be one of {expected} (got {_short(item['input'])})")
        else:
            message = str(cause) if isinstance(cause, ValueError) else item["msg"]
            message = message[0].lower() + message[1:] if message else message
            lines.append(f"{_format_path(loc)}: {message} (got {_short(item['input'])})")
    return lines


def parse_spec(data: Any) -> PlatformSpec:
    """Validate raw spec data (a dict from YAML or config); raise SpecError with every problem."""
    if not isinstance(data, Mapping):
        raise SpecError([f"{SPEC_CONFIG_KEY}: must be a mapping of spec fields (got {_short(data)})"])
    try:
        return PlatformSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(format_errors(error)) from None


def json_schema() -> dict[str, Any]:
    """The spec's JSON Schema (draft 2020-12), with environment defaults as x-environment-defaults."""
    schema = PlatformSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
