"""Helpers every Azure concern shares: private endpoints (the private-link DNS zones, and one
endpoint of a resource registered in its zones), the storage account behind the platform's blob
containers, the identity a service encrypts with the platform's key through, and what one concern
reads from another concern's component, as Protocols.

Concern modules import these from here, never from a sibling concern's module: a concern names what
it reads (``HasPrivateLinks``, ``RegistryHandles``...), so any component that has those attributes,
or a test's stand-in, will do. Creates nothing by itself; under the concern that calls it,
``private_endpoint`` declares a ``network:PrivateEndpoint`` and its ``network:PrivateDnsZoneGroup``,
and ``key_user_identity`` a ``managedidentity:UserAssignedIdentity`` and its
``authorization:RoleAssignment`` on one Key Vault key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity, network

from mlfabric.components.azure import ranges
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.context import PlatformContext

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s

    from mlfabric.components.kubernetes.queueing import Queueing
    from mlfabric.components.kubernetes.teams import SharedVolume

# Built-in role that lets a service wrap and unwrap data-encryption keys with a Key Vault key.
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER: Final = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
# Environments whose Key Vault keys are HSM-backed (Premium vault, RSA-HSM keys; FIPS 140 Level 3
# HSMs). Elsewhere software-protected keys in Standard vaults: an HSM key costs about $1 a month per
# version plus per-operation fees above the Standard price, which dev and staging do not need.
HSM_ENVIRONMENTS: Final = frozenset({"prod"})


def vault_sku(environment: str) -> keyvault.SkuName:
    """The Key Vault SKU for keys of this environment: Premium (HSM keys) in prod, Standard elsewhere."""
    return keyvault.SkuName.PREMIUM if environment in HSM_ENVIRONMENTS else keyvault.SkuName.STANDARD


def key_type(environment: str) -> keyvault.JsonWebKeyType:
    """The Key Vault key type of this environment: RSA-HSM in prod, software-protected RSA elsewhere."""
    return keyvault.JsonWebKeyType.RS_A_HSM if environment in HSM_ENVIRONMENTS else keyvault.JsonWebKeyType.RSA


# Private-link zones by short name; the endpoints of one target type register in these zones.
PRIVATE_DNS_ZONES: Final[dict[str, str]] = {
    "blob": "privatelink.blob.core.windows.net",
    "file": "privatelink.file.core.windows.net",
    "acr": "privatelink.azurecr.io",
    "aml-api": "privatelink.api.azureml.ms",
    "aml-notebooks": "privatelink.notebooks.azure.net",
}
# Private-link group id (sub-resource) -> the zones its endpoint registers records in.
GROUP_ZONES: Final[dict[str, tuple[str, ...]]] = {
    "blob": ("blob",),
    "file": ("file",),
    "registry": ("acr",),
    "amlworkspace": ("aml-api", "aml-notebooks"),
    "amlregistry": ("aml-api",),
}


def storage_account_id(bucket_ids: dict[str, str]) -> str:
    """The storage account a platform's blob containers live in (from any container's resource id)."""
    for container_id in bucket_ids.values():
        return container_id.split("/blobServices/", 1)[0]
    raise pulumi.RunError("storage: no blob container to find the platform's storage account from")


def overlay_ranges(vnet_cidr: str) -> tuple[str, str, str]:
    """(pod CIDR, service CIDR, DNS service IP) of AKS's overlay, outside ``vnet_cidr`` (``ranges``: the
    spec rules refuse a network.cidr that overlaps every candidate, so there always is one here)."""
    found = ranges.cluster_ranges(vnet_cidr)
    assert found is not None, f"no overlay range outside {vnet_cidr}"
    return found


def in_long_term_support(version: str) -> bool:
    """Whether AKS has ``version`` in long-term support, judged on the calendar's as-of date (pinned per
    mlfabric release, so a plan never changes by itself)."""
    from mlfabric.components.azure.kit import aks_calendar

    calendar = aks_calendar()
    return calendar.phase(version, calendar.as_of) == "extended"


def output_mapping(outputs: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """A dict of outputs as one output; ``{}`` when empty (``Output.all()`` alone would give ``[]``)."""
    if not outputs:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(**outputs)


def role_definition_id(subscription: pulumi.Output[str], role_guid: str) -> pulumi.Output[str]:
    """The ARM id of a built-in role definition in the subscription (its GUID is the same in every tenant)."""
    return subscription.apply(
        lambda s: f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
    )


def key_user_identity(
    owner: pulumi.Resource,
    name: str,
    ctx: PlatformContext,
    role: str,
    key_id: pulumi.Input[str],
    subscription: pulumi.Output[str],
    uses: str,
) -> tuple[managedidentity.UserAssignedIdentity, authorization.RoleAssignment]:
    """A user-assigned identity ``id-<platform>-<env>-<role>`` (logical ``<name>-<role>``) that may wrap
    and unwrap with the one key ``key_id`` (least privilege: not the vault, not other keys), and that
    role assignment, which whatever encrypts through the identity must depend on. ``uses`` says who
    encrypts with the key. Both are children of ``owner``, protected and retained with its data."""
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-{role}",
        resource_name_=f"id-{ctx.base_name}-{role}",
        resource_group_name=prerequisites_of(ctx).resource_group_name,
        location=ctx.region,
        tags=ctx.tags(),
        # Deleting the identity would cut the (retained) data off from its key.
        opts=ctx.stateful(owner),
    )
    key_access = authorization.RoleAssignment(
        f"{name}-{role}-key-access",
        principal_id=identity.principal_id,
        # ServicePrincipal: skips the directory lookup a brand-new identity may not pass yet.
        principal_type="ServicePrincipal",
        role_definition_id=role_definition_id(subscription, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER),
        scope=key_id,
        description=f"mlfabric {ctx.base_name}: {uses} encrypt with this key",
        # Removing it while the (retained) data exists would make that data unreadable.
        opts=ctx.stateful(owner),
    )
    return identity, key_access


# --- private endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrivateLinks:
    """What a concern needs to put one of its resources behind a private endpoint."""

    subnet_id: pulumi.Output[str]
    # zone short name (PRIVATE_DNS_ZONES) -> private DNS zone id
    zone_ids: dict[str, pulumi.Output[str]]


def private_endpoint(
    owner: pulumi.Resource,
    logical: str,
    ctx: PlatformContext,
    links: PrivateLinks,
    target_id: pulumi.Input[str],
    group_id: str,
) -> network.PrivateEndpoint:
    """A private endpoint for ``group_id`` of ``target_id`` in the platform's endpoint subnet, with its
    DNS records in the matching private zones. Declared by (and a child of) ``owner``, the concern that
    owns the target; ``logical`` is its logical name, which names the physical endpoint too."""
    physical = f"pe-{logical}"
    group = prerequisites_of(ctx).resource_group_name
    endpoint = network.PrivateEndpoint(
        logical,
        private_endpoint_name=physical,
        resource_group_name=group,
        location=ctx.region,
        subnet={"id": links.subnet_id},  # a reference: only the id (SubnetArgs would add policy defaults)
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=physical, private_link_service_id=target_id, group_ids=[group_id]
            )
        ],
        custom_network_interface_name=f"nic-{physical}",
        tags=ctx.tags(),
        opts=pulumi.ResourceOptions(parent=owner),
    )
    network.PrivateDnsZoneGroup(
        logical,
        private_dns_zone_group_name="default",
        private_endpoint_name=endpoint.name,
        resource_group_name=group,
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(name=zone.replace("-", ""), private_dns_zone_id=links.zone_ids[zone])
            for zone in GROUP_ZONES[group_id]
        ],
        opts=pulumi.ResourceOptions(parent=owner),
    )
    return endpoint


# --- what a concern reads from another concern's component ---------------------------------------------


@runtime_checkable
class HasPrivateLinks(Protocol):
    """The network, as the concerns that put their resources behind private endpoints read it."""

    # None unless the spec asks for private endpoints (``network.private_endpoints``)
    private_links: PrivateLinks | None


@runtime_checkable
class RegistryHandles(Protocol):
    """The registry's container registry and Azure ML workspace (monitoring collects their logs)."""

    container_registry_id: pulumi.Output[str]
    ml_workspace_id: pulumi.Output[str]


