"""Registries on Azure: a container registry for images, an Azure ML workspace, and an Azure ML
registry for models.

Creates, in the platform's resource group:

- ``managedidentity:UserAssignedIdentity`` ``id-<platform>-<env>-registry`` and an
  ``authorization:RoleAssignment`` "Key Vault Crypto Service Encryption User" for it on the
  platform's storage key only: the identity the registry and the workspace encrypt with;
- ``containerregistry:Registry`` (admin user off, anonymous pull off, trusted Azure services only
  through its firewall). Premium in prod and wherever the network has private endpoints (private
  link needs it), and then also: untagged manifests deleted after ``untagged_image_retention_days``,
  zone redundancy, encryption with the storage key through the identity, public network access off.
  Standard elsewhere. Repositories are implicit in ACR (they appear on first push), so a repository
  of the spec is a path under the login server, not a resource;
- ``machinelearningservices:Workspace`` ``mlw-<platform>-<env>`` linked to the platform's storage
  account (identity-based datastores: the account allows no shared keys), its Key Vault, the
  registry and the platform's Application Insights (an Azure prerequisite, ``prerequisites.py``),
  encrypted with the storage key, public network access off with private endpoints, and a managed
  virtual network (AllowOnlyApprovedOutbound outside dev, AllowInternetOutbound in dev) with
  private-endpoint outbound rules to the storage account (blob, file), the vault, the container
  registry and the model registry;
- ``machinelearningservices:Registry`` ``mlr-<platform>-<env>`` for models (its own system-created
  storage and Premium registry, no public blob access) and one
  ``machinelearningservices:RegistryModelContainer`` per spec model: the versions of that model are
  registered into it. A renamed model (``registry.renamed_from``) keeps its container under its first
  name, and its URN through an alias; a renamed repository keeps its image path (``registry_urls``);
- with private endpoints: a ``network:PrivateEndpoint`` (and its DNS zone group) for the storage
  account's blob and file services (the workspace's dependencies), the container registry, the
  workspace and the model registry.

Decisions that differ from AWS, and why:

- Scan on push is Microsoft Defender for Containers, a subscription-wide plan: not declared here
  (it would change billing for the whole subscription); the pack's advisory rule reports it.
- Tag immutability has no ARM switch on ACR (tag locking is a data-plane operation): not declared.
- The workspace's system-assigned identity gets its own role assignments from Azure ML when the
  workspace is created (storage, registry, vault); none of them is declared here.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlparse

import pulumi
from pulumi_azure_native import authorization, containerregistry, machinelearningservices

from mlfabric.components import naming
from mlfabric.components.azure.common import (
    HasPrivateLinks,
    PrivateLinks,
    key_user_identity,
    output_mapping,
    private_endpoint,
    storage_account_id,
)
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.concerns import RegistryOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import RegistrySpec

# Azure ML managed-network isolation per environment (see AzureRegistry._managed_network).
MANAGED_NETWORK_ISOLATION: Final = {"dev": "AllowInternetOutbound", "staging": "AllowOnlyApprovedOutbound",
                                    "prod": "AllowOnlyApprovedOutbound"}


def managed_network_isolation(environment: str) -> str:
    """The workspace's managed-network isolation mode in this environment (approved outbound if unknown)."""
    return MANAGED_NETWORK_ISOLATION.get(environment, "AllowOnlyApprovedOutbound")


# Private-link group ids of the targets the registry puts behind private endpoints.
STORAGE_GROUPS: Final = ("blob", "file")


def key_vault_ids(subscription: str, group: str, key_uri: str) -> tuple[str, str]:
    """(vault ARM id, key ARM id) of a Key Vault key URI ``https://<vault>.vault.azure.net/keys/<key>``
    in the platform's resource group."""
    parsed = urlparse(key_uri)
    vault = (parsed.hostname or "").split(".", 1)[0]
    parts = [p for p in parsed.path.split("/") if p]
    if not vault or len(parts) < 2 or parts[0] != "keys":
        raise pulumi.RunError(f"storage: not a Key Vault key URI (got {key_uri!r})")
    vault_id = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{vault}"
    return vault_id, f"{vault_id}/keys/{parts[1]}"


