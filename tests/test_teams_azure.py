"""Teams, queues, interconnect, reservations and the shared file system on Azure, in the offline plan
of the azure-prod example (two teams, an InfiniBand pool, Azure Managed Lustre) and small specs.

What a mock test cannot prove: that Azure evaluates the ABAC condition as written, that the
federated credential's token exchange works, that Kueue admits a JobSet all-or-nothing, that the
proximity placement group and capacity reservation are honoured, that Managed Lustre accepts the key
and the CSI node plugin mounts it. Those need a real subscription and GPUs. Proven here: which
resources exist and their security-relevant inputs, checked against the Kueue CRD schemas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlfabric.components.azure.network import lustre_subnet_cidr, subnet_cidrs
from mlfabric.components.azure.rbac import (
    ACR_PULL,
    AKS_CLUSTER_USER,
    AKS_RBAC_READER,
    AKS_RBAC_WRITER,
    BLOB_CONTRIBUTOR,
)
from mlfabric.components.azure.shared_fs import csi_manifests, lustre_tier
from mlfabric.components.azure.spec_rules import interconnect_notes
from mlfabric.components.azure.teams import prefix_condition
from mlfabric.components.spec import parse_spec
from mlfabric.testing import Plan, plan_spec
from tests.capability_support import deep_merge, stack_spec
from tests.helpers import ROOT

ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
POOL = "azure-native:containerservice:AgentPool"
PPG = "azure-native:compute:ProximityPlacementGroup"
AMLFS = "azure-native:storagecache:AmlFilesystem"
KEY = "azure-native:keyvault:Key"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
CLUSTER = "azure-native:containerservice:ManagedCluster"
ACR = "azure-native:containerregistry:Registry"
ACCOUNT = "azure-native:storage:StorageAccount"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
CHART = "kubernetes:helm.sh/v4:Chart"
SCHEMAS = ROOT / "tests" / "crd_schemas"
CRG = ("/subscriptions/0f3c6a2e-7b19-4d55-9c1e-2a8b4d6f0e37/resourceGroups/rg-capacity/providers/"
       "Microsoft.Compute/capacityReservationGroups/crg-speech-h100")
ASR_SCIENTIST = "0b0f8f6e-1d2c-4c4b-9a57-3e5d2b7a9c11"
TTS_SCIENTIST = "3d9a6c1e-5f2b-4a8d-9c7e-1b4f6a2d8e05"
TTS_READER = "9f2e4b6d-8a1c-4d3e-b5f7-2c6a8e0d4b19"




@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_spec(stack_spec("azure-prod"), stack="azure-prod")


def _prod_with(patch: dict[str, Any]) -> Plan:
    return plan_spec(deep_merge(stack_spec("azure-prod"), patch), stack="azure-prod")


def _pools(**changes: dict[str, Any]) -> dict[str, Any]:
    pools = [dict(pool) for pool in stack_spec("azure-prod")["training"]["gpu_pools"]]
    return {"training": {"gpu_pools": [{**pool, **changes.get(pool["name"], {})} for pool in pools]}}


def _one(plan: Plan, typ: str, name: str) -> Any:
    found = [r for r in plan.of_type(typ) if r.name == name]
    assert len(found) == 1, (typ, name, [r.name for r in plan.of_type(typ)])
    return found[0]


def _schema(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return document.get("openAPIV3Schema", document)


def _role_guid(record: Any) -> str:
    return str(record.inputs["roleDefinitionId"]).rsplit("/", 1)[-1]


# --- identity -------------------------------------------------------------------------------------


def test_each_team_gets_a_namespace_and_a_service_account_annotated_with_its_identity(prod: Plan) -> None:
    assert {r.inputs["metadata"]["name"] for r in prod.of_type(NAMESPACE)} >= {"team-asr", "team-tts"}
    teams = prod.outputs["teams"]
    for team in ("asr", "tts"):
        account = _one(prod, SERVICE_ACCOUNT, f"speech-prod-{team}")
        assert account.inputs["metadata"]["namespace"] == f"team-{team}"
        assert account.inputs["metadata"]["name"] == team
        assert account.inputs["metadata"]["annotations"] == {"azure.workload.identity/client-id": teams[team]["identity"]}
        assert teams[team] | {"identity": "x"} == {
            "namespace": f"team-{team}", "queue": team, "service_account": team, "identity": "x",
            "storage_prefix": "teams/asr/" if team == "asr" else "teams/speech-synthesis/"}
    identity = _one(prod, IDENTITY, "speech-prod-asr")
    assert identity.inputs["resourceName"] == "id-speech-prod-team-asr"
    assert identity.inputs["tags"]["mlfabric-team"] == "asr"


def test_a_team_identity_trusts_only_its_own_service_account_on_the_cluster_issuer(prod: Plan) -> None:
    credentials = prod.of_type(FEDERATED)
    subjects = {r.inputs["subject"] for r in credentials}
    assert {"system:serviceaccount:team-asr:asr", "system:serviceaccount:team-tts:tts"} <= subjects
    asr = _one(prod, FEDERATED, "speech-prod-asr")
    assert asr.inputs["subject"] == "system:serviceaccount:team-asr:asr"
    assert asr.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert asr.inputs["issuer"] == prod.outputs["oidc_issuer_url"]
    assert asr.inputs["resourceName"] == "id-speech-prod-team-asr"


def test_a_team_identity_reads_and_writes_only_its_prefix_of_the_storage_account(prod: Plan) -> None:
    account = next(r.inputs["accountName"] for r in prod.of_type(ACCOUNT) if r.name == "speech-prod-storage")
    for team, prefix in (("asr", "teams/asr/"), ("tts", "teams/speech-synthesis/")):
        grant = _one(prod, ROLE, f"speech-prod-{team}-{BLOB_CONTRIBUTOR.slug}")
        assert _role_guid(grant) == BLOB_CONTRIBUTOR.guid
        assert grant.inputs["scope"].endswith(f"/providers/Microsoft.Storage/storageAccounts/{account}")
        assert grant.inputs["condition"] == prefix_condition(prefix)
        assert grant.inputs["conditionVersion"] == "2.0"
        assert grant.inputs["principalType"] == "ServicePrincipal"


def test_the_prefix_condition_gates_every_blob_action_by_path_and_listing_by_prefix() -> None:
    condition = prefix_condition("teams/asr/")
    blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
    assert condition == (
        "(\n (\n"
        f"  !(ActionMatches{{'{blobs}/read'}} AND NOT SubOperationMatches{{'Blob.List'}})\n"
        f"  AND\n  !(ActionMatches{{'{blobs}/write'}})\n"
        f"  AND\n  !(ActionMatches{{'{blobs}/add/action'}})\n"
        f"  AND\n  !(ActionMatches{{'{blobs}/delete'}})\n"
        " )\n OR\n (\n"
        f"  @Resource[{blobs}:path] StringStartsWith 'teams/asr/'\n"
        " )\n)\nAND\n(\n (\n"
        f"  !(ActionMatches{{'{blobs}/read'}} AND SubOperationMatches{{'Blob.List'}})\n"
        " )\n OR\n (\n"
        f"  @Request[{blobs}:prefix] StringStartsWith 'teams/asr/'\n"
        " )\n)"
    )


def test_a_team_identity_pulls_from_the_platform_registry(prod: Plan) -> None:
    registry = prod.of_type(ACR)[0].inputs["registryName"]
    grant = _one(prod, ROLE, f"speech-prod-asr-{ACR_PULL.slug}")
    assert _role_guid(grant) == ACR_PULL.guid
    assert grant.inputs["scope"].endswith(f"/registries/{registry}")
    assert "condition" not in grant.inputs


# --- members ----------------------------------------------------------------------------------------


def test_members_get_azure_rbac_on_their_team_namespace_only(prod: Plan) -> None:
    namespace_grants = [r for r in prod.of_type(ROLE) if str(r.inputs["scope"]).endswith("/namespaces/team-tts")]
    granted = {(r.inputs["principalId"], _role_guid(r)) for r in namespace_grants}
    assert granted == {(TTS_SCIENTIST, AKS_RBAC_WRITER.guid), (TTS_READER, AKS_RBAC_READER.guid)}
    cluster = prod.of_type(CLUSTER)[0].inputs["resourceName"]
    assert all(f"/managedClusters/{cluster}/namespaces/" in r.inputs["scope"] for r in namespace_grants)
    users = {r.inputs["principalId"] for r in prod.of_type(ROLE)
             if _role_guid(r) == AKS_CLUSTER_USER.guid and r.name.startswith("speech-prod-tts-")}
    assert users == {TTS_SCIENTIST, TTS_READER}
    # Azure RBAC authorises the namespace: no Kubernetes RoleBinding is declared for members.
    assert prod.of_type(ROLE_BINDING) == []
    # the asr data scientist has no access to the tts namespace
    assert all(r.inputs["principalId"] != ASR_SCIENTIST for r in namespace_grants)


# --- queues -------------------------------------------------------------------------------------------


def test_kueue_and_jobset_are_installed_from_their_pinned_charts(prod: Plan) -> None:
    charts = {r.inputs.get("chart"): r.inputs.get("version") for r in prod.of_type(CHART)}
    assert charts == {"oci://registry.k8s.io/kueue/charts/kueue": "0.19.2",
                      "oci://registry.k8s.io/jobset/charts/jobset": "0.12.0"}


def test_each_gpu_pool_has_a_resource_flavor_valid_against_the_crd(prod: Plan) -> None:
    schema = _schema("kueue.x-k8s.io_resourceflavors.json")
    flavors = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in prod.of_type(FLAVOR)}
    assert set(flavors) == {"a100", "t4", "h100"}
    for spec in flavors.values():
        jsonschema.validate({"spec": spec}, schema)
    assert flavors["h100"]["nodeLabels"] == {"mlfabric.dev/gpu-pool": "h100"}


def test_cluster_queues_carry_the_quotas_in_one_cohort_and_match_the_crd(prod: Plan) -> None:
    schema = _schema("kueue.x-k8s.io_clusterqueues.json")
    queues = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in prod.of_type(CLUSTER_QUEUE)}
    assert set(queues) == {"asr", "tts"}
    for spec in queues.values():
        jsonschema.validate({"spec": spec}, schema)
        assert spec["cohortName"] == "speech-prod"
    gpus = {team: {f["name"]: f["resources"][2] for f in spec["resourceGroups"][0]["flavors"]}
            for team, spec in queues.items()}
    assert gpus["asr"]["h100"] == {"name": "nvidia.com/gpu", "nominalQuota": 8, "borrowingLimit": 8}
    assert gpus["asr"]["t4"] == {"name": "nvidia.com/gpu", "nominalQuota": 4, "borrowingLimit": 0}
    assert gpus["asr"]["a100"] == {"name": "nvidia.com/gpu", "nominalQuota": 2}
    assert gpus["tts"]["a100"]["borrowingLimit"] == 2
    assert queues["asr"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "team-asr"}}


def test_each_team_namespace_has_a_local_queue_valid_against_the_crd(prod: Plan) -> None:
    schema = _schema("kueue.x-k8s.io_localqueues.json")
    for team in ("asr", "tts"):
        queue = _one(prod, LOCAL_QUEUE, f"speech-prod-{team}-local-queue")
        assert queue.inputs["metadata"]["namespace"] == f"team-{team}"
        assert queue.inputs["spec"] == {"clusterQueue": team}
        jsonschema.validate({"spec": queue.inputs["spec"]}, schema)


# --- interconnect ----------------------------------------------------------------------------------


def test_only_the_infiniband_pool_gets_a_proximity_placement_group(prod: Plan) -> None:
    groups = prod.of_type(PPG)
    assert [g.inputs["proximityPlacementGroupName"] for g in groups] == ["ppg-speech-prod-h100"]
    pools = {r.inputs["agentPoolName"]: r.inputs for r in prod.of_type(POOL)}
    assert pools["h100"]["vmSize"] == "Standard_ND96isr_H100_v5"
    assert pools["h100"]["proximityPlacementGroupID"].endswith("/proximityPlacementGroups/ppg-speech-prod-h100")
    assert "proximityPlacementGroupID" not in pools["a100"]
    assert "proximityPlacementGroupID" not in pools["t4"]


def test_interconnect_off_or_a_reservation_means_no_placement_group() -> None:
    assert _prod_with(_pools(h100={"interconnect": "off"})).of_type(PPG) == []
    reserved = _prod_with(_pools(h100={"reservation": CRG}))
    assert reserved.of_type(PPG) == []
    pool = next(r for r in reserved.of_type(POOL) if r.inputs["agentPoolName"] == "h100")
    assert pool.inputs["capacityReservationGroupID"] == CRG


def test_the_interconnect_notes_say_what_each_pool_gets() -> None:
    spec = parse_spec(stack_spec("azure-prod"))
    notes = interconnect_notes(spec)
    assert notes == [
        "training.gpu_pools[0].interconnect: standard networking: InfiniBand is not configured by mlfabric "
        "(Standard_NC24ads_A100_v4 has no InfiniBand: accelerated Ethernet)",
        "training.gpu_pools[1].interconnect: standard networking: InfiniBand is not configured by mlfabric "
        "(Standard_NC4as_T4_v3 has no InfiniBand: accelerated Ethernet)",
        "training.gpu_pools[2].interconnect: standard networking: InfiniBand is not configured by mlfabric "
        "(Standard_ND96isr_H100_v5 has an InfiniBand fabric: the pool gets a proximity placement group; RDMA "
        "from pods needs NVIDIA's Network Operator, which you install)",
    ]


# --- shared file system -----------------------------------------------------------------------------


def test_managed_lustre_is_encrypted_with_a_platform_key_through_its_own_identity(prod: Plan) -> None:
    fs = _one(prod, AMLFS, "speech-prod-lustre")
    assert fs.protect and fs.retain_on_delete
    assert fs.inputs["sku"] == {"name": "AMLFS-Durable-Premium-500"}
    assert fs.inputs["storageCapacityTiB"] == 8
    assert fs.inputs["zones"] == ["1"]
    assert fs.inputs["maintenanceWindow"] == {"dayOfWeek": "Sunday", "timeOfDayUTC": "02:00"}
    key = _one(prod, KEY, "speech-prod-lustre")
    assert key.protect
    assert key.inputs["properties"]["keySize"] == 2048
    assert key.inputs["properties"]["kty"] == "RSA-HSM"
    encryption = fs.inputs["encryptionSettings"]["keyEncryptionKey"]
    vault = key.inputs["vaultName"]
    assert encryption["keyUrl"].startswith(f"https://{vault}.vault.azure.net/keys/lustre-cmk/")
    assert encryption["sourceVault"]["id"].endswith(f"/providers/Microsoft.KeyVault/vaults/{vault}")
    identity = _one(prod, IDENTITY, "speech-prod-lustre")
    assert fs.inputs["identity"]["type"] == "UserAssigned"
    assert identity.inputs["resourceName"] == "id-speech-prod-lustre"
    assert fs.inputs["identity"]["userAssignedIdentities"] == [
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-speech-prod/"
        "providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-speech-prod-lustre"]
    access = _one(prod, ROLE, "speech-prod-lustre-key-access")
    assert access.inputs["scope"].endswith("/keys/lustre-cmk")
    assert "blobServices" not in json.dumps(fs.inputs)  # no blob integration (import_datasets is refused)


def test_managed_lustre_is_reachable_only_from_the_aks_subnet(prod: Plan) -> None:
    fs = _one(prod, AMLFS, "speech-prod-lustre")
    assert fs.inputs["filesystemSubnet"].endswith("/subnets/snet-lustre")
    subnet = _one(prod, SUBNET, "speech-prod-lustre")
    lustre = lustre_subnet_cidr("10.60.0.0/16")
    nodes, endpoints = subnet_cidrs("10.60.0.0/16")
    assert subnet.inputs["addressPrefix"] == lustre == "10.60.130.0/23"
    assert not set(map(str, [lustre])) & {nodes, endpoints}
    rules = {r["name"]: r for r in _one(prod, NSG, "speech-prod-lustre").inputs["securityRules"]}
    assert rules["AllowLustreFromAks"]["sourceAddressPrefix"] == nodes
    assert rules["AllowLustreFromAks"]["destinationPortRange"] == "988"
    assert rules["AllowLustreHosts"]["sourceAddressPrefix"] == lustre
    assert rules["DenyAllOtherInbound"]["access"] == "Deny" and rules["DenyAllOtherInbound"]["sourceAddressPrefix"] == "*"
    allowed = [r for r in rules.values() if r["access"] == "Allow" and r["direction"] == "Inbound"]
    assert {r["sourceAddressPrefix"] for r in allowed} == {nodes, lustre, "AzureMonitor"}


def test_the_csi_driver_is_the_pinned_release_and_each_team_claims_the_volume(prod: Plan) -> None:
    group = _one(prod, CONFIG_GROUP, "speech-prod-lustre-csi")
    assert group.inputs["files"] == csi_manifests()
    assert all(url.startswith("https://raw.githubusercontent.com/kubernetes-sigs/azurelustre-csi-driver/v0.4.0/deploy/")
               for url in group.inputs["files"])
    assert not any("controller" in url for url in group.inputs["files"])
    for team in ("asr", "tts"):
        volume = _one(prod, PV, f"speech-prod-{team}-shared").inputs["spec"]
        assert volume["csi"]["driver"] == "azurelustre.csi.azure.com"
        assert volume["csi"]["volumeAttributes"] == {"mgs-ip-address": "10.60.130.4", "fs-name": "lustrefs"}
        assert volume["mountOptions"] == ["noatime", "flock"]
        assert volume["capacity"] == {"storage": "8192Gi"}
        assert volume["persistentVolumeReclaimPolicy"] == "Retain"
        claim = _one(prod, PVC, f"speech-prod-{team}-shared").inputs
        assert claim["metadata"] == claim["metadata"] | {"name": "shared-data", "namespace": f"team-{team}"}
    assert prod.outputs["shared_fs"]["sku"] == "AMLFS-Durable-Premium-500"
    assert prod.outputs["shared_fs"]["driver"] == "azurelustre.csi.azure.com"


def test_without_teams_or_a_shared_fs_the_dev_plan_has_neither() -> None:
    spec = stack_spec("azure-dev")
    assert "teams" not in spec and "shared_fs" not in spec.get("training", {})
    dev = plan_spec(spec, stack="azure-dev")
    assert dev.of_type(AMLFS) == [] and dev.of_type("mlfabric:teams:AzureTeams") == []
    assert dev.of_type(PPG) == [] and dev.of_type(CONFIG_GROUP) == []
    assert [r.inputs["metadata"]["name"] for r in dev.of_type(FLAVOR)] == ["t4"]
    assert dev.outputs["shared_fs"] == {}


@pytest.mark.parametrize(("gib", "sku"), [(4096, "AMLFS-Durable-Premium-500"), (131072, "AMLFS-Durable-Premium-500"),
                                          (147456, "AMLFS-Durable-Premium-40"), (6144, None), (1500, None)])
def test_the_lustre_tier_is_the_fastest_that_sells_the_capacity(gib: int, sku: str | None) -> None:
    tier = lustre_tier(gib)
    assert (tier.sku if tier else None) == sku


# --- refusals through `mlfabric validate` -------------------------------------------------------------


def _validate(tmp_path: Path, patch: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    data = deep_merge(stack_spec("azure-prod"), patch)
    path = tmp_path / "Pulumi.azure-prod.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlfabric:platform": data}}, sort_keys=False))
    return subprocess.run([sys.executable, "-m", "mlfabric", "validate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)


@pytest.mark.parametrize(("patch", "line"), [
    (_pools(h100={"queued_provisioning": True}),
     "training.gpu_pools[2].queued_provisioning: not supported on azure: AKS has no ProvisioningRequest class"),
    ({"training": {"shared_fs": {"capacity_gib": 8192, "import_datasets": True}}},
     "training.shared_fs.import_datasets: not supported on azure: Azure Managed Lustre's blob integration"),
    (_pools(h100={"reservation": "crg-speech-h100"}),
     "training.gpu_pools[2].reservation: on Azure give the capacity reservation group's resource id"),
    (_pools(t4={"reservation": CRG.replace("h100", "t4")}),
     "training.gpu_pools[1].reservation: capacity reservations hold regular (pay-as-you-go) VMs, not Spot"),
    ({"training": {"shared_fs": {"capacity_gib": 6144}}},
     "training.shared_fs.capacity_gib: Azure Managed Lustre sells whole TiB"),
    ({"training": {"shared_fs": {"capacity_gib": 442368}}},
     "training.shared_fs.capacity_gib: Microsoft sizes a Managed Lustre subnet only up to 400 TiB"),
])
def test_what_azure_cannot_do_is_refused_by_validate_in_one_line(tmp_path: Path, patch: dict[str, Any], line: str) -> None:
    result = _validate(tmp_path, patch)
    assert result.returncode == 2, result.stdout + result.stderr
    problems = [text for text in result.stderr.splitlines() if text.startswith(line)]
    assert len(problems) == 1, result.stderr
    assert "Traceback" not in result.stderr
