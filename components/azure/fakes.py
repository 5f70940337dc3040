"""Fake Azure answers: ARM resource ids, names, endpoints and principals as azure-native computes them.

Which outputs a type computes comes from the installed ``pulumi_azure_native`` SDK
(``derived_outputs``); this module only formats them. Type tokens are matched on ``<module>:<Kind>``
with any API-version suffix of the module dropped (``azure-native:storage/v20230101:StorageAccount``
is a StorageAccount too). ``_ARM`` names, per kind, the ARM path of its collection and the input
holding its own name; ids are built the way ARM builds them, e.g.
``/subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/storageAccounts/N`` — and ``_SCOPED``
the extension resources that live under another resource's id (role assignments, locks, diagnostic
settings). ``STYLE`` answers what every type shares: the ARM ``type`` (from the same path), the
tenant, GUIDs for ``*Id`` outputs, locations. ``_SPECIAL`` holds the values components read that need
a real shape: a storage account's endpoints, a vault's URI, a key's URIs, an identity's principal and
client ids (also in a resource's ``identity`` block), an AKS cluster's FQDNs, OIDC issuer and kubelet
identity, a registry's login server, an online endpoint's scoring URI, a Managed Lustre file system's
MGS address.
``INVOKES`` answers the functions components call: ``getClientConfig``, ``getSubnet`` (reusing a
VNet) and ``listManagedClusterUserCredentials`` (a base64 kubeconfig, as AKS returns it).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any, Final

from mlfabric.components.derived_outputs import Style, complete, schema_of
from mlfabric.components.fakes import Registration, World, digest, fields, uuid_of

Fake = Callable[[Registration], dict[str, Any]]

_TOKEN = re.compile(r"^azure-native:(?P<module>[a-zA-Z0-9]+)(?:/v[0-9a-z]+)?:(?P<kind>\w+)$")
_ML = "Microsoft.MachineLearningServices"

# kind -> (ARM path of its collection under the resource group, input holding its name[, fixed name])
_ARM: Final[dict[str, tuple[str, ...]]] = {
    "resources:Deployment": ("Microsoft.Resources/deployments", "deploymentName"),
    "resources:AzureCliScript": ("Microsoft.Resources/deploymentScripts", "scriptName"),
    "network:FlowLog": ("Microsoft.Network/networkWatchers/{networkWatcherName}/flowLogs", "flowLogName"),
    "storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "storage:BlobServiceProperties": ("Microsoft.Storage/storageAccounts/{accountName}/blobServices",
                                      "blobServicesName", "default"),
    "storage:BlobContainer": ("Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers",
                              "containerName"),
    "storage:ManagementPolicy": ("Microsoft.Storage/storageAccounts/{accountName}/managementPolicies",
                                 "managementPolicyName", "default"),
    "keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "keyvault:Key": ("Microsoft.KeyVault/vaults/{vaultName}/keys", "keyName"),
    "managedidentity:UserAssignedIdentity": ("Microsoft.ManagedIdentity/userAssignedIdentities", "resourceName"),
    "managedidentity:FederatedIdentityCredential": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials",
        "federatedIdentityCredentialResourceName"),
    "network:VirtualNetwork": ("Microsoft.Network/virtualNetworks", "virtualNetworkName"),
    "network:Subnet": ("Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets", "subnetName"),
    "network:NetworkSecurityGroup": ("Microsoft.Network/networkSecurityGroups", "networkSecurityGroupName"),
    "network:NatGateway": ("Microsoft.Network/natGateways", "natGatewayName"),
    "network:PublicIPAddress": ("Microsoft.Network/publicIPAddresses", "publicIpAddressName"),
    "network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints", "privateEndpointName"),
    "network:PrivateDnsZoneGroup": ("Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups",
                                    "privateDnsZoneGroupName"),
    "privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones", "privateZoneName"),
    "privatedns:VirtualNetworkLink": ("Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks",
                                      "virtualNetworkLinkName"),
    "containerservice:ManagedCluster": ("Microsoft.ContainerService/managedClusters", "resourceName"),
    "containerservice:AgentPool": ("Microsoft.ContainerService/managedClusters/{resourceName}/agentPools",
                                   "agentPoolName"),
    "containerregistry:Registry": ("Microsoft.ContainerRegistry/registries", "registryName"),
    "machinelearningservices:Workspace": (f"{_ML}/workspaces", "workspaceName"),
    "machinelearningservices:Registry": (f"{_ML}/registries", "registryName"),
    "machinelearningservices:RegistryModelContainer": (f"{_ML}/registries/{{registryName}}/models", "modelName"),
    "machinelearningservices:EnvironmentVersion": (f"{_ML}/workspaces/{{workspaceName}}/environments/{{name}}/versions",
                                                   "version"),
    "machinelearningservices:OnlineEndpoint": (f"{_ML}/workspaces/{{workspaceName}}/onlineEndpoints", "endpointName"),
    "machinelearningservices:OnlineDeployment": (
        f"{_ML}/workspaces/{{workspaceName}}/onlineEndpoints/{{endpointName}}/deployments", "deploymentName"),
    "machinelearningservices:Compute": (f"{_ML}/workspaces/{{workspaceName}}/computes", "computeName"),
    "machinelearningservices:Schedule": (f"{_ML}/workspaces/{{workspaceName}}/schedules", "name"),
    "machinelearningservices:BatchEndpoint": (f"{_ML}/workspaces/{{workspaceName}}/batchEndpoints", "endpointName"),
    "machinelearningservices:BatchDeployment": (
        f"{_ML}/workspaces/{{workspaceName}}/batchEndpoints/{{endpointName}}/deployments", "deploymentName"),
    "monitor:AutoscaleSetting": ("Microsoft.Insights/autoscalesettings", "autoscaleSettingName"),
    "operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces", "workspaceName"),
    "applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "monitor:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName"),
    "monitor:MetricAlert": ("Microsoft.Insights/metricAlerts", "ruleName"),
    "monitor:ScheduledQueryRule": ("Microsoft.Insights/scheduledQueryRules", "ruleName"),
    "monitor:DataCollectionRule": ("Microsoft.Insights/dataCollectionRules", "dataCollectionRuleName"),
    "storagecache:AmlFilesystem": ("Microsoft.StorageCache/amlFilesystems", "amlFilesystemName"),
    "compute:ProximityPlacementGroup": ("Microsoft.Compute/proximityPlacementGroups", "proximityPlacementGroupName"),
}
# Extension resources: kind -> (ARM path of the collection under the scope, input holding the name,
# input holding the scope); the scope defaults to the subscription.
_SCOPED: Final[dict[str, tuple[str, str, str]]] = {
    "authorization:RoleAssignment": ("Microsoft.Authorization/roleAssignments", "roleAssignmentName", "scope"),
    "authorization:ManagementLockByScope": ("Microsoft.Authorization/locks", "lockName", "scope"),
    "monitor:DiagnosticSetting": ("Microsoft.Insights/diagnosticSettings", "name", "resourceUri"),
    "monitor:DataCollectionRuleAssociation": ("Microsoft.Insights/dataCollectionRuleAssociations", "associationName",
                                              "resourceUri"),
}


def kind_of(typ: str) -> str:
    """``<module>:<Kind>`` of an azure-native type token, without any API version."""
    match = _TOKEN.match(typ)
    if match is None:
        return typ.split(":", 1)[-1]
    return f"{match['module']}:{match['kind']}"


def _subscription(r: Registration) -> str:
    return f"/subscriptions/{r.world.azure_subscription_id}"


def _group_id(r: Registration) -> str:
    return f"{_subscription(r)}/resourceGroups/{r.text('resourceGroupName', f'rg-{r.name}')}"


def _arm_path(r: Registration) -> str:
    """The ARM path of the resource's collection (``Microsoft.Storage/storageAccounts``)."""
    kind = kind_of(r.typ)
    if kind in _ARM:
        return _ARM[kind][0]
    if kind in _SCOPED:
        return _SCOPED[kind][0]
    module, _, resource = kind.partition(":")
    return f"Microsoft.{module.capitalize()}/{resource[:1].lower()}{resource[1:]}s"


