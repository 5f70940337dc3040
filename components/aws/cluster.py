"""AWS GPU training cluster: EKS with a system node group and one managed GPU node group per pool.

Creates:

- ``aws:kms/key:Key`` (rotation on) that envelope-encrypts Kubernetes secrets and, with audit
  logging, the control-plane ``aws:cloudwatch/logGroup:LogGroup`` ``/aws/eks/<cluster>/cluster``
  (declared so it has a retention and a key; EKS would otherwise create it unencrypted, kept forever);
- the cluster ``aws:iam/role:Role`` with the managed ``AmazonEKSClusterPolicy`` and an inline policy
  to use that key only;
- ``aws:eks/cluster:Cluster``: private endpoint on, public endpoint only when
  ``cluster.endpoint_public_cidrs`` lists CIDRs (and then only from them), secrets encryption,
  control-plane logs (api, audit, authenticator, controllerManager, scheduler) when
  ``cluster.audit_logging``, authentication mode ``API`` (access entries; the deployer is admin so
  the Kubernetes provider below can apply manifests), and deletion protection with the platform's;
- an ``aws:iam/openIdConnectProvider:OpenIdConnectProvider`` for IRSA;
- add-ons ``vpc-cni`` (network-policy enforcement on) and ``kube-proxy`` (before any node), ``coredns`` and ``aws-ebs-csi-driver``
  (after the system nodes; EBS CSI with its own IRSA role), each at the default version EKS
  publishes for the cluster's Kubernetes version;
- the node ``Role`` with exactly AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and
  AmazonEC2ContainerRegistryReadOnly;
- per node group an ``aws:ec2/launchTemplate:LaunchTemplate`` (IMDSv2 required with hop limit 1 so
  pods cannot borrow the node role, encrypted gp3 root volume sized from the spec) and an
  ``aws:eks/nodeGroup:NodeGroup``: the system group (``AL2023_x86_64_STANDARD``) and per GPU pool a
  group with the catalogue's instance type, ``AL2023_x86_64_NVIDIA``, spot or on-demand, ``min_nodes``
  possibly 0, and the taint and labels every cloud's GPU pool carries
  (``mlfabric.components.kubernetes.gpu_pool``) plus ``k8s.amazonaws.com/accelerator``. Desired
  size is left to the autoscaler (``ignore_changes``);
- per GPU pool ``aws:autoscaling/tag:Tag`` resources that copy the Cluster Autoscaler node-template
  tags onto the node group's Auto Scaling group: EKS does not propagate node-group tags to it, and
  the autoscaler reads the ASG to learn what a node of an empty (scaled-to-zero) pool would offer;
- through a ``kubernetes.Provider`` built from the cluster's kubeconfig (see ``aws_addons``; the
  kubeconfig logs in with ``aws eks get-token``): the NVIDIA device plugin DaemonSet and the Cluster
  Autoscaler (IRSA role scoped by tag to this cluster's node groups).

A GPU pool renamed in the spec (``gpu_pools[].renamed_from``) keeps its launch template, node group
and ASG tags through aliases (their auto-generated names come with them); only the pool's tags and
Kubernetes labels take the new name (updated in place).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from mlfabric.components import catalog
from mlfabric.components.aws import cluster_addons as aws_addons
from mlfabric.components.aws import interconnect, shared_fs
from mlfabric.components.aws.common import logs_key_policy, renamed
from mlfabric.components.aws.efa_catalog import efa_interfaces
from mlfabric.components.concerns import ClusterOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes import queueing
from mlfabric.components.kubernetes.gpu_pool import GPU_POOL_LABEL as GPU_POOL_LABEL  # noqa: PLC0414
from mlfabric.components.kubernetes.gpu_pool import (
    GPU_RESOURCE,
    SYSTEM_POOL_LABELS,
    SYSTEM_POOL_TAGS,
    GpuPool,
    pool_names,
)
from mlfabric.components.kubernetes.gpu_pool import SYSTEM_POOL_LABEL as SYSTEM_POOL_LABEL  # noqa: PLC0414
from mlfabric.components.kubernetes.kubeconfig import exec_plugin, kubeconfig_secret
from mlfabric.components.spec import TrainingSpec

# the bucket the shared file system links to (training.shared_fs.import_datasets)
DATASETS_BUCKET: Final = "datasets"
CONTROL_PLANE_LOG_TYPES: Final = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# CloudWatch retention of control-plane logs, by environment (values CloudWatch accepts).
CONTROL_PLANE_LOG_RETENTION_DAYS: Final = {"dev": 30, "staging": 90, "prod": 365}

GPU_AMI_TYPE: Final = "AL2023_x86_64_NVIDIA"
SYSTEM_AMI_TYPE: Final = "AL2023_x86_64_STANDARD"
SYSTEM_DISK_GIB: Final = 50

# GPU_POOL_LABEL and SYSTEM_POOL_LABEL (defined with the GPU pool model) are re-exported above
# ("X as X"): mlfabric.cost finds a node group's pool by them and its tests read them from here.
# Besides the labels every cloud's GPU pool carries: the label the AWS Cluster Autoscaler (>= 1.15)
# reads as "this node carries GPUs" (its GPU label on AWS). With it, a new GPU node whose device
# plugin has not advertised its GPUs yet counts as not ready (not as a node without GPUs, which
# would scale the pool up again), and the template of a pool scaled to zero is known to be a GPU
# node. The device plugin's DaemonSet selects GPU nodes by it too.
AWS_ACCELERATOR_LABEL: Final = "k8s.amazonaws.com/accelerator"

NODE_TEMPLATE_TAG: Final = "k8s.io/cluster-autoscaler/node-template"
AUTOSCALER_ENABLED_TAG: Final = "k8s.io/cluster-autoscaler/enabled"

CLUSTER_MANAGED_POLICIES: Final = ("AmazonEKSClusterPolicy",)
NODE_MANAGED_POLICIES: Final = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)
EBS_CSI_MANAGED_POLICY: Final = "service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_SERVICE_ACCOUNT: Final = ("kube-system", "ebs-csi-controller-sa")
# Container Insights (node health, GPU utilisation metrics the monitoring alarms read).
OBSERVABILITY_ADDON: Final = "amazon-cloudwatch-observability"
OBSERVABILITY_MANAGED_POLICY: Final = "CloudWatchAgentServerPolicy"
OBSERVABILITY_SERVICE_ACCOUNT: Final = ("amazon-cloudwatch", "cloudwatch-agent")

# Add-ons that must exist before any node joins (pod networking) and those that need running nodes.
ADDONS_BEFORE_NODES: Final = ("vpc-cni", "kube-proxy")
# Add-on configuration values (JSON) by add-on. The VPC CNI enforces Kubernetes NetworkPolicies
# (its network policy agent, eBPF) only when asked: without it, NetworkPolicy objects are ignored.
ADDON_CONFIGURATION: Final[dict[str, str]] = {"vpc-cni": json.dumps({"enableNetworkPolicy": "true"})}
ADDONS_AFTER_NODES: Final = ("coredns", "aws-ebs-csi-driver")


@dataclass(frozen=True)
class NodeGroupArgs:
    """Everything that differs between the system node group and a GPU node group."""

    suffix: str
    instance_type: str
    ami_type: str
    capacity_type: str
    min_size: int
    max_size: int
    disk_gib: int
    labels: dict[str, str]
    taints: list[aws.eks.NodeGroupTaintArgs]
    # Cluster Autoscaler node-template tags (label/taint/resources), also copied onto the ASG:
    # short name -> (tag key, value).
    node_template_tags: dict[str, tuple[str, str]]
    pool_tags: dict[str, str]
    # EFA interfaces per node (0: standard networking; else a placement group, one subnet)
    efa_interfaces: int = 0
    # a capacity reservation id (cr-...) or a capacity reservation resource group ARN
    reservation: str | None = None


def autoscaler_discovery_tags(cluster_name: str) -> dict[str, str]:
    """The tags the Cluster Autoscaler's auto-discovery looks for (EKS sets them on the ASGs too)."""
    return {AUTOSCALER_ENABLED_TAG: "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}


def gpu_node_template_tags(pool: GpuPool, efa: int = 0) -> dict[str, tuple[str, str]]:
    """What a node of ``pool`` will carry, told to the autoscaler before any such node exists:
    short name -> (tag key, value). The autoscaler also reads a managed node group's own labels and
    taints (``eks:DescribeNodegroup``, granted below), so the common accelerator label needs no tag."""
    taint = pool.taint
    return {
        "label-accelerator": (f"{NODE_TEMPLATE_TAG}/label/{AWS_ACCELERATOR_LABEL}", pool.device),
        "label-pool": (f"{NODE_TEMPLATE_TAG}/label/{GPU_POOL_LABEL}", pool.name),
        "taint-gpu": (f"{NODE_TEMPLATE_TAG}/taint/{taint.key}", f"{taint.value}:{taint.effect}"),
        "resources-gpu": (f"{NODE_TEMPLATE_TAG}/resources/{GPU_RESOURCE}", str(pool.gpus_per_node)),
        # A job asking for EFA devices must scale an empty EFA pool up too.
        **({"resources-efa": (f"{NODE_TEMPLATE_TAG}/resources/{interconnect.EFA_RESOURCE}", str(efa))} if efa else {}),
    }


def pool_efa_interfaces(pool: GpuPool) -> int:
    """EFA interfaces per node of ``pool``: its type's network cards when interconnect is auto and the
    type has EFA (``efa_instance_types.json``), else 0."""
    return efa_interfaces(pool.machine) if pool.interconnect else 0


def gpu_node_group_args(pool: GpuPool) -> NodeGroupArgs:
    """The node group of a GPU pool: the common model in EKS terms."""
    efa = pool_efa_interfaces(pool)
    return NodeGroupArgs(
        suffix=pool.suffix,
        instance_type=pool.machine,
        ami_type=GPU_AMI_TYPE,
        capacity_type="SPOT" if pool.spot else "ON_DEMAND",
        min_size=pool.min_nodes,
        max_size=pool.max_nodes,
        disk_gib=pool.disk_gib,
        labels={**pool.labels, AWS_ACCELERATOR_LABEL: pool.device, **({interconnect.EFA_LABEL: "true"} if efa else {})},
        taints=[
            aws.eks.NodeGroupTaintArgs(key=pool.taint.key, value=pool.taint.value, effect=pool.taint.effect_constant)
        ],
        node_template_tags=gpu_node_template_tags(pool, efa),
        pool_tags=pool.tags,
        efa_interfaces=efa,
        reservation=pool.reservation,
    )


def eks_credentials(cluster_name: str, region: str) -> dict[str, Any]:
    """The kubeconfig's exec stanza: `aws eks get-token` as whoever runs Pulumi (or kubectl)."""
    return exec_plugin(
        "aws", ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]
    )


