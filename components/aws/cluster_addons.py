"""In-cluster add-ons of the AWS training cluster, declared with pulumi-kubernetes.

Creates, through the ``kubernetes.Provider`` built from the cluster's kubeconfig (all children of the
cluster component):

- the NVIDIA device plugin (``mlfabric.components.kubernetes.device_plugin``; the EKS AL2023 NVIDIA
  AMI ships the driver and container toolkit, not the plugin);
- the Cluster Autoscaler: ``ServiceAccount`` (annotated with its IRSA role), ``ClusterRole`` +
  ``ClusterRoleBinding``, ``Role`` + ``RoleBinding`` (its status config map and lease in
  ``kube-system``) and a ``apps/v1:Deployment`` on the system nodes that auto-discovers this
  cluster's node groups by tag: non-root, seccomp RuntimeDefault, read-only root filesystem, no
  privilege escalation, no capabilities, its image pinned by digest where one is known
  (``AUTOSCALER_DIGESTS``); it keeps its service-account token (it needs it); and a
  ``networking.k8s.io/v1:NetworkPolicy`` selecting its pods: no ingress, egress to DNS and HTTPS only.

Plain manifests rather than Helm releases: every field a policy or a test cares about (tolerations,
affinity, image, flags, RBAC rules) is an input the engine and the offline plan see, nothing is
fetched from a chart repository at deploy time, and there is no chart templating to trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from mlfabric.components.kubernetes.device_plugin import MANAGED_BY, kubernetes_provider, nvidia_device_plugin

AUTOSCALER_SERVICE_ACCOUNT: Final = ("kube-system", "cluster-autoscaler")
# The Cluster Autoscaler's minor version must match the cluster's Kubernetes minor version.
AUTOSCALER_IMAGE: Final = "registry.k8s.io/autoscaling/cluster-autoscaler:v{kubernetes_version}.0"
# Multi-architecture manifest digests of those tags, pinned so a re-pushed tag cannot change what
# runs. Only digests confirmed by two independent public pins (checked 2026-12-01) are listed:
# v1.31.0 (edgelesssys/constellation's renovate-managed versions table) and v1.35.0 (two unrelated
# EKS projects). A version without a row keeps its tag (1.32-1.34: no digest could be verified).
AUTOSCALER_DIGESTS: Final[dict[str, str]] = {
    "1.31": "sha256:6d4c51c35f344d230341d71bb6d35f2c2f0c0a6f205a7887ae44e6d852fb5b5f",
    "1.35": "sha256:2fc9433dd3b47baef0e68d6b1110b770a3c93db10c7bead4c5bc6cb21c72b875",
}


def autoscaler_image(kubernetes_version: str) -> str:
    """The Cluster Autoscaler image for a cluster version: tag and, where known, digest."""
    image = AUTOSCALER_IMAGE.format(kubernetes_version=kubernetes_version)
    digest = AUTOSCALER_DIGESTS.get(kubernetes_version)
    return f"{image}@{digest}" if digest else image


@dataclass(frozen=True)
class AddonArgs:
    """What the in-cluster add-ons need to know about the cluster."""

    kubeconfig: pulumi.Output[str]
    # Changes of this value (not of the kubeconfig text) replace the Kubernetes provider.
    cluster_identifier: pulumi.Input[str]
    cluster_name: str
    region: str
    kubernetes_version: str
    autoscaler_role_arn: pulumi.Input[str]
    # the label whose presence marks a GPU node (where the device plugin runs)
    gpu_node_label: str
    system_node_selector: dict[str, str] = field(default_factory=dict)


def install(
    name: str,
    args: AddonArgs,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> k8s.Provider:
    """Declare the Kubernetes provider, the NVIDIA device plugin and the Cluster Autoscaler."""
    provider = kubernetes_provider(name, args.kubeconfig, args.cluster_identifier, parent)
    # Workloads wait for the system nodes: a Deployment with no node to run on never gets ready.
    opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on)
    nvidia_device_plugin(name, opts, node_label=args.gpu_node_label)
    cluster_autoscaler(name, args, opts)
    return provider


def _meta(name: str, namespace: str | None = "kube-system", **extra: object) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace,
        labels={"app.kubernetes.io/name": name, **MANAGED_BY},
        **extra,  # type: ignore[arg-type]
    )


def _autoscaler_cluster_rules() -> list[k8s.rbac.v1.PolicyRuleArgs]:
    read = ["watch", "list", "get"]
    rule = k8s.rbac.v1.PolicyRuleArgs
    return [
        rule(api_groups=[""], resources=["events", "endpoints"], verbs=["create", "patch"]),
        rule(api_groups=[""], resources=["pods/eviction"], verbs=["create"]),
        rule(api_groups=[""], resources=["pods/status"], verbs=["update"]),
        rule(api_groups=[""], resources=["endpoints"], resource_names=["cluster-autoscaler"], verbs=["get", "update"]),
        rule(api_groups=[""], resources=["nodes"], verbs=[*read, "update"]),
        rule(
            api_groups=[""],
            resources=[
                "namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims",
                "persistentvolumes",
            ],
            verbs=read,
        ),
        rule(api_groups=["policy"], resources=["poddisruptionbudgets"], verbs=["watch", "list"]),
        rule(api_groups=["apps"], resources=["statefulsets", "replicasets", "daemonsets"], verbs=read),
        rule(
            api_groups=["storage.k8s.io"],
            resources=["storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"],
            verbs=read,
        ),
        rule(api_groups=["batch"], resources=["jobs", "cronjobs"], verbs=[*read, "patch"]),
        rule(api_groups=["coordination.k8s.io"], resources=["leases"], verbs=["create"]),
        rule(
            api_groups=["coordination.k8s.io"],
            resources=["leases"],
            resource_names=["cluster-autoscaler"],
            verbs=["get", "update"],
        ),
    ]


def _autoscaler_network_policy(
    logical: str, app: str, namespace: str, selector: dict[str, str], opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """No ingress (nothing scrapes or calls the autoscaler); egress only to DNS and HTTPS: the API
    server and the AWS APIs it scales through (Auto Scaling, EC2, STS), whose addresses are not
    fixed, so HTTPS is not narrowed to a CIDR. Enforced by the VPC CNI's network policy agent."""
    port = k8s.networking.v1.NetworkPolicyPortArgs
    return k8s.networking.v1.NetworkPolicy(
        logical,
        metadata=_meta(app, namespace),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            policy_types=["Ingress", "Egress"],
            ingress=[],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    ports=[port(protocol="UDP", port=53), port(protocol="TCP", port=53)]
                ),
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=[port(protocol="TCP", port=443)]),
            ],
        ),
        opts=opts,
    )


