"""What a spec must satisfy on GCP only (the kit's ``spec_rules``; SDK-free): global tags that are
still valid labels once lowercased (see ``tags.py``), and the shape of an IAM member."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from mlfabric.components.gcp.tags import LABEL_VALUE
from mlfabric.components.spec import Problems, principal_problems, tag_key_problem

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

_PRINCIPAL: Final = re.compile(r"^(user|group|serviceAccount|domain):[^\s:]+$")
_PRINCIPAL_EXAMPLE: Final = "a member such as user:ana@example.com, group:ml@example.com or serviceAccount:..."


def _label_values(spec: PlatformSpec) -> Problems:
    # A key every cloud refuses is already reported; its value is not judged on top.
    return [
        (("tags", key), "not a valid GCP label value once lowercased: at most 63 "
         f"lowercase letters, digits, '_' or '-' (got {value!r})")
        for key, value in spec.tags.items()
        if tag_key_problem(key) is None and not LABEL_VALUE.match(value.lower())
    ]


def _label_collisions(spec: PlatformSpec) -> Problems:
    lowered = [k.lower() for k in spec.tags]
    return [
        (("tags", key), f"collides with another key once lowercased for GCP (got {key!r})")
        for key in spec.tags
        if lowered.count(key.lower()) > 1
    ]


def problems(spec: PlatformSpec) -> Problems:
    """Every GCP-only rule the spec breaks, as (field path, message)."""
    return [
        *_label_values(spec),
        *_label_collisions(spec),
        *principal_problems(spec, _PRINCIPAL, _PRINCIPAL_EXAMPLE),
    ]
