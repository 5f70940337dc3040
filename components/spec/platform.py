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
)
from mlfabric.components.spec.defaults import fill_environment_defaults
from mlfabric.components.spec.network import NetworkSpec
from mlfabric.components.spec.operations import MonitoringSpec, RbacSpec
from mlfabric.components.spec.options import AwsOptions, AzureOptions, GcpOptions
from mlfabric.components.spec.registry import RegistrySpec
from mlfabric.components.spec.serving import ServingSpec
from mlfabric.components.spec.storage import StorageSpec
from mlfabric.components.spec.training import TrainingSpec

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

    @model_validator(mode="before")
    @classmethod
    def _apply_environment_defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("environment") in ENVIRONMENTS:
            return fill_environment_defaults(cls, data, data["environment"])
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
        raise_if(problems)
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
    if not TAG_KEY.match(key):
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