class AzureRegistry(RegistryOutputs):
    """Container registry, Azure ML workspace and model registry, encrypted with the platform key."""

    type_token = "mlfabric:registry:AzureRegistry"
    needs = ("network", "storage")

    # Azure only: what the cluster, monitoring, serving and RBAC read.
    container_registry_id: pulumi.Output[str]
    login_server: pulumi.Output[str]
    ml_workspace_id: pulumi.Output[str]
    ml_workspace_name: pulumi.Output[str]
    ml_registry_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: RegistrySpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        if ctx.storage is None:
            raise pulumi.RunError("registry: the Azure ML workspace needs the platform's storage (account and vault)")
        self._group = prerequisites_of(ctx).resource_group_name
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._subscription: pulumi.Output[str] = client.subscription_id
        links = ctx.network.private_links if isinstance(ctx.network, HasPrivateLinks) else None
        self._premium = ctx.environment == "prod" or links is not None

        key_uri = ctx.storage.encryption_key_id
        ids = pulumi.Output.all(self._subscription, self._group, key_uri).apply(
            lambda a: key_vault_ids(a[0], a[1], a[2])
        )
        vault_id: pulumi.Output[str] = ids.apply(lambda i: i[0])
        key_id: pulumi.Output[str] = ids.apply(lambda i: i[1])
        account_id = ctx.storage.bucket_ids.apply(storage_account_id)

        # The registry and the workspace encrypt with the storage key through this identity.
        self.identity, key_access = key_user_identity(
            self, name, ctx, "registry", key_id, self._subscription, "the container registry and ML workspace"
        )

        acr = self._container_registry(spec, key_uri, key_access, links)
        models = self._model_registry(links)
        workspace = self._workspace(account_id, vault_id, key_uri, acr, key_access, links, models)

        if links is not None:
            for group in STORAGE_GROUPS:
                private_endpoint(self, f"{name}-storage-{group}", ctx, links, account_id, group)
            private_endpoint(self, f"{name}-acr", ctx, links, acr.id, "registry")
            private_endpoint(self, f"{name}-ml", ctx, links, workspace.id, "amlworkspace")
            private_endpoint(self, f"{name}-models", ctx, links, models.id, "amlregistry")

        self.container_registry_id = acr.id
        self.login_server = acr.login_server
        self.ml_workspace_id = workspace.id
        self.ml_workspace_name = workspace.name
        self.ml_registry_id = models.id
        # A renamed repository keeps the path its images were pushed to (its first name).
        paths = {r: naming.original_name(r, spec.renamed_from.get(r, [])) for r in spec.repositories}
        self.registry_urls = acr.login_server.apply(
            lambda server: {repository: f"{server}/{path}" for repository, path in paths.items()}
        )
        containers = {
            model: machinelearningservices.RegistryModelContainer(
                f"{name}-model-{model}",
                # A renamed model keeps its container (and versions) under its first name.
                model_name=naming.original_name(model, spec.renamed_from.get(model, [])),
                registry_name=models.name,
                resource_group_name=self._group,
                properties=machinelearningservices.ModelContainerPropertiesArgs(
                    description=f"mlfabric {ctx.base_name}: versions of model {model}",
                    tags={"mlfabric-model": model},
                ),
                opts=ctx.stateful(self, aliases=naming.rename_aliases(
                    f"{name}-model-{model}", model, spec.renamed_from.get(model, []))),
            )
            for model in spec.models
        }
        self.model_registry_ids = output_mapping({model: c.id for model, c in containers.items()})
        self.register_contract()

    def _container_registry(
        self,
        spec: RegistrySpec,
        key_uri: pulumi.Output[str],
        key_access: authorization.RoleAssignment,
        links: PrivateLinks | None,
    ) -> containerregistry.Registry:
        ctx, premium, base = self._ctx, self._premium, self._ctx.base_name
        physical = self._subscription.apply(
            lambda s: naming.compact_name("cr", base, max_length=50, unique_by=(s, base, "registry"))
        )
        return containerregistry.Registry(
            f"{self._name}-acr",
            registry_name=physical,
            resource_group_name=self._group,
            location=ctx.region,
            sku=containerregistry.SkuArgs(name="Premium" if premium else "Standard"),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            # Azure ML builds and pulls images as a trusted service.
            network_rule_bypass_options="AzureServices",
            public_network_access="Disabled" if links is not None else "Enabled",
            network_rule_set=containerregistry.NetworkRuleSetArgs(default_action="Deny") if premium else None,
            zone_redundancy="Enabled" if premium else "Disabled",
            policies=containerregistry.PoliciesArgs(
                retention_policy=containerregistry.RetentionPolicyArgs(
                    days=spec.untagged_image_retention_days, status="enabled"
                ),
            )
            if premium
            else None,
            identity=containerregistry.IdentityPropertiesArgs(
                type=containerregistry.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities=self.identity.id.apply(
                    lambda i: {i: containerregistry.UserIdentityPropertiesArgs()}
                ),
            )
            if premium
            else None,
            encryption=containerregistry.EncryptionPropertyArgs(
                status="enabled",
                key_vault_properties=containerregistry.KeyVaultPropertiesArgs(
                    key_identifier=key_uri, identity=self.identity.client_id
                ),
            )
            if premium
            else None,
            tags=ctx.tags(),
            opts=ctx.stateful(self, depends_on=[key_access]),
        )

    def _workspace(
        self,
        account_id: pulumi.Output[str],
        vault_id: pulumi.Output[str],
        key_uri: pulumi.Output[str],
        acr: containerregistry.Registry,
        key_access: authorization.RoleAssignment,
        links: PrivateLinks | None,
        models: machinelearningservices.Registry,
    ) -> machinelearningservices.Workspace:
        ctx, base = self._ctx, self._ctx.base_name
        return machinelearningservices.Workspace(
            f"{self._name}-ml",
            workspace_name=f"mlw-{base}",
            resource_group_name=self._group,
            location=ctx.region,
            kind="Default",
            sku=machinelearningservices.SkuArgs(name="Basic", tier=machinelearningservices.SkuTier.BASIC),
            friendly_name=f"mlfabric {base}",
            description=f"mlfabric {base}: experiments, environments and online endpoints",
            # System-assigned for the workspace's own work (Azure ML grants it its roles); the
            # user-assigned identity only reads the encryption key.
            identity=machinelearningservices.ManagedServiceIdentityArgs(
                type="SystemAssigned,UserAssigned", user_assigned_identities=[self.identity.id]
            ),
            storage_account=account_id,
            key_vault=vault_id,
            application_insights=prerequisites_of(ctx).app_insights_id,
            container_registry=acr.id,
            system_datastores_auth_mode="identity",
            public_network_access="Disabled" if links is not None else "Enabled",
            managed_network=self._managed_network(account_id, vault_id, acr, models),
            v1_legacy_mode=False,
            encryption=machinelearningservices.EncryptionPropertyArgs(
                status="Enabled",
                key_vault_properties=machinelearningservices.KeyVaultPropertiesArgs(
                    key_identifier=key_uri, key_vault_arm_id=vault_id
                ),
                identity=machinelearningservices.IdentityForCmkArgs(user_assigned_identity=self.identity.id),
            ),
            # Service-side encryption: no Cosmos DB / Search / storage in a managed resource group.
            enable_service_side_cmk_encryption=True,
            hbi_workspace=ctx.environment == "prod",
            tags=ctx.tags(),
            opts=ctx.stateful(self, depends_on=[key_access]),
        )

    def _managed_network(
        self,
        account_id: pulumi.Output[str],
        vault_id: pulumi.Output[str],
        acr: containerregistry.Registry,
        models: machinelearningservices.Registry,
    ) -> machinelearningservices.ManagedNetworkSettingsArgs:
        """The workspace's managed VNet: compute and online deployments run in it and reach the
        platform's storage (blob, file), vault, container registry and model registry through private
        endpoints Azure ML creates from these rules. Outbound: only approved (these rules and the
        service tags Azure ML adds itself) outside dev; dev allows internet outbound, so pip and conda
        installs work without FQDN rules, which Azure ML serves through a billed managed Azure Firewall."""
        targets = (("storage-blob", account_id, "blob"), ("storage-file", account_id, "file"),
                   ("key-vault", vault_id, "vault"), ("container-registry", acr.id, "registry"),
                   ("model-registry", models.id, "amlregistry"))
        return machinelearningservices.ManagedNetworkSettingsArgs(
            isolation_mode=managed_network_isolation(self._ctx.environment),
            outbound_rules={
                f"mlfabric-{rule}": machinelearningservices.PrivateEndpointOutboundRuleArgs(
                    type="PrivateEndpoint",
                    category="UserDefined",
                    destination=machinelearningservices.PrivateEndpointDestinationArgs(
                        service_resource_id=target, subresource_target=group, spark_enabled=False
                    ),
                )
                for rule, target, group in targets
            },
        )

    def _model_registry(self, links: PrivateLinks | None) -> machinelearningservices.Registry:
        ctx = self._ctx
        replication = "Standard_ZRS" if ctx.environment != "dev" else "Standard_LRS"
        return machinelearningservices.Registry(
            f"{self._name}-models",
            registry_name=f"mlr-{ctx.base_name}",
            resource_group_name=self._group,
            location=ctx.region,
            identity=machinelearningservices.ManagedServiceIdentityArgs(type="SystemAssigned"),
            public_network_access="Disabled" if links is not None else "Enabled",
            region_details=[
                machinelearningservices.RegistryRegionArmDetailsArgs(
                    location=ctx.region,
                    acr_details=[
                        machinelearningservices.AcrDetailsArgs(
                            system_created_acr_account=machinelearningservices.SystemCreatedAcrAccountArgs(
                                acr_account_sku="Premium"
                            )
                        )
                    ],
                    storage_account_details=[
                        machinelearningservices.StorageAccountDetailsArgs(
                            system_created_storage_account=machinelearningservices.SystemCreatedStorageAccountArgs(
                                storage_account_type=replication,
                                allow_blob_public_access=False,
                                storage_account_hns_enabled=False,
                            )
                        )
                    ],
                )
            ],
            tags=ctx.tags(),
            opts=ctx.stateful(self),
        )
