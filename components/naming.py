"""Names and tags, in one place.

Tags are merged in one documented order — the spec's global ``tags``, then a resource's own tags,
then mlfabric's identity tags (``mlfabric-platform``, ``mlfabric-environment``, ``managed-by``),
which nothing may override because policies and cost reports group by them — and then rendered
for the cloud: AWS tags and Azure tags as given, GCP labels lowercased and validated again after
the merge (a label that is still invalid is an error, never silently rewritten).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Final

from mlfabric.components.catalog import Cloud

MANAGED_BY: Final = "mlfabric"
_GCP_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_GCP_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


class NamingError(ValueError):
    """A name or tag that cannot be rendered for the cloud."""


def identity_tags(platform: str, environment: str) -> dict[str, str]:
    """The tags every mlfabric resource carries."""
    return {
        "mlfabric-platform": platform,
        "mlfabric-environment": environment,
        "managed-by": MANAGED_BY,
    }


def merge_tags(
    global_tags: Mapping[str, str],
    resource_tags: Mapping[str, str] | None,
    identity: Mapping[str, str],
) -> dict[str, str]:
    """Global tags, overridden by the resource's own, overridden by the identity tags."""
    return {**global_tags, **(resource_tags or {}), **identity}


def render_tags(cloud: Cloud, tags: Mapping[str, str]) -> dict[str, str]:
    """Tags as the cloud takes them; GCP labels lowercased and re-validated."""
    if cloud != "gcp":
        return dict(tags)
    labels: dict[str, str] = {}
    for key, value in tags.items():
        label_key, label_value = key.lower(), value.lower()
        if not _GCP_LABEL_KEY.match(label_key):
            raise NamingError(f"tags.{key}: not a valid GCP label key once lowercased (got {key!r})")
        if not _GCP_LABEL_VALUE.match(label_value):
            raise NamingError(f"tags.{key}: not a valid GCP label value once lowercased (got {value!r})")
        if label_key in labels:
            raise NamingError(f"tags.{key}: collides with another key once lowercased (got {key!r})")
        labels[label_key] = label_value
    return labels


def short_hash(*parts: str, length: int = 6) -> str:
    """A stable lowercase suffix that makes a globally unique name unique, the same on every run."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def compact_name(*parts: str, max_length: int, unique_by: tuple[str, ...] = ()) -> str:
    """Lowercase alphanumerics only (Azure storage accounts, Key Vaults...), hashed when too long.

    The hash suffix is derived from ``unique_by`` (or the parts) so a name is stable across runs.
    """
    joined = re.sub(r"[^a-z0-9]", "", "".join(parts).lower())
    suffix = short_hash(*(unique_by or parts))
    if len(joined) + len(suffix) <= max_length:
        return joined + suffix
    return joined[: max_length - len(suffix)] + suffix
