"""The kubeconfig every cluster exports (and the Kubernetes provider reads), rendered once.

Creates no resource. A kubeconfig names one cluster (API server and CA) and one user who logs in
through an exec credential plugin: each cloud supplies only that plugin's stanza (``aws eks
get-token``, ``gke-gcloud-auth-plugin``, ``kubelogin``), so the file holds no static token and
whoever runs Pulumi (or kubectl) authenticates as themselves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pulumi

EXEC_API_VERSION: Final = "client.authentication.k8s.io/v1beta1"


def exec_plugin(command: str, args: Sequence[str] = (), options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``users[].user.exec`` stanza of a credential plugin. Never interactive: Pulumi and CI have
    no terminal to answer a prompt on."""
    return {
        "apiVersion": EXEC_API_VERSION,
        "command": command,
        **({"args": list(args)} if args else {}),
        **(options or {}),
        "interactiveMode": "Never",
    }


def kubeconfig_json(cluster_name: str, server: str, ca_data: str, credentials: Mapping[str, Any]) -> str:
    """A kubeconfig for one cluster whose user logs in with the exec plugin ``credentials``."""
    user = f"mlfabric-{cluster_name}"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user}}],
            "current-context": cluster_name,
            "users": [{"name": user, "user": {"exec": dict(credentials)}}],
        }
    )


def kubeconfig_secret(
    cluster_name: pulumi.Input[str],
    server: pulumi.Input[str],
    ca_data: pulumi.Input[str | None],
    credentials: Mapping[str, Any],
) -> pulumi.Output[str]:
    """``kubeconfig_json`` of the cluster's outputs, as a Pulumi secret (it names the API server and
    its CA: not for plain-text stack outputs)."""
    return pulumi.Output.secret(
        pulumi.Output.all(cluster_name, server, ca_data).apply(
            lambda args: kubeconfig_json(args[0], args[1], args[2] or "", credentials)
        )
    )
