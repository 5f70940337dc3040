"""Fake Azure answers: ARM resource ids, names, endpoints and principals as azure-native computes them.

Type tokens are matched on ``<module>:<Kind>`` with any API-version suffix of the module dropped
(``azure-native:storage/v20230101:StorageAccount`` is a StorageAccount too). Each known kind names
the input that holds its physical name and the ARM path under its parent; ids are then built the
way ARM builds them, e.g.
``/subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/storageAccounts/N``. A kind not in
the table still gets a plausible id and name, so a new resource never breaks the plan.

Beyond ids, kinds answer what components read back, because an input computed from an output the
mock does not return is silently dropped: a storage account's endpoints, a vault's URI, a key's
URIs, an identity's principal and client ids (also inside a resource's ``identity`` block), an AKS
cluster's FQDN / private FQDN, OIDC issuer URL and kubelet identity, a container registry's login
server, a Log Analytics workspace's customer id, Application Insights' keys, an Azure ML workspace's
discovery URL, an online endpoint's scoring URI, a data collection rule's immutable id.
``INVOKES`` answers the functions components call: ``getClientConfig``, ``getSubnet`` (reusing a
VNet) and ``listManagedClusterUserCredentials`` (a base64 kubeconfig, as AKS returns it).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any

from mlfabric.components.fakes import World

Fake = Callable[[str, str, dict[str, Any], World], dict[str, Any]]

_TOKEN = re.compile(r"^azure-native:(?P<module>[a-zA-Z0-9]+)(?:/v[0-9a-z]+)?:(?P<kind>\w+)$")


def _hex(*parts: str, length: int = 32) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _uuid(*parts: str) -> str:
    h = _hex(*parts)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _auto_name(name: str, typ: str) -> str:
    # azure-native auto-naming: the logical name plus a random suffix; here a stable one.
    return f"{name}{_hex(typ, name, length=8)}"


def _group_id(world: World, inputs: dict[str, Any], name: str) -> str:
    group = inputs.get("resourceGroupName") or f"rg-{name}"
    return f"/subscriptions/{world.azure_subscription_id}/resourceGroups/{group}"


def _resource_group(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    group = inputs.get("resourceGroupName") or _auto_name(name, typ)
    return {
        "__id": f"/subscriptions/{world.azure_subscription_id}/resourceGroups/{group}",
        "name": group,
        "location": inputs.get("location") or world.region,
        "properties": {"provisioningState": "Succeeded"},
    }


def _storage_account(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    account = inputs.get("accountName") or _auto_name(name, typ).replace("-", "")[:24]
    endpoint = {
        service: f"https://{account}.{service}.core.windows.net/"
        for service in ("blob", "dfs", "file", "queue", "table", "web")
    }
    return {
        "__id": f"{_group_id(world, inputs, name)}/providers/Microsoft.Storage/storageAccounts/{account}",
        "name": account,
        "location": inputs.get("location") or world.region,
        "primaryEndpoints": endpoint,
        "primaryLocation": inputs.get("location") or world.region,
        "provisioningState": "Succeeded",
        "statusOfPrimary": "available",
    }


def _account_child(path: str, physical: str) -> Callable[..., dict[str, Any]]:
    """Resources that live under a storage account (blob service, containers, policies).

    ``path`` and ``physical`` are format strings over the inputs, e.g. ``{containerName}``.
    """

    def answer(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
        del typ
        account = inputs.get("accountName") or name
        account_id = f"{_group_id(world, inputs, name)}/providers/Microsoft.Storage/storageAccounts/{account}"
        values = {k: v for k, v in inputs.items() if isinstance(v, str)}
        return {"__id": f"{account_id}/{path.format_map(values)}", "name": physical.format_map(values)}

    return answer


def _vault(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    vault = inputs.get("vaultName") or _auto_name(name, typ)
    properties = dict(inputs.get("properties") or {})
    properties.setdefault("tenantId", world.azure_tenant_id)
    properties.update(
        {
            "vaultUri": f"https://{vault}.vault.azure.net/",
            "hsmPoolResourceId": "",
            "privateEndpointConnections": [],
            "provisioningState": "Succeeded",
        }
    )
    return {
        "__id": f"{_group_id(world, inputs, name)}/providers/Microsoft.KeyVault/vaults/{vault}",
        "name": vault,
        "location": inputs.get("location") or world.region,
        "properties": properties,
    }


def _key(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    vault = inputs.get("vaultName") or name
    key = inputs.get("keyName") or _auto_name(name, typ)
    version = _hex(typ, name, "version")
    uri = f"https://{vault}.vault.azure.net/keys/{key}"
    return {
        "__id": f"{_group_id(world, inputs, name)}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{key}",
        "name": key,
        "keyUri": uri,
        "keyUriWithVersion": f"{uri}/{version}",
    }


def _identity(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    identity = inputs.get("resourceName") or _auto_name(name, typ)
    return {
        "__id": f"{_group_id(world, inputs, name)}/providers/Microsoft.ManagedIdentity"
        f"/userAssignedIdentities/{identity}",
        "name": identity,
        "location": inputs.get("location") or world.region,
        "principalId": _uuid(typ, name, "principal"),
        "clientId": _uuid(typ, name, "client"),
        "tenantId": world.azure_tenant_id,
    }


def _role_assignment(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    assignment = inputs.get("roleAssignmentName") or _uuid(typ, name)
    scope = inputs.get("scope") or f"/subscriptions/{world.azure_subscription_id}"
    return {
        "__id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
        "name": assignment,
        "principalType": inputs.get("principalType") or "ServicePrincipal",
        "createdBy": world.azure_object_id,
    }


def _lock(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    lock = inputs.get("lockName") or _auto_name(name, typ)
    scope = inputs.get("scope") or f"/subscriptions/{world.azure_subscription_id}"
    return {"__id": f"{scope}/providers/Microsoft.Authorization/locks/{lock}", "name": lock}


def _diagnostic_setting(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    setting = inputs.get("name") or _auto_name(name, typ)
    scope = inputs.get("resourceUri") or f"/subscriptions/{world.azure_subscription_id}"
    return {"__id": f"{scope}/providers/Microsoft.Insights/diagnosticSettings/{setting}", "name": setting}


def _location(inputs: dict[str, Any], world: World) -> str:
    return str(inputs.get("location") or world.region)


def _in_group(namespace: str, collection: str, name_key: str, prefix: str = "") -> Fake:
    """A resource directly under the resource group: ``.../providers/<namespace>/<collection>/<name>``."""

    def answer(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
        physical = str(inputs.get(name_key) or f"{prefix}{_auto_name(name, typ)}")
        return {
            "__id": f"{_group_id(world, inputs, name)}/providers/{namespace}/{collection}/{physical}",
            "name": physical,
            "location": _location(inputs, world),
            "provisioningState": "Succeeded",
        }

    return answer


def _under(parent: str, collection: str, name_key: str) -> Fake:
    """A resource under another one; ``parent`` formats the parent's id from the inputs, e.g.
    ``Microsoft.Network/virtualNetworks/{virtualNetworkName}``."""

    def answer(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
        values = {k: v for k, v in inputs.items() if isinstance(v, str)}
        physical = str(inputs.get(name_key) or _auto_name(name, typ))
        parent_id = f"{_group_id(world, inputs, name)}/providers/{parent.format_map(values)}"
        return {"__id": f"{parent_id}/{collection}/{physical}", "name": physical, "provisioningState": "Succeeded"}

    return answer


def _scoped(collection: str, name_key: str, scope_key: str) -> Fake:
    """An extension resource: ``<scope>/providers/<collection>/<name>``."""

    def answer(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
        physical = str(inputs.get(name_key) or _auto_name(name, typ))
        scope = inputs.get(scope_key) or f"/subscriptions/{world.azure_subscription_id}"
        return {"__id": f"{scope}/providers/{collection}/{physical}", "name": physical}

    return answer


def _public_ip(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.Network", "publicIPAddresses", "publicIpAddressName")(typ, name, inputs, world)
    digest = hashlib.sha256(f"{typ}/{name}".encode()).digest()
    answer["ipAddress"] = f"20.{digest[0]}.{digest[1]}.{digest[2] or 1}"
    return answer


def _managed_cluster(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.ContainerService", "managedClusters", "resourceName")(typ, name, inputs, world)
    location = answer["location"]
    prefix = str(inputs.get("dnsPrefix") or answer["name"])
    # The same suffix listManagedClusterUserCredentials answers with (a function of the physical name).
    suffix = _hex(str(answer["name"]), length=8)
    private = bool((inputs.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"))
    kubelet = f"{answer['name']}-agentpool"
    node_group = str(inputs.get("nodeResourceGroup") or f"MC_{inputs.get('resourceGroupName')}_{answer['name']}_{location}")
    answer.update(
        {
            "fqdn": f"{prefix}-{suffix}.hcp.{location}.azmk8s.io",
            "azurePortalFQDN": f"{prefix}-{suffix}.portal.hcp.{location}.azmk8s.io",
            "nodeResourceGroup": node_group,
            "currentKubernetesVersion": f"{inputs.get('kubernetesVersion') or '1.31'}.5",
            "maxAgentPools": 100,
            "oidcIssuerProfile": {
                **dict(inputs.get("oidcIssuerProfile") or {}),
                "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{world.azure_tenant_id}/{_uuid(typ, name, 'oidc')}/",
            },
            "identityProfile": {
                "kubeletidentity": {
                    "clientId": _uuid(typ, name, "kubelet-client"),
                    "objectId": _uuid(typ, name, "kubelet-object"),
                    "resourceId": f"/subscriptions/{world.azure_subscription_id}/resourceGroups/{node_group}"
                    f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{kubelet}",
                }
            },
            "powerState": {"code": "Running"},
        }
    )
    if private:
        answer["privateFQDN"] = f"{prefix}-{suffix}.{_uuid(typ, name, 'dns')}.privatelink.{location}.azmk8s.io"
    return answer


def _container_registry(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.ContainerRegistry", "registries", "registryName")(typ, name, inputs, world)
    answer["loginServer"] = f"{answer['name'].lower()}.azurecr.io"
    answer["creationDate"] = "2025-01-01T00:00:00Z"
    return answer


def _log_workspace(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.OperationalInsights", "workspaces", "workspaceName")(typ, name, inputs, world)
    answer["customerId"] = _uuid(typ, name, "customer")
    return answer


def _app_insights(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.Insights", "components", "resourceName")(typ, name, inputs, world)
    key = _uuid(typ, name, "instrumentation")
    answer.update(
        {
            "appId": _uuid(typ, name, "app"),
            "instrumentationKey": key,
            "connectionString": f"InstrumentationKey={key};IngestionEndpoint=https://{answer['location']}-0"
            ".in.applicationinsights.azure.com/",
        }
    )
    return answer


def _ml_workspace(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.MachineLearningServices", "workspaces", "workspaceName")(typ, name, inputs, world)
    answer.update(
        {
            "workspaceId": _uuid(typ, name, "workspace"),
            "discoveryUrl": f"https://{answer['location']}.api.azureml.ms/discovery",
            "mlFlowTrackingUri": f"azureml://{answer['location']}.api.azureml.ms/mlflow/v1.0{answer['__id']}",
        }
    )
    return answer


def _ml_registry(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.MachineLearningServices", "registries", "registryName")(typ, name, inputs, world)
    answer.update(
        {
            "discoveryUrl": f"https://{answer['location']}.api.azureml.ms/registrymanagement/v1.0/registries/"
            f"{answer['name']}/discovery",
            "mlFlowRegistryUri": f"azureml://{answer['location']}.api.azureml.ms/mlflow/v1.0{answer['__id']}",
        }
    )
    return answer


def _online_endpoint(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _under("Microsoft.MachineLearningServices/workspaces/{workspaceName}", "onlineEndpoints", "endpointName")(
        typ, name, inputs, world
    )
    location = _location(inputs, world)
    host = f"https://{answer['name']}.{location}.inference.ml.azure.com"
    answer["properties"] = {
        **dict(inputs.get("properties") or {}),
        "scoringUri": f"{host}/score",
        "swaggerUri": f"{host}/swagger.json",
        "provisioningState": "Succeeded",
    }
    answer["location"] = location
    return answer


def _action_group(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.Insights", "actionGroups", "actionGroupName")(typ, name, inputs, world)
    answer["location"] = inputs.get("location") or "Global"
    return answer


def _data_collection_rule(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    answer = _in_group("Microsoft.Insights", "dataCollectionRules", "dataCollectionRuleName")(typ, name, inputs, world)
    answer["immutableId"] = f"dcr-{_hex(typ, name)}"
    return answer


def _federated_credential(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    identity = f"Microsoft.ManagedIdentity/userAssignedIdentities/{inputs.get('resourceName') or name}"
    return _under(identity, "federatedIdentityCredentials", "federatedIdentityCredentialResourceName")(
        typ, name, {**inputs, "resourceName": inputs.get("resourceName") or name}, world
    )


_KINDS: dict[str, Fake] = {
    "resources:ResourceGroup": _resource_group,
    "resources:Deployment": _in_group("Microsoft.Resources", "deployments", "deploymentName"),
    "storage:StorageAccount": _storage_account,
    "storage:BlobServiceProperties": _account_child("blobServices/default", "default"),
    "storage:BlobContainer": _account_child("blobServices/default/containers/{containerName}", "{containerName}"),
    "storage:ManagementPolicy": _account_child("managementPolicies/default", "DefaultManagementPolicy"),
    "keyvault:Vault": _vault,
    "keyvault:Key": _key,
    "managedidentity:UserAssignedIdentity": _identity,
    "managedidentity:FederatedIdentityCredential": _federated_credential,
    "authorization:RoleAssignment": _role_assignment,
    "authorization:ManagementLockByScope": _lock,
    "monitor:DiagnosticSetting": _diagnostic_setting,
    # network
    "network:VirtualNetwork": _in_group("Microsoft.Network", "virtualNetworks", "virtualNetworkName"),
    "network:Subnet": _under("Microsoft.Network/virtualNetworks/{virtualNetworkName}", "subnets", "subnetName"),
    "network:NetworkSecurityGroup": _in_group("Microsoft.Network", "networkSecurityGroups", "networkSecurityGroupName"),
    "network:NatGateway": _in_group("Microsoft.Network", "natGateways", "natGatewayName"),
    "network:PublicIPAddress": _public_ip,
    "network:PrivateEndpoint": _in_group("Microsoft.Network", "privateEndpoints", "privateEndpointName"),
    "network:PrivateDnsZoneGroup": _under(
        "Microsoft.Network/privateEndpoints/{privateEndpointName}", "privateDnsZoneGroups", "privateDnsZoneGroupName"
    ),
    "privatedns:PrivateZone": _in_group("Microsoft.Network", "privateDnsZones", "privateZoneName"),
    "privatedns:VirtualNetworkLink": _under(
        "Microsoft.Network/privateDnsZones/{privateZoneName}", "virtualNetworkLinks", "virtualNetworkLinkName"
    ),
    # training cluster
    "containerservice:ManagedCluster": _managed_cluster,
    "containerservice:AgentPool": _under(
        "Microsoft.ContainerService/managedClusters/{resourceName}", "agentPools", "agentPoolName"
    ),
    # registries
    "containerregistry:Registry": _container_registry,
    "machinelearningservices:Workspace": _ml_workspace,
    "machinelearningservices:Registry": _ml_registry,
    "machinelearningservices:RegistryModelContainer": _under(
        "Microsoft.MachineLearningServices/registries/{registryName}", "models", "modelName"
    ),
    # serving
    "machinelearningservices:EnvironmentVersion": _under(
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/environments/{name}", "versions", "version"
    ),
    "machinelearningservices:OnlineEndpoint": _online_endpoint,
    "machinelearningservices:OnlineDeployment": _under(
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{endpointName}",
        "deployments",
        "deploymentName",
    ),
    "monitor:AutoscaleSetting": _in_group("Microsoft.Insights", "autoscalesettings", "autoscaleSettingName"),
    # monitoring
    "operationalinsights:Workspace": _log_workspace,
    "applicationinsights:Component": _app_insights,
    "monitor:ActionGroup": _action_group,
    "monitor:MetricAlert": _in_group("Microsoft.Insights", "metricAlerts", "ruleName"),
    "monitor:ScheduledQueryRule": _in_group("Microsoft.Insights", "scheduledQueryRules", "ruleName"),
    "monitor:DataCollectionRule": _data_collection_rule,
    "monitor:DataCollectionRuleAssociation": _scoped(
        "Microsoft.Insights/dataCollectionRuleAssociations", "associationName", "resourceUri"
    ),
}


def kind_of(typ: str) -> str:
    """``<module>:<Kind>`` of an azure-native type token, without any API version."""
    match = _TOKEN.match(typ)
    if match is None:
        return typ.split(":", 1)[-1]
    return f"{match['module']}:{match['kind']}"


def _identity_output(typ: str, name: str, identity: Any, world: World) -> dict[str, Any] | None:
    """ARM's answer to a managed-identity block.

    azure-native v3 takes user-assigned identities as a list of ids but returns them as a map
    id -> {principalId, clientId}; echoing the list back would break the SDK's output typing.
    """
    if not isinstance(identity, dict):
        return None
    answer: dict[str, Any] = {k: v for k, v in identity.items() if k != "userAssignedIdentities"}
    assigned = identity.get("userAssignedIdentities")
    # A list of ids (most resources) or a map id -> {} (container registries): answered as a map.
    if isinstance(assigned, list | dict):
        answer["userAssignedIdentities"] = {
            str(i): {"principalId": _uuid(str(i), "principal"), "clientId": _uuid(str(i), "client")}
            for i in assigned
        }
    if "SystemAssigned" in str(identity.get("type", "")):
        answer["principalId"] = _uuid(typ, name, "system-principal")
        answer["tenantId"] = world.azure_tenant_id
    return answer


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of an ``azure-native:`` resource."""
    kind = kind_of(typ)
    answer = _KINDS.get(kind)
    if answer is not None:
        computed = answer(typ, name, inputs, world)
    else:
        module, _, resource = kind.partition(":")
        computed = {
            "name": name,
            "__id": f"{_group_id(world, inputs, name)}/providers/Microsoft.{module.capitalize()}"
            f"/{resource[:1].lower()}{resource[1:]}s/{name}",
        }
    identity = _identity_output(typ, name, inputs.get("identity"), world)
    if identity is not None:
        computed["identity"] = identity
    return computed


