"""GCP GPU training cluster: GKE Standard with a system node pool and one GPU node pool per spec pool.

Creates:

- ``gcp:projects/service:Service`` for the Kubernetes Engine and Cloud KMS APIs (left on at destroy);
- the cluster's own key (``gcp:kms/keyRing:KeyRing`` + ``gcp:kms/cryptoKey:CryptoKey``, rotated
  every ``storage.key_rotation_days``) and two ``gcp:kms/cryptoKeyIAMMember`` grants: the GKE service agent uses it for
  application-layer secrets encryption, the Compute Engine service agent for the nodes' boot disks;
- the node ``gcp:serviceaccount/account:Account`` (never the default compute account, which holds
  Editor) with exactly ``roles/container.defaultNodeServiceAccount`` on the project
  (``gcp:projects/iAMMember``) and, per platform repository, ``roles/artifactregistry.reader``
  (``gcp:artifactregistry/repositoryIamMember``) so nodes pull the platform's images and no other;
- with Binary Authorization on (``gcp.binary_authorization``; omitted: enforce outside dev, audit in
  dev), ``binaryauthorization.googleapis.com`` and the project's singleton
  ``gcp:binaryauthorization/policy:Policy``: images from the platform's Artifact Registry repositories
  and Google-maintained GKE system images (the global policy) are admitted, the rest blocked (audit:
  logged). The policy is the project's only one: a project that already has one gets it replaced;
- ``gcp:container/cluster:Cluster`` named ``<platform>-<environment>``: Standard mode, regional
  outside dev and zonal in dev (the region's first zone), nodes in ``availability_zones`` zones,
  VPC-native on the network's ``pods``/``services`` ranges, private nodes (a Private Service Connect
  control plane: no master CIDR to allocate), a private endpoint unless
  ``cluster.endpoint_public_cidrs`` lists CIDRs (then only those reach it), Workload Identity
  (``<project>.svc.id.goog``), the spec's release channel with ``kubernetes_version`` as the floor,
  shielded nodes, secrets encrypted with the cluster key, Dataplane V2 (network policies), the Cloud
  Storage FUSE CSI driver (datasets mounted from GCS), cost allocation, system/workload logs (and
  API server, scheduler, controller-manager logs with ``audit_logging``), deletion protection with
  the platform's. The default node pool is removed once the cluster exists; until then it runs as
  the node service account too;
- ``gcp:container/nodePool:NodePool``: the system pool (``system_pool`` machine and bounds) and per
  GPU pool one pool with the catalogue's machine type and ``guest_accelerator`` (type and count),
  GPU driver installed and kept by GKE, spot when the pool asks, autoscaling between ``min_nodes``
  (0 allowed: the pool scales to zero) and ``max_nodes`` over the cluster's zones, and the taint
  and labels every cloud's GPU pool carries (``mlfabric.components.kubernetes.gpu_pool``; GKE adds
  ``cloud.google.com/gke-accelerator`` itself). Every pool: the node service account, GKE metadata
  server (pods see their Workload Identity, never the node's), secure boot and integrity monitoring,
  CMEK boot disks, auto-repair and auto-upgrade.

In the cluster, through a ``pulumi:providers:kubernetes`` built from the kubeconfig (so the deployer
must reach the API server: from inside the VPC when the endpoint is private): Kueue and JobSet (pinned
charts) and a ResourceFlavor per GPU pool (``mlfabric.components.kubernetes.queueing``); a pool with
``queued_provisioning`` also gets Kueue's ProvisioningRequest check of class
``queued-provisioning.gke.io``. The NVIDIA device plugin and driver installer are part of GKE's node
image and the cluster autoscaler of its control plane: nothing else is applied.

Scarce GPUs and fast networking (``training_rules.py``, ``interconnect.json``): ``interconnect: auto``
on an A2/A3 pool adds a COMPACT placement policy and places the pool in the cluster's first zone;
``queued_provisioning`` makes the pool a Dynamic Workload Scheduler pool (queued provisioning on,
from zero, reservation affinity none, no auto-repair); ``reservation`` a SPECIFIC_RESERVATION
affinity. ``training.shared_fs``: a Filestore instance (``shared_fs.py``) and GKE's Filestore CSI
driver add-on; ``shared_fs`` output and ``shared_volume`` (what team claims mount). With ``group:``
team members, Google Groups for RBAC (``authenticator_groups_config``) for their domain.

Zones: the node pools span the region's first ``network.availability_zones`` zones (at most 3, the
spec rules refuse more) in alphabetical order: a regional control plane outside dev, a zonal one in
the first zone in dev (a multi-zonal cluster when dev asks for more than one zone). GPU models are
not offered in every zone. Pick a region whose first zones offer the accelerator,
or the pool stays at zero nodes and the autoscaler reports ``ZONE_RESOURCE_POOL_EXHAUSTED``.

The release channel comes from the spec's ``gcp`` block (``ctx.spec.gcp``);
without it the channel is REGULAR, the spec's default. ``kubernetes_version`` (omitted: the GKE
calendar's default, ``kubernetes_versions.json``) is ``min_master_version``, a floor. A renamed GPU
pool (``renamed_from``) keeps its node pool: aliases carry the logical name, and the GKE name prefix
stays ``gpu-<first name>-``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from mlfabric.components import catalog, naming
from mlfabric.components.concerns import ClusterOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import (
    COMPUTE_API,
    KMS_API,
    MAX_PODS_PER_NODE,
    PODS_RANGE,
    SERVICES_RANGE,
    account_id,
    concern_key,
    enable_api,
    enable_apis,
    key_user,
    node_range,
    project_id,
    repositories_of,
    service_agent,
)
from mlfabric.components.gcp.shared_fs import filestore
from mlfabric.components.gcp.training_rules import PROVISIONING_CLASS, pool_networking
from mlfabric.components.kubernetes import queueing
from mlfabric.components.kubernetes.device_plugin import kubernetes_provider
from mlfabric.components.kubernetes.gpu_pool import SYSTEM_POOL_LABELS, SYSTEM_POOL_TAGS, GpuPool, pool_names
from mlfabric.components.kubernetes.kubeconfig import exec_plugin, kubeconfig_secret
from mlfabric.components.kubernetes.teams import SharedVolume
from mlfabric.components.spec import GpuPoolSpec, PlatformSpec, TrainingSpec, team_members

CONTAINER_API: Final = "container.googleapis.com"
BINARY_AUTHORIZATION_API: Final = "binaryauthorization.googleapis.com"
# The cluster evaluates the project's singleton Binary Authorization policy (declared below).
BINAUTHZ_EVALUATION: Final = "PROJECT_SINGLETON_POLICY_ENFORCE"
BINAUTHZ_ENFORCEMENT: Final = {"enforce": "ENFORCED_BLOCK_AND_AUDIT_LOG", "audit": "DRYRUN_AUDIT_LOG_ONLY"}
DEFAULT_RELEASE_CHANNEL: Final = "REGULAR"
# Zones of a regional cluster (GKE's own default), or the one zone of a dev cluster.
REGIONAL_ZONES: Final = 3
SYSTEM_DISK_GIB: Final = 50
DISK_TYPE: Final = "pd-balanced"
IMAGE_TYPE: Final = "COS_CONTAINERD"
# "DEFAULT": GKE installs and upgrades the driver version it has validated for the node version.
GPU_DRIVER_VERSION: Final = "DEFAULT"
NODE_ROLE: Final = "roles/container.defaultNodeServiceAccount"
REGISTRY_READER: Final = "roles/artifactregistry.reader"
# Access to Google APIs is decided by the node service account's IAM roles, not by scopes.
OAUTH_SCOPES: Final = ("https://www.googleapis.com/auth/cloud-platform",)
LOG_COMPONENTS: Final = ("SYSTEM_COMPONENTS", "WORKLOADS")
CONTROL_PLANE_LOG_COMPONENTS: Final = ("APISERVER", "SCHEDULER", "CONTROLLER_MANAGER")
# GKE's node label selecting a reservation by name (node_config.reservation_affinity).
RESERVATION_KEY: Final = "compute.googleapis.com/reservation-name"
# Google Groups for RBAC: the group GKE reads membership of, per Workspace/Cloud Identity domain
# (https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac).
SECURITY_GROUP: Final = "gke-security-groups@{domain}"


@dataclass(frozen=True)
class PoolArgs:
    """Everything that differs between the system pool and a GPU pool."""

    suffix: str
    machine: str
    min_nodes: int
    max_nodes: int
    disk_gib: int
    spot: bool
    labels: dict[str, str]
    resource_labels: dict[str, str]
    accelerators: list[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs] = field(default_factory=list)
    taints: list[gcp.container.NodePoolNodeConfigTaintArgs] = field(default_factory=list)
    # the GKE pool name's prefix (default: the suffix); a renamed GPU pool keeps its first name's
    prefix: str | None = None
    # aliases of a renamed pool's previous logical names
    aliases: list[pulumi.Alias] = field(default_factory=list)
    # nodes close together in the cluster's first zone (interconnect: auto on A2/A3)
    compact: bool = False
    # nodes only through Dynamic Workload Scheduler's ProvisioningRequests
    queued: bool = False
    # a Compute Engine reservation the nodes must consume
    reservation: str | None = None


def gke_credentials() -> dict[str, Any]:
    """The kubeconfig's exec stanza: ``gke-gcloud-auth-plugin`` as whoever runs it."""
    return exec_plugin(
        "gke-gcloud-auth-plugin",
        options={
            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
        },
    )


