"""AwsTrainingCluster under the mock runtime, built directly on an AwsNetwork (no MLPlatform).

What a mock test cannot prove: that EKS accepts this combination of inputs (e.g. a launch template
with these metadata options for the NVIDIA AMI, or default add-on versions for the requested
Kubernetes version), that nodes actually join with this node role, that the NVIDIA device plugin
advertises ``nvidia.com/gpu`` on a real GPU node, that the Cluster Autoscaler really scales an
empty pool from zero with these tags and IAM conditions, or that `aws eks get-token` in the
kubeconfig authenticates the deployer. Those need a real account and real GPUs (README: limits).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components import catalog
from mlfabric.components.aws.cluster import AwsTrainingCluster, eks_credentials
from mlfabric.components.aws.network import AwsNetwork
from mlfabric.components.aws.versions import eks_calendar
from mlfabric.components.concerns import ClusterOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes.kubeconfig import kubeconfig_json
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import RecordingMonitor, ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:cluster:AwsTrainingCluster"
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"
ASG_TAG = "aws:autoscaling/tag:Tag"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_PROVIDER = "pulumi:providers:kubernetes"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
OUTPUT_NAMES = ("cluster_name", "cluster_endpoint", "kubeconfig", "oidc_issuer_url", "gpu_pool_names", "shared_fs")

DEV_TRAINING: dict[str, Any] = {"gpu_pools": [{"name": "a10g", "accelerator": "a10g"}]}
PROD_TRAINING: dict[str, Any] = {
    "cluster": {"endpoint_public_cidrs": ["203.0.113.0/24", "198.51.100.7/32"]},
    "gpu_pools": [
        # Both types have EFA; these tests are about the node groups themselves (EFA: test_teams_aws.py).
        {"name": "train", "accelerator": "a100-80gb", "max_nodes": 4, "disk_gib": 500, "interconnect": "off"},
        {"name": "infer", "accelerator": "l4", "gpus_per_node": 4, "min_nodes": 1, "spot": True, "interconnect": "off"},
    ],
}


@dataclass
class Built:
    base_name: str
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    ignore_changes: dict[tuple[str, str], list[str]]
    conforms: bool

    @property
    def children(self) -> list[ResourceRecord]:
        """The cluster component's own cloud resources (the network's are left out)."""
        component = only(self.records, COMPONENT)
        return [r for r in self.records if r.custom and r.parent == component.urn]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.children)


@contextlib.contextmanager
def _capturing_ignore_changes() -> Iterator[dict[tuple[str, str], list[str]]]:
    """ignoreChanges is not part of the plan's records; read it from the same gRPC requests."""
    captured: dict[tuple[str, str], list[str]] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        captured[(request.type, request.name)] = list(request.ignoreChanges)
        return original(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RecordingMonitor, "RegisterResource", register)
        yield captured


def build(environment: str, training: dict[str, Any], **sections: Any) -> Built:
    spec = parse_spec(spec_data("aws", environment, training=training, **sections))
    assert spec.training is not None
    training_spec = spec.training
    ctx = PlatformContext.from_spec(spec)
    conforms: list[bool] = []

    def program() -> None:
        network = AwsNetwork(spec.base_name, spec.network, ctx)
        cluster = AwsTrainingCluster(spec.base_name, training_spec, ctx.with_handles(network=network))
        conforms.append(isinstance(cluster, ClusterOutputs))
        for key in OUTPUT_NAMES:
            pulumi.export(key, getattr(cluster, key))

    with _capturing_ignore_changes() as ignore_changes:
        records, outputs, _ = run_program(
            program, project="mlfabric", stack=f"aws-{environment}", config={}, secret_keys=[],
            world=World(project="mlfabric", stack=f"aws-{environment}", region="us-east-1"),
        )
    return Built(spec.base_name, records, outputs, ignore_changes, all(conforms))


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev", DEV_TRAINING)


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod", PROD_TRAINING)


def _gpu_group(built: Built, pool: str) -> ResourceRecord:
    return only(built.records, NODE_GROUP, f"{built.base_name}-gpu-{pool}")


