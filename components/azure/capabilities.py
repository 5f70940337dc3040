"""What Azure does with each spec field (the kit's ``capabilities``; SDK-free).

One row per spec field (``components/capabilities.py``): honoured, with the resource or input of an
example stack's plan that proves it (``Evidence``), or refused, with what to use instead. A field
that behaves differently in some case has one row per case (``case``).

On an existing VNet (``network.existing_network_id``) nothing is refused on Azure: VNets are
regional, so zones are a property of the node pools; the reused VNet's address space
(``network.cidr``) is what AKS's overlay ranges avoid; flow logs and private endpoints can be added to
any VNet; and egress goes through the cluster's load balancer (one outbound IP, or one per zone), a
NAT gateway being something only the subnet's owner can attach.

Refused on Azure: ``registry.immutable_tags`` (ACR has no ARM switch for tag immutability: pin prod
images by digest instead), ``registry.scan_on_push`` (ACR scans only through Microsoft Defender for
Containers, a subscription-wide plan), and ``registry.untagged_image_retention_days`` on a Standard
registry (the retention policy is a Premium feature). All three only add protection or hygiene, so
dev warns instead of refusing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from mlfabric.components.azure.rollout import deployment_name
from mlfabric.components.capabilities import Capability, Evidence, budget_rows, everywhere

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

EXISTING_VNET: Final = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/"
    "Microsoft.Network/virtualNetworks/vnet-hub"
)
WITH_EXISTING_NETWORK: Final = "with existing_network_id"
NEW_NETWORK: Final = "new network"
STANDARD_REGISTRY: Final = "Standard registry (not prod, no private endpoints)"
PREMIUM_REGISTRY: Final = "Premium registry (prod or private endpoints)"
_ON_EXISTING: Final = {"network": {"existing_network_id": EXISTING_VNET}}

CLUSTER: Final = "azure-native:containerservice:ManagedCluster"
POOL: Final = "azure-native:containerservice:AgentPool"
VNET: Final = "azure-native:network:VirtualNetwork"
NAT: Final = "azure-native:network:NatGateway"
FLOW_LOG: Final = "azure-native:network:FlowLog"
PRIVATE_ENDPOINT: Final = "azure-native:network:PrivateEndpoint"
VNET_LINK: Final = "azure-native:privatedns:VirtualNetworkLink"
CONTAINER: Final = "azure-native:storage:BlobContainer"
POLICY: Final = "azure-native:storage:ManagementPolicy"
BLOB_SERVICE: Final = "azure-native:storage:BlobServiceProperties"
KEY: Final = "azure-native:keyvault:Key"
LOCK: Final = "azure-native:authorization:ManagementLockByScope"
ROLE: Final = "azure-native:authorization:RoleAssignment"
DIAGNOSTICS: Final = "azure-native:monitor:DiagnosticSetting"
ACR: Final = "azure-native:containerregistry:Registry"
MODEL: Final = "azure-native:machinelearningservices:RegistryModelContainer"
ENDPOINT: Final = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT: Final = "azure-native:machinelearningservices:OnlineDeployment"
ENVIRONMENT: Final = "azure-native:machinelearningservices:EnvironmentVersion"
AUTOSCALE: Final = "azure-native:monitor:AutoscaleSetting"
ALERT: Final = "azure-native:monitor:MetricAlert"
QUERY_ALERT: Final = "azure-native:monitor:ScheduledQueryRule"
ACTION_GROUP: Final = "azure-native:monitor:ActionGroup"
LOG_WORKSPACE: Final = "azure-native:operationalinsights:Workspace"
ROLLOUT: Final = "azure-native:resources:AzureCliScript"
PPG: Final = "azure-native:compute:ProximityPlacementGroup"
AMLFS: Final = "azure-native:storagecache:AmlFilesystem"
IDENTITY: Final = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED: Final = "azure-native:managedidentity:FederatedIdentityCredential"
WORKSPACE: Final = "azure-native:machinelearningservices:Workspace"
COMPUTE: Final = "azure-native:machinelearningservices:Compute"
SCHEDULE: Final = "azure-native:machinelearningservices:Schedule"
CLUSTER_QUEUE: Final = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
SERVICE_ACCOUNT: Final = "kubernetes:core/v1:ServiceAccount"
CRG_EXAMPLE: Final = (
    "/subscriptions/0f3c6a2e-7b19-4d55-9c1e-2a8b4d6f0e37/resourceGroups/rg-capacity/providers/"
    "Microsoft.Compute/capacityReservationGroups/crg-speech-a100"
)
# azure-prod's GPU pools (a patch replaces the whole list; the teams' quotas name these pools).
_PROD_POOLS: Final = (
    {"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 1, "min_nodes": 0, "max_nodes": 4, "disk_gib": 512},
    {"name": "t4", "accelerator": "t4", "min_nodes": 0, "max_nodes": 8, "spot": True},
    {"name": "h100", "accelerator": "h100-80gb", "gpus_per_node": 8, "min_nodes": 0, "max_nodes": 2},
)


def _prod_pools(name: str, **changes: Any) -> dict[str, Any]:
    """azure-prod's pools with ``changes`` made to pool ``name``."""
    return {"training": {"gpu_pools": [{**pool, **changes} if pool["name"] == name else dict(pool)
                                       for pool in _PROD_POOLS]}}
