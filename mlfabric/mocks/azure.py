"""Fake Azure answers: ARM resource ids, names, endpoints and principals as azure-native computes them.

Type tokens are matched on ``<module>:<Kind>`` with any API-version suffix of the module dropped
(``azure-native:storage/v20230101:StorageAccount`` is a StorageAccount too). Each known kind names
the input that holds its physical name and the ARM path under its parent; ids are then built the
way ARM builds them, e.g.
``/subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/storageAccounts/N``. A kind not in
the table still gets a plausible id and name, so a new resource never breaks the plan.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from mlfabric.mocks.world import World

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


_KINDS: dict[str, Callable[[str, str, dict[str, Any], World], dict[str, Any]]] = {
    "resources:ResourceGroup": _resource_group,
    "storage:StorageAccount": _storage_account,
    "storage:BlobServiceProperties": _account_child("blobServices/default", "default"),
    "storage:BlobContainer": _account_child("blobServices/default/containers/{containerName}", "{containerName}"),
    "storage:ManagementPolicy": _account_child("managementPolicies/default", "DefaultManagementPolicy"),
    "keyvault:Vault": _vault,
    "keyvault:Key": _key,
    "managedidentity:UserAssignedIdentity": _identity,
    "authorization:RoleAssignment": _role_assignment,
    "authorization:ManagementLockByScope": _lock,
    "monitor:DiagnosticSetting": _diagnostic_setting,
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
    if isinstance(assigned, list):
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


INVOKES: dict[str, Any] = {
    "azure-native:authorization:getClientConfig": lambda _args, w: {
        "clientId": "33333333-3333-3333-3333-333333333333",
        "objectId": w.azure_object_id,
        "subscriptionId": w.azure_subscription_id,
        "tenantId": w.azure_tenant_id,
    },
}
