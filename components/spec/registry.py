"""The spec's `registry` section: container repositories and model registries."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlfabric.components.spec.base import ItemName, SpecModel, env_default, raise_if, unique_names

# --- registry ----------------------------------------------------------------------------------


class RegistrySpec(SpecModel):
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
    def _namesunique_names(self) -> RegistrySpec:
        raise_if(unique_names(self.repositories, "repositories") + unique_names(self.models, "models"))
        return self

