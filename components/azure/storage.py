"""Azure storage: one storage account per platform holding one private blob container per spec
bucket, encrypted with a customer-managed Key Vault key.

Creates (all in the platform's resource group, ``prerequisites_of(ctx).resource_group_name``):

- ``keyvault:Vault`` (RBAC authorization, soft delete 90 days, purge protection, firewall
  default-deny with trusted Azure services allowed) and in it ``keyvault:Key`` (RSA 3072,
  wrap/unwrap only, rotated every ``key_rotation_days``);
- ``managedidentity:UserAssignedIdentity`` the storage account reads the key with, and an
  ``authorization:RoleAssignment`` "Key Vault Crypto Service Encryption User" for it, scoped to that
  one key (least privilege: not the vault, not other keys);
- ``storage:StorageAccount`` (StorageV2; no public blob access; HTTPS and TLS 1.2 only; Entra ID
  only — shared keys and account SAS off; OAuth by default in the portal; copies only within the
  tenant; firewall default-deny; infrastructure (double) encryption; CMK for blob, file, queue
  and table via the identity, following new key versions automatically);
- ``storage:BlobServiceProperties`` (versioning per spec, blob and container soft delete, change
  feed in prod), ``storage:ManagementPolicy`` (lifecycle rules per container), and one
  ``storage:BlobContainer`` per bucket (no public access);
- with ``access_logging`` or ``network.flow_logs``: a second, equally locked-down account for logs and
  a management policy that expires them; with ``access_logging`` a ``monitor:DiagnosticSetting``
  sending the blob service's StorageRead, StorageWrite and StorageDelete logs there;
- with ``network.flow_logs``: a ``network:FlowLog`` of the platform's VNet (new or reused) in the
  region's Network Watcher (``NetworkWatcher_<region>`` in ``NetworkWatcherRG``, which Azure creates
  with the region's first VNet) writing to the log account through its own
  ``managedidentity:UserAssignedIdentity`` (Storage Blob Data Contributor on that account only);
- with deletion protection (prod): an ``authorization:ManagementLockByScope`` (CanNotDelete) on each
  account — the spec's "deletion protection in the cloud".

Decisions that differ from S3, and why:

- Network: where the data account has private endpoints (``network.private_endpoints``, on in prod,
  and a registry section, whose concern declares them) its ``public_network_access`` is Disabled:
  it is reached through those endpoints and the ML workspace's managed network. Elsewhere it stays
  Enabled behind a default-deny firewall that lets only trusted Azure services through — a dev
  platform without private endpoints would otherwise be unusable. Deployment works either way:
  containers, policies and keys are ARM (control-plane) calls, which neither filters. The log
  account always keeps its firewalled public endpoint: Azure Monitor and Network Watcher deliver
  into it as trusted services. The storage vault too (Premium with RSA-HSM keys in prod): storage
  reads its key as a trusted service, and it has no private endpoint.
- ``replication_region``: geo-redundant SKUs (GZRS, GRS where the account is LRS) replicate to the
  region's pair only; spec_rules refuses any other region (object replication to an account in an
  arbitrary region is not built).
- ``force_destroy`` has no Azure switch: deleting a container (or the account) deletes its blobs
  whatever they hold. With ``force_destroy: true`` (dev) that is what ``pulumi destroy`` does; with
  ``false`` the accounts and containers are retained on delete (left in place, with their data); in
  prod ``protect``, the CanNotDelete lock and container soft delete stand in the way too.
- Abort-incomplete-uploads has no lifecycle action on Azure: uncommitted blocks are discarded by the
  service after 7 days anyway.
- Lifecycle rules and the versioning switch are account-wide objects on Azure (one management
  policy, one blob service), so per-bucket rules are rules filtered by ``<container>/`` prefix.
- A renamed bucket (``renamed_from``) keeps its container (named after its first name; containers
  cannot be renamed) and its URN through an alias.
"""

from __future__ import annotations

from typing import Any, Final

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity, monitor, network, storage

from mlfabric.components import naming
from mlfabric.components.azure.common import (
    HasPrivateLinks,
    key_type,
    key_user_identity,
    output_mapping,
    role_definition_id,
    vault_sku,
)
from mlfabric.components.azure.prerequisites import prerequisites_of
from mlfabric.components.azure.regions import PAIRED_REGIONS
from mlfabric.components.concerns import StorageOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import BucketSpec, StorageSpec