def _physical(r: Registration) -> str:
    kind = kind_of(r.typ)
    # azure-native auto-naming: the logical name plus a random suffix; here a stable one.
    auto = f"{r.name}{digest(r.typ, r.name)}"
    if kind == "resources:ResourceGroup":
        return r.text("resourceGroupName", auto)
    if kind == "storage:StorageAccount":
        auto = auto.replace("-", "")[:24]
    if kind == "authorization:RoleAssignment":
        auto = r.uuid()
    if kind in _SCOPED:
        return r.text(_SCOPED[kind][1], auto)
    spec = _ARM.get(kind)
    if spec is None:
        return r.name
    return r.text(spec[1], spec[2] if len(spec) > 2 else auto)


def _resource_id(r: Registration) -> str:
    kind = kind_of(r.typ)
    if kind == "resources:ResourceGroup":
        return f"{_subscription(r)}/resourceGroups/{r.physical}"
    if kind in _SCOPED:
        return f"{r.text(_SCOPED[kind][2], _subscription(r))}/providers/{_SCOPED[kind][0]}/{r.physical}"
    return f"{_group_id(r)}/providers/{_arm_path(r).format_map(fields(r))}/{r.physical}"


def _arm_type(r: Registration, prop: str) -> str:
    del prop
    if kind_of(r.typ) == "resources:ResourceGroup":
        return "Microsoft.Resources/resourceGroups"
    segments = _arm_path(r).split("/")
    # the namespace, then every collection (the segments between are parent names)
    return "/".join([segments[0], *segments[1::2]])


