"""The root of the spec, `PlatformSpec`, and the checks that span sections."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from mlfabric.components import catalog
from mlfabric.components.catalog import Cloud
from mlfabric.components.spec.base import (
    ENVIRONMENTS,
    RESERVED_TAG_KEYS,
    SCHEMA_ID,
    TAG_KEY,
    Environment,
    PlatformName,
    Problems,
    SpecModel,
    TagValue,
    env_default,
    raise_if,
    unique_names,
)
from mlfabric.components.spec.budget import BudgetSpec
from mlfabric.components.spec.defaults import fill_environment_defaults
from mlfabric.components.spec.lifecycle import BatchSpec, NotebooksSpec, TrackingSpec
from mlfabric.components.spec.monitoring import MonitoringSpec
from mlfabric.components.spec.network import NetworkSpec
from mlfabric.components.spec.options import AwsOptions, AzureOptions, GcpOptions
from mlfabric.components.spec.rbac import BUILT_IN_PERSONAS, RbacSpec
from mlfabric.components.spec.registry import RegistrySpec
from mlfabric.components.spec.serving import EndpointSpec, ServingSpec
from mlfabric.components.spec.storage import StorageSpec
from mlfabric.components.spec.teams import TeamSpec, team_members
from mlfabric.components.spec.training import GpuPoolSpec, TrainingSpec

# --- the root ------------------------------------------------------------------------------------

class PlatformSpec(SpecModel):
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
    teams: list[TeamSpec] = Field(
        default_factory=list,
        description="ML teams sharing the training cluster: a namespace, a GPU queue with a quota, a "
        "workload identity scoped to the team's storage prefix, and access for its members. Needs "
        "`training`. Omitted: none (one shared cluster, no queues per team).",
    )
    tracking: TrackingSpec | None = Field(
        None, description="An MLflow-compatible experiment-tracking server, private, artifacts in the artifacts "
        "bucket. Omitted: none.",
    )
    notebooks: NotebooksSpec | None = Field(
        None, description="Managed notebook environments (per team) that stop when idle and have no public IP. "
        "Omitted: none.",
    )
    batch: BatchSpec | None = Field(None, description="Batch-scoring jobs. Omitted: none.")
    budget: BudgetSpec | None = Field(
        None, description="Monthly cost limits the policy pack checks the estimate against. Omitted: none."
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_environment_defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("environment") in ENVIRONMENTS:
            data = fill_environment_defaults(cls, data, data["environment"])
        return _fill_kubernetes_version(data)

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
            self._check_images,
            self._check_kubernetes_version,
            self._check_teams,
            self._check_lifecycle,
        ):
            problems.extend(check())
        # Imported here: each cloud's kit imports its rules, and they import this module.
        from mlfabric.components.capabilities import refusal_problems
        from mlfabric.components.kit import kit_for

        kit = kit_for(self.cloud)
        problems.extend(refusal_problems(self, kit.capabilities))
        problems.extend(kit.spec_rules(self))
        raise_if(problems)
        return self

    def _check_kubernetes_version(self) -> Problems:
        from mlfabric.components.kit import kit_for
        from mlfabric.components.kubernetes.versions import today

        calendar = kit_for(self.cloud).kubernetes_calendar
        if self.training is None or calendar is None:
            return []
        problem = calendar().problem(self.training.cluster.version, today())
        return [(("training", "cluster", "kubernetes_version"), problem)] if problem else []

    def _check_teams(self) -> Problems:
        if not self.teams:
            return []
        if self.training is None:
            return [(("teams",), f"needs a training section: teams share the training cluster "
                     f"(got {len(self.teams)} team(s) and no training)")]
        problems: Problems = unique_names((team.name for team in self.teams), "teams")
        known = {*BUILT_IN_PERSONAS, *self.rbac.custom_personas, "reader"}
        capacity = {pool.name: pool.max_nodes * catalog.gpu_shape(self.cloud, pool.accelerator,
                                                                   pool.gpus_per_node).gpus
                    for pool in self.training.gpu_pools if _offered(self.cloud, pool)}
        guaranteed: dict[str, int] = {}
        for index, team in enumerate(self.teams):
            problems += [
                (("teams", index, "members", persona), f"not a persona: use one of {', '.join(sorted(known))} "
                 f"(got {persona!r})")
                for persona in team.members if persona not in known
            ]
            for q_index, quota in enumerate(team.gpu_quota):
                where: tuple[str | int, ...] = ("teams", index, "gpu_quota", q_index)
                if quota.pool not in {p.name for p in self.training.gpu_pools}:
                    declared = ", ".join(p.name for p in self.training.gpu_pools) or "none"
                    problems.append(((*where, "pool"), f"not a pool of training.gpu_pools "
                                     f"(got {quota.pool!r}; declared: {declared})"))
                    continue
                guaranteed[quota.pool] = guaranteed.get(quota.pool, 0) + quota.gpus
        for pool, gpus in guaranteed.items():
            if pool in capacity and gpus > capacity[pool]:
                problems.append((("teams",), f"the teams are guaranteed {gpus} GPUs of pool {pool!r}, which "
                                 f"holds at most {capacity[pool]} (max_nodes x GPUs per node); lower the "
                                 f"quotas or raise max_nodes (got {gpus})"))
        return problems

    def _check_lifecycle(self) -> Problems:
        problems: Problems = []
        teams = [team.name for team in self.teams]
        models = self.registry.models if self.registry else []
        if self.notebooks is not None:
            problems += [(("notebooks", "teams", index), f"not a team of teams (got {name!r}; declared: "
                          f"{', '.join(teams) or 'none'})")
                         for index, name in enumerate(self.notebooks.teams or []) if name not in teams]
        for index, job in enumerate(self.batch.jobs if self.batch else []):
            where: tuple[str | int, ...] = ("batch", "jobs", index)
            if job.model not in models:
                problems.append(((*where, "model"), f"not declared in registry.models (got {job.model!r}; "
                                 f"declared: {', '.join(models) or 'none'})"))
            if job.team is not None and job.team not in teams:
                problems.append(((*where, "team"), f"not a team of teams (got {job.team!r}; declared: "
                                 f"{', '.join(teams) or 'none'})"))
            if job.accelerator is not None and not catalog.gpu_counts(self.cloud, job.accelerator):
                problems.append(((*where, "accelerator"), f"{job.accelerator!r} is not offered on {self.cloud} "
                                 f"(offered: {', '.join(catalog.accelerators_offered(self.cloud))})"))
            problem = image_reference_problem(job.image, self.environment == "prod",
                                              self.registry is not None and self.registry.immutable_tags)
            if problem or (problem := self._unknown_repository(job.image)):
                problems.append(((*where, "image"), problem))
        for index, endpoint in enumerate(self.serving.endpoints if self.serving else []):
            if endpoint.monitoring.drift is not None and endpoint.data_capture_percent == 0:
                problems.append((("serving", "endpoints", index, "monitoring", "drift"), "needs captured requests: "
                                 "set data_capture_percent above 0 (got 0)"))
        return problems

    def _check_images(self) -> Problems:
        if self.serving is None:
            return []
        immutable = self.registry is not None and self.registry.immutable_tags
        problems: Problems = []
        for index, endpoint in enumerate(self.serving.endpoints):
            images = endpoint_images(endpoint)
            for field, image in images:
                problem = image_reference_problem(image, self.environment == "prod", immutable)
                if problem:
                    problems.append((("serving", "endpoints", index, *field.split(".")), problem))
        return problems

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
            images = endpoint_images(endpoint)
            problems += [((*where, *field.split(".")), problem) for field, image in images
                         if (problem := self._unknown_repository(image))]
        return problems

    def _unknown_repository(self, image: str) -> str | None:
        """Why an image names no declared platform repository (a full image URL needs none), or None."""
        repository = image_repository(image)
        repositories = self.registry.repositories if self.registry else []
        if repository is not None and repository not in repositories:
            return f"names no repository of registry.repositories and is not a full image URL (got {image!r})"
        return None

    @property
    def base_name(self) -> str:
        """Prefix of every logical and physical name: ``<name>-<environment>``."""
        return f"{self.name}-{self.environment}"


def endpoint_images(endpoint: EndpointSpec) -> list[tuple[str, str]]:
    """(field path under the endpoint, image) of every image an endpoint runs: main, challenger, shadow."""
    images = [("image", endpoint.image)]
    images += [(f"traffic.{k}.image", v.image) for k, v in
               (("challenger", endpoint.traffic.challenger), ("shadow", endpoint.traffic.shadow)) if v]
    return images


def _offered(cloud: Cloud, pool: GpuPoolSpec) -> bool:
    """Whether the catalogue sells the pool's shape (a pool it does not is reported on its own)."""
    try:
        catalog.gpu_shape(cloud, pool.accelerator, pool.gpus_per_node)
    except catalog.CatalogError:
        return False
    return True


