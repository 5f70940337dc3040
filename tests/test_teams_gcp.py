"""Teams, queues, interconnect, scarce GPUs and the shared file system on GCP, planned offline.

Plans the gcp-prod example (two teams, a compact A100 pool, a queued H100 pool, a Filestore share)
and small specs of its own, and asserts the inputs that decide who may do what: each team's Google
service account and the one Kubernetes service account that may act as it, object access limited to
the team's managed folder, registry pulls, the Kueue queues (validated against the CRD schemas),
member RoleBindings, the node pools' placement, queued provisioning and reservation, and the Filestore
instance's key, reach and CSI volume. Refusals go through ``mlfabric validate``.

What a mock test cannot prove: that GKE accepts a compact placement policy or queued provisioning on
these machines in this zone, that Dynamic Workload Scheduler finds capacity, that listing under a
managed folder works for the team and nothing else does, that the Filestore CSI driver mounts the
share from the nodes' range, that Google Groups for RBAC resolves the groups (the group must be in
gke-security-groups@<domain>), or that Kueue admits a JobSet all-or-nothing. Those need a real
project (README: limits).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from mlfabric import stackfile
from mlfabric.components.gcp.training_rules import interconnect_notes
from mlfabric.components.spec import SPEC_CONFIG_KEY, parse_spec
from mlfabric.plan import Plan, ResourceRecord, plan_spec
from tests.helpers import ROOT, only

ACCOUNT = "gcp:serviceaccount/account:Account"
SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
FOLDER = "gcp:storage/managedFolder:ManagedFolder"
FOLDER_MEMBER = "gcp:storage/managedFolderIamMember:ManagedFolderIamMember"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
REPO_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
KEY_USER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
KEY = "gcp:kms/cryptoKey:CryptoKey"
CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
FILESTORE = "gcp:filestore/instance:Instance"
NAMESPACE = "kubernetes:core/v1:Namespace"
KSA = "kubernetes:core/v1:ServiceAccount"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2"
SCHEMAS = ROOT / "tests" / "crd_schemas"
PROJECT = "vision-ml-prod"
TEAMS = {"vision": "teams/vision/", "speech": "teams/speech-audio/"}
BUCKETS = ("datasets", "artifacts", "models")


def _stack(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = stackfile.read_yaml_file(ROOT / "stacks" / f"Pulumi.{name}.yaml")["config"][SPEC_CONFIG_KEY]
    return spec


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_spec(_stack("gcp-prod"), stack="gcp-prod")


def _named(plan: Plan, type_token: str, name: str) -> ResourceRecord:
    return only(plan.resources, type_token, name)


def _kind(plan: Plan, kind: str) -> list[ResourceRecord]:
    return [r for r in plan.resources if r.type == f"{KUEUE}:{kind}"]


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"kueue.x-k8s.io_{kind}.json").read_text())["openAPIV3Schema"]
    return schema


def _ints(value: Any) -> Any:
    """Recorded numbers arrive as floats under mocks; the CRD schemas want integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


# --- identity and storage -------------------------------------------------------------------------


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_each_team_has_its_own_google_service_account(prod: Plan, team: str) -> None:
    account = _named(prod, ACCOUNT, f"vision-prod-{team}")
    assert account.inputs["accountId"] == f"vision-prod-{team}"
    assert account.inputs["project"] == PROJECT


