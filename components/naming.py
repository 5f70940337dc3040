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
from collections.abc import Mapping
from typing import Final

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
