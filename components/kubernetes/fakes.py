"""Fake Kubernetes answers: metadata as the API server fills it in.

Which outputs a kind computes (``status``…) comes from the installed ``pulumi_kubernetes`` SDK
(``derived_outputs``); custom resources (no SDK class: CRD kinds) echo their inputs, as the API
server stores them. This module only fills ``metadata`` the way the API server does (uid,
resourceVersion, creationTimestamp, the default namespace) and forms ids (``<namespace>/<name>``, or
the name alone for cluster-scoped kinds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mlfabric.components.derived_outputs import TIMESTAMP, Style, complete, schema_of
from mlfabric.components.fakes import Registration, World, digest, uuid_of

# Kinds that live outside any namespace: the API server gives them no metadata.namespace.
_CLUSTER_SCOPED: Final = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
        "CSIDriver", "PriorityClass", "RuntimeClass", "CustomResourceDefinition",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService",
    }
)

STYLE: Final = Style(
    cloud="kubernetes",
    rules={},
    host=lambda r: f"{r.physical}.svc.cluster.local",
    ready="True",
)


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of a ``kubernetes:`` resource (``__id``: its id)."""
    kind = typ.rsplit(":", 1)[-1]
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", name)
    seed = f"{world.stack}/{typ}/{name}"
    metadata.setdefault("uid", uuid_of(seed))
    metadata.setdefault("resourceVersion", str(int(digest(seed, length=6), 16)))
    metadata.setdefault("creationTimestamp", TIMESTAMP)
    if is_custom_resource(typ):
        # A custom resource (Kueue's queues and flavors): the API server stores what it was given and
        # fills in metadata; its status is the controller's, which nothing here reads. Whether the kind
        # is namespaced is the CRD's to say: the manifest's own namespace (or none) is taken as given.
        resource_id = f"{metadata['namespace']}/{metadata['name']}" if metadata.get("namespace") else metadata["name"]
        return {**inputs, "metadata": metadata, "__id": resource_id}
    if kind in _CLUSTER_SCOPED:
        metadata.pop("namespace", None)
        resource_id = metadata["name"]
    else:
        metadata.setdefault("namespace", "default")
        resource_id = f"{metadata['namespace']}/{metadata['name']}"
    r = Registration(typ, name, inputs, world, physical=str(metadata["name"]), resource_id=resource_id)
    schema = schema_of(typ)
    if schema is not None and "metadata" not in schema.outputs:
        # A Helm chart (helm.sh/v4) is a component the provider expands: it has no metadata of its own.
        return complete(r, {"__id": resource_id}, STYLE)
    return complete(r, {"metadata": metadata, "__id": resource_id}, STYLE)


def is_custom_resource(typ: str) -> bool:
    """A kind of a CustomResourceDefinition: an API group named like a domain that no SDK class declares
    (``kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue``, declared through ``apiextensions.CustomResource``)."""
    group = typ.split(":")[1].split("/", maxsplit=1)[0] if typ.count(":") == 2 else ""
    return "." in group and schema_of(typ) is None


INVOKES: dict[str, Callable[[dict[str, Any], World], dict[str, Any]]] = {}
