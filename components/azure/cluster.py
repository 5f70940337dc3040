"""Azure GPU training cluster: AKS with Entra ID + Azure RBAC, a system pool and one user pool per
GPU pool.

Creates, in the platform's resource group:

- a Key Vault ``kv…`` (RBAC authorization, purge protection) holding the RSA key that envelope-
  encrypts Kubernetes secrets in etcd (KMS), the control plane's
  ``managedidentity:UserAssignedIdentity`` ``id-<platform>-<env>-aks``, and its role assignments:
  "Key Vault Crypto User" on that key only, "Network Contributor" on the AKS subnet only (AKS
  configures the subnet it runs in);
- ``containerservice:ManagedCluster`` ``aks-<platform>-<env>``: Entra ID integration with Azure RBAC
  (``aadProfile.managed`` and ``enableAzureRBAC``), local accounts disabled, Kubernetes RBAC on, OIDC
  issuer and workload identity on, KMS etcd encryption with the key above, a private API server
  (``training.cluster.endpoint_public_cidrs`` empty) or a public one open only to those CIDRs, Azure
  CNI overlay with Cilium in the network's AKS subnet and egress through its NAT gateway, patch
  auto-upgrades and node-image OS upgrades, the managed Cluster Autoscaler (least-waste expander),
  Container Insights to the platform's Log Analytics workspace with Entra authentication, and the
  system pool inline (Azure Linux, autoscaled, spread over ``network.availability_zones`` zones,
  tainted ``CriticalAddonsOnly`` so workloads stay off it); the Standard (SLA) tier in prod;
- per GPU pool a ``containerservice:AgentPool`` (user mode, named after the pool): the catalogue's
  VM size, Spot with eviction policy Delete and no price cap when ``spot`` (regular otherwise),
  autoscaled between ``min_nodes`` (0 allowed) and ``max_nodes``, the taint and labels every cloud's
  GPU pool carries (``mlfabric.components.kubernetes.gpu_pool``), the spec's OS disk size, the
  capacity reservation group of ``reservation`` (its owner grants the cluster identity Contributor
  on that group's resource group, Microsoft's documented prerequisite: mlfabric never assigns
  Contributor); with ``interconnect: auto`` on an InfiniBand VM size a
  ``compute:ProximityPlacementGroup`` ``ppg-<platform>-<env>-<pool>`` it is placed in
  (``interconnect.py``);
- with ``shared_fs``: Azure Managed Lustre, its key and identity (``shared_fs.py``);
- the Container Insights ``monitor:DataCollectionRule`` and its
  ``monitor:DataCollectionRuleAssociation`` with the cluster, and with ``audit_logging`` a
  ``monitor:DiagnosticSetting`` sending kube-audit-admin, API server, controller manager, autoscaler
  and guard logs to the workspace;
- ``authorization:RoleAssignment`` s: "Azure Kubernetes Service RBAC Cluster Admin" on the cluster for
  the identity running Pulumi (local accounts are off, so that is how the device plugin gets
  applied), and "AcrPull" on the platform's container registry for the kubelet identity;
- through a ``kubernetes.Provider`` built from the cluster's user kubeconfig
  (``listManagedClusterUserCredentials``, rewritten to log in with the Azure CLI credentials, see
  ``azure_addons``): the NVIDIA device plugin DaemonSet, Kueue, JobSet and a ResourceFlavor per GPU
  pool, and with ``shared_fs`` the Azure Lustre CSI driver's node plugin.

The Log Analytics workspace belongs to monitoring, which is built after the cluster: the cluster holds
a ``Telemetry`` handle whose workspace id monitoring resolves (``mlfabric.components.azure.monitoring``).

Every agent pool enables encryption at host (temp disk and disk caches encrypted on the host; the
subscription needs the feature Microsoft.Compute/EncryptionAtHost registered once, and spec_rules
refuses VM sizes that cannot). The KMS vault is Premium with an RSA-HSM key in prod
(``common.HSM_ENVIRONMENTS``), Standard with a software key elsewhere.

Why the KMS key has its own vault: the KMS plugin reaches Key Vault from the AKS control plane,
whose addresses are not yours to allow-list, so that vault cannot deny public network access (unless
API Server VNet Integration is on); it holds nothing but this key, which only the cluster identity
may use. The storage vault keeps its firewall.
"""