# The team's non-reader members act as it through the team's notebook (Workbench's service account mode).
NOTEBOOK_USERS = {"vision": "group:vision-data-science@example.com", "speech": "group:speech-ml@example.com"}


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_only_the_teams_kubernetes_service_account_and_notebook_users_may_act_as_it(prod: Plan, team: str) -> None:
    email = f"vision-prod-{team}@{PROJECT}.iam.gserviceaccount.com"
    grants = [r for r in prod.of_type(SA_MEMBER) if email in str(r.inputs["serviceAccountId"])]
    assert sorted((g.inputs["role"], g.inputs["member"]) for g in grants) == [
        ("roles/iam.serviceAccountUser", NOTEBOOK_USERS[team]),
        ("roles/iam.workloadIdentityUser", f"serviceAccount:{PROJECT}.svc.id.goog[team-{team}/{team}]"),
    ]


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_the_kubernetes_service_account_is_annotated_with_the_teams_identity(prod: Plan, team: str) -> None:
    account = _named(prod, KSA, f"vision-prod-{team}")
    metadata = account.inputs["metadata"]
    assert metadata["namespace"] == f"team-{team}" and metadata["name"] == team
    assert metadata["annotations"] == {"iam.gke.io/gcp-service-account": f"vision-prod-{team}@{PROJECT}.iam.gserviceaccount.com"}
    assert metadata["labels"]["mlfabric-team"] == team


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_object_access_is_granted_on_the_teams_managed_folder_only(prod: Plan, team: str) -> None:
    member = f"serviceAccount:vision-prod-{team}@{PROJECT}.iam.gserviceaccount.com"
    grants = [r for r in prod.of_type(FOLDER_MEMBER) if r.inputs["member"] == member]
    assert len(grants) == len(BUCKETS)
    assert {g.inputs["managedFolder"] for g in grants} == {TEAMS[team]}
    assert {g.inputs["role"] for g in grants} == {"roles/storage.objectUser"}
    assert {g.inputs["bucket"].rsplit("-", 1)[0] for g in grants} == {f"vision-prod-{b}" for b in BUCKETS}
    folders = [r for r in prod.of_type(FOLDER) if r.name.startswith(f"vision-prod-{team}-")]
    assert {f.inputs["name"] for f in folders} == {TEAMS[team]}
    assert all(f.inputs["forceDestroy"] is False and f.protect for f in folders)
    # Nothing on a whole bucket or the project for the team's identity.
    wider = [r for r in (*prod.of_type(BUCKET_MEMBER), *prod.of_type(PROJECT_MEMBER)) if r.inputs.get("member") == member]
    assert wider == []


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_the_team_pulls_from_every_platform_repository(prod: Plan, team: str) -> None:
    member = f"serviceAccount:vision-prod-{team}@{PROJECT}.iam.gserviceaccount.com"
    grants = [r for r in prod.of_type(REPO_MEMBER) if r.inputs["member"] == member]
    assert sorted((g.inputs["repository"], g.inputs["role"]) for g in grants) == [
        ("vision-prod-detector", "roles/artifactregistry.reader"), ("vision-prod-trainer", "roles/artifactregistry.reader"),
    ]


# --- queues -----------------------------------------------------------------------------------------


def test_cluster_queues_hold_each_teams_quota_in_the_shared_cohort(prod: Plan) -> None:
    queues = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in _kind(prod, "ClusterQueue")}
    assert sorted(queues) == ["speech", "vision"]
    schema = _schema("clusterqueues")
    for team, spec in queues.items():
        jsonschema.validate(_ints(spec), schema["properties"]["spec"])
        assert spec["cohortName"] == "vision-prod"
        assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": f"team-{team}"}}
        flavors = {f["name"]: {r["name"]: r for r in f["resources"]} for f in spec["resourceGroups"][0]["flavors"]}
        assert flavors["a100"]["nvidia.com/gpu"] == {"name": "nvidia.com/gpu", "nominalQuota": 16, "borrowingLimit": 16}
        assert flavors["l4"]["nvidia.com/gpu"] == {"name": "nvidia.com/gpu", "nominalQuota": 4}
        assert flavors["h100"]["nvidia.com/gpu"] == {"name": "nvidia.com/gpu", "nominalQuota": 8, "borrowingLimit": 0}
        # the queued pool's jobs wait for Dynamic Workload Scheduler
        assert spec["admissionChecksStrategy"] == {"admissionChecks": [{"name": "h100-provisioning", "onFlavors": ["h100"]}]}


def test_local_queues_point_at_their_teams_cluster_queue(prod: Plan) -> None:
    schema = _schema("localqueues")
    found = {}
    for record in _kind(prod, "LocalQueue"):
        jsonschema.validate(record.inputs["spec"], schema["properties"]["spec"])
        found[record.inputs["metadata"]["namespace"]] = record.inputs["spec"]["clusterQueue"]
    assert found == {"team-vision": "vision", "team-speech": "speech"}


