"""How the deployer reaches the AKS API server, and the in-cluster add-ons applied through it.

Creates, through a ``kubernetes.Provider`` built from the cluster's user kubeconfig (all children
of the cluster component): the NVIDIA device plugin (``mlfabric.components.kubernetes.device_plugin``),
also tolerating the taint AKS puts on Spot nodes (AKS installs the NVIDIA driver on GPU node pools,
not the device plugin); Kueue, JobSet and one ResourceFlavor per GPU pool
(``mlfabric.components.kubernetes.queueing``; no ProvisioningRequest class: queued provisioning is
refused on Azure); with a shared file system, the Azure Lustre CSI driver's node plugin
(``shared_fs.install_csi_driver``).

The Cluster Autoscaler needs no manifest on AKS: it is part of the managed control plane (the
cluster's autoscaler profile and each pool's min/max).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s
import yaml

from mlfabric.components.kubernetes import queueing
from mlfabric.components.kubernetes.device_plugin import kubernetes_provider, nvidia_device_plugin
from mlfabric.components.kubernetes.gpu_pool import GpuPool
from mlfabric.components.kubernetes.kubeconfig import exec_plugin

# AKS's Entra ID server application: the audience of every cluster token (the same in every tenant).
AKS_AAD_SERVER_ID: Final = "6dae42f8-4368-4678-94ff-3960e28e3630"
# AKS taints every Spot node with it (``=spot:NoSchedule``).
SPOT_TAINT_KEY: Final = "kubernetes.azure.com/scalesetpriority"


def certificate_authority(kubeconfigs: list[str]) -> str:
    """The cluster CA (base64 PEM) from the base64-encoded kubeconfigs AKS returns."""
    for encoded in kubeconfigs:
        document = yaml.safe_load(base64.b64decode(encoded)) or {}
        for cluster in document.get("clusters") or []:
            data = (cluster.get("cluster") or {}).get("certificate-authority-data")
            if data:
                return str(data)
    raise pulumi.RunError("training: AKS returned no kubeconfig with a certificate authority")


def aks_credentials() -> dict[str, Any]:
    """The kubeconfig's exec stanza: ``kubelogin`` with the Azure CLI credentials of whoever runs
    Pulumi (never interactive). Local accounts are off, so this is the only way in."""
    return exec_plugin("kubelogin", ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_ID])


@dataclass(frozen=True)
class ClusterAddons:
    """What the teams concern builds on: the provider into the cluster and the queueing engine."""

    provider: k8s.Provider
    device_plugin: k8s.apps.v1.DaemonSet
    queueing: queueing.Queueing


def install(
    name: str,
    kubeconfig: pulumi.Output[str],
    cluster_identifier: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
    pools: Sequence[GpuPool] = (),
) -> ClusterAddons:
    """Declare the Kubernetes provider, the NVIDIA device plugin, Kueue, JobSet and the pools' flavors."""
    provider = kubernetes_provider(name, kubeconfig, cluster_identifier, parent)
    inside = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on)
    plugin = nvidia_device_plugin(name, inside, tolerated_taints=[SPOT_TAINT_KEY])
    # The system pool is inline in the cluster, so its nodes exist once the cluster does (depends_on).
    queues = queueing.install(name, pools, inside)
    return ClusterAddons(provider=provider, device_plugin=plugin, queueing=queues)
