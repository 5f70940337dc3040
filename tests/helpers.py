"""Shared test helpers: minimal specs per cloud, and plans through the real offline-plan path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlfabric.mocks import World
from mlfabric.plan import Plan, ResourceRecord, plan_spec, run_program

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
    records, _, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region=region),
    )
    return records


def only(records: list[ResourceRecord], type_token: str, name: str | None = None) -> ResourceRecord:
    """The single record of a type (and logical name); fails loudly when there are 0 or 2+."""
    found = [r for r in records if r.type == type_token and (name is None or r.name == name)]
    assert len(found) == 1, f"expected one {type_token} {name or ''}, found {len(found)}"
    return found[0]


def of_type(records: list[ResourceRecord], type_token: str) -> list[ResourceRecord]:
    return [r for r in records if r.type == type_token]