def gpu_pool_args(pool: GpuPool, resource_labels: dict[str, str]) -> PoolArgs:
    """The node pool of a GPU pool: the common model in GKE terms. GKE labels GPU nodes
    ``cloud.google.com/gke-accelerator`` itself (its device plugin and driver installer select on
    it); the common labels are added so workloads select the same way on every cloud."""
    return PoolArgs(
        suffix=pool.suffix,
        machine=pool.machine,
        min_nodes=pool.min_nodes,
        max_nodes=pool.max_nodes,
        disk_gib=pool.disk_gib,
        spot=pool.spot,
        labels=pool.labels,
        resource_labels=resource_labels,
        accelerators=[
            gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                type=pool.device,
                count=pool.gpus_per_node,
                gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                    gpu_driver_version=GPU_DRIVER_VERSION
                ),
            )
        ],
        taints=[
            gcp.container.NodePoolNodeConfigTaintArgs(
                key=pool.taint.key, value=pool.taint.value, effect=pool.taint.effect_constant
            )
        ],
    )


def binary_authorization_mode(chosen: str | None, environment: str) -> str:
    """``gcp.binary_authorization``, or its environment default: enforce outside dev, audit in dev."""
    if chosen is not None:
        return chosen
    return "audit" if environment == "dev" else "enforce"


