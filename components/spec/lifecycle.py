"""The spec's lifecycle sections: experiment tracking, batch scoring, notebooks, and drift monitoring
of an endpoint's captured requests (``serving.endpoints[].monitoring``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlfabric.components.spec.base import ItemName, SpecModel, SpecProblem, raise_if, unique_names
from mlfabric.components.spec.teams import TeamName

_PREFIX_HELP = "a relative object prefix of the datasets bucket ending in '/'"


class TrackingSpec(SpecModel):
    """An MLflow-compatible experiment-tracking server, private, with artifacts in the artifacts bucket."""

    size: Literal["small", "medium", "large"] = Field(
        "small",
        description="Capacity of the tracking server: how many users and runs it serves at once (the "
        "capability table says what each size is on each cloud). Omitted: small.",
    )


class DriftSpec(SpecModel):
    """Scheduled data-quality monitoring of an endpoint's captured requests against a baseline."""

    baseline_prefix: str = Field(
        min_length=2, max_length=200, pattern=r"^[a-z0-9][a-z0-9._/-]*/$",
        description="Where the baseline dataset (the training data's statistics) is: " + _PREFIX_HELP + ".",
    )
    schedule: Literal["hourly", "daily"] = Field("daily", description="How often to compare. Omitted: daily.")


class EndpointMonitoringSpec(SpecModel):
    """What is watched on one endpoint beyond its latency and error alarms."""

    drift: DriftSpec | None = Field(
        None, description="Data-drift monitoring of the captured requests, alarms to monitoring.notify. "
        "Needs data_capture_percent above 0. Omitted: none.",
    )


class BatchJobSpec(SpecModel):
    """A batch-scoring job over a dataset prefix, written to the artifacts bucket."""

    name: ItemName = Field(description="Job name.")
    model: ItemName = Field(description="Model it scores with; must be listed in registry.models.")
    image: str = Field(min_length=3, max_length=300, description="Scoring image, as serving endpoints take it.")
    accelerator: str | None = Field(None, description="GPU per instance (cloud-neutral name). Omitted: CPU only.")
    instances: int = Field(1, ge=1, le=100, description="Instances (or pods) scoring in parallel. Omitted: 1.")
    input_prefix: str = Field(
        min_length=2, max_length=200, pattern=r"^[a-z0-9][a-z0-9._/-]*/$",
        description="What to score: " + _PREFIX_HELP + ".",
    )
    schedule: str | None = Field(
        None, min_length=1, max_length=100,
        description="A cron schedule (five fields, UTC) to run it on. Omitted: run on demand only.",
    )
    team: TeamName | None = Field(
        None,
        description="The team whose queue and identity the job runs with where scoring runs on the "
        "training cluster. Omitted: the platform's workload identity.",
    )

    @model_validator(mode="after")
    def _cron(self) -> BatchJobSpec:
        if self.schedule is not None and len(self.schedule.split()) != 5:
            raise SpecProblem([(("schedule",), f"must be a cron expression of five fields (got {self.schedule!r})")])
        return self


class BatchSpec(SpecModel):
    """Batch scoring jobs."""

    jobs: list[BatchJobSpec] = Field(default_factory=list, description="Batch jobs. Omitted: none.")

    @model_validator(mode="after")
    def _names(self) -> BatchSpec:
        raise_if(unique_names((job.name for job in self.jobs), "jobs"))
        return self


class NotebooksSpec(SpecModel):
    """Managed notebook environments that stop when idle and have no public IP."""

    idle_minutes: int = Field(
        60, ge=15, le=1440, description="Minutes without activity before a notebook stops. Omitted: 60.",
    )
    machine: str | None = Field(
        None, min_length=2,
        description="Instance/machine type/VM size of a notebook. Omitted: the cloud's small CPU default.",
    )
    teams: list[TeamName] | None = Field(
        None,
        description="Teams that get a notebook environment running as the team's identity. Omitted: "
        "every team (with no teams: one environment running as the platform's workload identity).",
    )