@runtime_checkable
class RegistryScopes(RegistryHandles, Protocol):
    """The registry's resources RBAC grants roles on: those handles and the model registry."""

    ml_registry_id: pulumi.Output[str]


@runtime_checkable
class WorkspaceHandles(Protocol):
    """The registry as serving reads it: the workspace endpoints live in, and the image addresses."""

    ml_workspace_name: pulumi.Output[str]
    # spec repository name -> image URL prefix (the RegistryOutputs contract's output)
    registry_urls: pulumi.Output[dict[str, str]]


@runtime_checkable
class ClusterHandles(Protocol):
    """The AKS cluster's resource id (monitoring's alerts watch it)."""

    cluster_id: pulumi.Output[str]


@runtime_checkable
class ClusterScopes(ClusterHandles, Protocol):
    """The cluster as RBAC reads it: a scope to grant on and the issuer pods' tokens come from."""

    oidc_issuer_url: pulumi.Output[str]


@runtime_checkable
class TeamCluster(ClusterScopes, Protocol):
    """The cluster as the teams concern reads it: where team objects are applied, the queueing engine
    their ClusterQueues wait for, and the shared file system's volume (None without one)."""

    kubernetes_provider: k8s.Provider
    queueing: Queueing
    shared_volume: SharedVolume | None


@runtime_checkable
class TeamIdentities(Protocol):
    """The teams concern as notebooks read it: each team's user-assigned identity (resource id)."""

    identity_ids: dict[str, pulumi.Output[str]]


@runtime_checkable
class WorkspaceScopes(WorkspaceHandles, Protocol):
    """The registry as the lifecycle concerns read it: the workspace's name and resource id."""

    ml_workspace_id: pulumi.Output[str]