def scarce_gpu_args(spec: GpuPoolSpec) -> dict[str, Any]:
    """What a GPU pool's interconnect, queued provisioning and reservation add to its node pool
    (``training_rules``: compact placement for A2/A3 with ``interconnect: auto``)."""
    return {
        "compact": pool_networking(spec) == "compact",
        "queued": spec.queued_provisioning,
        "reservation": spec.reservation,
    }


def reservation_affinity(args: PoolArgs) -> gcp.container.NodePoolNodeConfigReservationAffinityArgs | None:
    """A named reservation, or none at all for queued pools; None (GKE's default) otherwise."""
    if args.queued:
        return gcp.container.NodePoolNodeConfigReservationAffinityArgs(consume_reservation_type="NO_RESERVATION")
    if args.reservation is not None:
        return gcp.container.NodePoolNodeConfigReservationAffinityArgs(
            consume_reservation_type="SPECIFIC_RESERVATION", key=RESERVATION_KEY, values=[args.reservation])
    return None


def security_group(spec: PlatformSpec | None) -> str | None:
    """The Google Groups for RBAC group of the domain the teams' ``group:`` members belong to
    (the spec rules allow one domain), or None when no team member is a group."""
    if spec is None:
        return None
    domains = sorted({
        principal.split("@", 1)[1]
        for member in team_members(spec.teams, "gcp")
        for principal in member.principals
        if principal.startswith("group:") and "@" in principal
    })
    return SECURITY_GROUP.format(domain=domains[0]) if domains else None


