"""Names and tags, in one place.

Tags are merged in one documented order — the spec's global ``tags``, then a resource's own tags,
then mlfabric's identity tags (``mlfabric-platform``, ``mlfabric-environment``, ``managed-by``),
which nothing may override because policies and cost reports group by them — and then rendered
for the cloud by its kit's ``render_tags``: as given (:func:`as_given`), or as GCP labels,
lowercased and validated again after the merge (``components/gcp/tags.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Final

import pulumi

MANAGED_BY: Final = "mlfabric"


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


def as_given(tags: Mapping[str, str]) -> dict[str, str]:
    """Merged tags unchanged: for clouds whose tags take any key and value the spec allows."""
    return dict(tags)


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


def original_name(name: str, renamed_from: Sequence[str]) -> str:
    """The name an item was first created with: physical names keep deriving from it after renames
    (an S3 bucket, a GCS bucket or an ECR repository cannot change its name without being replaced)."""
    return renamed_from[0] if renamed_from else name


def rename_aliases(resource_name: str, name: str, renamed_from: Sequence[str]) -> list[pulumi.Alias]:
    """Aliases that keep a resource's identity after its spec item was renamed from ``renamed_from``.

    ``resource_name`` is the Pulumi name the resource gets now; it contains the item's current
    ``name`` (its last occurrence is replaced by each previous name). Same type, same parent: only the
    name part of the URN changes, so ``pulumi up`` moves the state instead of replacing the resource.
    """
    at = resource_name.rfind(name)
    if at < 0:
        raise ValueError(f"resource name {resource_name!r} does not contain the item name {name!r}")
    return [pulumi.Alias(name=resource_name[:at] + old + resource_name[at + len(name):]) for old in renamed_from]
