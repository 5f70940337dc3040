"""GcpTrainingCluster under the mock runtime, built directly on a GcpNetwork and a GcpRegistry.

What a mock test cannot prove: that GKE accepts this combination (a PSC-based private cluster from
these ranges, the release channel offering a version at or above the floor, Dataplane V2 with these
add-ons), that the GKE and Compute Engine agents hold the key before the cluster and its boot disks
need it, that the chosen zones really offer the accelerator and the project has GPU quota, that GKE
installs the driver and the device plugin advertises ``nvidia.com/gpu``, that the autoscaler scales
an empty GPU pool up from zero, or that ``gke-gcloud-auth-plugin`` in the kubeconfig authenticates
the deployer. Those need a real project and real GPUs (README: limits).
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
from mlfabric.components.concerns import ClusterOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.cluster import GcpTrainingCluster
from mlfabric.components.gcp.network import GcpNetwork
from mlfabric.components.gcp.registry import GcpRegistry
from mlfabric.components.spec import GcpOptions, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import RecordingMonitor, ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:cluster:GcpTrainingCluster"
CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
REPO_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_RING = "gcp:kms/keyRing:KeyRing"
KEY_USER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
SERVICE = "gcp:projects/service:Service"
BINAUTHZ = "gcp:binaryauthorization/policy:Policy"
PROJECT = "ml-platform-test"
NUMBER = "123456789012"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
OUTPUT_NAMES = ("cluster_name", "cluster_endpoint", "kubeconfig", "oidc_issuer_url", "gpu_pool_names")

DEV_TRAINING: dict[str, Any] = {"gpu_pools": [{"name": "l4", "accelerator": "l4"}]}
PROD_TRAINING: dict[str, Any] = {
    "cluster": {"endpoint_public_cidrs": ["203.0.113.0/24", "198.51.100.7/32"]},
    "gpu_pools": [
        {"name": "train", "accelerator": "a100-80gb", "gpus_per_node": 8, "max_nodes": 4, "disk_gib": 500},
        {"name": "infer", "accelerator": "l4", "gpus_per_node": 4, "min_nodes": 2, "max_nodes": 6, "spot": True},
    ],
}
REGISTRY = {"repositories": ["trainer", "scorer"]}


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    ignore_changes: dict[tuple[str, str], list[str]]
    conforms: bool

    @property
    def children(self) -> list[ResourceRecord]:
        component = only(self.records, COMPONENT)
        return [r for r in self.records if r.custom and r.parent == component.urn]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.children)

    def pool(self, suffix: str) -> ResourceRecord:
        return only(self.records, POOL, f"fraud-{self.env}-{suffix}")

    @property
    def env(self) -> str:
        return str(only(self.records, CLUSTER).inputs["name"]).split("-")[1]


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


def build(environment: str, training: dict[str, Any], *, registry: bool = True,
          options: GcpOptions | None = None, network: dict[str, Any] | None = None) -> Built:
    spec = parse_spec(spec_data("gcp", environment, training=training,
                                **({"registry": REGISTRY} if registry else {}),
                                **({"network": network} if network else {})))
    assert spec.training is not None
    training_spec = spec.training
    ctx = PlatformContext.from_spec(spec, account=PROJECT)
    if options is not None:
        ctx = ctx.with_handles(spec=spec.model_copy(update={"gcp": options}))
    conforms: list[bool] = []

    def program() -> None:
        network = GcpNetwork(spec.base_name, spec.network, ctx)
        handles: dict[str, object] = {"network": network}
        if spec.registry is not None:
            handles["registry"] = GcpRegistry(spec.base_name, spec.registry, ctx)
        cluster = GcpTrainingCluster(spec.base_name, training_spec, ctx.with_handles(**handles))
        conforms.append(isinstance(cluster, ClusterOutputs))
        for key in OUTPUT_NAMES:
            pulumi.export(key, getattr(cluster, key))
        # The kubeconfig's text, to read what the secret holds.
        pulumi.export("kubeconfig_text", pulumi.Output.unsecret(cluster.kubeconfig))

    with _capturing_ignore_changes() as ignore_changes:
        records, outputs, _ = run_program(
            program, project="mlfabric", stack=f"gcp-{environment}", config={}, secret_keys=[],
            world=World(project="mlfabric", stack=f"gcp-{environment}", region="us-central1"),
        )
    return Built(records, outputs, ignore_changes, all(conforms))


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev", DEV_TRAINING)


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod", PROD_TRAINING, options=GcpOptions(release_channel="STABLE"))


# --- shape -------------------------------------------------------------------------------------


def test_dev_cluster_creates_exact_child_types_for_one_gpu_pool(dev: Built) -> None:
    assert dev.counts() == {
        SERVICE: 3,          # Kubernetes Engine, Cloud KMS, Binary Authorization
        BINAUTHZ: 1,         # the project's admission policy (audit in dev)
        KEY_RING: 1,
        KEY: 1,
        KEY_USER: 2,         # GKE agent (secrets), Compute Engine agent (boot disks)
        ACCOUNT: 1,          # nodes
        PROJECT_MEMBER: 1,   # roles/container.defaultNodeServiceAccount
        REPO_MEMBER: 2,      # nodes pull from each platform repository
        CLUSTER: 1,
        POOL: 2,             # system + l4
        "pulumi:providers:kubernetes": 1,                   # in-cluster objects go through it
        "kubernetes:core/v1:Namespace": 2,                  # kueue-system, jobset-system (charts: components)
        "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 1,  # one per GPU pool
    }
    assert dev.conforms


def test_each_more_gpu_pool_adds_one_node_pool_and_its_flavor(dev: Built, prod: Built) -> None:
    assert prod.counts() - dev.counts() == {POOL: 1, "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": 1}


def test_without_a_registry_nodes_get_no_repository_grant() -> None:
    built = build("dev", DEV_TRAINING, registry=False)
    assert REPO_MEMBER not in built.counts()


def test_child_logical_names_derive_from_the_component_name(prod: Built) -> None:
    names = {r.name for r in prod.children}
    assert {"fraud-prod", "fraud-prod-system", "fraud-prod-gpu-train", "fraud-prod-gpu-infer", "fraud-prod-nodes"} <= names
    assert all(name.startswith("fraud-prod") for name in names)


def test_cluster_needs_the_network() -> None:
    spec = parse_spec(spec_data("gcp", "dev", training=DEV_TRAINING))
    assert spec.training is not None
    with pytest.raises(ValueError, match=r"needs ctx\.network"):
        GcpTrainingCluster("x", spec.training, PlatformContext.from_spec(spec))


# --- control plane -------------------------------------------------------------------------------


def test_dev_cluster_is_zonal_and_prod_regional_over_three_zones(dev: Built, prod: Built) -> None:
    zonal, regional = only(dev.records, CLUSTER).inputs, only(prod.records, CLUSTER).inputs
    # dev's availability_zones default (2): the control plane in the first zone, nodes in two
    assert zonal["location"] == "us-central1-a"
    assert zonal["nodeLocations"] == ["us-central1-a", "us-central1-b"]
    assert regional["location"] == "us-central1"
    assert regional["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert {p.inputs["location"] for p in of_type(prod.records, POOL)} == {"us-central1"}


def test_node_pools_span_the_specs_availability_zones() -> None:
    one = only(build("dev", DEV_TRAINING, network={"availability_zones": 1}).records, CLUSTER).inputs
    assert one["location"] == "us-central1-a" and "nodeLocations" not in one
    two = only(build("prod", PROD_TRAINING, network={"availability_zones": 2}).records, CLUSTER).inputs
    assert two["location"] == "us-central1"
    assert two["nodeLocations"] == ["us-central1-a", "us-central1-b"]


def test_cluster_is_standard_vpc_native_in_the_platform_subnet(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER).inputs
    network = only(prod.records, "gcp:compute/network:Network")
    subnet = only(prod.records, "gcp:compute/subnetwork:Subnetwork")
    assert cluster["name"] == "fraud-prod" and cluster["project"] == PROJECT
    assert "enableAutopilot" not in cluster
    assert cluster["network"] == network.id and cluster["subnetwork"] == subnet.id
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}


def test_nodes_are_private_and_the_endpoint_is_private_without_public_cidrs(dev: Built) -> None:
    built = build("dev", {"gpu_pools": []}, registry=False)
    cluster = only(built.records, CLUSTER).inputs
    assert cluster["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True}
    assert cluster["masterAuthorizedNetworksConfig"] == {"cidrBlocks": [], "gcpPublicCidrsAccessEnabled": False}
    assert built.outputs["cluster_endpoint"].startswith("https://172.16.")


def test_public_endpoint_is_reachable_only_from_the_listed_cidrs(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER).inputs
    assert cluster["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": False}
    assert cluster["masterAuthorizedNetworksConfig"] == {
        "cidrBlocks": [{"cidrBlock": "203.0.113.0/24", "displayName": "allowed-1"},
                       {"cidrBlock": "198.51.100.7/32", "displayName": "allowed-2"}],
        "gcpPublicCidrsAccessEnabled": False,
    }


def test_workload_identity_release_channel_and_version_floor(prod: Built, dev: Built) -> None:
    cluster = only(prod.records, CLUSTER).inputs
    assert cluster["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT}.svc.id.goog"}
    assert cluster["releaseChannel"] == {"channel": "STABLE"}
    assert only(dev.records, CLUSTER).inputs["releaseChannel"] == {"channel": "REGULAR"}
    # the version omitted: GKE's calendar default, a floor the channel upgrades from
    from mlfabric.components.gcp.kit import kubernetes_calendar
    assert cluster["minMasterVersion"] == kubernetes_calendar().default


def test_secrets_are_encrypted_with_the_cluster_key_the_gke_agent_holds(prod: Built) -> None:
    cluster, key = only(prod.records, CLUSTER), only(prod.records, KEY, "fraud-prod-cluster")
    assert cluster.inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key.id}
    grants = {r.inputs["member"]: r for r in prod.children if r.type == KEY_USER}
    gke = grants[f"serviceAccount:service-{NUMBER}@container-engine-robot.iam.gserviceaccount.com"]
    compute = grants[f"serviceAccount:service-{NUMBER}@compute-system.iam.gserviceaccount.com"]
    for grant in (gke, compute):
        assert grant.inputs["cryptoKeyId"] == key.id
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert grant.urn in cluster.dependencies
    # storage.key_rotation_days: 90 in prod, for every concern's key
    assert key.inputs["rotationPeriod"] == f"{90 * 86400}s"


def test_shielded_nodes_dataplane_v2_and_gcs_fuse(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER).inputs
    assert cluster["enableShieldedNodes"] is True
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["addonsConfig"] == {"gcsFuseCsiDriverConfig": {"enabled": True}}
    assert cluster["defaultMaxPodsPerNode"] == 64


def test_control_plane_logs_follow_audit_logging(prod: Built) -> None:
    assert only(prod.records, CLUSTER).inputs["loggingConfig"]["enableComponents"] == [
        "SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"]
    quiet = build("dev", {"cluster": {"audit_logging": False}}, registry=False)
    assert only(quiet.records, CLUSTER).inputs["loggingConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS", "WORKLOADS"]


def test_default_pool_is_removed_and_never_runs_as_the_default_compute_account(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER)
    node_account = only(prod.records, ACCOUNT)
    assert cluster.inputs["removeDefaultNodePool"] is True
    assert cluster.inputs["nodeConfig"]["serviceAccount"] == f"{node_account.inputs['accountId']}@{PROJECT}.iam.gserviceaccount.com"
    assert prod.ignore_changes[(CLUSTER, "fraud-prod")] == ["nodeConfig", "initialNodeCount"]


def test_prod_cluster_is_protected_and_dev_is_not(prod: Built, dev: Built) -> None:
    assert only(prod.records, CLUSTER).inputs["deletionProtection"] is True
    assert only(prod.records, CLUSTER).protect
    assert only(dev.records, CLUSTER).inputs["deletionProtection"] is False
    assert not only(dev.records, CLUSTER).protect


def test_cluster_waits_for_the_network_nat_and_firewall(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER)
    network = {r.urn for r in prod.records if r.type in ("gcp:compute/routerNat:RouterNat", "gcp:compute/firewall:Firewall")}
    assert len(network) == 3
    assert network <= set(cluster.dependencies)


# --- node pools ---------------------------------------------------------------------------------


def test_system_pool_uses_the_default_machine_and_the_spec_bounds(dev: Built) -> None:
    system = dev.pool("system").inputs
    assert system["nodeConfig"]["machineType"] == catalog.DEFAULT_SYSTEM_MACHINE["gcp"]
    assert system["autoscaling"] == {"totalMinNodeCount": 1, "totalMaxNodeCount": 4, "locationPolicy": "BALANCED"}
    assert "guestAccelerators" not in system["nodeConfig"] and "taints" not in system["nodeConfig"]
    assert system["nodeConfig"]["spot"] is False
    assert system["nodeConfig"]["diskSizeGb"] == 50


@pytest.mark.parametrize(
    ("pool", "accelerator", "gpus"),
    [("train", "a100-80gb", 8), ("infer", "l4", 4)],
)
def test_gpu_pools_take_machine_and_accelerator_from_the_catalogue(
    prod: Built, pool: str, accelerator: str, gpus: int
) -> None:
    shape = catalog.gpu_shape("gcp", accelerator, gpus)
    config = prod.pool(f"gpu-{pool}").inputs["nodeConfig"]
    assert config["machineType"] == shape.machine
    assert config["guestAccelerators"] == [
        {"type": shape.device, "count": gpus, "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}
    ]
    assert config["taints"] == [GPU_TAINT]
    # GKE adds cloud.google.com/gke-accelerator itself; the common labels are declared.
    assert config["labels"] == {"mlfabric.dev/accelerator": shape.device, "mlfabric.dev/gpu-pool": pool}
    assert config["resourceLabels"]["mlfabric-accelerator"] == accelerator


def test_gpu_pools_autoscale_from_min_nodes_which_may_be_zero(prod: Built, dev: Built) -> None:
    train, infer = prod.pool("gpu-train").inputs, prod.pool("gpu-infer").inputs
    assert train["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 4, "locationPolicy": "ANY"}
    assert train["initialNodeCount"] == 0
    assert infer["autoscaling"] == {"totalMinNodeCount": 2, "totalMaxNodeCount": 6, "locationPolicy": "ANY"}
    assert infer["initialNodeCount"] == 1  # per zone: ceil(2 / 3)
    assert dev.pool("gpu-l4").inputs["autoscaling"]["totalMinNodeCount"] == 0
    for pool in of_type(prod.records, POOL):
        assert prod.ignore_changes[(POOL, pool.name)] == ["initialNodeCount", "nodeCount"]


def test_spot_follows_the_pool_spec_and_the_environment_default(prod: Built, dev: Built) -> None:
    assert prod.pool("gpu-train").inputs["nodeConfig"]["spot"] is False
    assert prod.pool("gpu-infer").inputs["nodeConfig"]["spot"] is True
    assert dev.pool("gpu-l4").inputs["nodeConfig"]["spot"] is True


def test_every_pool_is_hardened_repaired_and_upgraded(prod: Built) -> None:
    key = only(prod.records, KEY, "fraud-prod-cluster")
    account = only(prod.records, ACCOUNT).inputs["accountId"]
    for pool in of_type(prod.records, POOL):
        config = pool.inputs["nodeConfig"]
        assert pool.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}
        assert config["serviceAccount"] == f"{account}@{PROJECT}.iam.gserviceaccount.com"
        assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert config["bootDiskKmsKey"] == key.id
        assert config["imageType"] == "COS_CONTAINERD"
        assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    assert prod.pool("gpu-train").inputs["nodeConfig"]["diskSizeGb"] == 500


def test_gpu_pools_upgrade_without_surge_capacity(prod: Built) -> None:
    assert prod.pool("gpu-train").inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}
    assert prod.pool("system").inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}


def test_node_account_holds_only_the_node_role_and_registry_read(prod: Built) -> None:
    account = only(prod.records, ACCOUNT).inputs["accountId"]
    member = f"serviceAccount:{account}@{PROJECT}.iam.gserviceaccount.com"
    project_roles = [r.inputs["role"] for r in of_type(prod.records, PROJECT_MEMBER) if r.inputs["member"] == member]
    assert project_roles == ["roles/container.defaultNodeServiceAccount"]
    repo_grants = {(r.inputs["repository"], r.inputs["role"]) for r in of_type(prod.records, REPO_MEMBER)}
    assert repo_grants == {("fraud-prod-trainer", "roles/artifactregistry.reader"),
                           ("fraud-prod-scorer", "roles/artifactregistry.reader")}


# --- outputs ------------------------------------------------------------------------------------


def test_outputs_name_the_cluster_its_issuer_and_its_gpu_pools(prod: Built) -> None:
    assert prod.outputs["cluster_name"] == "fraud-prod"
    assert prod.outputs["cluster_endpoint"].startswith("https://")
    assert prod.outputs["oidc_issuer_url"] == (
        f"https://container.googleapis.com/v1/projects/{PROJECT}/locations/us-central1/clusters/fraud-prod"
    )
    pools = prod.outputs["gpu_pool_names"]
    assert set(pools) == {"train", "infer"}
    assert pools["train"].startswith("gpu-train-") and pools["infer"].startswith("gpu-infer-")
    assert prod.conforms


def test_kubeconfig_is_secret_and_authenticates_with_the_gke_plugin(prod: Built) -> None:
    assert prod.outputs["kubeconfig"] == "[secret]"
    config = json.loads(prod.outputs["kubeconfig_text"])
    [cluster] = config["clusters"]
    assert cluster["cluster"]["server"] == prod.outputs["cluster_endpoint"]
    assert cluster["cluster"]["server"].startswith("https://")
    assert cluster["cluster"]["certificate-authority-data"]
    [user] = config["users"]
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["user"]["exec"]["provideClusterInfo"] is True
    assert user["user"]["exec"]["interactiveMode"] == "Never"


def test_in_the_cluster_only_queueing_is_declared_no_device_plugin(prod: Built) -> None:
    """GKE runs its own device plugin and driver installer; mlfabric adds Kueue, JobSet and the flavors."""
    kinds = {r.type for r in prod.records if r.type.startswith("kubernetes:")}
    assert kinds == {"kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v4:Chart",
                     "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"}
    assert not [r for r in prod.records if r.type == "kubernetes:apps/v1:DaemonSet"]


# --- admission (Binary Authorization) -------------------------------------------------------------


def test_prod_cluster_enforces_a_policy_admitting_only_the_platform_repositories(prod: Built) -> None:
    cluster = only(prod.records, CLUSTER)
    assert cluster.inputs["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    policy = only(prod.records, BINAUTHZ)
    assert policy.urn in cluster.dependencies
    assert policy.inputs["defaultAdmissionRule"] == {
        "evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}
    # GKE's own system images are admitted by Google's global policy, not by a pattern of ours.
    assert policy.inputs["globalPolicyEvaluationMode"] == "ENABLE"
    patterns = sorted(p["namePattern"] for p in policy.inputs["admissionWhitelistPatterns"])
    assert len(patterns) == 2
    assert all(p.startswith(f"us-central1-docker.pkg.dev/{PROJECT}/") and p.endswith("/**") for p in patterns)
    assert "binaryauthorization.googleapis.com" in {r.inputs["service"] for r in of_type(prod.records, SERVICE)}


def test_dev_cluster_audits_rather_than_blocks(dev: Built) -> None:
    assert only(dev.records, CLUSTER).inputs["binaryAuthorization"]["evaluationMode"] == "PROJECT_SINGLETON_POLICY_ENFORCE"
    rule = only(dev.records, BINAUTHZ).inputs["defaultAdmissionRule"]
    assert rule == {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY"}


@pytest.mark.parametrize(("chosen", "environment", "mode"), [
    (None, "prod", "enforce"), (None, "staging", "enforce"), (None, "dev", "audit"),
    ("audit", "prod", "audit"), ("enforce", "dev", "enforce"), ("off", "prod", "off"),
])
def test_binary_authorization_defaults_to_enforce_outside_dev(chosen: str | None, environment: str, mode: str) -> None:
    from mlfabric.components.gcp.cluster import binary_authorization_mode

    assert binary_authorization_mode(chosen, environment) == mode


def test_binary_authorization_off_declares_no_policy_and_disables_evaluation() -> None:
    built = build("dev", DEV_TRAINING, options=GcpOptions(binary_authorization="off"))
    assert only(built.records, CLUSTER).inputs["binaryAuthorization"] == {"evaluationMode": "DISABLED"}
    assert BINAUTHZ not in built.counts()