def oidc_issuer(project: str, location: str, cluster_name: str) -> str:
    """The issuer of a GKE cluster's service account tokens (Workload Identity federation)."""
    return f"https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{cluster_name}"


class GcpTrainingCluster(ClusterOutputs):
    """GKE Standard cluster with a system node pool and one autoscaled GPU node pool per spec pool."""

    type_token = "mlfabric:cluster:GcpTrainingCluster"
    needs = ("network", "registry")

    # what the teams concern builds on (common.DeclaredCluster): the provider of in-cluster objects,
    # Kueue and the pools' flavors, and the shared file system's CSI volume (None without one)
    kubernetes: k8s.Provider
    queueing: queueing.Queueing
    shared_volume: SharedVolume | None

    def __init__(
        self,
        name: str,
        spec: TrainingSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        if ctx.network is None:
            raise ValueError("GcpTrainingCluster needs ctx.network: build the network concern first")
        options = ctx.spec.gcp if ctx.spec is not None else None
        self._release_channel = options.release_channel if options is not None else DEFAULT_RELEASE_CHANNEL
        self._binary_authorization = binary_authorization_mode(
            options.binary_authorization if options is not None else None, ctx.environment
        )
        self._build()
        self.register_contract()

    def _build(self) -> None:
        name, ctx = self._name, self._ctx
        assert ctx.network is not None
        apis = enable_apis(name, ctx, self, CONTAINER_API, KMS_API)
        self._project = project_id(ctx, self)
        zones = gcp.compute.get_zones_output(
            region=ctx.region, project=ctx.account, status="UP", opts=pulumi.InvokeOutputOptions(parent=self)
        ).names.apply(sorted)
        self._regional = ctx.environment != "dev"
        # network.availability_zones: the zones the node pools span (a dev cluster's control plane
        # stays in the first one; a regional control plane spans the region either way).
        count = ctx.spec.network.availability_zones if ctx.spec is not None else (REGIONAL_ZONES if self._regional else 1)
        self._zone_count = min(count, REGIONAL_ZONES)
        location: pulumi.Input[str] = ctx.region if self._regional else zones.apply(lambda z: z[0])
        node_locations = (zones.apply(lambda z: z[: self._zone_count])
                          if self._regional or self._zone_count > 1 else None)

        self._key = concern_key(name, "cluster", ctx, self, apis[KMS_API]).key
        grants = [
            key_user(f"{name}-cluster-gke-agent", self._key.id,
                     service_agent(name, CONTAINER_API, ctx, self, apis[CONTAINER_API]), self),
            # Boot disks are encrypted by Compute Engine on the node pools' behalf.
            key_user(f"{name}-cluster-compute-agent", self._key.id,
                     service_agent(name, COMPUTE_API, ctx, self, None), self),
        ]
        node_account, node_grants = self._node_account()
        self._node_email = node_account.email

        # Nodes boot over the network's NAT and firewall: wait for all of it, not only the subnet id.
        network = [ctx.network] if isinstance(ctx.network, pulumi.Resource) else []
        admission = self._admission_policy()
        cluster = self._cluster(
            location, node_locations, [*apis.values(), *grants, *node_grants, *network, *admission]
        )
        system_pool = self._spec.cluster.system_pool
        self._zones = zones
        system = self._node_pool(
            cluster,
            PoolArgs(
                suffix="system",
                machine=system_pool.machine or catalog.DEFAULT_SYSTEM_MACHINE["gcp"],
                min_nodes=system_pool.min_nodes,
                max_nodes=system_pool.max_nodes,
                disk_gib=SYSTEM_DISK_GIB,
                spot=False,
                labels=dict(SYSTEM_POOL_LABELS),
                resource_labels=ctx.tags(SYSTEM_POOL_TAGS),
            ),
        )
        self._pools = [GpuPool.build("gcp", spec) for spec in self._spec.gpu_pools]
        gpu_pools = {
            pool.name: self._node_pool(cluster, dataclasses.replace(
                gpu_pool_args(pool, ctx.tags(pool.tags)),
                # A renamed pool keeps its node pool: the GKE name derives from the first name.
                prefix=f"gpu-{naming.original_name(spec.name, spec.renamed_from)}",
                aliases=naming.rename_aliases(f"{self._name}-{pool.suffix}", pool.name, spec.renamed_from),
                **scarce_gpu_args(spec),
            ))
            for spec, pool in zip(self._spec.gpu_pools, self._pools, strict=True)
        }

        self.cluster_name = cluster.name
        self.cluster_endpoint = cluster.endpoint.apply(lambda endpoint: f"https://{endpoint}")
        self.kubeconfig = kubeconfig_secret(
            cluster.name, self.cluster_endpoint, cluster.master_auth.cluster_ca_certificate, gke_credentials()
        )
        self.oidc_issuer_url = pulumi.Output.all(self._project, cluster.location, cluster.name).apply(
            lambda args: oidc_issuer(args[0], args[1], args[2])
        )
        self.gpu_pool_names = pool_names({pool: p.name for pool, p in gpu_pools.items()})
        self._in_cluster(cluster, [system, *gpu_pools.values()])
        self._shared_fs(zones)

    # --- in the cluster ---------------------------------------------------------------------------

    def _in_cluster(self, cluster: gcp.container.Cluster, pools: list[gcp.container.NodePool]) -> None:
        """Kueue, JobSet and a ResourceFlavor per GPU pool, through a provider of the cluster's
        kubeconfig, once the nodes exist (queued pools get Kueue's ProvisioningRequest check)."""
        self.kubernetes = kubernetes_provider(self._name, self.kubeconfig, cluster.id, self)
        self.queueing = queueing.install(
            self._name, self._pools,
            pulumi.ResourceOptions(parent=self, provider=self.kubernetes, depends_on=list(pools)),
            provisioning_class=PROVISIONING_CLASS,
        )

    def _shared_fs(self, zones: pulumi.Output[list[str]]) -> None:
        """The Filestore instance of ``training.shared_fs``, in the cluster's first zone."""
        self.shared_volume = None
        spec = self._spec.shared_fs
        if spec is None:
            self.shared_fs = pulumi.Output.from_input({})
            return
        ctx = self._ctx
        assert ctx.network is not None
        built = filestore(
            self._name, spec, ctx, self,
            zone=zones.apply(lambda z: z[0]),
            key_id=self._key.id,
            network_id=ctx.network.network_id,
            node_range=self._node_range(),
        )
        self.shared_volume = built.volume
        self.shared_fs = built.output

    def _node_range(self) -> pulumi.Output[str]:
        """The nodes' subnet range: derived from ``network.cidr`` for the platform's own network,
        read from the subnet on an existing one."""
        ctx = self._ctx
        network = ctx.spec.network if ctx.spec is not None else None
        if network is not None and network.existing_network_id is None and network.cidr:
            return pulumi.Output.from_input(node_range(network.cidr))
        subnet = gcp.compute.get_subnetwork_output(
            name=ctx.base_name, region=ctx.region, project=ctx.account, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return subnet.ip_cidr_range

    # --- identity -----------------------------------------------------------------------------

    def _node_account(self) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
        name, ctx, child = self._name, self._ctx, self._child
        account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            account_id=account_id(ctx.base_name, "gke-nodes"),
            display_name=f"mlfabric {ctx.base_name}: GKE nodes",
            description="Least-privilege node identity: logs, metrics, and pulls from the platform registry.",
            project=ctx.account,
            opts=child,
        )
        grants: list[pulumi.Resource] = [
            gcp.projects.IAMMember(
                f"{name}-nodes-default",
                project=self._project,
                role=NODE_ROLE,
                member=account.member,
                opts=child,
            )
        ]
        registry_spec = ctx.spec.registry if ctx.spec is not None else None
        for repository, repository_id in repositories_of(ctx.registry).items():
            previous = registry_spec.renamed_from.get(repository, []) if registry_spec is not None else []
            grants.append(
                gcp.artifactregistry.RepositoryIamMember(
                    f"{name}-nodes-pull-{repository}",
                    project=ctx.account,
                    location=ctx.region,
                    repository=repository_id,
                    role=REGISTRY_READER,
                    member=account.member,
                    opts=pulumi.ResourceOptions(parent=self, aliases=naming.rename_aliases(
                        f"{name}-nodes-pull-{repository}", repository, previous) or None),
                )
            )
        return account, grants

    # --- admission --------------------------------------------------------------------------------

    def _admission_policy(self) -> list[pulumi.Resource]:
        """The project's Binary Authorization policy: the platform's repositories (and, through
        Google's global policy, GKE's own system images) are admitted; anything else is blocked
        (``enforce``) or admitted and logged (``audit``). None with ``off``."""
        mode = self._binary_authorization
        if mode == "off":
            return []
        name, ctx = self._name, self._ctx
        api = enable_api(f"{name}-binaryauthorization-api", BINARY_AUTHORIZATION_API, ctx, self)
        patterns = [
            gcp.binaryauthorization.PolicyAdmissionWhitelistPatternArgs(
                name_pattern=pulumi.Output.concat(f"{ctx.region}-docker.pkg.dev/", self._project, f"/{repository_id}/**")
            )
            for repository_id in repositories_of(ctx.registry).values()
        ]
        policy = gcp.binaryauthorization.Policy(
            f"{name}-admission",
            project=ctx.account,
            description=f"mlfabric {ctx.base_name}: admit the platform's Artifact Registry images only",
            # Google-maintained system images (kube-system, GKE add-ons) stay admitted.
            global_policy_evaluation_mode="ENABLE",
            admission_whitelist_patterns=patterns,
            default_admission_rule=gcp.binaryauthorization.PolicyDefaultAdmissionRuleArgs(
                evaluation_mode="ALWAYS_DENY",
                enforcement_mode=BINAUTHZ_ENFORCEMENT[mode],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[api]),
        )
        return [policy]

    # --- control plane ------------------------------------------------------------------------

    def _cluster(
        self,
        location: pulumi.Input[str],
        node_locations: pulumi.Input[list[str]] | None,
        after: list[pulumi.Resource],
    ) -> gcp.container.Cluster:
        ctx, spec = self._ctx, self._spec.cluster
        assert ctx.network is not None
        public = bool(spec.endpoint_public_cidrs)
        logs = [*LOG_COMPONENTS, *(CONTROL_PLANE_LOG_COMPONENTS if spec.audit_logging else ())]
        return gcp.container.Cluster(
            self._name,
            name=ctx.base_name,
            project=ctx.account,
            location=location,
            node_locations=node_locations,
            description=f"mlfabric {ctx.base_name}: GPU training cluster",
            network=ctx.network.network_id,
            subnetwork=ctx.network.private_subnet_ids.apply(lambda ids: ids[0]),
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE,
                services_secondary_range_name=SERVICES_RANGE,
            ),
            default_max_pods_per_node=MAX_PODS_PER_NODE,
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=not public,
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                        cidr_block=cidr, display_name=f"allowed-{index + 1}"
                    )
                    for index, cidr in enumerate(spec.endpoint_public_cidrs)
                ],
                gcp_public_cidrs_access_enabled=False,
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=self._project.apply(lambda project: f"{project}.svc.id.goog"),
            ),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=self._release_channel),
            min_master_version=spec.version,
            enable_shielded_nodes=True,
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=self._key.id),
            # Dataplane V2 enforces NetworkPolicy objects (no separate network_policy addon).
            datapath_provider="ADVANCED_DATAPATH",
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(
                evaluation_mode="DISABLED" if self._binary_authorization == "off" else BINAUTHZ_EVALUATION
            ),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gcs_fuse_csi_driver_config=gcp.container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(enabled=True),
                # The shared file system is mounted through GKE's Filestore CSI driver.
                gcp_filestore_csi_driver_config=gcp.container.ClusterAddonsConfigGcpFilestoreCsiDriverConfigArgs(
                    enabled=True) if self._spec.shared_fs is not None else None,
            ),
            # Team members given as groups are Kubernetes RBAC subjects through Google Groups for RBAC.
            authenticator_groups_config=gcp.container.ClusterAuthenticatorGroupsConfigArgs(security_group=group)
            if (group := security_group(ctx.spec)) else None,
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=logs),
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=["SYSTEM_COMPONENTS"],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
            ),
            cost_management_config=gcp.container.ClusterCostManagementConfigArgs(enabled=True),
            # Node pools are separate resources; the default pool only exists while the cluster is born,
            # and even then runs as the node service account, never the default compute account.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=self._node_email,
                oauth_scopes=list(OAUTH_SCOPES),
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
            ),
            deletion_protection=ctx.deletion_protection,
            resource_labels=ctx.tags(),
            opts=ctx.stateful(
                self,
                depends_on=after,
                # The default pool is gone after creation: its settings are not drift.
                ignore_changes=["nodeConfig", "initialNodeCount"],
            ),
        )

    # --- node pools -----------------------------------------------------------------------------

    def _node_pool(self, cluster: gcp.container.Cluster, args: PoolArgs) -> gcp.container.NodePool:
        gpu = bool(args.accelerators)
        # A compact placement is within one zone: the cluster's first.
        per_zone = math.ceil(args.min_nodes / (1 if args.compact else self._zone_count))
        return gcp.container.NodePool(
            f"{self._name}-{args.suffix}",
            # A unique suffix per pool: a change that replaces the pool (machine type, accelerator)
            # creates the new one before the old one goes.
            name_prefix=f"{args.prefix or args.suffix}-",
            project=self._ctx.account,
            cluster=cluster.id,
            location=cluster.location,
            node_locations=self._zones.apply(lambda z: z[:1]) if args.compact else None,
            placement_policy=gcp.container.NodePoolPlacementPolicyArgs(type="COMPACT") if args.compact else None,
            # Nodes come only through ProvisioningRequests (Kueue's check asks for a whole job's nodes).
            queued_provisioning=gcp.container.NodePoolQueuedProvisioningArgs(enabled=True) if args.queued else None,
            initial_node_count=per_zone,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=args.min_nodes,
                total_max_node_count=args.max_nodes,
                # GPU (and spot) capacity is scarce: take it in whichever zone has it.
                location_policy="ANY" if gpu or args.spot else "BALANCED",
            ),
            # GKE's queued provisioning pools run without auto-repair (its documented node pool).
            management=gcp.container.NodePoolManagementArgs(auto_repair=not args.queued, auto_upgrade=True),
            # A surge GPU node may not be obtainable: GPU pools replace nodes one at a time instead.
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                strategy="SURGE", max_surge=0 if gpu else 1, max_unavailable=1 if gpu else 0
            ),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.machine,
                guest_accelerators=args.accelerators or None,
                spot=args.spot,
                disk_size_gb=args.disk_gib,
                disk_type=DISK_TYPE,
                boot_disk_kms_key=self._key.id,
                image_type=IMAGE_TYPE,
                service_account=self._node_email,
                oauth_scopes=list(OAUTH_SCOPES),
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                metadata={"disable-legacy-endpoints": "true"},
                labels=args.labels,
                taints=args.taints or None,
                resource_labels=args.resource_labels,
                reservation_affinity=reservation_affinity(args),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The autoscaler owns the size once the pool exists; a new min_nodes must not replace it.
                ignore_changes=["initialNodeCount", "nodeCount"],
                aliases=args.aliases or None,
            ),
        )