# Azure's limits: blob/container soft delete keeps 1-365 days; Key Vault soft delete 7-90 days.
_MAX_SOFT_DELETE_DAYS: Final = 365
_VAULT_SOFT_DELETE_DAYS: Final = 90
# New key versions (made by rotation) expire this long after their planned rotation, so a failed
# rotation is noticed (Key Vault near-expiry events) well before the key stops working.
_KEY_EXPIRY_MARGIN_DAYS: Final = 30
_KEY_SIZE_BITS: Final = 3072
_ACCESS_LOG_RETENTION_DAYS: Final = 365
# Environments that record every blob change (change feed): an audit trail and the basis of
# point-in-time restore, at the cost of storing the feed.
_CHANGE_FEED_ENVIRONMENTS: Final = frozenset({"prod"})
# Storage account replication: zone-redundant where the spec's environment asks for multi-AZ.
_REPLICATION: Final = {"dev": "Standard_LRS", "staging": "Standard_ZRS", "prod": "Standard_ZRS"}
# With storage.replication_region (the region's pair, see PAIRED_REGIONS): the geo-redundant twin.
_GEO_REPLICATION: Final = {"Standard_LRS": "Standard_GRS", "Standard_ZRS": "Standard_GZRS"}
# Diagnostic logs of the blob service land in containers named insights-logs-<category>.
_LOG_CATEGORIES: Final = ("StorageRead", "StorageWrite", "StorageDelete")
_LOG_CONTAINER_PREFIX: Final = "insights-logs-"
_LOCK_NAME: Final = "mlfabric-deletion-protection"
# Where Azure keeps a region's Network Watcher (created with the region's first VNet).
NETWORK_WATCHER_GROUP: Final = "NetworkWatcherRG"
BLOB_DATA_CONTRIBUTOR: Final = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def lifecycle_rule_names(buckets: list[BucketSpec]) -> dict[str, str]:
    """Bucket name -> management-policy rule name (Azure allows only alphanumerics there).

    ``raw-data`` becomes ``rawDataLifecycle``; two buckets that would map to the same rule name
    (``a-1`` and ``a1``) are told apart by a stable hash suffix.
    """
    camel = {
        b.name: b.name.split("-")[0] + "".join(p.capitalize() for p in b.name.split("-")[1:]) + "Lifecycle"
        for b in buckets
    }
    taken = list(camel.values())
    return {
        bucket: rule if taken.count(rule) == 1 else rule + naming.short_hash(bucket)
        for bucket, rule in camel.items()
    }


