"""One GPU-pool model, one device plugin, one kubeconfig: every cloud's training cluster the same way.

The same spec is planned on AWS, GCP and Azure through the real offline-plan path, and each cloud's
GPU pool (EKS node group, GKE node pool, AKS agent pool) is read back in common terms: the taint a
workload must tolerate and the labels it selects on are identical on every cloud, and the machine,
bounds, spot and disk follow the spec and the catalogue.

What a mock test cannot prove: that each provider applies a label change in place (the EKS
``UpdateNodegroupConfig`` and GKE ``UpdateNodePool`` APIs do; a real ``pulumi preview`` shows it),
that the nodes really carry these labels, or that the device plugin advertises GPUs on them.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlfabric.components import catalog
from mlfabric.components.aws.cluster import AwsTrainingCluster, eks_credentials
from mlfabric.components.azure.cluster import AzureTrainingCluster
from mlfabric.components.azure.cluster_addons import aks_credentials
from mlfabric.components.concerns import ClusterOutputs
from mlfabric.components.gcp.cluster import GcpTrainingCluster, gke_credentials
from mlfabric.components.kubernetes.device_plugin import DEVICE_PLUGIN_IMAGE
from mlfabric.components.kubernetes.gpu_pool import GPU_TAINT, GpuPool, Taint
from mlfabric.components.kubernetes.kubeconfig import kubeconfig_json
from mlfabric.components.spec import GpuPoolSpec
from mlfabric.plan import Plan, ResourceRecord
from tests.helpers import ROOT, of_type, only, plan

CLOUDS: tuple[catalog.Cloud, ...] = ("aws", "gcp", "azure")
POOLS: list[dict[str, Any]] = [
    {"name": "t4", "accelerator": "t4", "min_nodes": 1, "max_nodes": 3, "spot": False, "disk_gib": 100},
    {"name": "cheap", "accelerator": "t4", "max_nodes": 5, "spot": True},
]
POOL_TYPES = {
    "aws": "aws:eks/nodeGroup:NodeGroup",
    "gcp": "gcp:container/nodePool:NodePool",
    "azure": "azure-native:containerservice:AgentPool",
}
GPU = ("nvidia.com/gpu", "present", "NoSchedule")
COMMON_LABELS = {"mlfabric.dev/accelerator", "mlfabric.dev/gpu-pool"}
# What a cloud's own tooling needs besides the common labels and taint.
OWN_LABELS = {"aws": {"k8s.amazonaws.com/accelerator"}, "gcp": set(), "azure": set()}
OWN_SPOT_TAINTS = {"aws": set(), "gcp": set(), "azure": {("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")}}
EFFECTS = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}


@dataclass(frozen=True)
class Seen:
    """A GPU pool as a cloud's plan declares it, in common terms."""

    machine: str
    min_nodes: int
    max_nodes: int
    spot: bool
    disk_gib: int
    taints: frozenset[tuple[str, str, str]]
    labels: dict[str, str]


def _taint(item: Any) -> tuple[str, str, str]:
    if isinstance(item, str):  # AKS: key=value:Effect
        key, _, rest = item.partition("=")
        value, _, effect = rest.partition(":")
        return key, value, effect
    return item["key"], item["value"], EFFECTS[item["effect"]]


def _seen_aws(result: Plan, pool: ResourceRecord) -> Seen:
    template = only(result.resources, "aws:ec2/launchTemplate:LaunchTemplate", pool.name)
    scaling = pool.inputs["scalingConfig"]
    return Seen(
        machine=pool.inputs["instanceTypes"][0],
        min_nodes=scaling["minSize"],
        max_nodes=scaling["maxSize"],
        spot=pool.inputs["capacityType"] == "SPOT",
        disk_gib=template.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"],
        taints=frozenset(_taint(t) for t in pool.inputs["taints"]),
        labels=pool.inputs["labels"],
    )


