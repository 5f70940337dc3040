"""The spec's `monitoring` section: alarms, who is notified, log retention."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlfabric.components.spec.base import NotifyTarget, SpecModel, env_default, raise_if, unique_names


class MonitoringSpec(SpecModel):
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

    @model_validator(mode="after")
    def _targets_unique(self) -> MonitoringSpec:
        # Each target becomes a subscription named after it: two equal entries would be two
        # resources with one URN, which the engine refuses.
        raise_if([(path, message.replace("duplicate name", "duplicate target"))
                  for path, message in unique_names(self.notify, "notify")])
        return self
