"""A restructure moves code, never behaviour: every example stack declares what it declared before.

``tests/baselines/<stack>.json`` holds, per URN, the type, parent, provider, protection and every
recorded input of each example stack's plan as it was before the per-cloud restructure. This test
plans each stack again and compares resource by resource (a URN that moved is found through its
aliases). The only differences allowed are listed in ``INTENDED`` with the reason; anything else
fails with the resource and the property named.

After an intended behaviour change, regenerate the baselines and commit them:

    python -m tests.test_plan_baseline

What this cannot prove: how the real provider treats a changed input (update or replace); the
upgrade-safety snapshots and `mlfabric diff` speak to identity, a real `pulumi preview` to the rest.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from mlfabric import stackfile
from mlfabric.plan import Plan, ResourceRecord, plan_stack

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ROOT / "tests" / "baselines"
STACKS = ("dev", "prod", "gcp-dev", "gcp-prod", "azure-dev", "azure-prod")
FORMAT = "mlfabric-plan-baseline/1"


def plan_of(stack: str) -> Plan:
    return plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml"))

# (urn pattern, dotted input path pattern, reason): differences from the committed baselines that are
# intended. Empty: the baselines were regenerated after the fidelity changes of 0.2.0 (every plan-input
# change they made is listed in CHANGELOG.md).
INTENDED: tuple[tuple[str, str, str], ...] = ()


def baseline_of(plan: Plan) -> dict[str, Any]:
    """The comparable part of a plan: per URN, what the engine would be asked to create."""
    return {
        "format": FORMAT,
        "stack": plan.stack,
        "resources": {
            r.urn: {
                "type": r.type,
                "parent": r.parent,
                "provider": r.provider,
                "protect": r.protect,
                "retain_on_delete": r.retain_on_delete,
                "inputs": r.inputs,
                "dependencies": r.dependencies,
            }
            for r in plan.resources
        },
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat or {prefix: {}}
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat or {prefix: []}
    return {prefix: value}


def _former_urn(record: ResourceRecord, alias: dict[str, Any]) -> str:
    """The URN an alias names, as the mock runtime builds URNs (immediate parent's type only)."""
    if "urn" in alias:
        return str(alias["urn"])
    spec = alias["spec"]
    head, _, _ = record.urn.rpartition("::")
    prefix = head.rsplit("::", 1)[0]
    type_ = spec.get("type", record.type)
    parent = spec.get("parentUrn", record.parent)
    orphan = spec.get("noParent") or not parent
    qualified = type_ if orphan else parent.split("::")[2].split("$")[-1] + "$" + type_
    return f"{prefix}::{qualified}::{spec.get('name', record.name)}"


def _intended(urn: str, path: str) -> bool:
    return any(re.search(u, urn) and re.fullmatch(p, path) for u, p, _ in INTENDED)


def differences(before: dict[str, Any], plan: Plan) -> list[str]:
    """One line per resource or property that differs from the baseline and is not intended."""
    now = baseline_of(plan)["resources"]
    renamed = {_former_urn(r, alias): r.urn for r in plan.resources for alias in r.aliases}
    problems: list[str] = []
    for urn, old in before["resources"].items():
        new_urn = urn if urn in now else renamed.get(urn)
        if new_urn is None:
            problems.append(f"{urn}: no longer declared")
            continue
        new = now[new_urn]
        for field in ("type", "protect", "retain_on_delete"):
            if old[field] != new[field]:
                problems.append(f"{urn}: {field} {old[field]!r} -> {new[field]!r}")
        old_inputs, new_inputs = _flatten(old["inputs"]), _flatten(new["inputs"])
        for path in sorted(old_inputs.keys() | new_inputs.keys()):
            a, b = old_inputs.get(path, "<absent>"), new_inputs.get(path, "<absent>")
            if a != b and not _intended(urn, path):
                problems.append(f"{urn}: inputs.{path} {a!r} -> {b!r}")
    known = set(before["resources"]) | set(renamed.values())
    problems.extend(f"{urn}: new resource" for urn in now if urn not in known)
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_declares_what_it_declared_before_the_restructure(stack: str) -> None:
    before = json.loads((BASELINES / f"{stack}.json").read_text())
    problems = differences(before, plan_of(stack))
    assert not problems, f"{len(problems)} differences:\n  " + "\n  ".join(problems[:40])


def test_every_intended_difference_names_its_reason() -> None:
    assert all(reason.strip() for _, _, reason in INTENDED)


if __name__ == "__main__":
    for name in STACKS:
        (BASELINES / f"{name}.json").write_text(json.dumps(baseline_of(plan_of(name)), indent=1, sort_keys=True))
    sys.exit(0)
