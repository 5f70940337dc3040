"""The spec's `serving` section: endpoints and how traffic moves between versions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlfabric.components.spec.base import (
    ItemName,
    PreviousNames,
    SpecModel,
    SpecProblem,
    env_default,
    raise_if,
    rename_problems,
    renamed_from_field,
    unique_names,
)
from mlfabric.components.spec.lifecycle import EndpointMonitoringSpec

# --- serving -----------------------------------------------------------------------------------


class VariantSpec(SpecModel):
    """A second model version that receives part of an endpoint's traffic."""

    image: str = Field(min_length=1, description="Image of this version (repository:tag or full URL).")
    percent: int = Field(ge=1, le=100, description="Share of traffic (challenger) or of requests mirrored (shadow).")


class TrafficSpec(SpecModel):
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


class EndpointSpec(SpecModel):
    """One autoscaled HTTPS inference endpoint."""

    name: ItemName = Field(description="Endpoint name.")
    renamed_from: PreviousNames = renamed_from_field("endpoint")
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
    monitoring: EndpointMonitoringSpec = Field(
        default_factory=EndpointMonitoringSpec,
        description="What is watched beyond latency and errors (drift of the captured requests). Omitted: nothing more.",
    )
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
        raise_if(problems)
        return self


class ServingSpec(SpecModel):
    """Inference endpoints. Omit the section for a platform without serving."""

    endpoints: list[EndpointSpec] = Field(default_factory=list, description="Endpoints. Omitted: none.")

    @model_validator(mode="after")
    def _names_unique(self) -> ServingSpec:
        raise_if(unique_names((e.name for e in self.endpoints), "endpoints")
                 + rename_problems(((e.name, e.renamed_from) for e in self.endpoints), "endpoints"))
        return self

