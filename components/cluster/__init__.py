"""GPU training cluster: the outputs every cloud's cluster component exposes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pulumi


@runtime_checkable
class ClusterOutputs(Protocol):
    """What serving, RBAC and the stack outputs read from the cluster."""

    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    # a kubeconfig for the cluster; always a secret
    kubeconfig: pulumi.Output[str]
    # OIDC issuer URL used for workload identity (IRSA, GKE Workload Identity, AKS workload identity)
    oidc_issuer_url: pulumi.Output[str]
    # spec GPU pool name -> node group / node pool name
    gpu_pool_names: pulumi.Output[dict[str, str]]
