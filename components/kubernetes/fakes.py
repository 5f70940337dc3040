"""Fake Kubernetes answers: metadata as the API server fills it in."""

from __future__ import annotations

import hashlib
from typing import Any, Final

from mlfabric.components.fakes import World

# Kinds that live outside any namespace: the API server gives them no metadata.namespace.
_CLUSTER_SCOPED: Final = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
        "CSIDriver", "PriorityClass", "RuntimeClass", "CustomResourceDefinition",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService",
    }
)


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of a ``kubernetes:`` resource."""
    kind = typ.rsplit(":", 1)[-1]
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", name)
    digest = hashlib.sha256(f"{world.stack}/{typ}/{name}".encode()).hexdigest()
    metadata.setdefault("uid", f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}")
    metadata.setdefault("resourceVersion", str(int(digest[:6], 16)))
    metadata.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
    if kind in _CLUSTER_SCOPED:
        metadata.pop("namespace", None)
        return {"metadata": metadata, "__id": metadata["name"]}
    metadata.setdefault("namespace", "default")
    return {"metadata": metadata, "__id": f"{metadata['namespace']}/{metadata['name']}"}