def _seen_gcp(pool: ResourceRecord) -> Seen:
    config, scaling = pool.inputs["nodeConfig"], pool.inputs["autoscaling"]
    return Seen(
        machine=config["machineType"],
        min_nodes=scaling["totalMinNodeCount"],
        max_nodes=scaling["totalMaxNodeCount"],
        spot=config["spot"],
        disk_gib=config["diskSizeGb"],
        taints=frozenset(_taint(t) for t in config["taints"]),
        labels=config["labels"],
    )


def _seen_azure(pool: ResourceRecord) -> Seen:
    inputs = pool.inputs
    return Seen(
        machine=inputs["vmSize"],
        min_nodes=inputs["minCount"],
        max_nodes=inputs["maxCount"],
        spot=inputs["scaleSetPriority"] == "Spot",
        disk_gib=inputs["osDiskSizeGB"],
        taints=frozenset(_taint(t) for t in inputs["nodeTaints"]),
        labels=inputs["nodeLabels"],
    )


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {cloud: plan(cloud, "prod", training={"gpu_pools": POOLS}) for cloud in CLOUDS}


def seen(plans: dict[str, Plan], cloud: str, pool: str) -> Seen:
    result = plans[cloud]
    [record] = [r for r in of_type(result.resources, POOL_TYPES[cloud]) if r.name.endswith(f"-gpu-{pool}")]
    if cloud == "aws":
        return _seen_aws(result, record)
    return _seen_gcp(record) if cloud == "gcp" else _seen_azure(record)


# --- the pools, read back from each cloud's plan -------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("pool", ["t4", "cheap"])
def test_every_clouds_gpu_pool_carries_the_gpu_taint_and_no_other_of_ours(
    plans: dict[str, Plan], cloud: str, pool: str
) -> None:
    taints = seen(plans, cloud, pool).taints
    own = OWN_SPOT_TAINTS[cloud] if pool == "cheap" else set()
    assert taints == {GPU} | own


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_clouds_gpu_pool_carries_the_common_labels_with_the_clouds_gpu_name(
    plans: dict[str, Plan], cloud: catalog.Cloud
) -> None:
    labels = seen(plans, cloud, "t4").labels
    device = catalog.gpu_shape(cloud, "t4").device
    assert {key: labels[key] for key in COMMON_LABELS} == {"mlfabric.dev/accelerator": device, "mlfabric.dev/gpu-pool": "t4"}
    assert set(labels) - COMMON_LABELS == OWN_LABELS[cloud]
    assert all(labels[key] == device for key in OWN_LABELS[cloud])


def test_one_node_selector_finds_a_pool_on_every_cloud(plans: dict[str, Plan]) -> None:
    """A workload written once (nodeSelector on the pool label, toleration of the GPU taint) lands on
    the same pool whichever cloud the spec names."""
    for pool in ("t4", "cheap"):
        selectors = {cloud: {"mlfabric.dev/gpu-pool": seen(plans, cloud, pool).labels["mlfabric.dev/gpu-pool"]}
                     for cloud in CLOUDS}
        assert selectors == {cloud: {"mlfabric.dev/gpu-pool": pool} for cloud in CLOUDS}
        assert all(GPU in seen(plans, cloud, pool).taints for cloud in CLOUDS)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_machine_bounds_spot_and_disk_follow_the_spec_and_the_catalogue(
    plans: dict[str, Plan], cloud: catalog.Cloud
) -> None:
    for spec in (GpuPoolSpec.model_validate(p) for p in POOLS):
        expected = GpuPool.build(cloud, spec)
        assert dataclasses.replace(seen(plans, cloud, spec.name), taints=frozenset()) == Seen(
            machine=expected.machine,
            min_nodes=spec.min_nodes,
            max_nodes=spec.max_nodes,
            spot=spec.spot,
            disk_gib=spec.disk_gib,
            taints=frozenset(),
            labels=expected.labels | dict.fromkeys(OWN_LABELS[cloud], expected.device),
        )