def cluster_autoscaler(name: str, args: AddonArgs, opts: pulumi.ResourceOptions) -> k8s.apps.v1.Deployment:
    """The Cluster Autoscaler, discovering this cluster's node groups by their tags."""
    namespace, app = AUTOSCALER_SERVICE_ACCOUNT
    logical = f"{name}-cluster-autoscaler"
    subject = k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=app, namespace=namespace)
    account = k8s.core.v1.ServiceAccount(
        logical,
        metadata=_meta(app, annotations={"eks.amazonaws.com/role-arn": args.autoscaler_role_arn}),
        opts=opts,
    )
    cluster_role = k8s.rbac.v1.ClusterRole(logical, metadata=_meta(app, None), rules=_autoscaler_cluster_rules(), opts=opts)
    k8s.rbac.v1.ClusterRoleBinding(
        logical,
        metadata=_meta(app, None),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=app),
        subjects=[subject],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[cluster_role])),
    )
    role = k8s.rbac.v1.Role(
        logical,
        metadata=_meta(app),
        rules=[
            k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["configmaps"], verbs=["create", "list", "watch"]),
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[""],
                resources=["configmaps"],
                resource_names=["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
                verbs=["delete", "get", "update", "watch"],
            ),
        ],
        opts=opts,
    )
    k8s.rbac.v1.RoleBinding(
        logical,
        metadata=_meta(app),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=app),
        subjects=[subject],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
    )
    selector = {"app.kubernetes.io/name": app}
    _autoscaler_network_policy(logical, app, namespace, selector, opts)
    return k8s.apps.v1.Deployment(
        logical,
        metadata=_meta(app),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=1,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    labels={**selector, **MANAGED_BY},
                    # Never evict the autoscaler while it scales down the node it runs on.
                    annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                ),
                spec=k8s.core.v1.PodSpecArgs(
                    service_account_name=app,
                    # Kept on purpose: the autoscaler talks to the API server with this token and
                    # exchanges it for its IRSA role's credentials.
                    automount_service_account_token=True,
                    priority_class_name="system-cluster-critical",
                    node_selector=args.system_node_selector or None,
                    security_context=k8s.core.v1.PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=65534,
                        fs_group=65534,
                        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name=app,
                            image=autoscaler_image(args.kubernetes_version),
                            command=[
                                "./cluster-autoscaler",
                                "--cloud-provider=aws",
                                f"--namespace={namespace}",
                                "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
                                f"k8s.io/cluster-autoscaler/{args.cluster_name}",
                                "--balance-similar-node-groups",
                                "--expander=least-waste",
                                "--skip-nodes-with-local-storage=false",
                                "--stderrthreshold=info",
                                "--v=2",
                            ],
                            # IMDS is out of the pods' reach (hop limit 1): the region comes from here.
                            env=[k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=args.region)],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "100m", "memory": "600Mi"}, limits={"memory": "600Mi"}
                            ),
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                read_only_root_filesystem=True,
                                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                            ),
                        )
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account])),
    )