def test_each_gpu_pool_has_a_flavor_and_the_queued_pool_a_gke_provisioning_check(prod: Plan) -> None:
    schema = _schema("resourceflavors")
    flavors = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in _kind(prod, "ResourceFlavor")}
    assert sorted(flavors) == ["a100", "h100", "l4"]
    for pool, spec in flavors.items():
        jsonschema.validate(spec, schema["properties"]["spec"])
        assert spec["nodeLabels"] == {"mlfabric.dev/gpu-pool": pool}
    (config,) = _kind(prod, "ProvisioningRequestConfig")
    assert config.inputs["spec"]["provisioningClassName"] == "queued-provisioning.gke.io"
    (check,) = _kind(prod, "AdmissionCheck")
    assert check.inputs["spec"]["controllerName"] == "kueue.x-k8s.io/provisioning-request"


def test_the_team_namespaces_are_managed_by_kueue(prod: Plan) -> None:
    names = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"] for r in prod.of_type(NAMESPACE)}
    assert names["team-vision"]["mlfabric.dev/team"] == "vision"
    assert names["team-speech"]["mlfabric.dev/team"] == "speech"
    assert {"kueue-system", "jobset-system"} <= set(names)


# --- members -----------------------------------------------------------------------------------------


def test_members_are_bound_in_their_own_namespace_only(prod: Plan) -> None:
    bindings = {(r.inputs["metadata"]["namespace"], r.inputs["roleRef"]["name"]):
                [(s["kind"], s["name"]) for s in r.inputs["subjects"]] for r in prod.of_type(ROLE_BINDING)}
    assert bindings == {
        ("team-vision", "edit"): [("Group", "vision-data-science@example.com")],
        ("team-vision", "view"): [("User", "auditor@example.com")],
        ("team-speech", "edit"): [("Group", "speech-ml@example.com")],
    }


def test_groups_reach_kubernetes_through_google_groups_for_rbac(prod: Plan) -> None:
    cluster = _named(prod, CLUSTER, "vision-prod")
    assert cluster.inputs["authenticatorGroupsConfig"] == {"securityGroup": "gke-security-groups@example.com"}


def test_members_may_fetch_cluster_credentials_and_nothing_more(prod: Plan) -> None:
    viewers = {r.inputs["member"] for r in prod.of_type(PROJECT_MEMBER) if r.inputs["role"] == "roles/container.clusterViewer"}
    assert viewers == {"group:vision-data-science@example.com", "user:auditor@example.com", "group:speech-ml@example.com"}


def test_stack_outputs_name_each_teams_namespace_queue_and_identity(prod: Plan) -> None:
    assert prod.outputs["teams"] == {
        team: {"namespace": f"team-{team}", "queue": team, "service_account": team,
               "identity": f"vision-prod-{team}@{PROJECT}.iam.gserviceaccount.com", "storage_prefix": prefix}
        for team, prefix in TEAMS.items()
    }
    shared = prod.outputs["shared_fs"]
    assert shared["driver"] == "filestore.csi.storage.gke.io" and shared["capacity_gib"] == 2560
    assert shared["volume_handle"] == "modeInstance/us-central1-a/vision-prod-shared/shared"
    assert set(shared) >= {"id", "ip", "volume"}


# --- interconnect and scarce GPUs -----------------------------------------------------------------------


def test_the_a100_pool_is_compactly_placed_in_one_zone(prod: Plan) -> None:
    pool = _named(prod, POOL, "vision-prod-gpu-a100")
    assert pool.inputs["placementPolicy"] == {"type": "COMPACT"}
    assert pool.inputs["nodeLocations"] == ["us-central1-a"]


def test_an_l4_pool_keeps_standard_networking_over_all_zones_and_a_note_says_why(prod: Plan) -> None:
    pool = _named(prod, POOL, "vision-prod-gpu-l4")
    assert "placementPolicy" not in pool.inputs and "nodeLocations" not in pool.inputs
    assert "training.gpu_pools[1].interconnect: pool l4: standard networking: Compute Engine can place G2 (L4) " \
           "VMs compactly, but mlfabric does not" in " ".join(interconnect_notes(prod.spec))