# --- in-cluster add-ons ------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_device_plugin_is_the_one_pinned_image_tolerating_the_gpu_taint(plans: dict[str, Plan], cloud: str) -> None:
    daemon_set = only(plans[cloud].resources, "kubernetes:apps/v1:DaemonSet")
    pod = daemon_set.inputs["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["containers"]] == [DEVICE_PLUGIN_IMAGE]
    assert {"key": GPU[0], "operator": "Exists", "effect": GPU[2]} in pod["tolerations"]


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_device_plugin_runs_locked_down_and_behind_a_deny_all_network_policy(plans: dict[str, Plan], cloud: str) -> None:
    """Issue 15: seccomp RuntimeDefault, read-only root, no escalation, no capabilities, no token, and a
    NetworkPolicy with no ingress and no egress. What a mock cannot prove: that the plugin still
    registers with the kubelet under these settings (upstream's manifest sets neither a read-only root
    nor seccomp) and that the cluster's CNI enforces the policy — a real GPU node does."""
    daemon_set = only(plans[cloud].resources, "kubernetes:apps/v1:DaemonSet")
    pod = daemon_set.inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert "privileged" not in container["securityContext"]
    [policy] = [r for r in of_type(plans[cloud].resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if r.inputs["metadata"]["name"] == "nvidia-device-plugin"]
    assert policy.inputs["metadata"]["namespace"] == daemon_set.inputs["metadata"]["namespace"] == "kube-system"
    labels = pod.get("labels") or daemon_set.inputs["spec"]["template"]["metadata"]["labels"]
    assert policy.inputs["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy.inputs["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert not policy.inputs["spec"].get("ingress") and not policy.inputs["spec"].get("egress")
    assert policy.provider == daemon_set.provider


def test_gke_runs_its_own_device_plugin_so_none_is_applied_through_the_kubernetes_api(
    plans: dict[str, Plan],
) -> None:
    # GKE applies Kueue and JobSet through the Kubernetes API (issue 16), never a device plugin.
    daemon_sets = [r for r in plans["gcp"].resources if r.type == "kubernetes:apps/v1:DaemonSet"]
    assert not [r for r in daemon_sets if "device-plugin" in str(r.inputs.get("metadata", {}).get("name"))]
    assert [r for r in plans["gcp"].resources if r.type == "kubernetes:helm.sh/v4:Chart"]


@pytest.mark.parametrize(
    ("credentials", "command"),
    [(eks_credentials("c1", "eu-west-1"), "aws"), (gke_credentials(), "gke-gcloud-auth-plugin"),
     (aks_credentials(), "kubelogin")],
)
def test_every_kubeconfig_logs_in_through_the_clouds_exec_plugin_and_holds_no_secret(
    credentials: dict[str, Any], command: str
) -> None:
    config = json.loads(kubeconfig_json("c1", "https://c1.example", "Q0E=", credentials))
    assert config["clusters"] == [{"name": "c1", "cluster": {"server": "https://c1.example", "certificate-authority-data": "Q0E="}}]
    assert config["contexts"] == [{"name": "c1", "context": {"cluster": "c1", "user": "mlfabric-c1"}}]
    assert config["current-context"] == "c1"
    [user] = config["users"]
    assert set(user["user"]) == {"exec"}  # no token, no client certificate
    assert user["user"]["exec"]["command"] == command
    assert user["user"]["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert user["user"]["exec"]["interactiveMode"] == "Never"


# --- the model ----------------------------------------------------------------------------------------


def test_the_model_takes_machine_device_and_gpu_count_from_the_catalogue() -> None:
    spec = GpuPoolSpec(name="a100", accelerator="a100-80gb", gpus_per_node=2, min_nodes=0, max_nodes=4, spot=False)
    pool = GpuPool.build("azure", spec)
    shape = catalog.gpu_shape("azure", "a100-80gb", 2)
    assert (pool.machine, pool.device, pool.gpus_per_node) == (shape.machine, shape.device, 2)
    assert pool.suffix == "gpu-a100"
    assert pool.labels == {"mlfabric.dev/accelerator": shape.device, "mlfabric.dev/gpu-pool": "a100"}
    assert pool.tags == {"mlfabric-node-pool": "a100", "mlfabric-accelerator": "a100-80gb"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        pool.name = "other"  # type: ignore[misc]


def test_the_gpu_taint_is_spelled_for_each_api() -> None:
    assert str(GPU_TAINT) == "nvidia.com/gpu=present:NoSchedule"
    assert GPU_TAINT.effect_constant == "NO_SCHEDULE"
    assert Taint("k", "v", "PreferNoSchedule").effect_constant == "PREFER_NO_SCHEDULE"


@pytest.mark.parametrize("cluster", [AwsTrainingCluster, GcpTrainingCluster, AzureTrainingCluster])
def test_cluster_outputs_are_declared_once_on_the_contract(cluster: type[ClusterOutputs]) -> None:
    assert cluster.contract() is ClusterOutputs
    own = vars(cluster).get("__annotations__", {})
    assert not set(own) & set(ClusterOutputs.output_names())


# --- defined once ---------------------------------------------------------------------------------------


COMPONENTS = ROOT / "components"
# Each string a cluster must agree on, and the one module that may spell it.
DEFINED_ONCE = {
    "k8s-device-plugin": "kubernetes/device_plugin.py",
    "nvidia.com/gpu": "kubernetes/gpu_pool.py",
    "mlfabric.dev/accelerator": "kubernetes/gpu_pool.py",
    "mlfabric.dev/gpu-pool": "kubernetes/gpu_pool.py",
    "mlfabric.dev/system-pool": "kubernetes/gpu_pool.py",
    "k8s.amazonaws.com/accelerator": "aws/cluster.py",
    "client.authentication.k8s.io": "kubernetes/kubeconfig.py",
    "current-context": "kubernetes/kubeconfig.py",
}
# Spellings outside that module, each with why it stays for now ((file, string) -> why).
ELSEWHERE = {
    ("gcp/serving.py", "nvidia.com/gpu"): "Cloud Run's GPU limit, not a node taint; could import GPU_RESOURCE",
    ("aws/capabilities.py", "nvidia.com/gpu"): "prose of the README's capability table (the quota's resource)",
    ("gcp/capabilities.py", "nvidia.com/gpu"): "prose of the README's capability table (the quota's resource)",
    ("azure/capabilities.py", "nvidia.com/gpu"): "prose of the README's capability table (the quota's resource)",
    ("aws/interconnect.py", "k8s-device-plugin"): "AWS's EFA plugin (aws-efa-k8s-device-plugin), not NVIDIA's",
}


def _code_strings(path: Path) -> list[str]:
    """String constants of a module's code: docstrings and other bare string statements left out."""
    tree = ast.parse(path.read_text())
    bare = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in bare
    ]


def test_the_device_plugin_image_the_gpu_taint_the_labels_and_the_kubeconfig_are_spelled_once() -> None:
    found: Counter[tuple[str, str]] = Counter()
    # Fakes stand for what a cloud answers (AKS returns a kubeconfig of its own), not for ours.
    for path in (p for p in COMPONENTS.rglob("*.py") if not p.name.startswith("fakes")):
        module = path.relative_to(COMPONENTS).as_posix()
        for text in _code_strings(path):
            found.update((module, needle) for needle in DEFINED_ONCE if needle in text)
    for (module, needle), _reason in ELSEWHERE.items():
        found.pop((module, needle), None)
    assert dict(found) == {(home, needle): 1 for needle, home in DEFINED_ONCE.items()}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_cluster_module_imports_no_other_concern_of_its_cloud(cloud: str) -> None:
    # The cluster concern's own parts (its add-ons, fast interconnect, shared file system, their data and
    # rules) are not other concerns.
    allowed = {"common", "cluster_addons", "prerequisites", "interconnect", "efa_catalog", "shared_fs",
               "training_rules"}
    tree = ast.parse((COMPONENTS / cloud / "cluster.py").read_text())
    prefix = f"mlfabric.components.{cloud}"
    imported = {
        node.module.removeprefix(prefix + ".") for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix + ".")
    } | {
        alias.name for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == prefix for alias in node.names
    }
    assert imported <= allowed, imported - allowed
