"""Fake Kubernetes answers: metadata as the API server fills it in."""

from __future__ import annotations

from typing import Any

from mlfabric.mocks.world import World


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of a ``kubernetes:`` resource."""
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", name)
    metadata.setdefault("namespace", "default")
    return {"metadata": metadata, "__id": f"{metadata['namespace']}/{metadata['name']}"}
