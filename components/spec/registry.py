"""The spec's `registry` section: container repositories and model registries."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlfabric.components.spec.base import (
    ItemName,
    PreviousNames,
    SpecModel,
    env_default,
    raise_if,
    rename_problems,
    unique_names,
)

# --- registry ----------------------------------------------------------------------------------


class RegistrySpec(SpecModel):
    """Container repositories and model registries."""

    repositories: list[ItemName] = Field(
        default_factory=list, description="Container image repositories. Omitted: none."
    )
    models: list[ItemName] = Field(
        default_factory=list, description="Registered models (model package groups). Omitted: none."
    )
    renamed_from: dict[ItemName, PreviousNames] = Field(
        default_factory=dict,
        description="Repository or model name -> the names it had before, oldest first (one name may "
        "be given as a string): a rename keeps the deployed repository or model group. Omitted: none.",
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
        problems = unique_names(self.repositories, "repositories") + unique_names(self.models, "models")
        for kind, names in (("repositories", self.repositories), ("models", self.models)):
            renames = [(name, self.renamed_from.get(name, [])) for name in names]
            problems += [(("renamed_from", name), message.replace("another item", f"another of {kind}"))
                         for (_, index, _), message in rename_problems(renames, kind)
                         for name in [names[int(index)]]]
        problems += [(("renamed_from", name), f"names no repository or model of this registry (got {name!r})")
                     for name in self.renamed_from if name not in self.repositories and name not in self.models]
        raise_if(problems)
        return self

