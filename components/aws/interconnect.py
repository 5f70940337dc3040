"""EFA for GPU pools whose instance type has it (``gpu_pools[].interconnect: auto``).

Creates, for a training cluster with at least one such pool (children of the cluster component):

- one ``aws:ec2/securityGroup:SecurityGroup`` for EFA traffic with an ingress and an egress rule
  allowing all traffic to and from the group itself and nothing else: "The EFA must be a member of a
  security group that allows all inbound and outbound traffic to and from the security group
  itself" (EC2 user guide, EFA limitations);
- per EFA pool an ``aws:ec2/placementGroup:PlacementGroup`` with strategy ``cluster`` (nodes packed
  close together in one Availability Zone for low latency); the pool's launch template places its
  nodes there and carries one EFA network interface per network card (``efa_instance_types.json``),
  the first at device index 0 with the cluster security group and the EFA group, the others at
  device index 1 with the EFA group only (AWS's recommendation for multi-card types, "Maximize
  network bandwidth on instances with multiple network cards"). A cluster placement group is
  single-AZ and EFA's OS-bypass traffic does not cross subnets, so the pool's node group is pinned
  to the first private subnet (the cluster's first zone);
- through the cluster's Kubernetes provider, the AWS EFA Kubernetes device plugin (a DaemonSet in
  ``kube-system`` on nodes labelled ``mlfabric.dev/efa``) that advertises ``vpc.amazonaws.com/efa``
  to the scheduler, and a NetworkPolicy that gives its pods no network peer.

The device plugin follows the official chart (aws/eks-charts ``stable/aws-efa-k8s-device-plugin``
0.5.30, image v0.5.20): privileged (it opens the RDMA devices under ``/dev/infiniband``), with the
kubelet's device-plugin directory and ``/dev/infiniband`` mounted. Hardened beyond the chart: no
service-account token (it talks only to the kubelet's socket), not on the host network (nothing
listens; the chart's hostNetwork is not needed for a unix socket), no Neuron tools mount (GPU
nodes have none), and scheduled only on EFA pools' nodes rather than on every EFA-capable type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes.device_plugin import DEVICE_PLUGIN_SOCKETS, MANAGED_BY, isolate_pods
from mlfabric.components.kubernetes.gpu_pool import GPU_TAINT

# Nodes of a pool with EFA interfaces carry this label; the EFA device plugin runs only there.
EFA_LABEL: Final = "mlfabric.dev/efa"
EFA_RESOURCE: Final = "vpc.amazonaws.com/efa"
EFA_PLUGIN_APP: Final = "aws-efa-k8s-device-plugin"
# The chart's appVersion and default image (aws/eks-charts at 5239609, stable/aws-efa-k8s-device-plugin
# values.yaml). EKS publishes its add-on images in account 602401143452; the chart's default is the
# us-west-2 copy. Pinned by tag: no published digest for it could be read.
EFA_PLUGIN_IMAGE: Final = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin:v0.5.20"
INFINIBAND_DEVICES: Final = "/dev/infiniband"


def efa_security_group(owner: pulumi.Resource, ctx: PlatformContext, name: str,
                       vpc_id: pulumi.Input[str]) -> aws.ec2.SecurityGroup:
    """The group every EFA interface joins: all traffic to and from itself, nothing else."""
    child = pulumi.ResourceOptions(parent=owner)
    group = aws.ec2.SecurityGroup(
        f"{name}-efa",
        description=f"mlfabric {ctx.base_name}: EFA traffic between GPU nodes (all traffic within this group only)",
        vpc_id=vpc_id,
        tags=ctx.tags({"Name": f"{ctx.base_name}-efa"}),
        opts=child,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-efa-in",
        security_group_id=group.id,
        referenced_security_group_id=group.id,
        ip_protocol="-1",
        description="EFA: all traffic from members of this group",
        tags=ctx.tags(),
        opts=child,
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-efa-out",
        security_group_id=group.id,
        referenced_security_group_id=group.id,
        ip_protocol="-1",
        description="EFA: all traffic to members of this group",
        tags=ctx.tags(),
        opts=child,
    )
    return group


def placement_group(owner: pulumi.Resource, ctx: PlatformContext, logical: str,
                    opts: pulumi.ResourceOptions) -> aws.ec2.PlacementGroup:
    """A cluster placement group for one pool (single Availability Zone)."""
    return aws.ec2.PlacementGroup(
        logical,
        strategy="cluster",
        tags=ctx.tags(),
        opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=owner), opts),
    )


def efa_network_interfaces(
    count: int, node_groups: Sequence[pulumi.Input[str]], efa_group: pulumi.Input[str]
) -> list[aws.ec2.LaunchTemplateNetworkInterfaceArgs]:
    """One EFA interface per network card: the first (device index 0) also carries the node's usual
    security groups, the others (device index 1) only the EFA group."""
    return [
        aws.ec2.LaunchTemplateNetworkInterfaceArgs(
            network_card_index=card,
            device_index=0 if card == 0 else 1,
            interface_type="efa",
            security_groups=[*node_groups, efa_group] if card == 0 else [efa_group],
            delete_on_termination="true",
        )
        for card in range(count)
    ]


def efa_device_plugin(name: str, opts: pulumi.ResourceOptions) -> k8s.apps.v1.DaemonSet:
    """The EFA device plugin on EFA pools' nodes, advertising ``vpc.amazonaws.com/efa``."""
    selector = {"app.kubernetes.io/name": EFA_PLUGIN_APP}
    isolate_pods(f"{name}-{EFA_PLUGIN_APP}", EFA_PLUGIN_APP, "kube-system", selector, opts)
    host = k8s.core.v1.HostPathVolumeSourceArgs
    return k8s.apps.v1.DaemonSet(
        f"{name}-{EFA_PLUGIN_APP}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=EFA_PLUGIN_APP, namespace="kube-system",
                                            labels={**selector, **MANAGED_BY}),
        spec=k8s.apps.v1.DaemonSetSpecArgs(
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**selector, **MANAGED_BY}),
                spec=k8s.core.v1.PodSpecArgs(
                    priority_class_name="system-node-critical",
                    automount_service_account_token=False,
                    node_selector={EFA_LABEL: "true"},
                    tolerations=[
                        k8s.core.v1.TolerationArgs(key=GPU_TAINT.key, operator="Exists", effect=GPU_TAINT.effect),
                        k8s.core.v1.TolerationArgs(key="CriticalAddonsOnly", operator="Exists"),
                    ],
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name=EFA_PLUGIN_APP,
                            image=EFA_PLUGIN_IMAGE,
                            # Privileged as in the official chart: it opens the RDMA devices.
                            security_context=k8s.core.v1.SecurityContextArgs(
                                privileged=True, allow_privilege_escalation=True, run_as_user=0,
                                run_as_non_root=False,
                            ),
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "10m", "memory": "20Mi"}, limits={"memory": "128Mi"}),
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="device-plugin", mount_path=DEVICE_PLUGIN_SOCKETS),
                                k8s.core.v1.VolumeMountArgs(name="infiniband", mount_path=INFINIBAND_DEVICES),
                            ],
                        )
                    ],
                    volumes=[
                        k8s.core.v1.VolumeArgs(name="device-plugin", host_path=host(path=DEVICE_PLUGIN_SOCKETS)),
                        k8s.core.v1.VolumeArgs(name="infiniband", host_path=host(path=INFINIBAND_DEVICES)),
                    ],
                ),
            ),
        ),
        opts=opts,
    )
