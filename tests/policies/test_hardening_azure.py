"""The Azure hardening rules of issue 15, each on the plan shape it was written against.

The ``BEFORE_*`` fixtures are the props the azure-prod (and azure-dev) example plans recorded on
2026-12-01 before the fixes (trimmed to what the rules read): every rule fails on them. The example
stacks' current plans pass (``mlfabric check`` in tests/test_check.py and the mutation test). What this
cannot prove: that Azure accepts the fixed settings together (encryption at host needs the
subscription feature Microsoft.Compute/EncryptionAtHost; the managed network's private endpoints are
provisioned by Azure ML on first compute) — only a real subscription does.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlfabric.components.azure.spec_rules import supports_encryption_at_host
from tests.policies.helpers import R, verdicts

CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
ACCOUNT = "azure-native:storage:StorageAccount"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ROLE = "azure-native:authorization:RoleAssignment"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-speech-prod/providers"

# --- recorded before the fixes (azure-prod, 2026-12-01) ------------------------------------------------
BEFORE_SYSTEM_POOL: dict[str, Any] = {
    "name": "system", "mode": "System", "vmSize": "Standard_D4s_v5", "osSKU": "AzureLinux",
    "enableNodePublicIP": False, "availabilityZones": ["1", "2", "3"]}
BEFORE_CLUSTER: dict[str, Any] = {
    "agentPoolProfiles": [BEFORE_SYSTEM_POOL],
    "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium", "networkDataplane": "cilium",
                       "networkPluginMode": "overlay"}}
BEFORE_GPU_POOL: dict[str, Any] = {
    "agentPoolName": "a100", "vmSize": "Standard_NC24ads_A100_v4", "mode": "User", "osSKU": "Ubuntu",
    "enableNodePublicIP": False, "scaleSetPriority": "Regular"}
BEFORE_WORKSPACE: dict[str, Any] = {
    "workspaceName": "mlw-speech-prod", "kind": "Default", "publicNetworkAccess": "Disabled", "v1LegacyMode": False}
BEFORE_VAULT: dict[str, Any] = {
    "vaultName": "kvspeechprodaa0d91",
    "properties": {"sku": {"family": "A", "name": "standard"}, "enablePurgeProtection": True,
                   "publicNetworkAccess": "enabled", "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}}
BEFORE_KEY: dict[str, Any] = {"keyName": "storage-cmk", "properties": {"kty": "RSA", "keySize": 3072.0}}
BEFORE_ACCOUNT: dict[str, Any] = {
    "accountName": "stspeechprod30fca4", "sku": {"name": "Standard_ZRS"}, "publicNetworkAccess": "Enabled",
    "networkRuleSet": {"defaultAction": "Deny", "bypass": "AzureServices"},
    "tags": {"mlfabric-environment": "prod"}}
BEFORE_BLOB_ENDPOINT: dict[str, Any] = {
    "privateEndpointName": "pe-speech-prod-storage-blob",
    "privateLinkServiceConnections": [{
        "privateLinkServiceId": f"{SUB}/Microsoft.Storage/storageAccounts/stspeechprod30fca4",
        "groupIds": ["blob"], "name": "pe-speech-prod-storage-blob"}]}


def messages(rule: str, fixture: R | list[R], properties: dict[str, Any] | None = None) -> list[str]:
    return [v.message for v in verdicts(rule, fixture, properties)]


# --- encryption at host ---------------------------------------------------------------------------------


def test_todays_aks_pools_fail_encryption_at_host() -> None:
    assert messages("mlf-aks-encryption-at-host", R(CLUSTER, "c", BEFORE_CLUSTER)) == [
        "agent pool system does not enable encryption at host"]
    assert messages("mlf-aks-encryption-at-host", R(POOL, "p", BEFORE_GPU_POOL)) == [
        "agent pool a100 does not enable encryption at host"]


def test_pools_that_encrypt_at_host_pass() -> None:
    cluster = {**BEFORE_CLUSTER, "agentPoolProfiles": [{**BEFORE_SYSTEM_POOL, "enableEncryptionAtHost": True}]}
    assert messages("mlf-aks-encryption-at-host", [R(CLUSTER, "c", cluster),
                                                    R(POOL, "p", {**BEFORE_GPU_POOL, "enableEncryptionAtHost": True})]) == []


@pytest.mark.parametrize("size", ["Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_ND96asr_v4",
                                  "Standard_ND96isr_H100_v5", "Standard_D4s_v5"])
def test_the_catalogues_pool_sizes_can_encrypt_at_host(size: str) -> None:
    assert supports_encryption_at_host(size)


@pytest.mark.parametrize("size", ["Standard_A4_v2", "Standard_B2s", "Standard_NC6s_v3"])
def test_legacy_sizes_cannot_encrypt_at_host(size: str) -> None:
    assert not supports_encryption_at_host(size)


def test_every_catalogue_gpu_shape_of_azure_can_encrypt_at_host() -> None:
    from mlfabric.components import catalog

    assert all(supports_encryption_at_host(s.machine) for s in catalog.GPU_SHAPES if s.cloud == "azure")


# --- network policy -------------------------------------------------------------------------------------


def test_a_cluster_without_a_network_policy_engine_fails() -> None:
    profile = {k: v for k, v in BEFORE_CLUSTER["networkProfile"].items() if k != "networkPolicy"}
    assert messages("mlf-aks-network-policy", R(CLUSTER, "c", {**BEFORE_CLUSTER, "networkProfile": profile})) == [
        "networkProfile.networkPolicy is not set: NetworkPolicy objects would not be enforced"]
    assert messages("mlf-aks-network-policy", R(CLUSTER, "c", BEFORE_CLUSTER)) == []


# --- Azure ML managed network ---------------------------------------------------------------------------


def test_todays_workspace_has_no_managed_network() -> None:
    [message] = messages("mlf-aml-managed-network", R(WORKSPACE, "w", BEFORE_WORKSPACE))
    assert "mlw-speech-prod has no managed network" in message


def test_approved_outbound_passes_and_internet_outbound_only_where_the_config_allows_it() -> None:
    approved = {**BEFORE_WORKSPACE, "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}
    internet = {**BEFORE_WORKSPACE, "managedNetwork": {"isolationMode": "AllowInternetOutbound"}}
    assert messages("mlf-aml-managed-network", R(WORKSPACE, "w", approved)) == []
    assert messages("mlf-aml-managed-network", R(WORKSPACE, "w", internet)) == [
        "managedNetwork.isolationMode is AllowInternetOutbound, not one of AllowOnlyApprovedOutbound"]
    dev = {"allowedIsolationModes": ["AllowOnlyApprovedOutbound", "AllowInternetOutbound"]}
    assert messages("mlf-aml-managed-network", R(WORKSPACE, "w", internet), dev) == []


# --- HSM keys -------------------------------------------------------------------------------------------


def test_todays_prod_vault_and_key_are_software_protected() -> None:
    assert messages("mlf-keyvault-hsm-keys", [R(VAULT, "v", BEFORE_VAULT), R(KEY, "k", BEFORE_KEY)]) == [
        "vault kvspeechprodaa0d91 SKU is standard: only premium vaults hold HSM keys",
        "key storage-cmk is RSA, software-protected (not RSA-HSM/EC-HSM)"]


def test_premium_vaults_with_hsm_keys_pass() -> None:
    vault = {**BEFORE_VAULT, "properties": {**BEFORE_VAULT["properties"], "sku": {"family": "A", "name": "premium"}}}
    key = {**BEFORE_KEY, "properties": {**BEFORE_KEY["properties"], "kty": "RSA-HSM"}}
    assert messages("mlf-keyvault-hsm-keys", [R(VAULT, "v", vault), R(KEY, "k", key)]) == []


# --- private endpoints only -----------------------------------------------------------------------------


def test_todays_prod_account_keeps_its_public_endpoint_despite_private_endpoints() -> None:
    fixture = [R(ACCOUNT, "speech-prod-storage", BEFORE_ACCOUNT), R(ENDPOINT, "pe", BEFORE_BLOB_ENDPOINT)]
    assert messages("mlf-azure-private-endpoint-only", fixture) == [
        "speech-prod-storage has a private endpoint but publicNetworkAccess is Enabled, not Disabled"]


def test_accounts_without_private_endpoints_are_not_checked_and_disabled_ones_pass() -> None:
    assert messages("mlf-azure-private-endpoint-only", R(ACCOUNT, "a", BEFORE_ACCOUNT)) == []
    closed = {**BEFORE_ACCOUNT, "publicNetworkAccess": "Disabled"}
    assert messages("mlf-azure-private-endpoint-only", [R(ACCOUNT, "a", closed), R(ENDPOINT, "pe", BEFORE_BLOB_ENDPOINT)]) == []


def test_a_vault_behind_a_private_endpoint_must_close_its_public_endpoint() -> None:
    endpoint = {"privateLinkServiceConnections": [{
        "privateLinkServiceId": f"{SUB}/Microsoft.KeyVault/vaults/kvspeechprodaa0d91", "groupIds": ["vault"]}]}
    [message] = messages("mlf-azure-private-endpoint-only", [R(VAULT, "v", BEFORE_VAULT), R(ENDPOINT, "pe", endpoint)])
    assert message.startswith("v has a private endpoint")


# --- geo-replication ------------------------------------------------------------------------------------


def test_todays_prod_account_has_no_copy_outside_the_region() -> None:
    assert messages("mlf-azure-storage-geo-replication", R(ACCOUNT, "a", BEFORE_ACCOUNT)) == [
        "account stspeechprod30fca4 SKU is Standard_ZRS: no copy outside the region"]


def test_geo_redundant_accounts_and_log_accounts_pass() -> None:
    assert messages("mlf-azure-storage-geo-replication", R(ACCOUNT, "a", {**BEFORE_ACCOUNT, "sku": {"name": "Standard_GZRS"}})) == []
    logs = {**BEFORE_ACCOUNT, "tags": {"mlfabric-bucket": "access-logs"}}
    assert messages("mlf-azure-storage-geo-replication", R(ACCOUNT, "a", logs)) == []


# --- persona roles --------------------------------------------------------------------------------------


def test_a_persona_granted_storage_account_contributor_fails_and_service_principals_are_not_personas() -> None:
    grant = {"principalId": "5c7e2a94-8f3b-4d61-b0a2-9e4f1c6d8b23",
             "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
                                 "17d1049b-9a84-46fb-8f53-869881c3d3ab"}
    assert messages("mlf-azure-no-guardrail-roles", R(ROLE, "r", grant)) == [
        "persona assignment grants Storage Account Contributor, which can switch the platform's guardrails off"]
    assert messages("mlf-azure-no-guardrail-roles", R(ROLE, "r", {**grant, "principalType": "ServicePrincipal"})) == []
