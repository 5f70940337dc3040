"""Azure hardening rules of issue 15: host encryption on AKS nodes, NetworkPolicy enforcement, the
Azure ML managed network, HSM-backed keys in prod, private-endpoint-only accounts and vaults,
geo-replicated prod storage, and no persona role that can switch the guardrails off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .base import (
    ADVISORY,
    LOW,
    MANDATORY,
    MEDIUM,
    MlfPolicy,
    RuleInfo,
    get,
    items,
    mapping,
    of_types,
    resource_policy,
    stack_policy,
    truthy,
)


def _s(value: Any) -> str:
    """A prop value in a message: as written, or "unset"."""
    return "unset" if value is None or value == "" else str(value)


AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"
AML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
VAULT = "azure-native:keyvault:Vault"
VAULT_KEY = "azure-native:keyvault:Key"
ACCOUNT = "azure-native:storage:StorageAccount"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


# --- AKS ---------------------------------------------------------------------------------------------

AKS_HOST_ENCRYPTION = RuleInfo(
    id="mlf-aks-encryption-at-host",
    title="AKS node pools encrypt at host",
    description="Every AKS agent pool (the cluster's inline pools and each AgentPool) sets "
    "enableEncryptionAtHost, so temp disks and OS/data disk caches — where training and serving nodes "
    "stage datasets and model files — are encrypted on the VM host, not only the managed disks at rest.",
    remediation="Set enable_encryption_at_host=True on every agent pool (mlfabric's cluster does); register "
    "the subscription feature once: az feature register --namespace Microsoft.Compute --name "
    "EncryptionAtHost; pick a VM size whose EncryptionAtHostSupported capability is True.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AKS_CLUSTER, AKS_POOL),
    section="training",
)


@resource_policy(AKS_HOST_ENCRYPTION)
def aks_encryption_at_host(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type.endswith(":AgentPool"):
        if not truthy(props.get("enableEncryptionAtHost")):
            yield f"agent pool {_s(props.get('agentPoolName'))} does not enable encryption at host"
        return
    for pool in items(props.get("agentPoolProfiles")):
        if isinstance(pool, Mapping) and not truthy(pool.get("enableEncryptionAtHost")):
            yield f"agent pool {_s(pool.get('name'))} does not enable encryption at host"


AKS_NETWORK_POLICY = RuleInfo(
    id="mlf-aks-network-policy",
    title="AKS enforces Kubernetes NetworkPolicy",
    description="Every AKS cluster sets networkProfile.networkPolicy to azure, cilium or calico, so the "
    "NetworkPolicy objects around the platform's pods are enforced (without an engine they are "
    "accepted by the API server and ignored).",
    remediation="Set network_profile.network_policy='cilium' (with network_dataplane='cilium'; mlfabric's "
    "cluster does), or azure/calico.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AKS_CLUSTER,),
    section="training",
    config={"allowedEngines": {"type": "array", "items": {"type": "string"}, "default": ["azure", "cilium", "calico"],
                               "description": "networkProfile.networkPolicy values that enforce NetworkPolicy."}},
)


@resource_policy(AKS_NETWORK_POLICY)
def aks_network_policy(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type
    engine = get(props, "networkProfile.networkPolicy")
    allowed = [str(e).lower() for e in items(config.get("allowedEngines"))]
    if engine is None:
        yield "networkProfile.networkPolicy is not set: NetworkPolicy objects would not be enforced"
    elif str(engine).lower() not in allowed:
        yield f"networkProfile.networkPolicy is {_s(engine)}, not one of {', '.join(allowed)}"


# --- Azure ML ----------------------------------------------------------------------------------------

AML_MANAGED_NETWORK = RuleInfo(
    id="mlf-aml-managed-network",
    title="Azure ML workspaces use a managed network",
    description="Every Azure ML workspace declares managedNetwork.isolationMode in allowedIsolationModes "
    "(prod and staging: AllowOnlyApprovedOutbound; the dev config also accepts AllowInternetOutbound), "
    "so compute and online deployments run in a workspace-managed VNet with private endpoints to the "
    "platform's storage, vault and registries, instead of relying on each deployment's legacy "
    "egressPublicNetworkAccess flag.",
    remediation="Set managed_network=ManagedNetworkSettingsArgs(isolation_mode='AllowOnlyApprovedOutbound', "
    "outbound_rules={...PrivateEndpoint rules...}) on the workspace (mlfabric's registry concern does).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(AML_WORKSPACE,),
    section="registry",
    config={"allowedIsolationModes": {"type": "array", "items": {"type": "string"},
                                      "default": ["AllowOnlyApprovedOutbound"],
                                      "description": "managedNetwork.isolationMode values accepted."}},
)


@resource_policy(AML_MANAGED_NETWORK)
def aml_managed_network(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type
    mode = get(props, "managedNetwork.isolationMode")
    allowed = [str(m) for m in items(config.get("allowedIsolationModes"))]
    if mode is None or str(mode) == "Disabled":
        yield (f"workspace {_s(props.get('workspaceName'))} has no managed network (isolationMode "
               f"{_s(mode)}): outbound isolation rests on each deployment's legacy flag")
    elif str(mode) not in allowed:
        yield f"managedNetwork.isolationMode is {_s(mode)}, not one of {', '.join(allowed)}"


# --- Key Vault ---------------------------------------------------------------------------------------

HSM_KEYS = RuleInfo(
    id="mlf-keyvault-hsm-keys",
    title="Key Vault keys HSM-backed (prod)",
    description="Key Vault keys are HSM-protected (kty RSA-HSM or EC-HSM) and vaults use the premium SKU "
    "that holds them. Disabled in the dev and staging configs, whose Standard vaults with "
    "software-protected keys save the HSM's price.",
    remediation="Use a premium vault and kty='RSA-HSM' (mlfabric does in prod: components/azure/common.py "
    "HSM_ENVIRONMENTS).",
    severity=LOW,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(VAULT, VAULT_KEY),
    section="storage",
)


@resource_policy(HSM_KEYS)
def keyvault_hsm_keys(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type.endswith(":Key"):
        kty = get(props, "properties.kty")
        if str(kty) not in {"RSA-HSM", "EC-HSM"}:
            yield f"key {_s(props.get('keyName'))} is {_s(kty)}, software-protected (not RSA-HSM/EC-HSM)"
        return
    sku = get(props, "properties.sku.name")
    if str(sku).lower() != "premium":
        yield f"vault {_s(props.get('vaultName'))} SKU is {_s(sku)}: only premium vaults hold HSM keys"


# --- private endpoints only ----------------------------------------------------------------------------

PRIVATE_ONLY = RuleInfo(
    id="mlf-azure-private-endpoint-only",
    title="Storage accounts and vaults with private endpoints close their public endpoint",
    description="A storage account or Key Vault that a private endpoint of the stack connects to sets "
    "publicNetworkAccess Disabled: it is reached through the private endpoint, and a public endpoint "
    "behind a firewall is one misconfigured rule away from the internet. Accounts and vaults without a "
    "private endpoint (the log account trusted services write to; the AKS KMS vault) are not checked.",
    remediation="Set public_network_access='Disabled' on the account or vault (mlfabric's storage does for "
    "the data account when network.private_endpoints is on).",
    severity=LOW,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(ACCOUNT, VAULT, PRIVATE_ENDPOINT),
    section="network",
    kind="stack",
)


def _linked_ids(endpoints: Sequence[PolicyResource]) -> set[str]:
    return {str(get(c, "privateLinkServiceId", "")).lower().rstrip("/")
            for e in endpoints for c in items(e.props.get("privateLinkServiceConnections")) if isinstance(c, Mapping)}


@stack_policy(PRIVATE_ONLY)
def azure_private_endpoint_only(resources: Sequence[PolicyResource],
                                config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    linked = _linked_ids(of_types(resources, PRIVATE_ENDPOINT))
    kinds = ((ACCOUNT, "accountName", "/providers/microsoft.storage/storageaccounts/", "publicNetworkAccess"),
             (VAULT, "vaultName", "/providers/microsoft.keyvault/vaults/", "properties.publicNetworkAccess"))
    for token, name_prop, segment, access_prop in kinds:
        for resource in of_types(resources, token):
            name = str(resource.props.get(name_prop) or "").lower()
            if not name or not any(i.endswith(segment + name) for i in linked):
                continue
            access = get(resource.props, access_prop)
            if str(access).lower() != "disabled":
                yield (f"{resource.name} has a private endpoint but publicNetworkAccess is {_s(access)}, "
                       "not Disabled", resource.urn)


# --- geo-replication -----------------------------------------------------------------------------------

GEO_REPLICATION = RuleInfo(
    id="mlf-azure-storage-geo-replication",
    title="Prod storage geo-replicated",
    description="Storage accounts holding data (not those tagged mlfabric-bucket=access-logs) use a "
    "geo-redundant SKU (GRS, GZRS, RA-GRS, RA-GZRS), so a regional outage does not lose the datasets and "
    "models. Azure geo-replicates only to the region's pair. Disabled in the dev and staging configs.",
    remediation="Set storage.replication_region to the region's paired region (mlfabric then uses "
    "Standard_GZRS, or Standard_GRS where the account is locally redundant).",
    severity=LOW,
    enforcement=ADVISORY,
    clouds=("azure",),
    resource_types=(ACCOUNT,),
    section="storage",
)


@resource_policy(GEO_REPLICATION)
def azure_storage_geo_replication(resource_type: str, props: Mapping[str, Any],
                                  config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    if mapping(props.get("tags")).get("mlfabric-bucket") == "access-logs":
        return
    sku = str(get(props, "sku.name", ""))
    if "GRS" not in sku.upper() and "GZRS" not in sku.upper():
        yield f"account {_s(props.get('accountName'))} SKU is {_s(sku)}: no copy outside the region"


# --- persona roles -------------------------------------------------------------------------------------

# Built-in roles whose control-plane actions change a guardrail the pack enforces: account firewall and
# encryption (Storage Account Contributor), vault purge protection and network rules (Key Vault
# Contributor/Administrator), registry network and policies (Container Registry Contributor and Data
# Access Configuration Administrator), cluster settings (AKS Contributor), and role assignments
# themselves (User Access Administrator, RBAC Administrator). Owner and Contributor are
# mlf-azure-no-owner-contributor's (every principal, not only personas).
GUARDRAIL_ROLES: Mapping[str, str] = {
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "f25e0fa2-a7c8-4377-a976-54943a77a395": "Key Vault Contributor",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "3bc748fc-213d-45c1-8d91-9da5725539b9": "Container Registry Contributor and Data Access Configuration Administrator",
    "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8": "Azure Kubernetes Service Contributor Role",
}

NO_GUARDRAIL_ROLES = RuleInfo(
    id="mlf-azure-no-guardrail-roles",
    title="No role assignment lets a persona switch guardrails off",
    description="No role assignment of the stack to a user or group (a persona) grants a role that can "
    "change what the pack enforces outside Pulumi: storage firewall and encryption, vault purge "
    "protection and network rules, registry policies, cluster settings, or role assignments. "
    "mlfabric's platform-admin holds data-plane roles only (blob data, ML, ACR push, AKS RBAC), so on "
    "Azure the escape hatch rbac.allow_guardrail_changes is refused rather than built.",
    remediation="Grant the persona the data-plane role it needs; keep break-glass control-plane access "
    "outside the platform (Privileged Identity Management, time-bound).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("azure",),
    resource_types=(ROLE_ASSIGNMENT,),
    section="rbac",
)


@resource_policy(NO_GUARDRAIL_ROLES)
def azure_no_guardrail_roles(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    if str(props.get("principalType") or "") not in {"User", "Group", ""}:
        return
    guid = str(props.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    role = GUARDRAIL_ROLES.get(guid)
    if role is not None:
        yield f"persona assignment grants {role}, which can switch the platform's guardrails off"


POLICIES: list[MlfPolicy] = [
    aks_encryption_at_host,
    aks_network_policy,
    aml_managed_network,
    keyvault_hsm_keys,
    azure_private_endpoint_only,
    azure_storage_geo_replication,
    azure_no_guardrail_roles,
]