# The rollout script's environment, in the order serving declares it (rollout.environment).
_ENV: Final = {name: index for index, name in enumerate(
    ("ENDPOINT_ID", "ENDPOINT_API_VERSION", "ALERTS_API_VERSION", "TARGET_TRAFFIC", "TARGET_MIRROR", "STEPS",
     "BAKE_MINUTES", "ALERT_RULE_IDS"))}

# The azure-dev stack's endpoint and its images (patches replace the whole endpoints list).
_DEV_IMAGE: Final = "scorer:0.3.0"
_SHADOW_IMAGE: Final = "scorer:0.4.0"
_CHALLENGER_IMAGE: Final = "scorer:0.3.1"


def _asr(**changes: Any) -> dict[str, Any]:
    endpoint = {"name": "asr", "model": "speech-recognizer", "image": _DEV_IMAGE, "instance": "Standard_DS3_v2",
                "max_replicas": 2, **changes}
    return {"serving": {"endpoints": [endpoint]}}


def _env(name: str) -> str:
    return f"environmentVariables[{_ENV[name]}].value"


def _premium_registry(spec: PlatformSpec) -> bool:
    # The registry component's rule (registry.py): Premium in prod or with private endpoints.
    return spec.environment == "prod" or spec.network.private_endpoints


def _on_standard_registry(value: Any, spec: PlatformSpec) -> bool:
    return value is not None and not _premium_registry(spec)


_IMMUTABLE_TAGS_INSTEAD: Final = (
    "ACR has no ARM switch for tag immutability (tag locks are a data-plane operation): set "
    "registry.immutable_tags: false and pin images by digest (repository@sha256:...), which prod requires then"
)
_SCAN_INSTEAD: Final = (
    "ACR scans images only through Microsoft Defender for Containers, a subscription-wide plan mlfabric does not "
    "switch on: enable it for the subscription (az security pricing create -n Containers --tier standard) and set "
    "registry.scan_on_push: false"
)
_TRACKING_SIZE_INSTEAD: Final = (
    "the Azure ML workspace's MLflow endpoint is a managed service with no size to choose (it is the same "
    "for every workspace): leave tracking.size at small"
)
_BATCH_INSTEAD: Final = (
    "Azure ML batch deployments run a scoring script (init/run, a code asset) over a registered model "
    "version, not a self-contained scoring image, and mlfabric registers neither: score on the training "
    "cluster through a team's queue (a Kubernetes Job in team-<team>), or run the image as an Azure ML "
    "command job (az ml job create) on compute you add"
)


def _larger_than_small(value: Any, spec: PlatformSpec) -> bool:
    del spec
    return value not in (None, "small")


def _batch_job(value: Any, spec: PlatformSpec) -> bool:
    # Every field of a batch job is refused as soon as a job exists (required fields are always set).
    del value
    return spec.batch is not None and bool(spec.batch.jobs)


_RETENTION_INSTEAD: Final = (
    "a Standard container registry (no private endpoints, not prod) has no retention policy, a Premium feature: "
    "turn on network.private_endpoints (the registry is then Premium), or purge untagged manifests yourself "
    "(az acr run --cmd 'acr purge --untagged ...')"
)

