"""What a GPU cluster gets through the Kubernetes API where the cloud does not install it itself.

Creates (children of the calling cluster component):

- ``pulumi:providers:kubernetes`` built from the cluster's kubeconfig, server-side apply on;
- the NVIDIA device plugin, an ``apps/v1:DaemonSet`` in ``kube-system``: it tolerates the GPU taint
  (and whatever taint the cloud adds to GPU nodes, e.g. AKS's Spot taint), runs only on nodes
  carrying the accelerator label and advertises ``nvidia.com/gpu`` to the scheduler. EKS's NVIDIA
  AMI and AKS install the driver and container toolkit, not the plugin; GKE installs both itself.

A plain manifest rather than a Helm release: every field a policy or a test cares about
(tolerations, affinity, image) is an input the engine and the offline plan see, and nothing is
fetched from a chart repository at deploy time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from mlfabric.components.kubernetes.gpu_pool import ACCELERATOR_LABEL, GPU_TAINT

# The version is NVIDIA's release tag of github.com/NVIDIA/k8s-device-plugin (v0.17.0), and the image
# the one NVIDIA publishes for that tag on NGC (nvcr.io). Pinned, and defined here only, so no cluster
# changes under a running platform: moving to a newer release is one deliberate edit that shows in
# every GPU cluster's plan (EKS and AKS; GKE runs its own plugin).
DEVICE_PLUGIN_IMAGE: Final = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0"
DEVICE_PLUGIN_APP: Final = "nvidia-device-plugin"
# The kubelet's device-plugin socket directory: the one host path the plugin needs.
DEVICE_PLUGIN_SOCKETS: Final = "/var/lib/kubelet/device-plugins"
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "mlfabric"}


def kubernetes_provider(
    name: str, kubeconfig: pulumi.Output[str], cluster_identifier: pulumi.Input[str], parent: pulumi.Resource
) -> k8s.Provider:
    """The provider every in-cluster object of ``parent``'s cluster is applied through.

    ``cluster_identifier`` (the cluster's id) is what replaces the provider: a new kubeconfig text
    (a rotated CA, a renewed endpoint) must not replace every object applied through it."""
    return k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        cluster_identifier=cluster_identifier,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _gpu_nodes_only(node_label: str) -> k8s.core.v1.AffinityArgs:
    return k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                node_selector_terms=[
                    k8s.core.v1.NodeSelectorTermArgs(
                        match_expressions=[k8s.core.v1.NodeSelectorRequirementArgs(key=node_label, operator="Exists")]
                    )
                ]
            )
        )
    )


def _plugin_container() -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        name=DEVICE_PLUGIN_APP,
        image=DEVICE_PLUGIN_IMAGE,
        # Keep running (and report 0 GPUs) rather than crash-loop on a node whose driver is still
        # initialising.
        env=[k8s.core.v1.EnvVarArgs(name="FAIL_ON_INIT_ERROR", value="false")],
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        ),
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "32Mi"}, limits={"memory": "128Mi"}),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="device-plugin", mount_path=DEVICE_PLUGIN_SOCKETS)],
    )


def nvidia_device_plugin(
    name: str,
    opts: pulumi.ResourceOptions,
    *,
    node_label: str = ACCELERATOR_LABEL,
    tolerated_taints: Sequence[str] = (),
) -> k8s.apps.v1.DaemonSet:
    """The NVIDIA device plugin on every GPU node (and nowhere else).

    ``opts`` carry the parent, the Kubernetes provider and what the DaemonSet waits for;
    ``node_label`` is the label whose presence marks a GPU node; ``tolerated_taints`` are the keys
    of NoSchedule taints the cloud puts on GPU nodes besides the GPU taint."""
    selector = {"app.kubernetes.io/name": DEVICE_PLUGIN_APP}
    tolerations = [
        k8s.core.v1.TolerationArgs(key=key, operator="Exists", effect=GPU_TAINT.effect)
        for key in (GPU_TAINT.key, *tolerated_taints)
    ]
    return k8s.apps.v1.DaemonSet(
        f"{name}-{DEVICE_PLUGIN_APP}",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=DEVICE_PLUGIN_APP, namespace="kube-system", labels={**selector, **MANAGED_BY}
        ),
        spec=k8s.apps.v1.DaemonSetSpecArgs(
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**selector, **MANAGED_BY}),
                spec=k8s.core.v1.PodSpecArgs(
                    priority_class_name="system-node-critical",
                    tolerations=tolerations,
                    affinity=_gpu_nodes_only(node_label),
                    containers=[_plugin_container()],
                    volumes=[
                        k8s.core.v1.VolumeArgs(
                            name="device-plugin",
                            host_path=k8s.core.v1.HostPathVolumeSourceArgs(path=DEVICE_PLUGIN_SOCKETS),
                        )
                    ],
                ),
            ),
        ),
        opts=opts,
    )
