"""Tags as GCP takes them: labels, lowercased and validated again after the merge (SDK-free; the
kit's ``render_tags``). A label that is still invalid is an error, never silently rewritten."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from mlfabric.components.naming import NamingError

LABEL_KEY: Final = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE: Final = re.compile(r"^[a-z0-9_-]{0,63}$")


def render_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """Merged tags as GCP labels: lowercased, each key and value re-validated, no two keys merged."""
    labels: dict[str, str] = {}
    for key, value in tags.items():
        label_key, label_value = key.lower(), value.lower()
        if not LABEL_KEY.match(label_key):
            raise NamingError(f"tags.{key}: not a valid GCP label key once lowercased (got {key!r})")
        if not LABEL_VALUE.match(label_value):
            raise NamingError(f"tags.{key}: not a valid GCP label value once lowercased (got {value!r})")
        if label_key in labels:
            raise NamingError(f"tags.{key}: collides with another key once lowercased (got {key!r})")
        labels[label_key] = label_value
    return labels