CAPABILITIES: Final[tuple[Capability, ...]] = (
    # --- identity and placement ------------------------------------------------------------------
    everywhere("spec_version", "format version 1: the only one; the schema refuses any other"),
    everywhere("name", "prefix of every resource's name (<name>-<environment>), e.g. aks-<name>-<environment>",
               Evidence(CLUSTER, "azure-prod", prop="resourceName", equals="aks-speech-prod")),
    everywhere("environment", "picks the environment defaults and is the mlfabric-environment tag",
               Evidence(VNET, "azure-prod", prop="tags.mlfabric-environment", equals="prod")),
    everywhere("cloud", "the Azure kit builds every concern with pulumi-azure-native",
               Evidence("azure-native:", "azure-dev")),
    everywhere("region", "the location of the explicit provider and of every regional resource",
               Evidence(CLUSTER, "azure-dev", prop="location", equals="westeurope")),
    everywhere("tags", "tags on every taggable resource, under mlfabric's identity tags (50 per resource at most)",
               Evidence(VNET, "azure-dev", prop="tags.team", equals="speech-ml")),
    Capability("deletion_protection", "honoured", "protect and retain-on-delete in Pulumi, a CanNotDelete lock on "
               "each storage account, Key Vault purge protection",
               Evidence(LOCK, "azure-prod", prop="level", equals="CanNotDelete")),
    # --- network -----------------------------------------------------------------------------------
    Capability("network.cidr", "honoured", "the VNet's address space; AKS nodes in its first half, private "
               "endpoints in a /24 of the second", Evidence(VNET, "azure-dev", prop="addressSpace.addressPrefixes[0]",
                                                             equals="10.50.0.0/16"), case=NEW_NETWORK),
    Capability("network.cidr", "honoured", "the reused VNet's address space as the spec gives it: AKS's overlay "
               "pod and service ranges are picked outside it",
               Evidence(CLUSTER, "azure-dev", {"network": {"existing_network_id": EXISTING_VNET, "cidr": "192.168.0.0/16"}},
                        prop="networkProfile.podCidr", equals="100.64.0.0/16"), case=WITH_EXISTING_NETWORK),
    Capability("network.availability_zones", "honoured", "zones the AKS system pool spreads over (VNets are "
               "regional on Azure, so a reused VNet changes nothing)",
               Evidence(CLUSTER, "azure-prod", prop="agentPoolProfiles[0].availabilityZones", equals=["1", "2", "3"])),
    Capability("network.nat_gateways", "honoured", "single: one Standard NAT gateway with a static public IP on "
               "the AKS subnet", Evidence(NAT, "azure-dev", prop="sku.name", equals="Standard"), case="single, new network"),
    Capability("network.nat_gateways", "honoured", "per-zone: no NAT gateway (a Standard one lives in one zone and "
               "an AKS subnet takes one); nodes egress through the AKS load balancer with one zone-redundant managed "
               "outbound IP per zone",
               Evidence(CLUSTER, "azure-prod", {"network": {"nat_gateways": "per-zone"}},
                        prop="networkProfile.loadBalancerProfile.managedOutboundIPs.count", equals=3),
               case="per-zone, new network"),
    Capability("network.nat_gateways", "honoured", "a reused subnet is not the platform's to attach a NAT gateway "
               "to: nodes egress through the AKS load balancer (one managed outbound IP, or one per zone for per-zone)",
               Evidence(CLUSTER, "azure-dev", _ON_EXISTING, prop="networkProfile.outboundType", equals="loadBalancer"),
               case=WITH_EXISTING_NETWORK),
    Capability("network.flow_logs", "honoured", "a VNet flow log in the region's Network Watcher, written to the "
               "platform's log storage account", Evidence(FLOW_LOG, "azure-prod", prop="enabled", equals=True),
               case=NEW_NETWORK),
    Capability("network.flow_logs", "honoured", "a flow log of the reused VNet (a flow log can be added to any VNet)",
               Evidence(FLOW_LOG, "azure-prod", _ON_EXISTING, prop="targetResourceId", equals=EXISTING_VNET),
               case=WITH_EXISTING_NETWORK),
    Capability("network.private_endpoints", "honoured", "private endpoints for blob, file, the container registry, "
               "the ML workspace and registry, with private DNS zones linked to the VNet",
               Evidence(PRIVATE_ENDPOINT, "azure-prod", prop="privateEndpointName"), case=NEW_NETWORK),
    Capability("network.private_endpoints", "honoured", "the same endpoints in the reused VNet's "
               "snet-private-endpoints subnet, the DNS zones linked to it",
               Evidence(VNET_LINK, "azure-prod", _ON_EXISTING, prop="virtualNetwork.id", equals=EXISTING_VNET),
               case=WITH_EXISTING_NETWORK),
    Capability("network.existing_network_id", "honoured", "no VNet, subnet, NSG or NAT is created; the subnets "
               "snet-aks and snet-private-endpoints of that VNet are used",
               Evidence(VNET_LINK, "azure-prod", _ON_EXISTING, prop="virtualNetwork.id", equals=EXISTING_VNET)),
    # --- storage -----------------------------------------------------------------------------------
    Capability("storage.buckets[].name", "honoured", "one private blob container per bucket in the platform's "
               "storage account", Evidence(CONTAINER, "azure-dev", prop="containerName", equals="checkpoints")),
    Capability("storage.buckets[].renamed_from", "honoured", "the container keeps its first name (containers "
               "cannot be renamed); the resource keeps its URN through an alias",
               Evidence(CONTAINER, "azure-dev", {"storage": {"buckets": [
                   {"name": "datasets"}, {"name": "ckpts", "renamed_from": "checkpoints"}, {"name": "artifacts"},
                   {"name": "models"}]}}, prop="containerName", equals="checkpoints")),
    Capability("storage.buckets[].retention_days", "honoured", "a lifecycle rule deletes the container's blobs "
               "after this many days", Evidence(POLICY, "azure-dev", prop="policy.rules[1].definition.actions."
                                                "baseBlob.delete.daysAfterCreationGreaterThan", equals=30)),
    Capability("storage.buckets[].archive_after_days", "honoured", "a lifecycle rule moves blobs to the Cool tier",
               Evidence(POLICY, "azure-dev", prop="policy.rules[0].definition.actions.baseBlob.tierToCool."
                        "daysAfterCreationGreaterThan", equals=60)),
    Capability("storage.versioning", "honoured", "blob versioning on the storage account's blob service",
               Evidence(BLOB_SERVICE, "azure-prod", prop="isVersioningEnabled", equals=True)),
    Capability("storage.noncurrent_version_retention_days", "honoured", "lifecycle rules delete previous versions",
               Evidence(POLICY, "azure-prod", prop="policy.rules[0].definition.actions.version.delete."
                        "daysAfterCreationGreaterThan", equals=90)),
    Capability("storage.access_logging", "honoured", "a diagnostic setting sends the blob service's read, write "
               "and delete logs to a dedicated log account",
               Evidence(DIAGNOSTICS, "azure-prod", prop="name", equals="mlfabric-access-logs")),
    Capability("storage.force_destroy", "honoured", "true: Azure deletes a container with its blobs on destroy; "
               "false: the accounts and containers are retained on delete (left in place with their data)",
               Evidence(CONTAINER, "azure-dev", prop="containerName")),
    Capability("storage.key_rotation_days", "honoured", "the Key Vault key's rotation policy",
               Evidence(KEY, "azure-dev", prop="properties.rotationPolicy.lifetimeActions[0].trigger.timeAfterCreate",
                        equals="P180D")),
    # --- training ----------------------------------------------------------------------------------
    Capability("training.cluster.kubernetes_version", "honoured", "the AKS version (from the AKS calendar; in "
               "long-term support the cluster takes the Premium tier and the AKSLongTermSupport plan)",
               Evidence(CLUSTER, "azure-dev", {"training": {"cluster": {"kubernetes_version": "1.35"}}},
                        prop="kubernetesVersion", equals="1.35")),
    Capability("training.cluster.endpoint_public_cidrs", "honoured", "authorized IP ranges of a public API "
               "server; empty: a private cluster",
               Evidence(CLUSTER, "azure-dev", prop="apiServerAccessProfile.authorizedIPRanges[0]", equals="203.0.113.0/24")),
    Capability("training.cluster.system_pool.machine", "honoured", "the system pool's VM size (checked against "
               "Azure's VM sizes)", Evidence(CLUSTER, "azure-dev", prop="agentPoolProfiles[0].vmSize",
                                             equals="Standard_D4s_v5")),
    Capability("training.cluster.system_pool.min_nodes", "honoured", "the system pool's autoscaler minimum",
               Evidence(CLUSTER, "azure-dev", prop="agentPoolProfiles[0].minCount", equals=1)),
    Capability("training.cluster.system_pool.max_nodes", "honoured", "the system pool's autoscaler maximum",
               Evidence(CLUSTER, "azure-dev", prop="agentPoolProfiles[0].maxCount", equals=3)),
    Capability("training.cluster.audit_logging", "honoured", "a diagnostic setting sends kube-audit-admin and the "
               "control-plane logs to Log Analytics", Evidence(DIAGNOSTICS, "azure-dev", prop="name", equals="mlfabric-audit")),
    Capability("training.gpu_pools[].name", "honoured", "an AKS user agent pool of that name",
               Evidence(POOL, "azure-dev", prop="agentPoolName", equals="t4")),
    Capability("training.gpu_pools[].renamed_from", "honoured", "the agent pool keeps its first name (AKS pools "
               "cannot be renamed) and its URN through an alias; its labels take the new name",
               Evidence(POOL, "azure-dev", {"training": {"gpu_pools": [
                   {"name": "gput4", "renamed_from": "t4", "accelerator": "t4", "min_nodes": 0, "max_nodes": 2}]}},
                   prop="agentPoolName", equals="t4")),
    Capability("training.gpu_pools[].accelerator", "honoured", "the catalogue's VM size for the accelerator",
               Evidence(POOL, "azure-dev", prop="vmSize", equals="Standard_NC4as_T4_v3")),
    Capability("training.gpu_pools[].gpus_per_node", "honoured", "the catalogue's VM size with that many GPUs",
               Evidence(POOL, "azure-prod", prop="vmSize", equals="Standard_NC24ads_A100_v4")),
    Capability("training.gpu_pools[].min_nodes", "honoured", "the agent pool's autoscaler minimum (0 scales to zero)",
               Evidence(POOL, "azure-dev", prop="minCount", equals=0)),
    Capability("training.gpu_pools[].max_nodes", "honoured", "the agent pool's autoscaler maximum",
               Evidence(POOL, "azure-dev", prop="maxCount", equals=2)),
    Capability("training.gpu_pools[].spot", "honoured", "Spot priority, eviction policy Delete, no price cap",
               Evidence(POOL, "azure-dev", prop="scaleSetPriority", equals="Spot")),
    Capability("training.gpu_pools[].disk_gib", "honoured", "the nodes' OS disk size",
               Evidence(POOL, "azure-prod", prop="osDiskSizeGB", equals=512)),
    Capability("training.gpu_pools[].interconnect", "honoured", "auto on an InfiniBand VM size (ND: "
               "interconnect.json): the pool's own proximity placement group (Azure wires InfiniBand between "
               "the VMs of the pool's scale set); standard networking otherwise: InfiniBand is not configured "
               "by mlfabric (no IB drivers or NVIDIA Network Operator: NCCL runs over accelerated Ethernet "
               "until you add them); no placement group with a reservation, which cannot take one",
               Evidence(PPG, "azure-prod", prop="proximityPlacementGroupName", equals="ppg-speech-prod-h100"),
               case="InfiniBand VM size (ND)"),
    Capability("training.gpu_pools[].interconnect", "honoured", "standard networking: the NC sizes have no "
               "InfiniBand (accelerated Ethernet); no placement group, so the pool is never replaced for it",
               Evidence(POOL, "azure-prod", prop="vmSize", equals="Standard_NC24ads_A100_v4"),
               case="other VM sizes (NC)"),
    Capability("training.gpu_pools[].reservation", "honoured", "the agent pool's capacityReservationGroupID (a "
               "capacity reservation group's ARM id; regular nodes only, Spot refused). Its owner grants the "
               "cluster identity id-<platform>-<env>-aks Contributor on the group's resource group (Microsoft's "
               "prerequisite; mlfabric never assigns Contributor)",
               Evidence(POOL, "azure-prod", _prod_pools("a100", reservation=CRG_EXAMPLE),
                        prop="capacityReservationGroupID", equals=CRG_EXAMPLE)),
    Capability("training.gpu_pools[].queued_provisioning", "refused", "AKS has no ProvisioningRequest class for "
               "the cluster autoscaler (GKE's Dynamic Workload Scheduler has no Azure counterpart): leave it off; "
               "Kueue still admits whole jobs by quota and the autoscaler adds their nodes, or reserve capacity "
               "with training.gpu_pools[].reservation", example=True),
    Capability("training.shared_fs.capacity_gib", "honoured", "an Azure Managed Lustre file system of that size "
               "(whole TiB; the fastest tier selling it: 500 MB/s per TiB from 4 to 128 TiB in 4 TiB steps, "
               "40 MB/s per TiB above, in 48 TiB steps), in its own subnet reachable only from the AKS nodes, "
               "encrypted with an RSA-2048 key of the cluster's vault; the Azure Lustre CSI driver mounts it as "
               "each team's shared-data volume",
               Evidence(AMLFS, "azure-prod", prop="storageCapacityTiB", equals=8)),
    Capability("training.shared_fs.import_datasets", "refused", "Azure Managed Lustre's blob integration needs "
               "shared-key access enabled on the storage account (and Storage Account Contributor for the HPC Cache "
               "resource provider), which the platform keeps Entra-only: set import_datasets: false and copy "
               "datasets in with azcopy or a Lustre import job", example=True),
    # --- registry ----------------------------------------------------------------------------------
    Capability("registry.repositories", "honoured", "paths under the container registry's login server (ACR "
               "creates a repository on first push); endpoint images resolve against them",
               Evidence(ENVIRONMENT, "azure-dev", prop="properties.image")),
    Capability("registry.models", "honoured", "a model container in the Azure ML registry per model",
               Evidence(MODEL, "azure-dev", prop="modelName", equals="speech-recognizer")),
    Capability("registry.renamed_from", "honoured", "a renamed model keeps its container (and versions) under its "
               "first name and its URN through an alias; a renamed repository keeps its image path",
               Evidence(MODEL, "azure-dev", {"registry": {"models": ["asr-model"],
                                                          "renamed_from": {"asr-model": ["speech-recognizer"]}},
                                             **_asr(model="asr-model")}, prop="modelName", equals="speech-recognizer")),
    Capability("registry.immutable_tags", "refused", _IMMUTABLE_TAGS_INSTEAD, protective=True, example=True),
    Capability("registry.scan_on_push", "refused", _SCAN_INSTEAD, protective=True, example=True),
    Capability("registry.untagged_image_retention_days", "honoured", "the registry's retention policy deletes "
               "untagged manifests after this many days",
               Evidence(ACR, "azure-prod", prop="policies.retentionPolicy.days", equals=30), case=PREMIUM_REGISTRY),
    Capability("registry.untagged_image_retention_days", "refused", _RETENTION_INSTEAD,
               refused_when=_on_standard_registry, protective=True, example=30, case=STANDARD_REGISTRY),
    # --- serving -----------------------------------------------------------------------------------
    Capability("serving.endpoints[].name", "honoured", "an Azure ML managed online endpoint <name>-<environment>-"
               "<endpoint>", Evidence(ENDPOINT, "azure-dev", prop="endpointName", equals="speech-dev-asr")),
    Capability("serving.endpoints[].renamed_from", "honoured", "the endpoint keeps its first name (and scoring "
               "URL); every resource of the endpoint keeps its URN through an alias",
               Evidence(ENDPOINT, "azure-dev", _asr(name="speech", renamed_from="asr"), prop="endpointName",
                        equals="speech-dev-asr")),
    Capability("serving.endpoints[].model", "honoured", "names the registered model the endpoint serves in its "
               "description (the image carries the model; Azure ML needs no model asset for a custom image)",
               Evidence(ENDPOINT, "azure-dev", prop="properties.description",
                        equals="mlfabric speech-dev: asr serving model speech-recognizer")),
    Capability("serving.endpoints[].image", "honoured", "an environment version pinning the image, one deployment "
               "per image (blue/green)", Evidence(ENVIRONMENT, "azure-dev", prop="properties.description",
                                                  equals=f"mlfabric speech-dev: asr/main serving image {_DEV_IMAGE}")),
    Capability("serving.endpoints[].instance", "honoured", "the deployment's instance type (checked against Azure's "
               "VM sizes)", Evidence(DEPLOYMENT, "azure-dev", prop="properties.instanceType", equals="Standard_DS3_v2")),
    Capability("serving.endpoints[].accelerator", "honoured", "the catalogue's 1-GPU VM size as instance type",
               Evidence(DEPLOYMENT, "azure-prod", prop="properties.instanceType", equals="Standard_NC4as_T4_v3")),
    Capability("serving.endpoints[].min_replicas", "honoured", "the autoscale setting's minimum instance count",
               Evidence(AUTOSCALE, "azure-prod", prop="profiles[0].capacity.minimum", equals="2")),
    Capability("serving.endpoints[].max_replicas", "honoured", "the autoscale setting's maximum instance count",
               Evidence(AUTOSCALE, "azure-prod", prop="profiles[0].capacity.maximum", equals="6")),
    Capability("serving.endpoints[].target_invocations_per_replica", "honoured", "the autoscale rules' requests "
               "per minute per instance", Evidence(AUTOSCALE, "azure-prod",
                                                   prop="profiles[0].rules[0].metricTrigger.threshold", equals=120)),
    Capability("serving.endpoints[].traffic.strategy", "honoured", "the steps in which the endpoint's rollout "
               "script shifts traffic to a new deployment (all-at-once, canary, linear)",
               Evidence(ROLLOUT, "azure-dev", _asr(traffic={"strategy": "linear", "canary_percent": 25}),
                        prop=_env("STEPS"), equals="25 50 75 100")),
    Capability("serving.endpoints[].traffic.canary_percent", "honoured", "the share of the rollout script's "
               "first (canary) step, and of each linear step",
               Evidence(ROLLOUT, "azure-dev", _asr(traffic={"canary_percent": 30}), prop=_env("STEPS"),
                        equals="30 100")),
    Capability("serving.endpoints[].traffic.bake_minutes", "honoured", "minutes the rollout script watches the "
               "endpoint's alerts after each step; a fired alert restores the previous split and fails the update",
               Evidence(ROLLOUT, "azure-dev", _asr(traffic={"bake_minutes": 5}), prop=_env("BAKE_MINUTES"), equals="5")),
    Capability("serving.endpoints[].traffic.challenger.image", "honoured", "a second deployment of that image "
               "in the endpoint", Evidence(ENVIRONMENT, "azure-dev", _asr(traffic={"challenger": {
                   "image": _CHALLENGER_IMAGE, "percent": 10}}), prop="properties.description",
                   equals=f"mlfabric speech-dev: asr/challenger serving image {_CHALLENGER_IMAGE}")),
    Capability("serving.endpoints[].traffic.challenger.percent", "honoured", "the challenger deployment's share "
               "of live traffic in the split the rollout script sets",
               Evidence(ROLLOUT, "azure-dev", _asr(traffic={"challenger": {"image": _CHALLENGER_IMAGE, "percent": 10}}),
                        prop=_env("TARGET_TRAFFIC"), equals=json.dumps(
                            {deployment_name("main", _DEV_IMAGE): 90,
                             deployment_name("challenger", _CHALLENGER_IMAGE): 10}, sort_keys=True))),
    Capability("serving.endpoints[].traffic.shadow.image", "honoured", "a shadow deployment of that image, "
               "receiving mirrored traffic", Evidence(ENVIRONMENT, "azure-dev", _asr(traffic={"shadow": {
                   "image": _SHADOW_IMAGE, "percent": 20}}), prop="properties.description",
                   equals=f"mlfabric speech-dev: asr/shadow serving image {_SHADOW_IMAGE}")),
    Capability("serving.endpoints[].traffic.shadow.percent", "honoured", "the endpoint's mirror traffic to the "
               "shadow deployment (Azure ML mirrors at most 50%)",
               Evidence(ROLLOUT, "azure-dev", _asr(traffic={"shadow": {"image": _SHADOW_IMAGE, "percent": 20}}),
                        prop=_env("TARGET_MIRROR"),
                        equals=json.dumps({deployment_name("shadow", _SHADOW_IMAGE): 20}, sort_keys=True))),
    Capability("serving.endpoints[].data_capture_percent", "honoured", "model data collection of inputs and "
               "outputs at that sampling rate",
               Evidence(DEPLOYMENT, "azure-prod", prop="properties.dataCollector.collections.model_inputs.samplingRate",
                        equals=0.2)),
    # --- monitoring --------------------------------------------------------------------------------
    Capability("monitoring.notify", "honoured", "e-mail and webhook receivers of the platform's action group",
               Evidence(ACTION_GROUP, "azure-prod", prop="emailReceivers[0].emailAddress",
                        equals="speech-oncall@example.com")),
    Capability("monitoring.latency_p99_ms", "honoured", "the endpoint's p99 latency metric alert",
               Evidence(ALERT, "azure-prod", prop="criteria.allOf[0].threshold", equals=300)),
    Capability("monitoring.error_rate_percent", "honoured", "the endpoint's 5xx metric alert, as that share of "
               "its nominal load per minute", Evidence(ALERT, "azure-prod", prop="criteria.allOf[0].threshold",
                                                      equals=2.4)),
    Capability("monitoring.gpu_utilization_low_percent", "honoured", "a log alert on the GPU pools' average "
               "utilisation", Evidence(QUERY_ALERT, "azure-prod", prop="criteria.allOf[0].threshold", equals=10)),
    Capability("monitoring.log_retention_days", "honoured", "the Log Analytics workspace's retention (30-730 days)",
               Evidence(LOG_WORKSPACE, "azure-prod", prop="retentionInDays", equals=90)),
    # --- rbac --------------------------------------------------------------------------------------
    Capability("rbac.personas", "honoured", "built-in role assignments per Entra principal, scoped to the "
               "platform's resources (only the azure: list of per-cloud principals)",
               Evidence(ROLE, "azure-prod", prop="principalId", equals="0b0f8f6e-1d2c-4c4b-9a57-3e5d2b7a9c11")),
    Capability("rbac.custom_personas", "honoured", "the role assignments of the access level's template (read: "
               "reader, deploy: ci-deployer, admin: platform-admin), named after the persona",
               Evidence(ROLE, "azure-dev", {"rbac": {"custom_personas": {"auditors": {"access": "read"}},
                                                      "personas": {"auditors": ["7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"]}}},
                        prop="principalId", equals="7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")),
    Capability("storage.replication_region", "honoured", "geo-redundant storage accounts (Standard_GZRS, or "
               "Standard_GRS where the account is locally redundant): Azure's asynchronous copy in the region's "
               "paired region, the only region it replicates to (any other is refused by the spec rules)",
               Evidence("azure-native:storage:StorageAccount", "azure-dev",
                        {"storage": {"replication_region": "northeurope"}}, prop="sku.name", equals="Standard_GRS")),
    Capability("rbac.allow_guardrail_changes", "refused", "nothing to allow: platform-admin holds data-plane roles "
               "only (blob data, ML, ACR push, AKS RBAC) and no role that can change a storage firewall, "
               "encryption, vault purge protection or registry policy (mlf-azure-no-guardrail-roles); grant "
               "break-glass control-plane access outside the platform (PIM)", example=True),
    # --- teams -------------------------------------------------------------------------------------
    Capability("teams[].name", "honoured", "namespace team-<name>, its service account, Kueue ClusterQueue and "
               "LocalQueue <name>, a user-assigned identity id-<platform>-<env>-team-<name> tagged mlfabric-team",
               Evidence(IDENTITY, "azure-prod", prop="tags.mlfabric-team", equals="asr")),
    Capability("teams[].members", "honoured", "Azure RBAC for Kubernetes on the team's namespace only "
               "(<cluster id>/namespaces/team-<name>: RBAC Reader, Writer or Admin by the persona's access) and "
               "Cluster User on the cluster (fetching the kubeconfig); only the azure: list of per-cloud principals",
               Evidence(ROLE, "azure-prod", prop="principalId", equals="3d9a6c1e-5f2b-4a8d-9c7e-1b4f6a2d8e05")),
    Capability("teams[].gpu_quota[].pool", "honoured", "a flavor of the team's ClusterQueue: the pool's Kueue "
               "ResourceFlavor, selecting its nodes", Evidence(CLUSTER_QUEUE, "azure-prod",
                                                               prop="spec.resourceGroups[0].flavors[0].name",
                                                               equals="h100")),
    Capability("teams[].gpu_quota[].gpus", "honoured", "the nominal nvidia.com/gpu quota of the pool's flavor in "
               "the team's ClusterQueue", Evidence(CLUSTER_QUEUE, "azure-prod",
                                                  prop="spec.resourceGroups[0].flavors[0].resources[2].nominalQuota",
                                                  equals=8)),
    Capability("teams[].gpu_quota[].borrow_gpus", "honoured", "the flavor's borrowing limit in the platform's "
               "cohort", Evidence(CLUSTER_QUEUE, "azure-prod",
                                  prop="spec.resourceGroups[0].flavors[0].resources[2].borrowingLimit", equals=8)),
    Capability("teams[].storage_prefix", "honoured", "an ABAC condition on the team identity's Storage Blob Data "
               "Contributor assignment: read, write, add and delete only under the prefix, list only with a "
               "prefix under it", Evidence(ROLE, "azure-prod", prop="conditionVersion", equals="2.0")),
    # --- lifecycle: tracking, notebooks, drift, batch -------------------------------------------------
    Capability("tracking.size", "honoured", "the ML workspace's own MLflow endpoint (tracking_uri: azureml://"
               "<region>.api.azureml.ms/mlflow/v1.0<workspace id>), private behind the workspace's private "
               "endpoint, encrypted with the platform key; personas log and read runs through their workspace "
               "roles (AzureML Data Scientist, Reader)",
               Evidence(WORKSPACE, "azure-prod", prop="publicNetworkAccess", equals="Disabled"), case="small"),
    Capability("tracking.size", "refused", _TRACKING_SIZE_INSTEAD, refused_when=_larger_than_small,
               example="large", case="medium or large"),
    Capability("notebooks.idle_minutes", "honoured", "a personal Azure ML compute instance per data scientist and "
               "ML engineer of each environment, stopped after that many idle minutes (idleTimeBeforeShutdown), "
               "no public IP, public SSH closed, running as the team's identity",
               Evidence(COMPUTE, "azure-prod", prop="properties.properties.idleTimeBeforeShutdown", equals="PT60M")),
    Capability("notebooks.machine", "honoured", "the compute instances' VM size (checked against Azure's VM sizes)",
               Evidence(COMPUTE, "azure-prod", prop="properties.properties.vmSize", equals="Standard_DS3_v2")),
    Capability("notebooks.teams", "honoured", "only these teams' members get compute instances, each running as "
               "its team's user-assigned identity",
               Evidence(COMPUTE, "azure-prod", {"notebooks": {"teams": ["tts"]}}, prop="tags.mlfabric-notebook",
                        equals="tts")),
    Capability("serving.endpoints[].monitoring.drift.baseline_prefix", "honoured", "an Azure ML model monitor "
               "(a Schedule creating a data-drift monitor on serverless Spark) comparing the main deployment's "
               "captured inputs with this prefix of the datasets container; alerts e-mail monitoring.notify's "
               "addresses (an Azure ML monitor has no action-group or webhook target)",
               Evidence(SCHEDULE, "azure-prod", prop="properties.description",
                        equals="mlfabric speech-prod: drift of speech-prod-asr's captured requests against "
                        "datasets/baselines/asr/")),
    Capability("serving.endpoints[].monitoring.drift.schedule", "honoured", "the monitor's recurrence (every hour "
               "or day) and the window of captured requests each run reads",
               Evidence(SCHEDULE, "azure-prod", prop="properties.trigger.frequency", equals="Day")),
    *(Capability(f"batch.jobs[].{name}", "refused", _BATCH_INSTEAD, refused_when=_batch_job, example=example)
      for name, example in (("name", "score"), ("model", "speech-recognizer"), ("image", "scorer:1.0.0"),
                            ("accelerator", "t4"), ("instances", 2), ("input_prefix", "incoming/"),
                            ("schedule", "0 2 * * *"), ("team", "asr"))),
    *budget_rows(),
)

__all__ = ["CAPABILITIES", "EXISTING_VNET", "STANDARD_REGISTRY", "WITH_EXISTING_NETWORK"]
