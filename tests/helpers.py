"""Shared test helpers: minimal specs per cloud, and plans through the real offline-plan path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlfabric.testing import Plan, ResourceRecord, of_type, only, plan_spec, run_program

__all__ = ["CLOUD_BLOCKS", "REGIONS", "ROOT", "of_type", "only", "plan", "run_components", "spec_data"]

ROOT = Path(__file__).resolve().parent.parent
REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}
CLOUD_BLOCKS: dict[str, dict[str, Any]] = {"aws": {}, "gcp": {"gcp": {"project": "ml-platform-test"}}, "azure": {}}


def spec_data(cloud: str = "aws", environment: str = "dev", **sections: Any) -> dict[str, Any]:
    """The smallest valid spec for a cloud and environment, plus any sections given."""
    data: dict[str, Any] = {
        "name": "fraud",
        "environment": environment,
        "cloud": cloud,
        "region": REGIONS[cloud],
        **copy.deepcopy(CLOUD_BLOCKS[cloud]),
    }
    data.update(copy.deepcopy(sections))
    return data


def plan(cloud: str = "aws", environment: str = "dev", **sections: Any) -> Plan:
    """Plan a spec through the same path `mlfabric plan` uses."""
    return plan_spec(spec_data(cloud, environment, **sections), stack=f"{cloud}-{environment}")


def run_components(program: Callable[[], None], region: str = "us-east-1") -> list[ResourceRecord]:
    """Run a program that builds components directly (no MLPlatform) under the same mocks."""
    return run_program(program, region=region)