from __future__ import annotations

from typing import Final, Protocol, runtime_checkable

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, compute, containerservice, keyvault, managedidentity, monitor

from mlfabric.components import catalog, naming
from mlfabric.components.azure import cluster_addons as azure_addons
from mlfabric.components.azure import shared_fs as lustre
from mlfabric.components.azure.common import in_long_term_support, key_type, overlay_ranges, vault_sku
from mlfabric.components.azure.interconnect import in_placement_group
from mlfabric.components.azure.prerequisites import AzurePrerequisites, prerequisites_of
from mlfabric.components.concerns import ClusterOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.kubernetes.gpu_pool import GpuPool, Taint, pool_names
from mlfabric.components.kubernetes.kubeconfig import kubeconfig_secret
from mlfabric.components.kubernetes.queueing import Queueing
from mlfabric.components.kubernetes.teams import SharedVolume
from mlfabric.components.spec import TrainingSpec

# Built-in role definitions (the same GUID in every tenant).
KEY_VAULT_CRYPTO_USER: Final = "12338af0-0e69-4776-bea7-57ae8d297424"
NETWORK_CONTRIBUTOR: Final = "4d97b98b-1d4f-4787-a291-c67834d212e7"
AKS_RBAC_CLUSTER_ADMIN: Final = "b1ff04bb-8a4e-4dc4-8eb5-8693888a4125"
ACR_PULL: Final = "7f951dda-4ed3-4680-a7ca-43fe172d538d"

SYSTEM_POOL: Final = "system"
SYSTEM_TAINT: Final = "CriticalAddonsOnly=true:NoSchedule"
SYSTEM_DISK_GIB: Final = 128
SPOT_TAINT: Final = Taint(key=azure_addons.SPOT_TAINT_KEY, value="spot", effect="NoSchedule")
KMS_KEY_SIZE_BITS: Final = 2048
# Container Insights: the stream the CLI's default data collection rule sends, and its settings.
CONTAINER_INSIGHTS_STREAMS: Final = ("Microsoft-ContainerInsights-Group-Default",)
AUDIT_LOG_CATEGORIES: Final = (
    "kube-audit-admin", "kube-apiserver", "kube-controller-manager", "cluster-autoscaler", "guard",
)
# A reused VNet's range when the spec gives none: Azure VNets usually live in 10.0.0.0/8.
REUSED_VNET_ASSUMED_RANGE: Final = "10.0.0.0/8"


def cluster_ranges(vnet_cidr: str) -> tuple[str, str, str]:
    """(pod CIDR, service CIDR, DNS service IP), none overlapping the VNet or each other."""
    return overlay_ranges(vnet_cidr)


def gpu_taints(pool: GpuPool) -> list[str]:
    """The pool's ``nodeTaints``. AKS taints every Spot node itself; declaring it keeps the pool
    free of drift."""
    return [str(taint) for taint in ((pool.taint, SPOT_TAINT) if pool.spot else (pool.taint,))]


@runtime_checkable
class AksNetwork(Protocol):
    """What the AKS cluster reads from the platform's network (``AzureNetwork`` provides it)."""

    # the subnet the nodes run in (AKS is granted Network Contributor on it)
    cluster_subnet_id: pulumi.Output[str]
    # the NAT gateway nodes egress through (None for a reused VNet: egress through a load balancer)
    nat_gateway_id: pulumi.Output[str] | None
    # the VNet's range, which the overlay pod and service ranges must not overlap (None: unknown)
    address_space: str | None
    # zones the system pool spreads over
    availability_zones: int
    # without a NAT gateway: the load balancer's managed outbound IPs (1, or one per zone)
    outbound_ips: int


