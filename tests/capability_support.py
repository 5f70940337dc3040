"""What the per-cloud capability tests share: row ids, the example stacks' specs with a patch
merged in, their plans (cached per stack and patch), and reading an input at a dotted path."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from mlfabric import stackfile
from mlfabric.components.capabilities import Capability
from mlfabric.testing import Plan, plan_spec
from tests.helpers import ROOT

__all__ = ["cached_plan", "deep_merge", "row_id", "stack_spec", "value_at"]


def row_id(row: Capability) -> str:
    return f"{row.field} ({row.case})" if row.case else row.field


def deep_merge(base: Any, patch: Any) -> Any:
    """``patch`` merged into ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, Mapping) and isinstance(patch, Mapping):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(patch)


def stack_spec(stack: str) -> dict[str, Any]:
    data: dict[str, Any] = stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml").spec_data
    return data


@functools.cache
def cached_plan(stack: str, patch_json: str) -> Plan:
    return plan_spec(deep_merge(stack_spec(stack), json.loads(patch_json)), stack=stack)


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def value_at(inputs: Any, prop: str) -> Any:
    """The input at a dotted camelCase path with ``[i]`` list indexes; KeyError when absent."""
    node = inputs
    for key, index in _STEP.findall(prop):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                raise KeyError(prop)
            node = node[int(index)]
        else:
            if not isinstance(node, Mapping) or key not in node:
                raise KeyError(prop)
            node = node[key]
    return node
