"""The spec's `budget` section: what the platform may cost per month, checked by the policy pack."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlfabric.components.spec.base import SpecModel, SpecProblem


class BudgetSpec(SpecModel):
    """Monthly spending limits for the estimate `mlfabric cost` makes from the plan (USD, list prices)."""

    idle_usd_per_month: float | None = Field(
        None, gt=0, le=10_000_000,
        description="Most the platform may cost per month with every pool at its minimum. Omitted: no limit.",
    )
    full_scale_usd_per_month: float | None = Field(
        None, gt=0, le=100_000_000,
        description="Most it may cost per month with every pool and endpoint at its maximum for the whole "
        "month (a ceiling, not a forecast). Omitted: no limit.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> BudgetSpec:
        idle, full = self.idle_usd_per_month, self.full_scale_usd_per_month
        if idle is not None and full is not None and idle > full:
            raise SpecProblem([(("idle_usd_per_month",), f"must be <= full_scale_usd_per_month ({full:g}) (got {idle:g})")])
        return self