class AzureTrainingCluster(ClusterOutputs):
    """AKS with Entra ID and Azure RBAC, KMS, workload identity, and autoscaled GPU pools."""

    type_token = "mlfabric:cluster:AzureTrainingCluster"
    needs = ("network", "registry")

    # Azure only: what monitoring and RBAC read.
    cluster_id: pulumi.Output[str]
    telemetry: AzurePrerequisites
    # Azure only: what the teams concern builds on (the provider into the cluster, Kueue and the
    # flavors, and the shared file system's volume, None without one).
    kubernetes_provider: k8s.Provider
    queueing: Queueing
    shared_volume: SharedVolume | None

    def __init__(
        self,
        name: str,
        spec: TrainingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(ctx.network, AksNetwork):
            raise pulumi.RunError("training: the AKS cluster needs the platform's Azure network (AzureNetwork)")
        super().__init__(name, spec, ctx, opts)
        self._network: AksNetwork = ctx.network
        self._group: pulumi.Output[str] = prerequisites_of(ctx).resource_group_name
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._subscription: pulumi.Output[str] = client.subscription_id
        self.telemetry = prerequisites_of(ctx)
        self._physical: str = f"aks-{ctx.base_name}"

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-cluster",
            resource_name_=f"id-{ctx.base_name}-aks",
            resource_group_name=self._group,
            location=ctx.region,
            tags=ctx.tags(),
            # KMS cannot survive losing the identity (Azure does not support deleting it).
            opts=ctx.stateful(self),
        )
        key = self._kms_key(client.tenant_id)
        grants = [
            self._assign(f"{name}-cluster-kms", identity.principal_id, KEY_VAULT_CRYPTO_USER, key.id,
                         "the AKS control plane encrypts etcd with this key", stateful=True),
            self._assign(f"{name}-cluster-subnet", identity.principal_id, NETWORK_CONTRIBUTOR,
                         self._network.cluster_subnet_id, "AKS configures the subnet its nodes run in"),
        ]
        cluster = self._cluster(identity, key, client.tenant_id, grants)
        self._container_insights(cluster)
        models = {pool.name: GpuPool.build("azure", pool) for pool in spec.gpu_pools}
        pools = {pool.name: self._gpu_pool(cluster, models[pool.name], pool.renamed_from)
                 for pool in spec.gpu_pools}
        admin = self._assign(f"{name}-deployer-admin", client.object_id, AKS_RBAC_CLUSTER_ADMIN, cluster.id,
                             "whoever runs Pulumi applies the cluster add-ons", principal_type=None)
        # The Azure registry component's container registry (AzureRegistry; not part of RegistryOutputs).
        registry_id = getattr(ctx.registry, "container_registry_id", None)
        if isinstance(registry_id, pulumi.Output):
            kubelet = cluster.identity_profile.apply(
                lambda profile: (profile or {})["kubeletidentity"].object_id or ""
            )
            self._assign(f"{name}-kubelet-acr-pull", kubelet, ACR_PULL, registry_id,
                         "nodes pull the platform's images")

        self.cluster_id = cluster.id
        self.cluster_name = cluster.name
        self.cluster_endpoint = pulumi.Output.all(cluster.private_fqdn, cluster.fqdn).apply(
            lambda f: f"https://{f[0] or f[1]}:443"
        )
        self.oidc_issuer_url = cluster.oidc_issuer_profile.apply(lambda p: (p.issuer_url if p else None) or "")
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self._group,
            resource_name=cluster.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        ca_data = credentials.kubeconfigs.apply(
            lambda configs: azure_addons.certificate_authority([c.value for c in configs or []])
        )
        self.kubeconfig = kubeconfig_secret(cluster.name, self.cluster_endpoint, ca_data, azure_addons.aks_credentials())
        addons = azure_addons.install(name, self.kubeconfig, cluster.id, parent=self, depends_on=[admin],
                                      pools=list(models.values()))
        self.kubernetes_provider = addons.provider
        self.queueing = addons.queueing
        self.gpu_pool_names = pool_names({k: p.name for k, p in pools.items()})
        self.shared_volume = None
        self.shared_fs = pulumi.Output.from_input({})
        if spec.shared_fs is not None:
            built = self._shared_fs(spec, key)
            self.shared_volume = built.volume
            self.shared_fs = built.outputs
            lustre.install_csi_driver(name, pulumi.ResourceOptions(
                parent=self, provider=addons.provider, depends_on=[admin]))
        self.register_contract()

    def _shared_fs(self, spec: TrainingSpec, kms_key: keyvault.Key) -> lustre.SharedFileSystem:
        assert spec.shared_fs is not None
        subnet = getattr(self._network, "lustre_subnet_id", None)
        if not isinstance(subnet, pulumi.Output):
            raise pulumi.RunError("training.shared_fs: the network has no Azure Managed Lustre subnet (snet-lustre)")
        return lustre.create(self, self._name, spec.shared_fs, self._ctx, subnet, kms_key, self._subscription)

    # --- identity and keys ---------------------------------------------------------------------

    def _role(self, role: str) -> pulumi.Output[str]:
        return self._subscription.apply(
            lambda s: f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{role}"
        )

    def _assign(
        self,
        logical: str,
        principal: pulumi.Input[str],
        role: str,
        scope: pulumi.Input[str],
        why: str,
        *,
        principal_type: str | None = "ServicePrincipal",
        stateful: bool = False,
    ) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            logical,
            principal_id=principal,
            # ServicePrincipal skips the directory lookup a brand-new identity may not pass yet. The
            # deployer may be a user or a service principal: the type is left out so Azure looks it up
            # (the SDK would otherwise send its default, User, which Azure refuses for anything else).
            principal_type=principal_type if principal_type is not None else pulumi.Output.from_input(None),
            role_definition_id=self._role(role),
            scope=scope,
            description=f"mlfabric {self._ctx.base_name}: {why}",
            opts=self._ctx.stateful(self) if stateful else self._child,
        )

    def _kms_key(self, tenant_id: pulumi.Input[str]) -> keyvault.Key:
        ctx, base = self._ctx, self._ctx.base_name
        vault = keyvault.Vault(
            f"{self._name}-kms",
            vault_name=self._subscription.apply(
                lambda s: naming.compact_name("kvaks", base, max_length=24, unique_by=(s, base, "aks-kms"))
            ),
            resource_group_name=self._group,
            location=ctx.region,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=tenant_id,
                sku=keyvault.SkuArgs(family="A", name=vault_sku(ctx.environment)),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                # The KMS plugin calls from the AKS control plane (no fixed addresses): see module doc.
                public_network_access="Enabled",
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Allow", bypass="AzureServices"),
            ),
            tags=ctx.tags(),
            opts=ctx.stateful(self),
        )
        return keyvault.Key(
            f"{self._name}-kms",
            key_name="aks-etcd-kms",
            vault_name=vault.name,
            resource_group_name=self._group,
            properties=keyvault.KeyPropertiesArgs(
                kty=key_type(ctx.environment),
                key_size=KMS_KEY_SIZE_BITS,
                key_ops=[keyvault.JsonWebKeyOperation.ENCRYPT, keyvault.JsonWebKeyOperation.DECRYPT],
                attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
            ),
            tags=ctx.tags(),
            opts=ctx.stateful(self),
        )

    # --- the cluster ----------------------------------------------------------------------------

    def _cluster(
        self,
        identity: managedidentity.UserAssignedIdentity,
        key: keyvault.Key,
        tenant_id: pulumi.Input[str],
        grants: list[authorization.RoleAssignment],
    ) -> containerservice.ManagedCluster:
        ctx, spec = self._ctx, self._spec.cluster
        pods, services, dns = cluster_ranges(self._vnet_cidr())
        public_cidrs = list(spec.endpoint_public_cidrs)
        system = spec.system_pool
        zones = [str(z) for z in range(1, self._network.availability_zones + 1)]
        nat = self._network.nat_gateway_id
        return containerservice.ManagedCluster(
            self._name,
            resource_name_=self._physical,
            resource_group_name=self._group,
            location=ctx.region,
            dns_prefix=self._physical,
            kubernetes_version=spec.version,
            node_resource_group=f"rg-{ctx.base_name}-aks-nodes",
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier=self._tier()),
            # A version past AKS community support runs under long-term support (Premium tier only).
            support_plan="AKSLongTermSupport" if self._long_term_support() else "KubernetesOfficial",
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
            ),
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True, tenant_id=tenant_id
            ),
            enable_rbac=True,
            disable_local_accounts=True,
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                azure_key_vault_kms=containerservice.AzureKeyVaultKmsArgs(
                    enabled=True,
                    # KMS needs the versioned key id; a new version is rolled out by updating it here.
                    key_id=key.key_uri_with_version,
                    key_vault_network_access="Public",
                ),
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(
                    enabled=True, interval_hours=168
                ),
            ),
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=True, private_dns_zone="system", enable_private_cluster_public_fqdn=False
            )
            if not public_cidrs
            else containerservice.ManagedClusterAPIServerAccessProfileArgs(authorized_ip_ranges=public_cidrs),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel="patch", node_os_upgrade_channel="NodeImage"
            ),
            auto_scaler_profile=containerservice.ManagedClusterPropertiesAutoScalerProfileArgs(
                expander="least-waste",
                balance_similar_node_groups="true",
                skip_nodes_with_local_storage="false",
                scale_down_unneeded_time="10m",
                scale_down_delay_after_add="10m",
            ),
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_dataplane="cilium",
                network_policy="cilium",
                pod_cidr=pods,
                service_cidr=services,
                dns_service_ip=dns,
                load_balancer_sku="standard",
                outbound_type="userAssignedNATGateway" if nat is not None else "loadBalancer",
                # Without a NAT gateway (per-zone, or a reused VNet's subnet, which is not the platform's
                # to attach one to) nodes egress through the cluster's load balancer: its managed
                # outbound IPs are zone-redundant Standard addresses, one per zone for per-zone.
                load_balancer_profile=containerservice.ManagedClusterLoadBalancerProfileArgs(
                    managed_outbound_ips=containerservice.ManagedClusterLoadBalancerProfileManagedOutboundIPsArgs(
                        count=self._network.outbound_ips
                    )
                )
                if nat is None
                else None,
            ),
            addon_profiles={
                # Container Insights; the data collection rule below says what it collects.
                "omsagent": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True,
                    config={
                        "logAnalyticsWorkspaceResourceID": self.telemetry.log_workspace_id,
                        "useAADAuth": "true",
                    },
                ),
            },
            agent_pool_profiles=[
                containerservice.ManagedClusterAgentPoolProfileArgs(
                    name=SYSTEM_POOL,
                    mode="System",
                    type="VirtualMachineScaleSets",
                    os_type="Linux",
                    os_sku="AzureLinux",
                    vm_size=system.machine or catalog.DEFAULT_SYSTEM_MACHINE["azure"],
                    enable_auto_scaling=True,
                    count=system.min_nodes,
                    min_count=system.min_nodes,
                    max_count=system.max_nodes,
                    availability_zones=zones,
                    vnet_subnet_id=self._network.cluster_subnet_id,
                    os_disk_size_gb=SYSTEM_DISK_GIB,
                    node_taints=[SYSTEM_TAINT],
                    enable_node_public_ip=False,
                    # Temp disk, OS/data disk caches encrypted on the host (see HOST_ENCRYPTION_NOTE).
                    enable_encryption_at_host=True,
                    upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
                )
            ],
            tags=ctx.tags(),
            opts=ctx.stateful(self, depends_on=grants, ignore_changes=["agentPoolProfiles[0].count"]),
        )

    def _long_term_support(self) -> bool:
        """Whether the cluster's version is in AKS long-term support, judged on the calendar's as-of date
        (pinned per mlfabric release, so a plan never changes by itself; ``validate`` notes a version
        that has moved into LTS since)."""
        return in_long_term_support(self._spec.cluster.version)

    def _tier(self) -> str:
        """Premium for LTS (it requires it), Standard (the SLA) in prod, Free otherwise."""
        if self._long_term_support():
            return "Premium"
        return "Standard" if self._ctx.environment == "prod" else "Free"

    def _vnet_cidr(self) -> str:
        # The network's range (a reused VNet's as the spec gives it); without one, overlay ranges are
        # picked outside 10.0.0.0/8, where Azure VNets usually live.
        return self._network.address_space or REUSED_VNET_ASSUMED_RANGE

    def _container_insights(self, cluster: containerservice.ManagedCluster) -> None:
        ctx, name = self._ctx, self._name
        workspace = self.telemetry.log_workspace_id
        rule = monitor.DataCollectionRule(
            f"{name}-container-insights",
            data_collection_rule_name=f"MSCI-{ctx.region}-{self._physical}",
            resource_group_name=self._group,
            location=ctx.region,
            kind="Linux",
            description=f"mlfabric {ctx.base_name}: Container Insights of {self._physical}",
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                extensions=[
                    monitor.ExtensionDataSourceArgs(
                        name="ContainerInsightsExtension",
                        extension_name="ContainerInsights",
                        streams=list(CONTAINER_INSIGHTS_STREAMS),
                        extension_settings={
                            "dataCollectionSettings": {
                                "interval": "1m",
                                "namespaceFilteringMode": "Off",
                                "enableContainerLogV2": True,
                            }
                        },
                    )
                ]
            ),
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                log_analytics=[monitor.LogAnalyticsDestinationArgs(name="platform", workspace_resource_id=workspace)]
            ),
            data_flows=[monitor.DataFlowArgs(streams=list(CONTAINER_INSIGHTS_STREAMS), destinations=["platform"])],
            tags=ctx.tags(),
            opts=self._child,
        )
        monitor.DataCollectionRuleAssociation(
            f"{name}-container-insights",
            association_name="ContainerInsightsExtension",
            resource_uri=cluster.id,
            data_collection_rule_id=rule.id,
            description="Container Insights of the training cluster",
            opts=self._child,
        )
        if self._spec.cluster.audit_logging:
            monitor.DiagnosticSetting(
                f"{name}-audit",
                name="mlfabric-audit",
                resource_uri=cluster.id,
                workspace_id=workspace,
                log_analytics_destination_type="Dedicated",
                logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in AUDIT_LOG_CATEGORIES],
                opts=self._child,
            )

    # --- GPU pools ------------------------------------------------------------------------------

    def _gpu_pool(
        self, cluster: containerservice.ManagedCluster, pool: GpuPool, renamed_from: list[str]
    ) -> containerservice.AgentPool:
        """The agent pool of a GPU pool: the common model in AKS terms. A renamed pool keeps its AKS
        name (agent pools cannot be renamed) and its URN through an alias; its labels take the new name."""
        ctx = self._ctx
        logical = f"{self._name}-{pool.suffix}"
        placement = (self._placement_group(pool) if in_placement_group(pool.machine, pool.interconnect, pool.reservation)
                     else None)
        return containerservice.AgentPool(
            logical,
            agent_pool_name=naming.original_name(pool.name, renamed_from),
            resource_name_=cluster.name,
            resource_group_name=self._group,
            mode="User",
            type="VirtualMachineScaleSets",
            os_type="Linux",
            # Ubuntu: the image AKS supports every NVIDIA VM size on (driver installed by AKS).
            os_sku="Ubuntu",
            vm_size=pool.machine,
            enable_auto_scaling=True,
            count=pool.min_nodes,
            min_count=pool.min_nodes,
            max_count=pool.max_nodes,
            scale_set_priority="Spot" if pool.spot else "Regular",
            scale_set_eviction_policy="Delete" if pool.spot else None,
            # -1: pay up to the on-demand price, never evicted for price (only for capacity).
            spot_max_price=-1 if pool.spot else None,
            node_taints=gpu_taints(pool),
            node_labels=pool.labels,
            os_disk_size_gb=pool.disk_gib,
            vnet_subnet_id=self._network.cluster_subnet_id,
            enable_node_public_ip=False,
            # Datasets and model files staged on the temp disk are encrypted on the host too.
            enable_encryption_at_host=True,
            # Set only when the spec asks, so existing pools' inputs stay as they were.
            capacity_reservation_group_id=pool.reservation,
            proximity_placement_group_id=placement.id if placement is not None else None,
            tags=ctx.tags(pool.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The Cluster Autoscaler owns the node count once the pool exists.
                ignore_changes=["count"],
                aliases=naming.rename_aliases(logical, pool.name, renamed_from) or None,  # type: ignore[arg-type]
            ),
        )

    def _placement_group(self, pool: GpuPool) -> compute.ProximityPlacementGroup:
        """A pool's own proximity placement group: its InfiniBand nodes in one datacenter."""
        return compute.ProximityPlacementGroup(
            f"{self._name}-{pool.suffix}-ppg",
            proximity_placement_group_name=f"ppg-{self._ctx.base_name}-{pool.name}",
            resource_group_name=self._group,
            location=self._ctx.region,
            proximity_placement_group_type="Standard",
            tags=self._ctx.tags(pool.tags),
            opts=self._child,
        )