def _oidc_issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    oidcs = identities[0].oidcs or []
    return oidcs[0].issuer or ""


def _autoscaling_group_name(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str:
    # EKS creates exactly one Auto Scaling group per managed node group.
    groups = resources[0].autoscaling_groups or []
    return groups[0].name or ""


def _policy(*statements: dict[str, Any]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _service_trust(service: str) -> pulumi.Output[str]:
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


class AwsTrainingCluster(ClusterOutputs):
    """EKS cluster with a system node group and one managed GPU node group per pool."""

    type_token = "mlfabric:cluster:AwsTrainingCluster"
    # storage: the shared file system is encrypted with the storage key and linked to its datasets bucket
    needs = ("network", "storage")

    def __init__(
        self,
        name: str,
        spec: TrainingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        if ctx.network is None:
            raise ValueError("AwsTrainingCluster needs ctx.network: build the network concern first")
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._partition = aws.get_partition_output(opts=invoke).partition
        # The physical cluster name is fixed (not auto-named): autoscaler tags and IAM conditions
        # must name it before the cluster exists.
        self._cluster_name = ctx.base_name
        subnets = ctx.network.private_subnet_ids

        key = self._secrets_key()
        cluster = self._cluster(key, subnets)
        issuer = cluster.identities.apply(_oidc_issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=ctx.tags(),
            opts=self._child,
        )
        self._oidc_arn = oidc.arn
        self._issuer_host = issuer.apply(lambda url: url.removeprefix("https://"))

        early_addons = [self._addon(cluster, addon) for addon in ADDONS_BEFORE_NODES]
        node_role, node_attachments = self._service_role("node", "EKS worker nodes", "ec2.amazonaws.com", NODE_MANAGED_POLICIES)
        # Nodes bootstrap over the network's routes, NAT and endpoints: wait for all of it, not just
        # for the subnet ids (depending on a component waits for its children).
        network = [ctx.network] if isinstance(ctx.network, pulumi.Resource) else []
        after = [*early_addons, *node_attachments, *network]
        system_pool = spec.cluster.system_pool
        system = self._node_group(
            cluster,
            node_role,
            subnets,
            NodeGroupArgs(
                suffix="system",
                instance_type=system_pool.machine or catalog.DEFAULT_SYSTEM_MACHINE["aws"],
                ami_type=SYSTEM_AMI_TYPE,
                capacity_type="ON_DEMAND",
                min_size=system_pool.min_nodes,
                max_size=system_pool.max_nodes,
                disk_gib=SYSTEM_DISK_GIB,
                labels=dict(SYSTEM_POOL_LABELS),
                taints=[],
                node_template_tags={},
                pool_tags=dict(SYSTEM_POOL_TAGS),
            ),
            after,
        )
        pools = {pool.name: GpuPool.build("aws", pool) for pool in spec.gpu_pools}
        efa_pools = [p for p in pools.values() if pool_efa_interfaces(p)]
        # EFA nodes also carry the cluster security group EKS would otherwise attach itself.
        self._cluster_security_group = cluster.vpc_config.cluster_security_group_id
        self._efa_group = (interconnect.efa_security_group(self, ctx, name, ctx.network.network_id)
                           if efa_pools else None)
        # A cluster placement group and EFA traffic stay in one zone and subnet: the first one.
        self._first_subnet = subnets.apply(lambda ids: ids[:1])
        gpu_groups = {
            pool.name: self._gpu_node_group(cluster, node_role, subnets, pools[pool.name], after, pool.renamed_from)
            for pool in spec.gpu_pools
        }

        ebs_role = self._irsa_role(f"{name}-ebs-csi", *EBS_CSI_SERVICE_ACCOUNT)
        ebs_attachment = aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi",
            role=ebs_role.name,
            policy_arn=self._managed_policy(EBS_CSI_MANAGED_POLICY),
            opts=self._child,
        )
        for addon in ADDONS_AFTER_NODES:
            ebs = addon == "aws-ebs-csi-driver"
            self._addon(
                cluster,
                addon,
                role_arn=ebs_role.arn if ebs else None,
                depends_on=[system, ebs_attachment] if ebs else [system],
            )
        # Without this add-on the Container Insights metrics (node failures, GPU utilisation) that
        # the monitoring alarms read never appear; its agent gets its own IRSA role, not the node's.
        observability_role = self._irsa_role(f"{name}-observability", *OBSERVABILITY_SERVICE_ACCOUNT)
        observability_attachment = aws.iam.RolePolicyAttachment(
            f"{name}-observability",
            role=observability_role.name,
            policy_arn=self._managed_policy(OBSERVABILITY_MANAGED_POLICY),
            opts=self._child,
        )
        self._addon(
            cluster,
            OBSERVABILITY_ADDON,
            role_arn=observability_role.arn,
            depends_on=[system, observability_attachment],
        )

        self.kubeconfig = kubeconfig_secret(
            cluster.name,
            cluster.endpoint,
            cluster.certificate_authority.data,
            eks_credentials(self._cluster_name, ctx.region),
        )
        shared = self._shared_file_system(cluster, subnets, system) if spec.shared_fs is not None else None
        autoscaler_role = self._autoscaler_role()
        self.kubernetes_provider = aws_addons.install(
            name,
            aws_addons.AddonArgs(
                kubeconfig=self.kubeconfig,
                cluster_identifier=cluster.arn,
                cluster_name=self._cluster_name,
                region=ctx.region,
                kubernetes_version=spec.cluster.version,
                autoscaler_role_arn=autoscaler_role.arn,
                gpu_node_label=AWS_ACCELERATOR_LABEL,
                system_node_selector=dict(SYSTEM_POOL_LABELS),
            ),
            parent=self,
            depends_on=[system],
        )
        in_cluster = pulumi.ResourceOptions(parent=self, provider=self.kubernetes_provider, depends_on=[system])
        # Queued provisioning is refused on AWS (spec_rules): no provisioning class.
        self.queueing = queueing.install(name, list(pools.values()), in_cluster)
        if efa_pools:
            interconnect.efa_device_plugin(name, in_cluster)
        self.shared_volume = shared

        self.cluster_name = cluster.name
        self.cluster_endpoint = cluster.endpoint
        self.oidc_issuer_url = issuer
        self.gpu_pool_names = pool_names({pool: group.node_group_name for pool, group in gpu_groups.items()})
        self.shared_fs = shared.outputs() if shared is not None else pulumi.Output.from_input({})
        self.register_contract()

    # --- control plane ------------------------------------------------------------------------

    def _managed_policy(self, policy: str) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:{0}:iam::aws:policy/{1}", self._partition, policy)

    def _log_group_name(self) -> str:
        return f"/aws/eks/{self._cluster_name}/cluster"

    def _secrets_key(self) -> aws.kms.Key:
        ctx = self._ctx
        log_group_arn = (
            pulumi.Output.format(
                "arn:{0}:logs:{1}:{2}:log-group:{3}", self._partition, ctx.region, self._account, self._log_group_name()
            )
            if self._spec.cluster.audit_logging
            else None
        )
        policy = logs_key_policy(self._partition, self._account, ctx.region, log_group_arn, ctx.base_name)
        return aws.kms.Key(
            f"{self._name}-cluster",
            description=f"mlfabric {ctx.base_name}: EKS secrets envelope encryption and control-plane logs",
            enable_key_rotation=True,
            # Rotates like every platform key (storage.key_rotation_days: 90 days in prod).
            rotation_period_in_days=ctx.spec.storage.key_rotation_days if ctx.spec is not None else None,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(policy),
            tags=ctx.tags(),
            opts=ctx.stateful(self),
        )

    def _cluster(self, key: aws.kms.Key, subnets: pulumi.Output[list[str]]) -> aws.eks.Cluster:
        name, spec, ctx, child = self._name, self._spec.cluster, self._ctx, self._child
        role, prerequisites = self._service_role("cluster", "EKS control plane", "eks.amazonaws.com", CLUSTER_MANAGED_POLICIES)
        prerequisites.append(
            aws.iam.RolePolicy(
                f"{name}-cluster-kms",
                role=role.id,
                policy=_policy(
                    {
                        "Sid": "UseTheSecretsKeyOnly",
                        "Effect": "Allow",
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                        "Resource": key.arn,
                    }
                ),
                opts=child,
            )
        )
        if spec.audit_logging:
            prerequisites.append(
                aws.cloudwatch.LogGroup(
                    f"{name}-control-plane",
                    name=self._log_group_name(),
                    retention_in_days=CONTROL_PLANE_LOG_RETENTION_DAYS.get(ctx.environment, 365),
                    kms_key_id=key.arn,
                    tags=ctx.tags(),
                    opts=ctx.stateful(self),
                )
            )
        public = bool(spec.endpoint_public_cidrs)
        return aws.eks.Cluster(
            name,
            name=self._cluster_name,
            version=spec.version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=subnets,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(spec.endpoint_public_cidrs) if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # The identity running `pulumi up` becomes cluster admin through an access entry, so
                # the Kubernetes provider can install the device plugin and the autoscaler.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES) if spec.audit_logging else [],
            # vpc-cni, kube-proxy and coredns are managed add-ons below; no unmanaged copies.
            bootstrap_self_managed_addons=False,
            deletion_protection=ctx.deletion_protection,
            tags=ctx.tags(),
            opts=ctx.stateful(self, depends_on=prerequisites),
        )

    def _addon(
        self,
        cluster: aws.eks.Cluster,
        addon: str,
        role_arn: pulumi.Input[str] | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> aws.eks.Addon:
        version = aws.eks.get_addon_version_output(
            addon_name=addon,
            kubernetes_version=self._spec.cluster.version,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=version.version,
            service_account_role_arn=role_arn,
            configuration_values=ADDON_CONFIGURATION.get(addon),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._ctx.tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    # --- IAM ----------------------------------------------------------------------------------

    def _service_role(
        self, suffix: str, what: str, service: str, policies: Sequence[str]
    ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """A role ``service`` assumes, with exactly the AWS managed ``policies`` attached."""
        name, ctx, child = self._name, self._ctx, self._child
        role = aws.iam.Role(
            f"{name}-{suffix}",
            description=f"mlfabric {ctx.base_name}: {what}",
            assume_role_policy=_service_trust(service),
            tags=ctx.tags(),
            opts=child,
        )
        attachments: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{suffix}-{policy}",
                role=role.name,
                policy_arn=self._managed_policy(policy),
                opts=child,
            )
            for policy in policies
        ]
        return role, attachments

    def _shared_file_system(
        self, cluster: aws.eks.Cluster, subnets: pulumi.Output[list[str]], system: aws.eks.NodeGroup
    ) -> shared_fs.SharedFileSystem:
        """FSx for Lustre in the first private subnet, and the FSx CSI driver add-on that mounts it."""
        ctx, spec = self._ctx, self._spec.shared_fs
        if spec is None or ctx.network is None or ctx.storage is None:
            raise ValueError("the shared file system needs training.shared_fs, the network and storage")
        storage = ctx.storage
        datasets = None
        if spec.import_datasets:
            # spec_rules refuses import_datasets without a datasets bucket
            datasets = shared_fs.DatasetsBucket(
                name=storage.bucket_names.apply(lambda names: names[DATASETS_BUCKET]),
                arn=storage.bucket_ids.apply(lambda ids: ids[DATASETS_BUCKET]),
            )
        shared = shared_fs.shared_file_system(
            self, ctx, self._name, spec,
            vpc_id=ctx.network.network_id,
            subnet_id=subnets.apply(lambda ids: ids[0]),
            cluster_security_group=cluster.vpc_config.cluster_security_group_id,
            key_arn=storage.encryption_key_id,
            datasets=datasets,
            account=self._account,
            partition=self._partition,
        )
        role = self._irsa_role(f"{self._name}-fsx-csi", *shared_fs.FSX_CSI_SERVICE_ACCOUNT)
        policy = aws.iam.RolePolicy(
            f"{self._name}-fsx-csi",
            role=role.id,
            policy=shared.file_system.arn.apply(lambda arn: json.dumps(shared_fs.csi_driver_policy(arn))),
            opts=self._child,
        )
        self._addon(cluster, shared_fs.FSX_CSI_ADDON, role_arn=role.arn, depends_on=[system, policy])
        return shared

    def _irsa_role(self, logical: str, namespace: str, service_account: str) -> aws.iam.Role:
        """A role only ``namespace/service_account`` of this cluster can assume (IRSA)."""
        trust = pulumi.Output.all(self._oidc_arn, self._issuer_host).apply(
            lambda args: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": args[0]},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {
                                    f"{args[1]}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                    f"{args[1]}:aud": "sts.amazonaws.com",
                                }
                            },
                        }
                    ],
                }
            )
        )
        return aws.iam.Role(
            logical,
            description=f"mlfabric {self._ctx.base_name}: IRSA for {namespace}/{service_account}",
            assume_role_policy=trust,
            tags=self._ctx.tags(),
            opts=self._child,
        )

    def _autoscaler_role(self) -> aws.iam.Role:
        namespace, service_account = aws_addons.AUTOSCALER_SERVICE_ACCOUNT
        role = self._irsa_role(f"{self._name}-cluster-autoscaler", namespace, service_account)
        cluster, region = self._cluster_name, self._ctx.region
        policy = pulumi.Output.all(self._partition, self._account).apply(
            lambda args: json.dumps(autoscaler_policy(args[0], region, args[1], cluster))
        )
        aws.iam.RolePolicy(f"{self._name}-cluster-autoscaler", role=role.id, policy=policy, opts=self._child)
        return role

    # --- node groups ----------------------------------------------------------------------------

    def _gpu_node_group(
        self,
        cluster: aws.eks.Cluster,
        role: aws.iam.Role,
        subnets: pulumi.Output[list[str]],
        pool: GpuPool,
        after: list[pulumi.Resource],
        renamed_from: list[str],
    ) -> aws.eks.NodeGroup:
        """A GPU pool's node group; a renamed pool keeps its resources (aliases on every one of them)
        and so its auto-named node group and launch template."""
        args = gpu_node_group_args(pool)
        logical = f"{self._name}-{args.suffix}"

        def keep(opts: pulumi.ResourceOptions, suffix: str = "") -> pulumi.ResourceOptions:
            return renamed(logical, pool.name, renamed_from, opts, suffix)

        if args.efa_interfaces:
            subnets = self._first_subnet
        group = self._node_group(cluster, role, subnets, args, after, keep)
        asg_name = group.resources.apply(_autoscaling_group_name)
        for slug, (key, value) in args.node_template_tags.items():
            aws.autoscaling.Tag(
                f"{logical}-{slug}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=keep(self._child, f"-{slug}"),
            )
        return group

    def _node_group(
        self,
        cluster: aws.eks.Cluster,
        role: aws.iam.Role,
        subnets: pulumi.Output[list[str]],
        args: NodeGroupArgs,
        after: list[pulumi.Resource],
        keep: Callable[[pulumi.ResourceOptions], pulumi.ResourceOptions] = lambda opts: opts,
    ) -> aws.eks.NodeGroup:
        ctx = self._ctx
        logical = f"{self._name}-{args.suffix}"
        instance_tags = ctx.tags({"Name": f"{ctx.base_name}-{args.suffix}", **args.pool_tags})
        network_interfaces, placement = None, None
        if args.efa_interfaces and self._efa_group is not None:
            group = interconnect.placement_group(self, ctx, logical, keep(self._child))
            placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=group.name)
            network_interfaces = interconnect.efa_network_interfaces(
                args.efa_interfaces, [self._cluster_security_group], self._efa_group.id)
        template = aws.ec2.LaunchTemplate(
            logical,
            description=f"mlfabric {ctx.base_name}: {args.suffix} nodes",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # 1 hop: the node reaches IMDS, its pods do not (they use IRSA).
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.disk_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=instance_tags)
                for kind in ("instance", "volume")
            ],
            network_interfaces=network_interfaces,
            placement=placement,
            capacity_reservation_specification=_reservation(args.reservation),
            tags=ctx.tags(args.pool_tags),
            opts=keep(self._child),
        )
        return aws.eks.NodeGroup(
            logical,
            cluster_name=cluster.name,
            version=self._spec.cluster.version,
            node_role_arn=role.arn,
            subnet_ids=subnets,
            instance_types=[args.instance_type],
            ami_type=args.ami_type,
            capacity_type=args.capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size,
                max_size=args.max_size,
                desired_size=args.min_size,
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id,
                version=template.latest_version.apply(lambda v: str(int(v))),
            ),
            labels=args.labels,
            taints=args.taints or None,
            tags=ctx.tags(
                {
                    **args.pool_tags,
                    **autoscaler_discovery_tags(self._cluster_name),
                    **dict(args.node_template_tags.values()),
                }
            ),
            opts=keep(pulumi.ResourceOptions(
                parent=self,
                depends_on=after,
                # The Cluster Autoscaler owns the desired size once the group exists.
                ignore_changes=["scalingConfig.desiredSize"],
            )),
        )


def _reservation(reservation: str | None) -> aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs | None:
    """Launch into one capacity reservation (``cr-...``) or any of a reservation resource group (ARN)."""
    if reservation is None:
        return None
    target = (
        aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
            capacity_reservation_resource_group_arn=reservation)
        if reservation.startswith("arn:")
        else aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
            capacity_reservation_id=reservation)
    )
    return aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(capacity_reservation_target=target)


def autoscaler_policy(partition: str, region: str, account: str, cluster_name: str) -> dict[str, Any]:
    """Least privilege for the Cluster Autoscaler: change only Auto Scaling groups tagged as owned
    by this cluster; read-only describe calls (which support no resource scoping) stay read-only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ScaleThisClustersNodeGroupsOnly",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned",
                        f"aws:ResourceTag/{AUTOSCALER_ENABLED_TAG}": "true",
                    }
                },
            },
            {
                "Sid": "DescribeCapacity",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ReadThisClustersNodeGroups",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"arn:{partition}:eks:{region}:{account}:nodegroup/{cluster_name}/*",
            },
        ],
    }

