"""What a GPU cluster gets through the Kubernetes API where the cloud does not install it itself.

Creates (children of the calling cluster component):

- ``pulumi:providers:kubernetes`` built from the cluster's kubeconfig, server-side apply on;
- the NVIDIA device plugin, an ``apps/v1:DaemonSet`` in ``kube-system``: it tolerates the GPU taint
  (and whatever taint the cloud adds to GPU nodes, e.g. AKS's Spot taint), runs only on nodes
  carrying the accelerator label and advertises ``nvidia.com/gpu`` to the scheduler. EKS's NVIDIA
  AMI and AKS install the driver and container toolkit, not the plugin; GKE installs both itself.
  Hardened beyond upstream's static manifest (``deployments/static/nvidia-device-plugin.yml``, which
  drops every capability and forbids privilege escalation, and needs no ``privileged`` flag): the
  RuntimeDefault seccomp profile, a read-only root filesystem (the plugin writes only its socket, in
  the host path it mounts), no service-account token (it talks to the kubelet over that socket, never
  to the API server), non-root is NOT forced (the kubelet's socket directory is root-owned);
- a ``networking.k8s.io/v1:NetworkPolicy`` in ``kube-system`` selecting the plugin's pods that allows
  no ingress and no egress: the plugin has no network peer at all (kubelet traffic is a unix socket).

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
# every GPU cluster's plan (EKS and AKS; GKE runs its own plugin). Pinned by tag, not digest: no public
# source we could read (the repository, its release notes) states the digest NGC serves for the tag,
# and a digest copied from a registry response is not a verification. Pin it by digest (``...@sha256:``)
# once an NVIDIA-published digest is at hand; the pack's mlf-k8s-workload-hardening reports tags.
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
            read_only_root_filesystem=True,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "32Mi"}, limits={"memory": "128Mi"}),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="device-plugin", mount_path=DEVICE_PLUGIN_SOCKETS)],
    )


def isolate_pods(
    logical: str, name: str, namespace: str, selector: dict[str, str], opts: pulumi.ResourceOptions,
    *, egress: Sequence[k8s.networking.v1.NetworkPolicyEgressRuleArgs] = (),
) -> k8s.networking.v1.NetworkPolicy:
    """A NetworkPolicy that denies the selected platform pods every ingress and every egress but
    ``egress`` (an add-on that calls the API server passes a rule for it)."""
    return k8s.networking.v1.NetworkPolicy(
        logical,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels={**selector, **MANAGED_BY}),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            policy_types=["Ingress", "Egress"],
            ingress=[],
            egress=list(egress),
        ),
        opts=opts,
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
    isolate_pods(f"{name}-{DEVICE_PLUGIN_APP}", DEVICE_PLUGIN_APP, "kube-system", selector, opts)
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
                    # The plugin never calls the API server: no token in the pod.
                    automount_service_account_token=False,
                    security_context=k8s.core.v1.PodSecurityContextArgs(
                        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                    ),
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