def test_interconnect_off_leaves_an_a100_pool_spread_over_the_zones() -> None:
    data = _stack("gcp-prod")
    data["training"]["gpu_pools"][0]["interconnect"] = "off"
    pool = _named(plan_spec(data, stack="gcp-prod"), POOL, "vision-prod-gpu-a100")
    assert "placementPolicy" not in pool.inputs and "nodeLocations" not in pool.inputs
    assert interconnect_notes(parse_spec(data))[:1] != ["training.gpu_pools[0].interconnect"]


def test_the_queued_pool_is_a_dynamic_workload_scheduler_pool(prod: Plan) -> None:
    pool = _named(prod, POOL, "vision-prod-gpu-h100")
    assert pool.inputs["queuedProvisioning"] == {"enabled": True}
    assert pool.inputs["autoscaling"]["totalMinNodeCount"] == 0
    assert pool.inputs["autoscaling"]["locationPolicy"] == "ANY"
    assert pool.inputs["management"]["autoRepair"] is False
    assert pool.inputs["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}
    assert "placementPolicy" not in pool.inputs


def test_a_reserved_pool_consumes_its_named_reservation() -> None:
    data = _stack("gcp-prod")
    data["training"]["gpu_pools"][0]["reservation"] = "a100-reserved"
    pool = _named(plan_spec(data, stack="gcp-prod"), POOL, "vision-prod-gpu-a100")
    assert pool.inputs["nodeConfig"]["reservationAffinity"] == {
        "consumeReservationType": "SPECIFIC_RESERVATION", "key": "compute.googleapis.com/reservation-name",
        "values": ["a100-reserved"],
    }


def test_a_t4_pool_gets_standard_networking_and_a_note_says_why() -> None:
    data = _stack("gcp-dev")
    data["training"]["gpu_pools"] = [{"name": "t4", "accelerator": "t4", "max_nodes": 2}]
    pool = _named(plan_spec(data, stack="gcp-dev"), POOL, "vision-dev-gpu-t4")
    assert "placementPolicy" not in pool.inputs
    assert interconnect_notes(parse_spec(data)) == [
        "training.gpu_pools[0].interconnect: pool t4: standard networking: N1 (T4) machines take no compact "
        "placement policy"
    ]


def test_an_h100_pool_notes_that_gpudirect_is_not_built() -> None:
    data = _stack("gcp-prod")
    data["training"]["gpu_pools"][2]["queued_provisioning"] = False
    notes = interconnect_notes(parse_spec(data))
    assert notes[1:] == ["training.gpu_pools[2].interconnect: pool h100: compact placement only: mlfabric does not "
                     "build GPUDirect-TCPX/TCPXO (the extra VPC networks, GKE multi-networking and the NCCL "
                     "plugin); A3 jobs use the primary gVNIC"]


# --- shared file system ------------------------------------------------------------------------------------


def test_the_filestore_instance_is_encrypted_with_the_cluster_key_and_protected(prod: Plan) -> None:
    instance = _named(prod, FILESTORE, "vision-prod-shared")
    key = _named(prod, KEY, "vision-prod-cluster")
    assert instance.inputs["tier"] == "ZONAL"
    assert instance.inputs["kmsKeyName"] == key.id
    assert instance.inputs["fileShares"]["capacityGb"] == 2560
    assert instance.inputs["deletionProtectionEnabled"] is True
    assert instance.protect
    grant = _named(prod, KEY_USER, "vision-prod-shared-fs-filestore-agent")
    assert grant.inputs["member"].startswith("serviceAccount:service-")
    assert grant.inputs["member"].endswith("@cloud-filer.iam.gserviceaccount.com")
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["cryptoKeyId"] == key.id


def test_only_the_nodes_subnet_may_mount_the_share(prod: Plan) -> None:
    instance = _named(prod, FILESTORE, "vision-prod-shared")
    (export,) = instance.inputs["fileShares"]["nfsExportOptions"]
    assert export["ipRanges"] == ["10.40.128.0/18"]  # the nodes' range of network.cidr 10.40.0.0/16
    (network,) = instance.inputs["networks"]
    assert network["connectMode"] == "DIRECT_PEERING" and network["modes"] == ["MODE_IPV4"]
    assert instance.inputs["location"] == "us-central1-a"


def test_every_team_claims_the_share_through_the_filestore_csi_driver(prod: Plan) -> None:
    cluster = _named(prod, CLUSTER, "vision-prod")
    assert cluster.inputs["addonsConfig"]["gcpFilestoreCsiDriverConfig"] == {"enabled": True}
    for team in TEAMS:
        volume = _named(prod, PV, f"vision-prod-{team}-shared").inputs["spec"]
        assert volume["csi"]["driver"] == "filestore.csi.storage.gke.io"
        assert volume["csi"]["volumeHandle"] == "modeInstance/us-central1-a/vision-prod-shared/shared"
        assert set(volume["csi"]["volumeAttributes"]) == {"ip", "volume"}
        assert volume["csi"]["volumeAttributes"]["volume"] == "shared"
        assert volume["claimRef"] == {"namespace": f"team-{team}", "name": "shared-data"}
        claim = _named(prod, PVC, f"vision-prod-{team}-shared").inputs
        assert claim["metadata"]["namespace"] == f"team-{team}"


def test_a_dev_cluster_without_teams_or_shared_fs_keeps_its_cluster_inputs() -> None:
    plan = plan_spec(_stack("gcp-dev"), stack="gcp-dev")
    cluster = _named(plan, CLUSTER, "vision-dev")
    assert "authenticatorGroupsConfig" not in cluster.inputs
    assert cluster.inputs["addonsConfig"] == {"gcsFuseCsiDriverConfig": {"enabled": True}}
    assert plan.of_type(FILESTORE) == [] and plan.of_type("mlfabric:teams:GcpTeams") == []
    # Kueue is on every cluster
    assert [r.inputs["metadata"]["name"] for r in _kind(plan, "ResourceFlavor")] == ["l4"]


# --- refusals -------------------------------------------------------------------------------------------------


def _validate(tmp_path: Path, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Pulumi.gcp-test.yaml"
    path.write_text(yaml.safe_dump({"config": {SPEC_CONFIG_KEY: data}}, sort_keys=False))
    return subprocess.run([sys.executable, "-m", "mlfabric", "validate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, check=False)


def _prod_with(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_stack("gcp-prod"))
    change(data)
    return data


REFUSALS = {
    "import_datasets": (lambda d: d["training"]["shared_fs"].update(import_datasets=True),
                        "training.shared_fs.import_datasets: not supported on gcp: Filestore has no link"),
    "capacity": (lambda d: d["training"]["shared_fs"].update(capacity_gib=3000),
                 "training.shared_fs.capacity_gib: Filestore (zonal tier) is 1024 to 9984 GiB in steps of 256"),
    "queued_min_nodes": (lambda d: d["training"]["gpu_pools"][2].update(min_nodes=1),
                         "training.gpu_pools[2].min_nodes: a pool with queued_provisioning scales from zero"),
    "queued_reservation": (lambda d: d["training"]["gpu_pools"][2].update(reservation="h100-reserved"),
                           "training.gpu_pools[2].reservation: a pool with queued_provisioning consumes no reservation"),
    "queued_spot": (lambda d: d["training"]["gpu_pools"][2].update(spot=True),
                    "training.gpu_pools[2].spot: a pool with queued_provisioning gets Dynamic Workload Scheduler"),
    "domain_member": (lambda d: d["teams"][0]["members"].update(reader=["domain:example.com"]),
                      "teams[0].members.reader[0]: a whole domain is no Kubernetes RBAC subject on GKE"),
    "two_group_domains": (lambda d: d["teams"][1]["members"].update(**{"ml-engineer": ["group:speech@example.org"]}),
                          "teams[1].members.ml-engineer[0]: GKE's Google Groups for RBAC reads one domain's groups"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_validate_refuses_what_gcp_cannot_build_naming_the_field(tmp_path: Path, case: str) -> None:
    change, expected = REFUSALS[case]
    result = _validate(tmp_path, _prod_with(change))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(line.startswith(expected) for line in lines), lines
    assert "Traceback" not in result.stderr


def test_the_example_validates(tmp_path: Path) -> None:
    result = _validate(tmp_path, _stack("gcp-prod"))
    assert result.returncode == 0, result.stderr