def _listify(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


# --- shape -------------------------------------------------------------------------------------


def test_dev_cluster_creates_exact_child_types_for_one_gpu_pool(dev: Built) -> None:
    assert dev.counts() == {
        KMS_KEY: 1,
        LOG_GROUP: 1,
        ROLE: 5,  # control plane, nodes, EBS CSI, CloudWatch agent, Cluster Autoscaler (IRSA)
        ATTACHMENT: 6,  # 1 control plane + 3 nodes + EBS CSI + CloudWatch agent
        ROLE_POLICY: 2,  # control plane's key access, Cluster Autoscaler
        CLUSTER: 1,
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
        ADDON: 5,
        LAUNCH_TEMPLATE: 2,
        NODE_GROUP: 2,
        ASG_TAG: 4,
        K8S_PROVIDER: 1,
        DAEMON_SET: 1,
        "kubernetes:core/v1:ServiceAccount": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:Role": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 1,
        DEPLOYMENT: 1,
        # the device plugin's and the Cluster Autoscaler's (enforced by the VPC CNI's network policy agent)
        "kubernetes:networking.k8s.io/v1:NetworkPolicy": 2,
        # Kueue and JobSet (kubernetes/queueing.py): their namespaces and one ResourceFlavor per GPU pool
        "kubernetes:core/v1:Namespace": 2,
        "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 1,
    }


def test_each_more_gpu_pool_adds_one_launch_template_one_node_group_and_four_asg_tags(dev: Built, prod: Built) -> None:
    difference = prod.counts() - dev.counts()
    assert difference == {LAUNCH_TEMPLATE: 1, NODE_GROUP: 1, ASG_TAG: 4, "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 1}
    assert sum(prod.counts().values()) == 50


def test_child_logical_names_derive_from_the_component_name_with_fixed_suffixes(prod: Built) -> None:
    names = {r.name for r in prod.children}
    assert {"fraud-prod", "fraud-prod-system", "fraud-prod-gpu-train", "fraud-prod-gpu-infer", "fraud-prod-oidc"} <= names
    assert all(name.startswith("fraud-prod") for name in names)


# --- control plane -------------------------------------------------------------------------------


def test_dev_endpoint_is_private_only_when_no_public_cidrs_are_listed(dev: Built) -> None:
    vpc_config = only(dev.records, CLUSTER).inputs["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc_config


def test_public_endpoint_is_reachable_only_from_the_listed_cidrs(prod: Built) -> None:
    vpc_config = only(prod.records, CLUSTER).inputs["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["publicAccessCidrs"] == ["203.0.113.0/24", "198.51.100.7/32"]


def test_cluster_runs_in_the_private_subnets_of_the_network(prod: Built) -> None:
    private = [str(r.id) for r in of_type(prod.records, "aws:ec2/subnet:Subnet") if r.inputs["tags"]["mlfabric-tier"] == "private"]
    # Registration order of the subnets is async; the set of subnets is what matters.
    assert sorted(only(prod.records, CLUSTER).inputs["vpcConfig"]["subnetIds"]) == sorted(private)
    for group in of_type(prod.records, NODE_GROUP):
        assert sorted(group.inputs["subnetIds"]) == sorted(private)


def test_secrets_are_envelope_encrypted_with_a_rotating_kms_key(prod: Built) -> None:
    cluster, key = only(prod.records, CLUSTER), only(prod.records, KMS_KEY, "fraud-prod-cluster")
    key_arn = f"arn:aws:kms:us-east-1:123456789012:key/{key.id}"
    assert cluster.inputs["encryptionConfig"] == {"provider": {"keyArn": key_arn}, "resources": ["secrets"]}
    assert key.inputs["enableKeyRotation"] is True
    grant = json.loads(only(prod.records, ROLE_POLICY, "fraud-prod-cluster-kms").inputs["policy"])["Statement"]
    assert grant == [
        {
            "Sid": "UseTheSecretsKeyOnly",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
            "Resource": key_arn,
        }
    ]


def test_all_control_plane_log_types_go_to_an_encrypted_log_group_with_retention(prod: Built) -> None:
    cluster, group = only(prod.records, CLUSTER), only(prod.records, LOG_GROUP, "fraud-prod-control-plane")
    assert cluster.inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert group.inputs["name"] == "/aws/eks/fraud-prod/cluster"
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    # EKS would create the log group itself on first write: it must exist first.
    assert group.urn in cluster.dependencies


def test_control_plane_logs_are_off_when_audit_logging_is_off() -> None:
    built = build("dev", {"cluster": {"audit_logging": False}})
    assert only(built.records, CLUSTER).inputs.get("enabledClusterLogTypes", []) == []
    assert not [r for r in built.children if r.type == LOG_GROUP]
    key_policy = json.loads(only(built.records, KMS_KEY, "fraud-dev-cluster").inputs["policy"])
    assert [s["Sid"] for s in key_policy["Statement"]] == ["AccountAdministersKeyThroughIam", "PlatformRolesUseKey"]


def test_cluster_uses_access_entries_the_spec_version_and_managed_addons_only(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER)
    assert cluster.inputs["name"] == "fraud-prod"
    # omitted in the spec: the version pinned by the EKS calendar
    assert cluster.inputs["version"] == eks_calendar().default
    assert cluster.inputs["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert cluster.inputs["bootstrapSelfManagedAddons"] is False
    version = build("dev", {"cluster": {"kubernetes_version": "1.33"}})
    assert only(version.records, CLUSTER).inputs["version"] == "1.33"
    assert {g.inputs["version"] for g in of_type(version.records, NODE_GROUP)} == {"1.33"}


def test_cluster_role_has_only_the_managed_eks_cluster_policy(prod: Built) -> None:
    role = only(prod.records, ROLE, "fraud-prod-cluster")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    attached = [a.inputs["policyArn"] for a in of_type(prod.records, ATTACHMENT) if a.inputs["role"] == role.id]
    assert attached == ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]


def test_oidc_provider_trusts_the_cluster_issuer_for_sts(prod: Built) -> None:
    oidc = only(prod.records, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["url"] == prod.outputs["oidc_issuer_url"]
    assert oidc.inputs["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_core_addons_are_installed_at_the_default_version_with_ebs_csi_on_irsa(prod: Built) -> None:
    addons = {r.inputs["addonName"]: r for r in of_type(prod.records, ADDON)}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "amazon-cloudwatch-observability"}
    assert all(a.inputs["addonVersion"].endswith(tuple(f"eksbuild.{i}" for i in range(1, 10))) for a in addons.values())
    ebs_role = only(prod.records, ROLE, "fraud-prod-ebs-csi")
    assert addons["aws-ebs-csi-driver"].inputs["serviceAccountRoleArn"].endswith(f":role/{ebs_role.id}")
    condition = json.loads(ebs_role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:ebs-csi-controller-sa" in condition.values()
    attached = [a.inputs["policyArn"] for a in of_type(prod.records, ATTACHMENT) if a.inputs["role"] == ebs_role.id]
    assert attached == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]


def test_nodes_wait_for_the_network_routes_and_nat_gateways(prod: Built) -> None:
    network_children = {
        r.urn for r in prod.records if r.type in ("aws:ec2/natGateway:NatGateway", "aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    assert len(network_children) == 9
    for group in of_type(prod.records, NODE_GROUP):
        assert network_children <= set(group.dependencies)


def test_pod_networking_addons_precede_nodes_and_coredns_waits_for_them(prod: Built) -> None:
    addons = {r.inputs["addonName"]: r for r in of_type(prod.records, ADDON)}
    system = only(prod.records, NODE_GROUP, "fraud-prod-system")
    for group in of_type(prod.records, NODE_GROUP):
        assert {addons["vpc-cni"].urn, addons["kube-proxy"].urn} <= set(group.dependencies)
    assert system.urn in addons["coredns"].dependencies
    assert system.urn in addons["aws-ebs-csi-driver"].dependencies


# --- node groups ---------------------------------------------------------------------------------


def test_system_node_group_uses_the_default_machine_and_the_spec_scaling(dev: Built) -> None:
    system = only(dev.records, NODE_GROUP, "fraud-dev-system")
    assert system.inputs["instanceTypes"] == [catalog.DEFAULT_SYSTEM_MACHINE["aws"]]
    assert system.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert system.inputs["capacityType"] == "ON_DEMAND"
    assert system.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 1}
    assert "taints" not in system.inputs
    custom = build("dev", {"cluster": {"system_pool": {"machine": "m6i.xlarge", "min_nodes": 2, "max_nodes": 6}}})
    group = only(custom.records, NODE_GROUP, "fraud-dev-system")
    assert group.inputs["instanceTypes"] == ["m6i.xlarge"]
    assert group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 6, "desiredSize": 2}


@pytest.mark.parametrize(
    ("pool", "accelerator", "gpus"),
    [("train", "a100-80gb", None), ("infer", "l4", 4)],
)
def test_gpu_node_groups_take_their_instance_type_from_the_catalogue(
    prod: Built, pool: str, accelerator: str, gpus: int | None
) -> None:
    group = _gpu_group(prod, pool)
    shape = catalog.gpu_shape("aws", accelerator, gpus)
    assert group.inputs["instanceTypes"] == [shape.machine]
    assert group.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert group.inputs["labels"] == {
        "mlfabric.dev/accelerator": shape.device,
        "mlfabric.dev/gpu-pool": pool,
        # the AWS Cluster Autoscaler's GPU label, kept besides the common one
        "k8s.amazonaws.com/accelerator": shape.device,
    }
    assert group.inputs["taints"] == [GPU_TAINT]


def test_gpu_pools_scale_from_min_nodes_which_may_be_zero(prod: Built, dev: Built) -> None:
    assert _gpu_group(prod, "train").inputs["scalingConfig"] == {"minSize": 0, "maxSize": 4, "desiredSize": 0}
    assert _gpu_group(prod, "infer").inputs["scalingConfig"] == {"minSize": 1, "maxSize": 2, "desiredSize": 1}
    assert _gpu_group(dev, "a10g").inputs["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}


def test_node_group_desired_size_is_left_to_the_autoscaler(prod: Built) -> None:
    groups = [(NODE_GROUP, r.name) for r in of_type(prod.records, NODE_GROUP)]
    assert len(groups) == 3
    for key in groups:
        assert prod.ignore_changes[key] == ["scalingConfig.desiredSize"]


def test_spot_follows_the_pool_spec_and_the_environment_default(prod: Built, dev: Built) -> None:
    assert _gpu_group(prod, "train").inputs["capacityType"] == "ON_DEMAND"
    assert _gpu_group(prod, "infer").inputs["capacityType"] == "SPOT"
    assert _gpu_group(dev, "a10g").inputs["capacityType"] == "SPOT"


def test_launch_templates_require_imdsv2_and_encrypt_a_root_disk_of_the_spec_size(prod: Built) -> None:
    sizes = {"fraud-prod-system": 50, "fraud-prod-gpu-train": 500, "fraud-prod-gpu-infer": 200}
    for group in of_type(prod.records, NODE_GROUP):
        template = only(prod.records, LAUNCH_TEMPLATE, group.name)
        assert group.inputs["launchTemplate"] == {"id": template.id, "version": "1"}
        assert "diskSize" not in group.inputs  # EKS rejects disk size next to a launch template
        assert template.inputs["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
        }
        (mapping,) = template.inputs["blockDeviceMappings"]
        assert mapping["deviceName"] == "/dev/xvda"
        assert mapping["ebs"] == {
            "volumeSize": sizes[group.name],
            "volumeType": "gp3",
            "encrypted": "true",
            "deleteOnTermination": "true",
        }
        assert "imageId" not in template.inputs  # EKS picks the AMI from amiType


def test_node_role_has_only_the_worker_cni_and_ecr_read_only_policies(prod: Built) -> None:
    role = only(prod.records, ROLE, "fraud-prod-node")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = sorted(a.inputs["policyArn"] for a in of_type(prod.records, ATTACHMENT) if a.inputs["role"] == role.id)
    assert attached == [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]
    assert not [p for p in of_type(prod.records, ROLE_POLICY) if p.inputs["role"] == role.id]
    assert {g.inputs["nodeRoleArn"] for g in of_type(prod.records, NODE_GROUP)} == {f"arn:aws:iam::123456789012:role/{role.id}"}


# --- scale from zero ------------------------------------------------------------------------------


def test_gpu_node_groups_carry_the_autoscaler_node_template_and_discovery_tags(prod: Built) -> None:
    tags = _gpu_group(prod, "train").inputs["tags"]
    assert tags[f"{NODE_TEMPLATE}/label/k8s.amazonaws.com/accelerator"] == "nvidia-a100-80gb"
    assert tags[f"{NODE_TEMPLATE}/label/mlfabric.dev/gpu-pool"] == "train"
    assert tags[f"{NODE_TEMPLATE}/taint/nvidia.com/gpu"] == "present:NoSchedule"
    assert tags[f"{NODE_TEMPLATE}/resources/nvidia.com/gpu"] == "8"
    assert tags["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert tags["k8s.io/cluster-autoscaler/fraud-prod"] == "owned"
    assert _gpu_group(prod, "infer").inputs["tags"][f"{NODE_TEMPLATE}/resources/nvidia.com/gpu"] == "4"


def test_node_template_tags_are_copied_onto_each_pools_auto_scaling_group(prod: Built) -> None:
    for pool in ("train", "infer"):
        group = _gpu_group(prod, pool)
        asg = only(prod.records, ASG_TAG, f"fraud-prod-gpu-{pool}-taint-gpu").inputs["autoscalingGroupName"]
        assert asg.startswith(f"eks-{prod.outputs['gpu_pool_names'][pool]}-")
        copied = {
            r.inputs["tag"]["key"]: r.inputs["tag"]["value"]
            for r in of_type(prod.records, ASG_TAG)
            if r.inputs["autoscalingGroupName"] == asg
        }
        expected = {k: v for k, v in group.inputs["tags"].items() if k.startswith(NODE_TEMPLATE)}
        assert copied == expected
        assert len(copied) == 4
    assert not any(r.inputs["tag"]["propagateAtLaunch"] for r in of_type(prod.records, ASG_TAG))


def test_autoscaler_discovers_this_clusters_node_groups_and_runs_on_system_nodes(prod: Built) -> None:
    deployment = only(prod.records, DEPLOYMENT)
    pod = deployment.inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # pinned by the digest of the tag where one is verified (AUTOSCALER_DIGESTS: 1.35 is)
    assert container["image"] == (
        f"registry.k8s.io/autoscaling/cluster-autoscaler:v{eks_calendar().default}.0"
        "@sha256:2fc9433dd3b47baef0e68d6b1110b770a3c93db10c7bead4c5bc6cb21c72b875"
    )
    assert "--cloud-provider=aws" in container["command"]
    assert (
        "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/fraud-prod"
        in container["command"]
    )
    assert container["env"] == [{"name": "AWS_REGION", "value": "us-east-1"}]
    assert pod["serviceAccountName"] == "cluster-autoscaler"
    assert pod["nodeSelector"] == {"mlfabric.dev/system-pool": "true"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    system = only(prod.records, NODE_GROUP, "fraud-prod-system")
    assert system.inputs["labels"] == {"mlfabric.dev/system-pool": "true"}
    assert system.urn in deployment.dependencies


def test_autoscaler_iam_role_is_assumable_only_by_its_service_account_and_scoped_by_tag(prod: Built) -> None:
    role = only(prod.records, ROLE, "fraud-prod-cluster-autoscaler")
    account = only(prod.records, "kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{role.id}"}
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    issuer = prod.outputs["oidc_issuer_url"].removeprefix("https://")
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"}
    assert trust["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }
    statements = {s["Sid"]: s for s in json.loads(only(prod.records, ROLE_POLICY, role.name).inputs["policy"])["Statement"]}
    scale = statements["ScaleThisClustersNodeGroupsOnly"]
    assert scale["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert scale["Condition"]["StringEquals"]["aws:ResourceTag/k8s.io/cluster-autoscaler/fraud-prod"] == "owned"
    assert statements["ReadThisClustersNodeGroups"]["Resource"] == (
        "arn:aws:eks:us-east-1:123456789012:nodegroup/fraud-prod/*"
    )
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in statements["DescribeCapacity"]["Action"])


def test_autoscaler_kubernetes_rbac_grants_no_wildcards(prod: Built) -> None:
    rules = [
        rule
        for kind in ("ClusterRole", "Role")
        for rule in only(prod.records, f"kubernetes:rbac.authorization.k8s.io/v1:{kind}").inputs["rules"]
    ]
    assert rules
    for rule in rules:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
    binding = only(prod.records, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}]


# --- GPUs schedulable -------------------------------------------------------------------------------


def test_device_plugin_tolerates_the_gpu_taint_and_runs_only_on_gpu_nodes(prod: Built) -> None:
    daemon_set = only(prod.records, DAEMON_SET)
    assert daemon_set.inputs["metadata"]["namespace"] == "kube-system"
    pod = daemon_set.inputs["spec"]["template"]["spec"]
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "k8s.amazonaws.com/accelerator", "operator": "Exists"}]}]
    (container,) = pod["containers"]
    assert container["image"].startswith("nvcr.io/nvidia/k8s-device-plugin:v0.")
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["volumes"] == [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}]
    assert pod["priorityClassName"] == "system-node-critical"


def test_kubernetes_resources_go_through_a_provider_built_from_the_clusters_kubeconfig(prod: Built) -> None:
    provider = only(prod.records, K8S_PROVIDER)
    kubeconfig = provider.inputs["kubeconfig"]
    # The mock runtime records secret inputs with Pulumi's secret signature around the value.
    assert "4dabf18193072939515e22adb298388d" in kubeconfig
    config = json.loads(kubeconfig["value"])
    assert config["clusters"][0]["cluster"]["server"] == prod.outputs["cluster_endpoint"]
    assert config["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "fraud-prod"]
    assert provider.inputs["clusterIdentifier"] == "arn:aws:eks:us-east-1:123456789012:cluster/fraud-prod"
    kubernetes = [r for r in prod.children if r.type.startswith("kubernetes:")]
    # 9 of the cluster's own, Kueue's and JobSet's namespaces and a ResourceFlavor per pool (the Helm
    # charts are components: their objects are expanded by the engine)
    assert len(kubernetes) == 13
    assert all(r.provider.startswith(provider.urn + "::") for r in kubernetes)


# --- security and protection --------------------------------------------------------------------------


def _policy_documents(records: list[ResourceRecord]) -> list[dict[str, Any]]:
    return [
        json.loads(r.inputs[key])
        for r in records
        if r.custom and r.type.startswith(("aws:iam/", "aws:kms/"))
        for key in ("assumeRolePolicy", "policy")
        if isinstance(r.inputs.get(key), str)
    ]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_no_iam_or_key_policy_allows_every_action_on_every_resource(environment: str, dev: Built, prod: Built) -> None:
    built = prod if environment == "prod" else dev
    documents = _policy_documents(built.records)
    # dev: 5 role trusts, 2 role policies, 1 key policy; prod adds the flow-log role, policy and key.
    assert len(documents) == (11 if environment == "prod" else 8)
    for document in documents:
        for statement in document["Statement"]:
            actions, resources = _listify(statement.get("Action")), _listify(statement.get("Resource"))
            assert not ("*" in actions and "*" in resources), statement
            assert "NotAction" not in statement and "NotResource" not in statement


def test_kubeconfig_output_is_a_secret(dev: Built) -> None:
    assert dev.outputs["kubeconfig"] == "[secret]"
    assert dev.outputs["cluster_name"] == "fraud-dev"


def test_kubeconfig_authenticates_with_aws_eks_get_token() -> None:
    config = json.loads(kubeconfig_json("c1", "https://x.eks.amazonaws.com", "Q0E=", eks_credentials("c1", "eu-west-1")))
    assert config["current-context"] == "c1"
    assert config["clusters"] == [{"name": "c1", "cluster": {"server": "https://x.eks.amazonaws.com", "certificate-authority-data": "Q0E="}}]
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws"
    assert exec_["args"] == ["eks", "get-token", "--cluster-name", "c1", "--region", "eu-west-1", "--output", "json"]
    assert exec_["interactiveMode"] == "Never"


def test_prod_cluster_and_its_key_are_protected_retained_and_deletion_protected(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER)
    key = only(prod.records, KMS_KEY, "fraud-prod-cluster")
    for record in (cluster, key, only(prod.records, LOG_GROUP, "fraud-prod-control-plane")):
        assert record.protect and record.retain_on_delete
    assert cluster.inputs["deletionProtection"] is True
    stateful = {CLUSTER, KMS_KEY, LOG_GROUP}
    assert not any(r.protect for r in prod.children if r.type not in stateful)


def test_dev_cluster_can_be_destroyed(dev: Built) -> None:
    cluster = only(dev.records, CLUSTER)
    assert not cluster.protect and not cluster.retain_on_delete
    assert cluster.inputs["deletionProtection"] is False
    assert not any(r.protect for r in dev.children)


# --- outputs ---------------------------------------------------------------------------------------------


def test_outputs_satisfy_the_cluster_protocol_exactly(prod: Built) -> None:
    assert prod.conforms
    assert AwsTrainingCluster.contract() is ClusterOutputs
    assert AwsTrainingCluster.output_names() == OUTPUT_NAMES
    # The outputs are declared once, on the contract; the cloud class only assigns them.
    assert not vars(AwsTrainingCluster).get("__annotations__")
    cluster = only(prod.records, CLUSTER)
    assert prod.outputs["cluster_name"] == cluster.id == "fraud-prod"
    assert prod.outputs["cluster_endpoint"].startswith("https://") and prod.outputs["cluster_endpoint"].endswith(".eks.amazonaws.com")
    names = prod.outputs["gpu_pool_names"]
    assert set(names) == {"train", "infer"}
    assert names["train"].startswith("fraud-prod-gpu-train-")


def test_a_cluster_without_gpu_pools_has_no_gpu_node_groups_and_an_empty_pool_map() -> None:
    built = build("dev", {})
    assert [r.name for r in of_type(built.records, NODE_GROUP)] == ["fraud-dev-system"]
    assert not of_type(built.records, ASG_TAG)
    assert built.outputs["gpu_pool_names"] == {}


def test_cluster_on_a_reused_vpc_uses_the_subnets_the_lookup_found() -> None:
    built = build("dev", DEV_TRAINING, network={"existing_network_id": "vpc-0123456789abcdef0"})
    subnets = only(built.records, CLUSTER).inputs["vpcConfig"]["subnetIds"]
    assert len(subnets) == 3 and all(s.startswith("subnet-") for s in subnets)
    assert not of_type(built.records, "aws:ec2/vpc:Vpc")


def test_cluster_refuses_to_build_without_a_network() -> None:
    spec = parse_spec(spec_data("aws", "dev", training=DEV_TRAINING))
    assert spec.training is not None
    training = spec.training

    def program() -> None:
        AwsTrainingCluster("fraud-dev", training, PlatformContext.from_spec(spec))

    with pytest.raises(ValueError, match=r"needs ctx\.network"):
        run_program(
            program, project="mlfabric", stack="no-network", config={}, secret_keys=[],
            world=World(project="mlfabric", stack="no-network", region="us-east-1"),
        )


def test_container_insights_addon_runs_with_its_own_scoped_role(prod: Built) -> None:
    """The monitoring alarms read Container Insights metrics; the agent must not borrow the node role."""
    addon = next(r for r in prod.records if r.type == "aws:eks/addon:Addon" and r.inputs["addonName"] == "amazon-cloudwatch-observability")
    role_name = addon.inputs["serviceAccountRoleArn"].rsplit("/", 1)[-1]
    role = next(r for r in prod.records if r.type == "aws:iam/role:Role" and r.id == role_name)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    subjects = json.dumps(trust)
    assert "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent" in subjects
    attachment = next(r for r in prod.records if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
                      and r.inputs["role"] == role_name)
    assert attachment.inputs["policyArn"].endswith(":policy/CloudWatchAgentServerPolicy")


def test_the_vpc_cni_enforces_network_policies(prod: Built) -> None:
    """A mock cannot show the network policy agent running: only that EKS is asked to enable it."""
    cni = only(prod.records, ADDON, "fraud-prod-vpc-cni")
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert all("configurationValues" not in r.inputs for r in of_type(prod.records, ADDON) if r is not cni)


def test_an_autoscaler_version_without_a_verified_digest_keeps_its_tag() -> None:
    from mlfabric.components.aws.cluster_addons import AUTOSCALER_DIGESTS, autoscaler_image

    assert "1.33" not in AUTOSCALER_DIGESTS
    assert autoscaler_image("1.33") == "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.0"
    assert autoscaler_image("1.31").endswith("@" + AUTOSCALER_DIGESTS["1.31"])