class AzureStorage(StorageOutputs):
    """Private, CMK-encrypted blob containers for datasets, artifacts and models."""

    type_token = "mlfabric:storage:AzureStorage"
    needs = ("network",)

    def __init__(
        self,
        name: str,
        spec: StorageSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        self._group = prerequisites_of(ctx).resource_group_name
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._subscription: pulumi.Output[str] = client.subscription_id

        self.vault = self._vault(client.tenant_id)
        self.key = self._key()
        # The accounts read the key through this identity (it needs its grant before they exist).
        self.identity, key_access = key_user_identity(
            self, name, ctx, "storage", self.key.id, self._subscription, "storage accounts"
        )

        self.account = self._account(f"{name}-storage", "storage", None, key_access)
        self._blob_service()
        containers = {b.name: self._container(b) for b in spec.buckets}
        self._lifecycle(list(containers.values()))
        flow_logs = ctx.spec is not None and ctx.spec.network.flow_logs and ctx.network is not None
        self.log_account = self._log_account(key_access) if spec.access_logging or flow_logs else None
        if spec.access_logging and self.log_account is not None:
            self._access_logs(self.log_account)
        if flow_logs and self.log_account is not None:
            self._flow_logs(self.log_account)

        self.bucket_names = output_mapping({k: c.name for k, c in containers.items()})
        self.bucket_urls = pulumi.Output.all(
            self.account.primary_endpoints.apply(lambda endpoints: endpoints.blob), self.bucket_names
        ).apply(lambda args: {k: f"{args[0].rstrip('/')}/{v}" for k, v in args[1].items()})
        self.bucket_ids = output_mapping({k: c.id for k, c in containers.items()})
        # Versionless key URI: the account follows new key versions, and so should anything that
        # references the platform's storage key.
        self.encryption_key_id = self.key.key_uri
        self.access_log_bucket = (self.log_account.name if self.log_account and spec.access_logging
                                  else pulumi.Output.from_input(""))
        self.register_contract()

    def _holds_data(self, **kwargs: object) -> pulumi.ResourceOptions:
        """Options of an account or container: protected with deletion protection, and retained on
        delete unless ``force_destroy`` (Azure deletes a container with whatever it holds, so keeping
        ``pulumi destroy`` from deleting data means leaving the account and its containers in place)."""
        keep = self._ctx.deletion_protection or not self._spec.force_destroy
        return pulumi.ResourceOptions(
            parent=self, protect=self._ctx.deletion_protection, retain_on_delete=keep, **kwargs  # type: ignore[arg-type]
        )

    def _physical_name(self, prefix: str, role: str) -> pulumi.Output[str]:
        """A globally unique, stable name: unique per subscription, the same on every run."""
        base = self._ctx.base_name
        return self._subscription.apply(
            lambda subscription: naming.compact_name(
                prefix, base, max_length=24, unique_by=(subscription, base, role)
            )
        )

    def _vault(self, tenant_id: pulumi.Input[str]) -> keyvault.Vault:
        return keyvault.Vault(
            f"{self._name}-storage",
            vault_name=self._physical_name("kv", "storage-vault"),
            resource_group_name=self._group,
            location=self._ctx.region,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=tenant_id,
                # Premium with HSM-backed keys in prod; Standard (software keys) in dev and staging,
                # where the HSM's price buys nothing the tests need (common.HSM_ENVIRONMENTS).
                sku=keyvault.SkuArgs(family="A", name=vault_sku(self._ctx.environment)),
                enable_rbac_authorization=True,
                # Storage CMK requires both; purge protection cannot be turned off again.
                enable_soft_delete=True,
                soft_delete_retention_in_days=_VAULT_SOFT_DELETE_DAYS,
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                # The storage service reaches the key as a trusted service; keys are created
                # through ARM, which the vault firewall does not filter.
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
            ),
            tags=self._ctx.tags(),
            opts=self._ctx.stateful(self),
        )

    def _key(self) -> keyvault.Key:
        days = self._spec.key_rotation_days
        return keyvault.Key(
            f"{self._name}-storage",
            key_name="storage-cmk",
            vault_name=self.vault.name,
            resource_group_name=self._group,
            properties=keyvault.KeyPropertiesArgs(
                kty=key_type(self._ctx.environment),
                key_size=_KEY_SIZE_BITS,
                key_ops=[keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY],
                attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(
                        expiry_time=f"P{days + _KEY_EXPIRY_MARGIN_DAYS}D"
                    ),
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(
                            trigger=keyvault.TriggerArgs(time_after_create=f"P{days}D"),
                            action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                        )
                    ],
                ),
            ),
            tags=self._ctx.tags(),
            opts=self._ctx.stateful(self),
        )

    def _account(
        self,
        logical: str,
        role: str,
        extra_tags: dict[str, str] | None,
        key_access: authorization.RoleAssignment,
    ) -> storage.StorageAccount:
        """A StorageV2 account: private, Entra-ID-only, TLS 1.2, CMK with infrastructure encryption."""
        account_key = storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT)
        account = storage.StorageAccount(
            logical,
            account_name=self._physical_name("stlog" if role == "access-logs" else "st", role),
            resource_group_name=self._group,
            location=self._ctx.region,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=self._sku()),
            access_tier=storage.AccessTier.HOT,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            allowed_copy_scope=storage.AllowedCopyScope.AAD,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            is_local_user_enabled=False,
            is_sftp_enabled=False,
            public_network_access=self._public_network_access(role),
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY, bypass="AzureServices"
            ),
            identity=storage.IdentityArgs(
                type=storage.IdentityType.USER_ASSIGNED, user_assigned_identities=[self.identity.id]
            ),
            encryption=storage.EncryptionArgs(
                key_source=storage.KeySource.MICROSOFT_KEYVAULT,
                # No key_version: the account picks up each rotated version by itself.
                key_vault_properties=storage.KeyVaultPropertiesArgs(
                    key_name=self.key.name,
                    key_vault_uri=self.vault.properties.apply(lambda properties: properties.vault_uri),
                ),
                encryption_identity=storage.EncryptionIdentityArgs(
                    encryption_user_assigned_identity=self.identity.id
                ),
                require_infrastructure_encryption=True,
                # Account-scoped keys for queue and table too, so every service uses the CMK.
                services=storage.EncryptionServicesArgs(
                    blob=account_key, file=account_key, queue=account_key, table=account_key
                ),
            ),
            tags=self._ctx.tags(extra_tags),
            opts=self._holds_data(depends_on=[key_access]),
        )
        if self._ctx.deletion_protection:
            authorization.ManagementLockByScope(
                logical,
                scope=account.id,
                level=authorization.LockLevel.CAN_NOT_DELETE,
                lock_name=_LOCK_NAME,
                notes=f"mlfabric {self._ctx.base_name}: deletion protection (spec deletion_protection)",
                opts=self._child,
            )
        return account

    def _sku(self) -> str:
        """Zone-redundant per environment; geo-redundant (GRS/GZRS) to the paired region when the spec
        names it in ``replication_region`` (spec_rules refuses any other region)."""
        sku = _REPLICATION[self._ctx.environment]
        target = self._spec.replication_region
        if target is not None and PAIRED_REGIONS.get(self._ctx.region) == target:
            return _GEO_REPLICATION[sku]
        return sku

    def _public_network_access(self, role: str) -> storage.PublicNetworkAccess:
        """Disabled on the data account when it has private endpoints (network.private_endpoints and a
        registry section, whose concern declares its blob and file endpoints; the ML workspace's managed
        network reaches it through its own).
        The log account stays Enabled behind its default-deny firewall: Azure Monitor and Network
        Watcher deliver logs to it as trusted services, which a disabled public endpoint would refuse."""
        links = self._ctx.network.private_links if isinstance(self._ctx.network, HasPrivateLinks) else None
        # The registry concern declares the account's blob and file endpoints; without it there are none.
        endpoints = links is not None and self._ctx.spec is not None and self._ctx.spec.registry is not None
        if endpoints and role != "access-logs":
            return storage.PublicNetworkAccess.DISABLED
        return storage.PublicNetworkAccess.ENABLED

    def _blob_service(self) -> storage.BlobServiceProperties:
        retention_days = min(self._spec.noncurrent_version_retention_days, _MAX_SOFT_DELETE_DAYS)
        soft_delete = storage.DeleteRetentionPolicyArgs(enabled=True, days=retention_days)
        change_feed = self._ctx.environment in _CHANGE_FEED_ENVIRONMENTS
        return storage.BlobServiceProperties(
            f"{self._name}-storage",
            account_name=self.account.name,
            resource_group_name=self._group,
            blob_services_name="default",
            is_versioning_enabled=self._spec.versioning,
            delete_retention_policy=soft_delete,
            container_delete_retention_policy=soft_delete,
            change_feed=storage.ChangeFeedArgs(
                enabled=change_feed, retention_in_days=retention_days if change_feed else None
            ),
            opts=self._child,
        )

    def _container(self, spec: BucketSpec) -> storage.BlobContainer:
        logical = f"{self._name}-{spec.name}"
        return storage.BlobContainer(
            logical,
            # The account is the platform's own, so the bare bucket name is unique in it; a renamed
            # bucket keeps the container of its first name.
            container_name=naming.original_name(spec.name, spec.renamed_from),
            account_name=self.account.name,
            resource_group_name=self._group,
            public_access=storage.PublicAccess.NONE,
            opts=self._holds_data(aliases=naming.rename_aliases(logical, spec.name, spec.renamed_from)),
        )

    def _lifecycle(self, containers: list[storage.BlobContainer]) -> storage.ManagementPolicy | None:
        if not self._spec.buckets:
            return None
        rule_names = lifecycle_rule_names(self._spec.buckets)
        rules = [self._lifecycle_rule(rule_names[b.name], b) for b in self._spec.buckets]
        return storage.ManagementPolicy(
            f"{self._name}-storage",
            account_name=self.account.name,
            resource_group_name=self._group,
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(rules=rules),
            # Rules name containers by prefix only; create them first so the rules apply at once.
            opts=pulumi.ResourceOptions(parent=self, depends_on=containers),
        )

    def _lifecycle_rule(self, rule_name: str, spec: BucketSpec) -> storage.ManagementPolicyRuleArgs:
        base_blob: dict[str, Any] = {}
        if spec.archive_after_days is not None:
            base_blob["tier_to_cool"] = storage.DateAfterModificationArgs(
                days_after_creation_greater_than=spec.archive_after_days
            )
        if spec.retention_days is not None:
            base_blob["delete"] = storage.DateAfterModificationArgs(
                days_after_creation_greater_than=spec.retention_days
            )
        return storage.ManagementPolicyRuleArgs(
            name=rule_name,
            type=storage.RuleType.LIFECYCLE,
            enabled=True,
            definition=storage.ManagementPolicyDefinitionArgs(
                filters=storage.ManagementPolicyFilterArgs(
                    blob_types=["blockBlob"], prefix_match=[f"{naming.original_name(spec.name, spec.renamed_from)}/"]
                ),
                actions=storage.ManagementPolicyActionArgs(
                    base_blob=storage.ManagementPolicyBaseBlobArgs(**base_blob) if base_blob else None,
                    # Previous versions (when versioning is on) go after the spec's retention.
                    version=storage.ManagementPolicyVersionArgs(
                        delete=storage.DateAfterCreationArgs(
                            days_after_creation_greater_than=self._spec.noncurrent_version_retention_days
                        )
                    ),
                ),
            ),
        )

    def _log_account(self, key_access: authorization.RoleAssignment) -> storage.StorageAccount:
        """A dedicated, equally locked-down account that receives the blob service's access logs and
        the VNet's flow logs, which it expires after a year.

        Azure Monitor and Network Watcher write into it as trusted services (the firewall's
        AzureServices bypass). Monitoring sends the access-log categories to the platform's Log
        Analytics workspace for queries; this account is the cheap long-term archive, like the S3
        access-log bucket.
        """
        logical = f"{self._name}-access-logs"
        log_account = self._account(logical, "access-logs", {"mlfabric-bucket": "access-logs"}, key_access)
        storage.ManagementPolicy(
            logical,
            account_name=log_account.name,
            resource_group_name=self._group,
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(
                rules=[
                    storage.ManagementPolicyRuleArgs(
                        name="expireAccessLogs",
                        type=storage.RuleType.LIFECYCLE,
                        enabled=True,
                        definition=storage.ManagementPolicyDefinitionArgs(
                            filters=storage.ManagementPolicyFilterArgs(
                                blob_types=["appendBlob", "blockBlob"], prefix_match=[_LOG_CONTAINER_PREFIX]
                            ),
                            actions=storage.ManagementPolicyActionArgs(
                                base_blob=storage.ManagementPolicyBaseBlobArgs(
                                    delete=storage.DateAfterModificationArgs(
                                        days_after_modification_greater_than=_ACCESS_LOG_RETENTION_DAYS
                                    )
                                )
                            ),
                        ),
                    )
                ]
            ),
            opts=self._child,
        )
        return log_account

    def _access_logs(self, log_account: storage.StorageAccount) -> None:
        monitor.DiagnosticSetting(
            f"{self._name}-access-logs",
            name="mlfabric-access-logs",
            resource_uri=self.account.id.apply(lambda account_id: f"{account_id}/blobServices/default"),
            storage_account_id=log_account.id,
            logs=[monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in _LOG_CATEGORIES],
            opts=self._child,
        )

    def _flow_logs(self, log_account: storage.StorageAccount) -> network.FlowLog:
        """The VNet's flow log (new or reused VNet: a flow log can be added to any VNet), written to the
        log account by an identity that may write blobs there and nowhere else."""
        ctx, name = self._ctx, self._name
        assert ctx.network is not None and ctx.spec is not None
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-flow-logs",
            resource_name_=f"id-{ctx.base_name}-flow-logs",
            resource_group_name=self._group,
            location=ctx.region,
            tags=ctx.tags(),
            opts=self._child,
        )
        grant = authorization.RoleAssignment(
            f"{name}-flow-logs",
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=role_definition_id(self._subscription, BLOB_DATA_CONTRIBUTOR),
            scope=log_account.id,
            description=f"mlfabric {ctx.base_name}: Network Watcher writes the VNet's flow logs here",
            opts=self._child,
        )
        return network.FlowLog(
            f"{name}-flow-logs",
            flow_log_name=f"fl-{ctx.base_name}",
            network_watcher_name=f"NetworkWatcher_{ctx.region}",
            resource_group_name=NETWORK_WATCHER_GROUP,
            location=ctx.region,
            target_resource_id=ctx.network.network_id,
            storage_id=log_account.id,
            enabled=True,
            format=network.FlowLogFormatParametersArgs(type="JSON", version=2),
            retention_policy=network.RetentionPolicyParametersArgs(
                days=ctx.spec.monitoring.log_retention_days, enabled=True
            ),
            identity=network.ManagedServiceIdentityArgs(
                type=network.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
            ),
            tags=ctx.tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant]),
        )