def tag_key_problem(key: str) -> str | None:
    """What is wrong with a tag key on every cloud, or None (a cloud's rules judge only usable keys)."""
    if not TAG_KEY.match(key):
        return f"tag keys are 1-63 letters, digits, '_' or '-', starting with a letter (got {key!r})"
    if key.lower() in RESERVED_TAG_KEYS:
        return f"reserved for mlfabric's identity tags (got {key!r})"
    return None


def principal_problems(spec: PlatformSpec, pattern: re.Pattern[str], example: str) -> Problems:
    """Each persona principal on the spec's cloud that is not the cloud's kind of principal
    (``pattern``, e.g. ``example``)."""
    holders = [(grant.path, grant.principals) for grant in spec.rbac.grants(spec.cloud)]
    holders += [(member.path, member.principals) for member in team_members(spec.teams, spec.cloud)]
    return [
        ((*path, index), f"must be {example} (got {principal!r})")
        for path, principals in holders
        for index, principal in enumerate(principals)
        if not pattern.match(principal)
    ]


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_reference_problem(image: str, prod: bool, immutable_platform_tags: bool) -> str | None:
    """What the engine or the cloud would do wrong with an image reference, or None.

    Without a tag or digest the runtime pulls ``latest``, whatever that is at the time; in prod the
    image must not change under a running endpoint: a digest, or a platform repository whose tags
    are immutable.
    """
    if _DIGEST.search(image):
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"names no tag or digest, so the runtime would pull whatever 'latest' is: add :<tag> or @sha256:<digest> (got {image!r})"
    if not prod:
        return None
    platform_repository = image_repository(image) is not None
    if platform_repository and immutable_platform_tags:
        return None
    why = "registry.immutable_tags is off" if platform_repository else "a tag outside the platform's registry can move"
    return f"prod pins images by digest (image@sha256:<digest>) unless they come from a platform repository with immutable tags; {why} (got {image!r})"


