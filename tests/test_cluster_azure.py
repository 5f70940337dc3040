"""AzureTrainingCluster under the mock runtime, built directly on an AzureNetwork (no MLPlatform).

What a mock test cannot prove: that AKS accepts this combination (KMS with a public key vault and
a user-assigned identity, overlay networking behind a NAT gateway, Spot GPU pools scaling from zero),
that the role assignments have propagated before the cluster first uses the key, that AKS installs
the NVIDIA driver on these VM sizes and the device plugin then advertises ``nvidia.com/gpu``, that
Container Insights collects GPU metrics with this data collection rule, or that ``kubelogin`` with
Azure CLI credentials gets the deployer in. Those need a real subscription and real GPUs (README:
limits). Proven here: the resources, their security-relevant inputs and how they point at each other.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlfabric.check import Source, check_source
from mlfabric.components import catalog
from mlfabric.components.azure import fakes as azure_fakes
from mlfabric.components.azure.cluster import (
    ACR_PULL,
    AKS_RBAC_CLUSTER_ADMIN,
    KEY_VAULT_CRYPTO_USER,
    NETWORK_CONTRIBUTOR,
    AzureTrainingCluster,
    cluster_ranges,
)
from mlfabric.components.azure.cluster_addons import AKS_AAD_SERVER_ID, certificate_authority
from mlfabric.components.azure.kit import aks_calendar
from mlfabric.components.azure.network import AzureNetwork
from mlfabric.components.concerns import ClusterOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import SpecError, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from mlfabric.policies.rules.iam import CONTRIBUTOR_ID, OWNER_ID
from tests.azure_support import prerequisites
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:cluster:AzureTrainingCluster"
CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
DCR = "azure-native:monitor:DataCollectionRule"
DCRA = "azure-native:monitor:DataCollectionRuleAssociation"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
K8S_PROVIDER = "pulumi:providers:kubernetes"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x"
WORKSPACE_ID = f"{GROUP_ID}/providers/Microsoft.OperationalInsights/workspaces/log-x"
ACR_ID = f"{GROUP_ID}/providers/Microsoft.ContainerRegistry/registries/crx"
OUTPUT_NAMES = ("cluster_name", "cluster_endpoint", "kubeconfig", "oidc_issuer_url", "gpu_pool_names")

DEV_TRAINING: dict[str, Any] = {
    "cluster": {"endpoint_public_cidrs": ["203.0.113.0/24"]},
    "gpu_pools": [{"name": "t4", "accelerator": "t4", "max_nodes": 2}],
}
PROD_TRAINING: dict[str, Any] = {
    "cluster": {"system_pool": {"min_nodes": 2, "max_nodes": 5}},
    "gpu_pools": [
        {"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 2, "max_nodes": 4, "disk_gib": 512},
        {"name": "t4", "accelerator": "t4", "min_nodes": 1, "max_nodes": 8, "spot": True},
    ],
}


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    conforms: bool

    @property
    def children(self) -> list[ResourceRecord]:
        component = only(self.records, COMPONENT)
        return [r for r in self.records if r.custom and r.parent == component.urn]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.children)

    def roles(self, guid: str) -> list[ResourceRecord]:
        return [r for r in of_type(self.records, ROLE) if r.inputs["roleDefinitionId"].endswith(guid)]


def build(environment: str, training: dict[str, Any], *, registry: bool = True, **sections: Any) -> Built:
    spec = parse_spec(spec_data("azure", environment, region="westeurope", training=training, **sections))
    assert spec.training is not None
    training_spec = spec.training
    ctx = PlatformContext.from_spec(spec).with_handles(prerequisites=prerequisites(WORKSPACE_ID))
    conforms: list[bool] = []

    def program() -> None:
        network = AzureNetwork(spec.base_name, spec.network, ctx)
        handles: dict[str, object] = {"network": network}
        if registry:
            handles["registry"] = SimpleNamespace(container_registry_id=pulumi.Output.from_input(ACR_ID))
        cluster = AzureTrainingCluster(spec.base_name, training_spec, ctx.with_handles(**handles))
        conforms.append(isinstance(cluster, ClusterOutputs))
        for key in OUTPUT_NAMES:
            pulumi.export(key, getattr(cluster, key))

    records, outputs, _ = run_program(
        program, project="mlfabric", stack=f"azure-{environment}", config={}, secret_keys=["kubeconfig"],
        world=World(project="mlfabric", stack=f"azure-{environment}", region="westeurope"),
    )
    return Built(records, outputs, all(conforms))




@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev", DEV_TRAINING)


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod", PROD_TRAINING, network={"availability_zones": 3})


def _pool(built: Built, name: str) -> dict[str, Any]:
    [pool] = [r for r in of_type(built.records, POOL) if r.name.endswith(f"-gpu-{name}")]
    return pool.inputs


# --- shape -------------------------------------------------------------------------------------------


def test_dev_cluster_creates_exact_child_types_for_one_gpu_pool(dev: Built) -> None:
    assert dev.counts() == {
        IDENTITY: 1,
        VAULT: 1,
        KEY: 1,
        ROLE: 4,  # KMS key, AKS subnet, deployer cluster admin, kubelet AcrPull
        CLUSTER: 1,
        DCR: 1,
        DCRA: 1,
        DIAGNOSTICS: 1,
        POOL: 1,
        K8S_PROVIDER: 1,
        DAEMON_SET: 1,
        NETWORK_POLICY: 1,  # around the device plugin (components/kubernetes), enforced by Cilium
        NAMESPACE: 2,  # kueue-system, jobset-system
        FLAVOR: 1,  # one Kueue ResourceFlavor per GPU pool
    }


def test_each_more_gpu_pool_adds_one_agent_pool_and_its_flavor(dev: Built, prod: Built) -> None:
    assert prod.counts() - dev.counts() == {POOL: 1, FLAVOR: 1}


def test_without_a_registry_there_is_no_acr_pull_grant() -> None:
    built = build("dev", DEV_TRAINING, registry=False)
    assert built.counts()[ROLE] == 3
    assert not built.roles(ACR_PULL)


def test_child_logical_names_derive_from_the_component_name(prod: Built) -> None:
    names = {r.name for r in prod.children}
    assert {"fraud-prod", "fraud-prod-gpu-a100", "fraud-prod-gpu-t4", "fraud-prod-kms", "fraud-prod-audit"} <= names
    assert all(name.startswith("fraud-prod") for name in names)


def test_outputs_conform_to_the_cluster_protocol_and_the_kubeconfig_is_secret(dev: Built) -> None:
    assert dev.conforms
    assert dev.outputs["kubeconfig"] == "[secret]"
    assert dev.outputs["cluster_name"] == "aks-fraud-dev"
    assert dev.outputs["gpu_pool_names"] == {"t4": "t4"}
    assert dev.outputs["oidc_issuer_url"].startswith("https://westeurope.oic.prod-aks.azure.com/")


# --- identity and access --------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_entra_id_with_azure_rbac_and_no_local_accounts(environment: str, dev: Built, prod: Built) -> None:
    cluster = only((dev if environment == "dev" else prod).records, CLUSTER).inputs
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True, "tenantID": "11111111-1111-1111-1111-111111111111"}
    assert cluster["disableLocalAccounts"] is True
    assert cluster["enableRBAC"] is True


def test_oidc_issuer_and_workload_identity_are_on(dev: Built) -> None:
    cluster = only(dev.records, CLUSTER).inputs
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}


def test_the_control_plane_runs_as_a_user_assigned_identity(dev: Built) -> None:
    identity = only(dev.records, IDENTITY)
    cluster = only(dev.records, CLUSTER).inputs
    assert cluster["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert identity.inputs["resourceName"] == "id-fraud-dev-aks"


def test_secrets_are_encrypted_with_a_versioned_key_of_a_purge_protected_rbac_vault(dev: Built) -> None:
    vault, key = only(dev.records, VAULT).inputs, only(dev.records, KEY)
    kms = only(dev.records, CLUSTER).inputs["securityProfile"]["azureKeyVaultKms"]
    assert kms["enabled"] is True
    assert kms["keyVaultNetworkAccess"] == "Public"
    assert kms["keyId"].startswith(f"https://{vault['vaultName']}.vault.azure.net/keys/aks-etcd-kms/")
    assert len(kms["keyId"].rsplit("/", 1)[-1]) == 32  # the version
    properties = vault["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enablePurgeProtection"] is True
    assert key.inputs["properties"]["keyOps"] == ["encrypt", "decrypt"]


def test_role_grants_are_narrow_and_never_owner_or_contributor(dev: Built) -> None:
    cluster, key, identity = only(dev.records, CLUSTER), only(dev.records, KEY), only(dev.records, IDENTITY)
    [kms] = dev.roles(KEY_VAULT_CRYPTO_USER)
    assert kms.inputs["scope"] == key.id
    assert identity.urn in kms.property_dependencies["principalId"]
    [subnet] = dev.roles(NETWORK_CONTRIBUTOR)
    assert subnet.inputs["scope"].endswith("/virtualNetworks/vnet-fraud-dev/subnets/snet-aks")
    [admin] = dev.roles(AKS_RBAC_CLUSTER_ADMIN)
    assert admin.inputs["scope"] == cluster.id
    assert admin.inputs["principalId"] == "22222222-2222-2222-2222-222222222222"  # whoever runs Pulumi
    assert "principalType" not in admin.inputs  # user or service principal: Azure looks it up
    [pull] = dev.roles(ACR_PULL)
    assert pull.inputs["scope"] == ACR_ID
    assert cluster.urn in pull.property_dependencies["principalId"]  # the kubelet identity
    for role in of_type(dev.records, ROLE):
        assert not role.inputs["roleDefinitionId"].endswith((OWNER_ID, CONTRIBUTOR_ID))


def test_the_cluster_waits_for_its_key_and_subnet_grants(dev: Built) -> None:
    cluster = only(dev.records, CLUSTER)
    for grant in dev.roles(KEY_VAULT_CRYPTO_USER) + dev.roles(NETWORK_CONTRIBUTOR):
        assert grant.urn in cluster.dependencies


# --- API server and network ------------------------------------------------------------------------------


def test_api_server_is_private_when_no_public_cidrs_are_listed(prod: Built) -> None:
    access = only(prod.records, CLUSTER).inputs["apiServerAccessProfile"]
    assert access == {"enablePrivateCluster": True, "privateDNSZone": "system", "enablePrivateClusterPublicFQDN": False}


def test_public_api_server_is_reachable_only_from_the_listed_cidrs(dev: Built) -> None:
    assert only(dev.records, CLUSTER).inputs["apiServerAccessProfile"] == {"authorizedIPRanges": ["203.0.113.0/24"]}


def test_nodes_run_in_the_aks_subnet_and_egress_through_the_nat_gateway(dev: Built) -> None:
    cluster = only(dev.records, CLUSTER).inputs
    subnet = only(dev.records, "azure-native:network:Subnet", "fraud-dev-aks").id
    assert cluster["networkProfile"]["outboundType"] == "userAssignedNATGateway"
    assert cluster["networkProfile"]["networkPluginMode"] == "overlay"
    assert cluster["agentPoolProfiles"][0]["vnetSubnetID"] == subnet
    assert _pool(dev, "t4")["vnetSubnetID"] == subnet
    assert "loadBalancerProfile" not in cluster["networkProfile"]


def test_per_zone_egress_goes_through_the_load_balancer_with_one_outbound_ip_per_zone(prod: Built) -> None:
    profile = only(prod.records, CLUSTER).inputs["networkProfile"]
    assert profile["outboundType"] == "loadBalancer"
    assert profile["loadBalancerProfile"]["managedOutboundIPs"]["count"] == 3


def test_on_a_reused_vnet_the_overlay_avoids_the_cidr_the_spec_gives_it() -> None:
    existing = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/hub"
    built = build("dev", DEV_TRAINING, network={"existing_network_id": existing, "cidr": "192.168.0.0/16"})
    profile = only(built.records, CLUSTER).inputs["networkProfile"]
    assert profile["podCidr"] == "100.64.0.0/16"
    assert profile["loadBalancerProfile"]["managedOutboundIPs"]["count"] == 1


def test_pod_and_service_ranges_never_overlap_the_vnet() -> None:
    assert cluster_ranges("10.0.0.0/16") == ("192.168.0.0/16", "172.16.0.0/16", "172.16.0.10")
    assert cluster_ranges("192.168.0.0/16") == ("100.64.0.0/16", "172.16.0.0/16", "172.16.0.10")
    assert cluster_ranges("172.16.0.0/12") == ("192.168.0.0/16", "10.254.0.0/16", "10.254.0.10")


# --- pools ------------------------------------------------------------------------------------------------


def test_system_pool_is_autoscaled_zone_spread_and_kept_free_of_workloads(prod: Built) -> None:
    [system] = only(prod.records, CLUSTER).inputs["agentPoolProfiles"]
    assert system["mode"] == "System"
    assert system["vmSize"] == catalog.DEFAULT_SYSTEM_MACHINE["azure"]
    assert (system["enableAutoScaling"], system["minCount"], system["maxCount"]) == (True, 2, 5)
    assert system["availabilityZones"] == ["1", "2", "3"]
    assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]


def test_gpu_pools_use_the_catalogue_vm_size_and_scale_from_zero(prod: Built) -> None:
    a100 = _pool(prod, "a100")
    assert a100["vmSize"] == catalog.gpu_shape("azure", "a100-80gb", 2).machine == "Standard_NC48ads_A100_v4"
    assert a100["mode"] == "User"
    assert (a100["enableAutoScaling"], a100["minCount"], a100["maxCount"], a100["count"]) == (True, 0, 4, 0)
    assert a100["osDiskSizeGB"] == 512
    assert a100["agentPoolName"] == "a100"
    assert a100["resourceName"] == "aks-fraud-prod"


def test_gpu_pools_are_tainted_and_labelled(prod: Built) -> None:
    a100 = _pool(prod, "a100")
    assert a100["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert a100["nodeLabels"] == {"mlfabric.dev/accelerator": "nvidia-a100-80gb", "mlfabric.dev/gpu-pool": "a100"}


def test_spot_pools_are_evicted_by_deletion_and_carry_the_spot_taint(dev: Built, prod: Built) -> None:
    t4 = _pool(dev, "t4")  # dev defaults to spot
    assert (t4["scaleSetPriority"], t4["scaleSetEvictionPolicy"], t4["spotMaxPrice"]) == ("Spot", "Delete", -1)
    assert "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in t4["nodeTaints"]
    a100 = _pool(prod, "a100")  # prod defaults to on-demand
    assert a100["scaleSetPriority"] == "Regular"
    assert "scaleSetEvictionPolicy" not in a100


def test_the_cluster_refuses_a_network_that_has_no_aks_subnet() -> None:
    spec = parse_spec(spec_data("azure", "dev", region="westeurope", training=DEV_TRAINING))
    assert spec.training is not None
    training = spec.training
    ctx = PlatformContext.from_spec(spec).with_handles(prerequisites=prerequisites(WORKSPACE_ID))
    # A network with the contract's outputs only: no AKS subnet, NAT gateway, address space or zones.
    network = SimpleNamespace(network_id="vnet", private_subnet_ids=["snet"], public_subnet_ids=[])

    def program() -> None:
        AzureTrainingCluster("fraud-dev", training, ctx.with_handles(network=network))

    with pytest.raises(pulumi.RunError, match=r"needs the platform's Azure network"):
        run_program(
            program, project="mlfabric", stack="no-aks-subnet", config={}, secret_keys=[],
            world=World(project="mlfabric", stack="no-aks-subnet", region="westeurope"),
        )


def test_a_gpu_pool_named_like_the_system_pool_is_refused_by_the_spec() -> None:
    with pytest.raises(SpecError, match=r"training\.gpu_pools\[0\]\.name: 'system' is the name of the AKS system pool"):
        build("dev", {"gpu_pools": [{"name": "system", "accelerator": "t4"}]})


def test_a_version_in_long_term_support_runs_on_the_premium_tier_with_the_lts_plan(dev: Built) -> None:
    assert only(dev.records, CLUSTER).inputs["supportPlan"] == "KubernetesOfficial"
    lts = build("dev", {**DEV_TRAINING, "cluster": {"kubernetes_version": "1.33"}})
    cluster = only(lts.records, CLUSTER).inputs
    assert (cluster["kubernetesVersion"], cluster["sku"]["tier"], cluster["supportPlan"]) == (
        "1.33", "Premium", "AKSLongTermSupport")


# --- operations -------------------------------------------------------------------------------------------


def test_container_insights_sends_to_the_platform_workspace_with_entra_auth(dev: Built) -> None:
    cluster = only(dev.records, CLUSTER)
    assert cluster.inputs["addonProfiles"]["omsagent"] == {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": WORKSPACE_ID, "useAADAuth": "true"},
    }
    rule, association = only(dev.records, DCR), only(dev.records, DCRA)
    assert rule.inputs["destinations"]["logAnalytics"] == [{"name": "platform", "workspaceResourceId": WORKSPACE_ID}]
    assert rule.inputs["dataFlows"][0]["streams"] == ["Microsoft-ContainerInsights-Group-Default"]
    assert association.inputs["resourceUri"] == cluster.id
    assert association.inputs["dataCollectionRuleId"] == rule.id


def test_audit_logs_go_to_the_workspace_unless_turned_off(dev: Built) -> None:
    setting = only(dev.records, DIAGNOSTICS)
    assert setting.inputs["resourceUri"] == only(dev.records, CLUSTER).id
    assert setting.inputs["workspaceId"] == WORKSPACE_ID
    assert {"category": "kube-audit-admin", "enabled": True} in setting.inputs["logs"]
    quiet = build("dev", {**DEV_TRAINING, "cluster": {"audit_logging": False}})
    assert not of_type(quiet.records, DIAGNOSTICS)


def test_upgrades_are_automatic_and_prod_gets_the_sla_tier(dev: Built, prod: Built) -> None:
    assert only(dev.records, CLUSTER).inputs["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert only(dev.records, CLUSTER).inputs["sku"] == {"name": "Base", "tier": "Free"}
    assert only(dev.records, CLUSTER).inputs["kubernetesVersion"] == aks_calendar().default
    assert only(prod.records, CLUSTER).inputs["sku"] == {"name": "Base", "tier": "Standard"}


def test_prod_cluster_identity_and_key_are_protected(prod: Built, dev: Built) -> None:
    for typ in (CLUSTER, VAULT, KEY, IDENTITY):
        assert only(prod.records, typ).protect and only(prod.records, typ).retain_on_delete
        assert not only(dev.records, typ).protect


# --- add-ons ---------------------------------------------------------------------------------------------


def test_device_plugin_tolerates_gpu_and_spot_taints_and_runs_only_on_gpu_nodes(dev: Built) -> None:
    daemon = only(dev.records, DAEMON_SET)
    pod = daemon.inputs["spec"]["template"]["spec"]
    assert {(t["key"], t["effect"]) for t in pod["tolerations"]} == {
        ("nvidia.com/gpu", "NoSchedule"), ("kubernetes.azure.com/scalesetpriority", "NoSchedule"),
    }
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "mlfabric.dev/accelerator", "operator": "Exists"}]}]
    assert daemon.provider.startswith(only(dev.records, K8S_PROVIDER).urn)
    [admin] = dev.roles(AKS_RBAC_CLUSTER_ADMIN)
    assert admin.urn in daemon.dependencies


def test_kubernetes_provider_logs_in_with_azure_cli_credentials_never_a_static_token(dev: Built) -> None:
    provider = only(dev.records, K8S_PROVIDER)
    # The mock runtime records secret inputs with Pulumi's secret signature around the value.
    assert "4dabf18193072939515e22adb298388d" in provider.inputs["kubeconfig"]
    kubeconfig = json.loads(provider.inputs["kubeconfig"]["value"])
    assert provider.inputs["clusterIdentifier"] == only(dev.records, CLUSTER).id
    [user] = kubeconfig["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"] == ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_ID]
    [cluster] = kubeconfig["clusters"]
    assert cluster["cluster"]["server"] == dev.outputs["cluster_endpoint"]
    assert cluster["cluster"]["server"].startswith("https://aks-fraud-dev-")
    assert cluster["cluster"]["server"].endswith(".hcp.westeurope.azmk8s.io:443")
    assert cluster["cluster"]["certificate-authority-data"] == azure_fakes._FAKE_CA


def test_the_ca_comes_from_the_base64_kubeconfig_aks_returns() -> None:
    world = World(project="p", stack="s", region="westeurope")
    answer = azure_fakes.INVOKES["azure-native:containerservice:listManagedClusterUserCredentials"](
        {"resourceGroupName": "rg", "resourceName": "aks-x"}, world
    )
    encoded = [k["value"] for k in answer["kubeconfigs"]]
    assert b"kubelogin" in base64.b64decode(encoded[0])
    assert certificate_authority(encoded) == azure_fakes._FAKE_CA


def test_private_cluster_endpoint_is_its_private_fqdn(prod: Built) -> None:
    assert ".privatelink.westeurope.azmk8s.io:443" in prod.outputs["cluster_endpoint"]


# --- policies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_policy_pack_finds_nothing_mandatory(environment: str, dev: Built, prod: Built) -> None:
    built = dev if environment == "dev" else prod
    report = check_source(Source("test", "mlfabric", environment, "azure", "", built.records))
    assert [f"{v.rule_id}: {v.message}" for v in report.violations if v.mandatory] == []


# --- hardening (issue 15) -------------------------------------------------------------------------------


def test_every_agent_pool_encrypts_temp_disks_and_caches_at_host(dev: Built, prod: Built) -> None:
    for built in (dev, prod):
        [profile] = only(built.records, CLUSTER).inputs["agentPoolProfiles"]
        assert profile["enableEncryptionAtHost"] is True
        assert all(p.inputs["enableEncryptionAtHost"] is True for p in of_type(built.records, POOL))


def test_the_cluster_enforces_network_policy_with_cilium(dev: Built) -> None:
    profile = only(dev.records, CLUSTER).inputs["networkProfile"]
    assert (profile["networkPolicy"], profile["networkDataplane"]) == ("cilium", "cilium")


def test_the_kms_key_is_hsm_backed_in_a_premium_vault_in_prod_only(dev: Built, prod: Built) -> None:
    assert only(prod.records, VAULT).inputs["properties"]["sku"]["name"] == "premium"
    assert only(prod.records, KEY).inputs["properties"]["kty"] == "RSA-HSM"
    assert only(dev.records, VAULT).inputs["properties"]["sku"]["name"] == "standard"
    assert only(dev.records, KEY).inputs["properties"]["kty"] == "RSA"