# A cluster CA as AKS returns it (base64 PEM); fake, but shaped like the real one.
_FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIFakeAksClusterCa\n-----END CERTIFICATE-----\n").decode()


def _user_credentials(args: dict[str, Any], world: World) -> dict[str, Any]:
    """``listManagedClusterUserCredentials``: one kubeconfig, base64-encoded YAML, as AKS returns it
    for an Entra ID cluster (exec plugin kubelogin, interactive device-code login)."""
    cluster = str(args.get("resourceName") or "aks")
    server = f"https://{cluster}-{_hex(cluster, length=8)}.hcp.{world.region}.azmk8s.io:443"
    kubeconfig = "\n".join(
        [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            f"- name: {cluster}",
            "  cluster:",
            f"    certificate-authority-data: {_FAKE_CA}",
            f"    server: {server}",
            "contexts:",
            f"- name: {cluster}",
            "  context:",
            f"    cluster: {cluster}",
            f"    user: clusterUser_{args.get('resourceGroupName')}_{cluster}",
            f"current-context: {cluster}",
            "users:",
            f"- name: clusterUser_{args.get('resourceGroupName')}_{cluster}",
            "  user:",
            "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1beta1",
            "      command: kubelogin",
            "      args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]",
            "",
        ]
    )
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


INVOKES: dict[str, Any] = {
    "azure-native:authorization:getClientConfig": lambda _args, w: {
        "clientId": "33333333-3333-3333-3333-333333333333",
        "objectId": w.azure_object_id,
        "subscriptionId": w.azure_subscription_id,
        "tenantId": w.azure_tenant_id,
    },
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
    "azure-native:network:getSubnet": _subnet,
}
