"""In-cluster add-ons of the Azure training cluster, declared with pulumi-kubernetes.

Creates, through a ``kubernetes.Provider`` built from the cluster's user kubeconfig (both children
of the cluster component): the NVIDIA device plugin as an ``apps/v1:DaemonSet`` in ``kube-system``.
It tolerates the GPU taint (and the Spot taint AKS puts on Spot pools), runs only on nodes carrying
the accelerator label and advertises ``nvidia.com/gpu`` to the scheduler: AKS installs the NVIDIA
driver on GPU node pools, not the device plugin.

The Cluster Autoscaler needs no manifest on AKS: it is part of the managed control plane (the
cluster's autoscaler profile and each pool's min/max).

A plain manifest rather than a Helm release, as on AWS: every field a policy or test cares about is
an input the engine and the offline plan see.
"""

from __future__ import annotations

import base64
import json
from typing import Final

import pulumi
import pulumi_kubernetes as k8s
import yaml

DEVICE_PLUGIN_IMAGE: Final = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"
# AKS's Entra ID server application: the audience of every cluster token (the same in every tenant).
AKS_AAD_SERVER_ID: Final = "6dae42f8-4368-4678-94ff-3960e28e3630"
SPOT_TAINT_KEY: Final = "kubernetes.azure.com/scalesetpriority"
_MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "mlfabric"}


def certificate_authority(kubeconfigs: list[str]) -> str:
    """The cluster CA (base64 PEM) from the base64-encoded kubeconfigs AKS returns."""
    for encoded in kubeconfigs:
        document = yaml.safe_load(base64.b64decode(encoded)) or {}
        for cluster in document.get("clusters") or []:
            data = (cluster.get("cluster") or {}).get("certificate-authority-data")
            if data:
                return str(data)
    raise pulumi.RunError("training: AKS returned no kubeconfig with a certificate authority")


def kubeconfig_json(cluster_name: str, server: str, ca_data: str) -> str:
    """A kubeconfig that logs in with ``kubelogin`` as whoever runs Pulumi (Azure CLI credentials,
    never interactive): local accounts are off, so this is the only way in."""
    user = f"mlfabric-{cluster_name}"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "kubelogin",
                            "args": ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_ID],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        }
    )


def install(
    name: str,
    kubeconfig: pulumi.Output[str],
    cluster_identifier: pulumi.Input[str],
    gpu_taint_key: str,
    gpu_node_label: str,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> k8s.apps.v1.DaemonSet:
    """Declare the Kubernetes provider and the NVIDIA device plugin."""
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        cluster_identifier=cluster_identifier,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    app = "nvidia-device-plugin"
    selector = {"app.kubernetes.io/name": app}
    toleration = k8s.core.v1.TolerationArgs
    return k8s.apps.v1.DaemonSet(
        f"{name}-nvidia-device-plugin",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace="kube-system", labels={**selector, **_MANAGED_BY}),
        spec=k8s.apps.v1.DaemonSetSpecArgs(
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**selector, **_MANAGED_BY}),
                spec=k8s.core.v1.PodSpecArgs(
                    priority_class_name="system-node-critical",
                    tolerations=[
                        toleration(key=gpu_taint_key, operator="Exists", effect="NoSchedule"),
                        toleration(key=SPOT_TAINT_KEY, operator="Exists", effect="NoSchedule"),
                    ],
                    affinity=k8s.core.v1.AffinityArgs(
                        node_affinity=k8s.core.v1.NodeAffinityArgs(
                            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                                node_selector_terms=[
                                    k8s.core.v1.NodeSelectorTermArgs(
                                        match_expressions=[
                                            k8s.core.v1.NodeSelectorRequirementArgs(key=gpu_node_label, operator="Exists")
                                        ]
                                    )
                                ]
                            )
                        )
                    ),
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name=app,
                            image=DEVICE_PLUGIN_IMAGE,
                            env=[k8s.core.v1.EnvVarArgs(name="FAIL_ON_INIT_ERROR", value="false")],
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                            ),
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "10m", "memory": "32Mi"}, limits={"memory": "128Mi"}
                            ),
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="device-plugin", mount_path="/var/lib/kubelet/device-plugins")
                            ],
                        )
                    ],
                    volumes=[
                        k8s.core.v1.VolumeArgs(
                            name="device-plugin",
                            host_path=k8s.core.v1.HostPathVolumeSourceArgs(path="/var/lib/kubelet/device-plugins"),
                        )
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on),
    )