def _fill_kubernetes_version(data: Any) -> Any:
    """The cloud's pinned default Kubernetes version, where a training cluster names none."""
    if not isinstance(data, Mapping) or data.get("cloud") not in catalog.CLOUDS:
        return data
    training = data.get("training")
    if not isinstance(training, Mapping):
        return data
    cluster = training.get("cluster", {})
    if not isinstance(cluster, Mapping) or cluster.get("kubernetes_version") is not None:
        return data
    from mlfabric.components.kit import kit_for

    calendar = kit_for(str(data["cloud"])).kubernetes_calendar
    if calendar is None:
        return data
    return {**data, "training": {**training, "cluster": {**cluster, "kubernetes_version": calendar().default}}}


def spec_notes(spec: PlatformSpec) -> list[str]:
    """What ``validate`` and ``plan`` print besides errors: dev-only capability warnings, notes on
    versions in extended support, and the cloud's own notes (what a GPU pool's interconnect gets)."""
    from mlfabric.components.capabilities import spec_warnings
    from mlfabric.components.kit import kit_for
    from mlfabric.components.kubernetes.versions import today

    notes = spec_warnings(spec)
    kit = kit_for(spec.cloud)
    calendar = kit.kubernetes_calendar
    if spec.training is not None and calendar is not None:
        note = calendar().note(spec.training.cluster.version, today())
        if note:
            notes.append(f"training.cluster.kubernetes_version: {note}")
    if kit.spec_notes is not None:
        notes.extend(kit.spec_notes(spec))
    return notes


def image_repository(image: str) -> str | None:
    """The platform repository an image names, or None for a full URL (registry host present)."""
    head = image.split("/", 1)[0]
    if "/" in image and ("." in head or ":" in head or head == "localhost"):
        return None
    name = image.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name else name