def _storage_account(r: Registration) -> dict[str, Any]:
    services = ("blob", "dfs", "file", "queue", "table", "web")
    return {"primaryEndpoints": {s: f"https://{r.physical}.{s}.core.windows.net/" for s in services}}


def _vault(r: Registration) -> dict[str, Any]:
    properties = dict(r.inputs.get("properties") or {})
    properties.setdefault("tenantId", r.world.azure_tenant_id)
    return {"properties": {**properties, "vaultUri": f"https://{r.physical}.vault.azure.net/"}}


def _key(r: Registration) -> dict[str, Any]:
    uri = f"https://{r.text('vaultName', r.name)}.vault.azure.net/keys/{r.physical}"
    return {"keyUri": uri, "keyUriWithVersion": f"{uri}/{digest(r.typ, r.name, 'version', length=32)}"}


def _managed_cluster(r: Registration) -> dict[str, Any]:
    location = r.text("location", r.world.region)
    prefix = r.text("dnsPrefix", r.physical)
    # The same suffix listManagedClusterUserCredentials answers with (a function of the physical name).
    host = f"{prefix}-{digest(r.physical)}"
    private = bool((r.inputs.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"))
    node_group = r.text("nodeResourceGroup", f"MC_{r.text('resourceGroupName')}_{r.physical}_{location}")
    kubelet = (f"{_subscription(r)}/resourceGroups/{node_group}/providers/Microsoft.ManagedIdentity"
               f"/userAssignedIdentities/{r.physical}-agentpool")
    return {
        "fqdn": f"{host}.hcp.{location}.azmk8s.io",
        "privateFQDN": f"{host}.{r.uuid('dns')}.privatelink.{location}.azmk8s.io" if private else None,
        "nodeResourceGroup": node_group,
        "oidcIssuerProfile": {
            **dict(r.inputs.get("oidcIssuerProfile") or {}),
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{r.world.azure_tenant_id}/{r.uuid('oidc')}/",
        },
        "identityProfile": {"kubeletidentity": {"clientId": r.uuid("kubelet-client"),
                                                "objectId": r.uuid("kubelet-object"), "resourceId": kubelet}},
    }


def _online_endpoint(r: Registration) -> dict[str, Any]:
    host = f"https://{r.physical}.{r.text('location', r.world.region)}.inference.ml.azure.com"
    properties = dict(r.inputs.get("properties") or {})
    return {"properties": {**properties, "scoringUri": f"{host}/score", "swaggerUri": f"{host}/swagger.json"}}


def _aml_filesystem(r: Registration) -> dict[str, Any]:
    # An address in azure-prod's snet-lustre (10.60.130.0/23) after the four Azure reserves at its start.
    del r
    mgs = "10.60.130.4"
    return {"clientInfo": {"mgsAddress": mgs, "lustreVersion": "2.15.5",
                           "mountCommand": f"sudo mount -t lustre -o noatime,flock {mgs}@tcp:/lustrefs /lustre"}}


_SPECIAL: Final[dict[str, Fake]] = {
    "storagecache:AmlFilesystem": _aml_filesystem,
    "storage:StorageAccount": _storage_account,
    "keyvault:Vault": _vault,
    "keyvault:Key": _key,
    "managedidentity:UserAssignedIdentity": lambda r: {"principalId": r.uuid("principal"),
                                                       "clientId": r.uuid("client")},
    "containerservice:ManagedCluster": _managed_cluster,
    "containerregistry:Registry": lambda r: {"loginServer": f"{r.physical.lower()}.azurecr.io"},
    "machinelearningservices:OnlineEndpoint": _online_endpoint,
}


def _identity_output(r: Registration) -> dict[str, Any] | None:
    """ARM's answer to a managed-identity block.

    azure-native v3 takes user-assigned identities as a list of ids but returns them as a map
    id -> {principalId, clientId}; echoing the list back would break the SDK's output typing.
    """
    identity = r.inputs.get("identity")
    if not isinstance(identity, dict):
        return None
    answer: dict[str, Any] = {k: v for k, v in identity.items() if k != "userAssignedIdentities"}
    assigned = identity.get("userAssignedIdentities")
    # A list of ids (most resources) or a map id -> {} (container registries): answered as a map.
    if isinstance(assigned, list | dict):
        answer["userAssignedIdentities"] = {
            str(i): {"principalId": uuid_of(str(i), "principal"), "clientId": uuid_of(str(i), "client")}
            for i in assigned
        }
    if "SystemAssigned" in str(identity.get("type", "")):
        answer["principalId"] = r.uuid("system-principal")
        answer["tenantId"] = r.world.azure_tenant_id
    return answer


STYLE: Final = Style(
    cloud="azure",
    rules={
        "type": _arm_type,
        "azureApiVersion": lambda _, __: "2024-01-01",
        "tenantId": lambda r, _: r.world.azure_tenant_id,
        "*Id": lambda r, p: r.uuid(p),
    },
    defaults=("location",),
    host=lambda r: f"{r.physical or r.name}.{r.world.region}.cloudapp.azure.com",
    ready="Succeeded",
)


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of an ``azure-native:`` resource (``__id``: its id)."""
    # an API-versioned token (``storage/v20230101``) is answered exactly like the default one
    r = Registration(f"azure-native:{kind_of(typ)}", name, inputs, world)
    r.physical = _physical(r)
    r.resource_id = _resource_id(r)
    answer: dict[str, Any] = {"__id": r.resource_id}
    schema = schema_of(r.typ)
    if schema is not None and "name" in schema.outputs:
        answer["name"] = r.physical
    special = _SPECIAL.get(kind_of(typ))
    if special is not None:
        answer.update(special(r))
    identity = _identity_output(r)
    if identity is not None:
        answer["identity"] = identity
    return complete(r, answer, STYLE)


# --- invokes -------------------------------------------------------------------------------------

# A cluster CA as AKS returns it (base64 PEM); fake, but shaped like the real one.
_FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIFakeAksClusterCa\n-----END CERTIFICATE-----\n").decode()


def _user_credentials(args: dict[str, Any], world: World) -> dict[str, Any]:
    """``listManagedClusterUserCredentials``: one kubeconfig, base64-encoded YAML, as AKS returns it
    for an Entra ID cluster (exec plugin kubelogin, interactive device-code login)."""
    cluster = str(args.get("resourceName") or "aks")
    server = f"https://{cluster}-{digest(cluster)}.hcp.{world.region}.azmk8s.io:443"
    user = f"clusterUser_{args.get('resourceGroupName')}_{cluster}"
    kubeconfig = "\n".join([
        "apiVersion: v1", "kind: Config", "clusters:", f"- name: {cluster}", "  cluster:",
        f"    certificate-authority-data: {_FAKE_CA}", f"    server: {server}",
        "contexts:", f"- name: {cluster}", "  context:", f"    cluster: {cluster}", f"    user: {user}",
        f"current-context: {cluster}", "users:", f"- name: {user}", "  user:", "    exec:",
        "      apiVersion: client.authentication.k8s.io/v1beta1", "      command: kubelogin",
        "      args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]", "",
    ])
    return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(kubeconfig.encode()).decode()}]}


def _subnet(args: dict[str, Any], world: World) -> dict[str, Any]:
    group, network, subnet = args.get("resourceGroupName"), args.get("virtualNetworkName"), args.get("subnetName")
    return {
        "id": f"/subscriptions/{world.azure_subscription_id}/resourceGroups/{group}/providers/Microsoft.Network"
        f"/virtualNetworks/{network}/subnets/{subnet}",
        "name": subnet,
        "addressPrefix": "10.0.0.0/20",
        "provisioningState": "Succeeded",
    }


INVOKES: dict[str, Callable[[dict[str, Any], World], dict[str, Any]]] = {
    "azure-native:authorization:getClientConfig": lambda _, w: {
        "clientId": "33333333-3333-3333-3333-333333333333",
        "objectId": w.azure_object_id,
        "subscriptionId": w.azure_subscription_id,
        "tenantId": w.azure_tenant_id,
    },
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
    "azure-native:network:getSubnet": _subnet,
}
