"""What GCP does with each spec field (``components/capabilities.py``): honoured, with the resource
or input of an example stack's plan that proves it, or refused, with what to use instead.

Refused on GCP (an error in staging and prod; in dev a warning where the field is purely protective):

- ``serving.endpoints[].accelerator`` other than ``l4`` (Cloud Run's only GPU);
- ``serving.endpoints[].traffic.challenger``: one Cloud Run service declares one revision, so the
  main and the challenger revision cannot both exist on the first deploy;
- ``serving.endpoints[].traffic.shadow``: Cloud Run cannot mirror requests;
- ``serving.endpoints[].traffic.strategy`` canary/linear (and a non-default ``canary_percent`` or
  ``bake_minutes``): Cloud Run moves all traffic to a ready revision, with no alarm rollback;
- ``serving.endpoints[].data_capture_percent`` above 0: Cloud Run's request logs carry no payloads;
- ``serving.endpoints[].monitoring.drift``: Cloud Run has no model monitoring, and pulumi-gcp declares
  no Vertex AI model-monitoring job (``vertex.AiEndpoint.modelDeploymentMonitoringJob`` is output only);
- with ``network.existing_network_id``: an explicit ``cidr``, a non-default ``nat_gateways`` and
  ``private_endpoints`` (settings of a network and subnet the platform does not own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from mlfabric.components.capabilities import Capability, Evidence, budget_rows, everywhere
from mlfabric.components.kubernetes.batch_rules import batch_capabilities

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

DEV: Final = "gcp-dev"
PROD: Final = "gcp-prod"

BUCKET: Final = "gcp:storage/bucket:Bucket"
CLUSTER: Final = "gcp:container/cluster:Cluster"
NODE_POOL: Final = "gcp:container/nodePool:NodePool"
REPOSITORY: Final = "gcp:artifactregistry/repository:Repository"
RUN: Final = "gcp:cloudrunv2/service:Service"
SUBNET: Final = "gcp:compute/subnetwork:Subnetwork"
NAT: Final = "gcp:compute/routerNat:RouterNat"
ALERT: Final = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL: Final = "gcp:monitoring/notificationChannel:NotificationChannel"
LOG_BUCKET: Final = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
PROJECT_MEMBER: Final = "gcp:projects/iAMMember:IAMMember"
KEY: Final = "gcp:kms/cryptoKey:CryptoKey"
TRANSFER_JOB: Final = "gcp:storage/transferJob:TransferJob"
DENY_POLICY: Final = "gcp:iam/denyPolicy:DenyPolicy"
FLOW_LOGS: Final = "gcp:networkmanagement/vpcFlowLogsConfig:VpcFlowLogsConfig"
FILESTORE: Final = "gcp:filestore/instance:Instance"
FOLDER_MEMBER: Final = "gcp:storage/managedFolderIamMember:ManagedFolderIamMember"
CLUSTER_QUEUE: Final = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
ROLE_BINDING: Final = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
SQL_INSTANCE: Final = "gcp:sql/databaseInstance:DatabaseInstance"
WORKBENCH: Final = "gcp:workbench/instance:Instance"
# A pool of the prod stack reserved by name (the reservation itself is the project's, not the stack's).
_RESERVED: Final = {"training": {"gpu_pools": [
    {"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 8, "max_nodes": 4, "reservation": "a100-reserved"},
    {"name": "l4", "accelerator": "l4", "max_nodes": 8, "spot": True},
    {"name": "h100", "accelerator": "h100-80gb", "gpus_per_node": 8, "max_nodes": 2, "queued_provisioning": True},
]}}

EXISTING: Final = "with existing_network_id"
EXISTING_NETWORK: Final = "projects/vision-ml-prod/global/networks/shared-vpc"
# The prod stack on an existing network: its cidr dropped, private endpoints left to the network's owner.
_ON_EXISTING: Final = {"network": {"cidr": None, "existing_network_id": EXISTING_NETWORK, "private_endpoints": False}}


def _existing(spec: PlatformSpec) -> bool:
    return spec.network.existing_network_id is not None


def _env_default(section: str, field: str, spec: PlatformSpec) -> Any:
    """The environment's default of a field with environment defaults (``env_default``)."""
    from mlfabric.components.spec import ENV_DEFAULTS_KEY, NetworkSpec

    models = {"network": NetworkSpec}
    extra = models[section].model_fields[field].json_schema_extra
    assert isinstance(extra, dict)
    by_env = extra[ENV_DEFAULTS_KEY]
    assert isinstance(by_env, dict)
    return by_env[spec.environment]


def _not_on_cloud_run(value: Any, spec: PlatformSpec) -> bool:
    del spec
    return value is not None and value != "l4"


def _rollout(value: Any, spec: PlatformSpec) -> bool:
    del spec
    return bool(value != "all-at-once")


def _not_default(default: Any) -> Any:
    def differs(value: Any, spec: PlatformSpec) -> bool:
        del spec
        return bool(value != default)

    return differs


def _captures(value: Any, spec: PlatformSpec) -> bool:
    del spec
    return bool(value)


def _explicit_cidr(value: Any, spec: PlatformSpec) -> bool:
    del value
    return _existing(spec) and "cidr" in spec.network.model_fields_set


def _non_default_nat(value: Any, spec: PlatformSpec) -> bool:
    return _existing(spec) and bool(value != _env_default("network", "nat_gateways", spec))


def _private_endpoints_on_existing(value: Any, spec: PlatformSpec) -> bool:
    return _existing(spec) and bool(value)


# One endpoint the serving rows patch into the dev stack (its spec has one endpoint, detector).
def _endpoint(**fields: Any) -> dict[str, Any]:
    endpoint = {"name": "detector", "model": "detector", "image": "detector:0.3.0", "accelerator": "l4",
                "min_replicas": 1, "max_replicas": 2, "traffic": {"strategy": "all-at-once"}}
    endpoint.update(fields)
    return {"serving": {"endpoints": [endpoint]}}


_NO_DRIFT: Final = (
    "Cloud Run has no model monitoring, pulumi-gcp declares no Vertex AI model-monitoring job "
    "(vertex.AiEndpoint's modelDeploymentMonitoringJob is output only) and Cloud Run captures no payloads: drop "
    "monitoring.drift and compare logged payloads to the baseline in a scheduled job of your own"
)

_CLOUD_RUN_INSTEAD: Final = (
    "Cloud Run serves on NVIDIA L4 GPUs only: use accelerator: l4, or a CPU instance such as n2-standard-8"
)

CAPABILITIES: Final[tuple[Capability, ...]] = (
    # --- identity and placement ---
    everywhere("spec_version", "the spec format; no resource"),
    everywhere("name", "prefix of every resource name (<name>-<environment>)", Evidence(CLUSTER, DEV, prop="name", equals="vision-dev")),
    everywhere("environment", "environment defaults and the mlfabric-environment label",
               Evidence(BUCKET, PROD, prop="labels.mlfabric-environment", equals="prod")),
    everywhere("cloud", "selects this kit; no resource"),
    everywhere("region", "the provider's region and every regional resource's location",
               Evidence(REPOSITORY, DEV, prop="location", equals="us-central1")),
    Capability("tags", "honoured", "GCP labels on every labelled resource, lowercased (tags.py)",
               Evidence(BUCKET, DEV, prop="labels.team", equals="vision-ml")),
    Capability("deletion_protection", "honoured", "protect/retain in Pulumi and the cluster's and services' "
               "deletion_protection", Evidence(CLUSTER, PROD, prop="deletionProtection", equals=True)),
    # --- network ---
    Capability("network.cidr", "honoured", "the subnet's node range and GKE's pods/services ranges",
               Evidence(SUBNET, DEV, prop="ipCidrRange", equals="10.20.128.0/18")),
    Capability("network.cidr", "refused", "the existing network's subnet keeps its own ranges: omit cidr, or "
               "omit existing_network_id", refused_when=_explicit_cidr, example="10.50.0.0/16", case=EXISTING),
    Capability("network.availability_zones", "honoured", "the zones the GKE node pools span (node_locations); "
               "a GCP subnet is regional", Evidence(CLUSTER, PROD, prop="nodeLocations")),
    Capability("network.nat_gateways", "honoured", "Cloud NAT, a regional zone-redundant service: either value "
               "has no zonal single point of failure", Evidence(NAT, PROD, prop="natIpAllocateOption",
                                                               equals="AUTO_ONLY")),
    Capability("network.nat_gateways", "refused", "egress of an existing network is its owner's Cloud NAT: "
               "leave nat_gateways at the environment's default, or omit existing_network_id",
               refused_when=_non_default_nat, example="per-zone", case=EXISTING),
    Capability("network.flow_logs", "honoured", "the subnet's VPC flow logs (log_config), or a VPC Flow Logs "
               "configuration on an existing network's subnet",
               Evidence(SUBNET, PROD, prop="logConfig.aggregationInterval", equals="INTERVAL_5_SEC")),
    Capability("network.flow_logs", "honoured", "a Network Management VPC Flow Logs configuration on the "
               "existing subnet", Evidence(FLOW_LOGS, PROD, _ON_EXISTING,
                                           prop="state", equals="ENABLED"),
               case=EXISTING),
    Capability("network.private_endpoints", "honoured", "Private Google Access on the platform subnet (always "
               "on): Google APIs without public addresses",
               Evidence(SUBNET, PROD, prop="privateIpGoogleAccess", equals=True)),
    Capability("network.private_endpoints", "refused", "Private Google Access is a setting of the existing "
               "subnet: turn it on there and set private_endpoints: false, or omit existing_network_id",
               refused_when=_private_endpoints_on_existing, protective=True, example=True, case=EXISTING),
    Capability("network.existing_network_id", "honoured", "reads the network and its <platform>-<environment> "
               "subnet instead of creating them",
               Evidence(FLOW_LOGS, PROD, _ON_EXISTING, prop="subnet")),
    # --- storage ---
    Capability("storage.buckets[].name", "honoured", "one CMEK GCS bucket per name",
               Evidence(BUCKET, DEV, prop="labels.mlfabric-bucket", equals="checkpoints")),
    Capability("storage.buckets[].renamed_from", "honoured", "aliases keep the bucket (and its auto-name)",
               Evidence(BUCKET, DEV, {"storage": {"buckets": [{"name": "data", "renamed_from": "datasets"}]}},
                        prop="labels.mlfabric-bucket", equals="data")),
    Capability("storage.buckets[].retention_days", "honoured", "a lifecycle Delete rule on live objects",
               Evidence(BUCKET, DEV, prop="lifecycleRules[2].condition.age", equals=30)),
    Capability("storage.buckets[].archive_after_days", "honoured", "a lifecycle SetStorageClass NEARLINE rule",
               Evidence(BUCKET, DEV, prop="lifecycleRules[2].action.storageClass", equals="NEARLINE")),
    Capability("storage.versioning", "honoured", "the bucket's versioning",
               Evidence(BUCKET, PROD, prop="versioning.enabled", equals=True)),
    Capability("storage.noncurrent_version_retention_days", "honoured", "a lifecycle Delete rule on "
               "noncurrent versions", Evidence(BUCKET, PROD, prop="lifecycleRules[1].condition.daysSinceNoncurrentTime")),
    Capability("storage.access_logging", "honoured", "usage logs into a log bucket",
               Evidence(BUCKET, PROD, prop="logging.logObjectPrefix", equals="datasets")),
    Capability("storage.force_destroy", "honoured", "the bucket's force_destroy",
               Evidence(BUCKET, DEV, prop="forceDestroy", equals=True)),
    Capability("storage.key_rotation_days", "honoured", "the storage key's rotation period",
               Evidence(KEY, DEV, prop="rotationPeriod")),
    # --- training ---
    Capability("training.cluster.kubernetes_version", "honoured", "the cluster's min_master_version (a floor: "
               "the release channel upgrades from there); checked against the GKE calendar",
               Evidence(CLUSTER, DEV, prop="minMasterVersion", equals="1.35")),
    Capability("training.cluster.endpoint_public_cidrs", "honoured", "master authorized networks; a private "
               "endpoint when empty", Evidence(CLUSTER, PROD, prop="privateClusterConfig.enablePrivateEndpoint",
                                               equals=True)),
    Capability("training.cluster.system_pool.machine", "honoured", "the system node pool's machine type",
               Evidence(NODE_POOL, PROD, prop="nodeConfig.machineType", equals="n2-standard-4")),
    Capability("training.cluster.system_pool.min_nodes", "honoured", "the system pool's autoscaling minimum",
               Evidence(NODE_POOL, PROD, prop="autoscaling.totalMinNodeCount", equals=2)),
    Capability("training.cluster.system_pool.max_nodes", "honoured", "the system pool's autoscaling maximum",
               Evidence(NODE_POOL, PROD, prop="autoscaling.totalMaxNodeCount", equals=4)),
    Capability("training.cluster.audit_logging", "honoured", "control-plane logs (API server, scheduler, "
               "controller manager)", Evidence(CLUSTER, PROD, prop="loggingConfig.enableComponents")),
    Capability("training.gpu_pools[].name", "honoured", "one GKE node pool per GPU pool (gpu-<name>-*)",
               Evidence(NODE_POOL, DEV, prop="namePrefix", equals="gpu-l4-")),
    Capability("training.gpu_pools[].renamed_from", "honoured", "aliases; the GKE pool keeps its first name's prefix",
               Evidence(NODE_POOL, DEV, {"training": {"gpu_pools": [{"name": "infer", "renamed_from": "l4",
                                                                       "accelerator": "l4", "max_nodes": 2}]}},
                        prop="namePrefix", equals="gpu-l4-")),
    Capability("training.gpu_pools[].accelerator", "honoured", "the catalogue's machine type and guest accelerator",
               Evidence(NODE_POOL, DEV, prop="nodeConfig.guestAccelerators[0].type", equals="nvidia-l4")),
    Capability("training.gpu_pools[].gpus_per_node", "honoured", "the guest accelerator count",
               Evidence(NODE_POOL, PROD, prop="nodeConfig.guestAccelerators[0].count", equals=8)),
    Capability("training.gpu_pools[].min_nodes", "honoured", "the pool's autoscaling minimum (0: scale to zero)",
               Evidence(NODE_POOL, DEV, prop="autoscaling.totalMinNodeCount", equals=0)),
    Capability("training.gpu_pools[].max_nodes", "honoured", "the pool's autoscaling maximum",
               Evidence(NODE_POOL, DEV, prop="autoscaling.totalMaxNodeCount", equals=2)),
    Capability("training.gpu_pools[].spot", "honoured", "spot VMs", Evidence(NODE_POOL, DEV, prop="nodeConfig.spot",
                                                                          equals=True)),
    Capability("training.gpu_pools[].disk_gib", "honoured", "the nodes' boot disk size",
               Evidence(NODE_POOL, DEV, prop="nodeConfig.diskSizeGb", equals=200)),
    Capability("training.gpu_pools[].interconnect", "honoured", "auto: a compact placement policy on A2 (A100) "
               "and A3 (H100) pools, their nodes in the cluster's first zone (interconnect.json, with sources); G2 "
               "(L4), N1 (T4) and queued_provisioning pools get standard networking (a note says why); A3's "
               "GPUDirect-TCPX/TCPXO multi-NIC networking is not built (jobs use the primary gVNIC); off: none",
               Evidence(NODE_POOL, PROD, prop="placementPolicy.type", equals="COMPACT")),
    Capability("training.gpu_pools[].reservation", "honoured", "the node pool's reservation affinity "
               "SPECIFIC_RESERVATION on compute.googleapis.com/reservation-name (the spec refuses it with "
               "queued_provisioning)", Evidence(NODE_POOL, PROD, _RESERVED,
                                                prop="nodeConfig.reservationAffinity.values[0]", equals="a100-reserved")),
    Capability("training.gpu_pools[].queued_provisioning", "honoured", "the node pool's queued provisioning (GKE "
               "Dynamic Workload Scheduler: from zero, reservation affinity none, no auto-repair) and Kueue's "
               "ProvisioningRequest admission check (class queued-provisioning.gke.io) on the pool's flavor",
               Evidence(NODE_POOL, PROD, prop="queuedProvisioning.enabled", equals=True)),
    Capability("training.shared_fs.capacity_gib", "honoured", "a Filestore zonal-tier instance of that size (1024-9984 "
               "GiB in 256 GiB steps, 10240-102400 in 2560 GiB steps), CMEK with the cluster's key, mountable from "
               "the nodes' subnet only, a PersistentVolume per team through GKE's Filestore CSI driver",
               Evidence(FILESTORE, PROD, prop="fileShares.capacityGb", equals=2560)),
    Capability("training.shared_fs.import_datasets", "refused", "Filestore has no link to a Cloud Storage bucket: "
               "omit import_datasets and copy the datasets in with a job (or mount the bucket with the Cloud "
               "Storage FUSE CSI driver the cluster has)", example=True),
    # --- teams ---
    Capability("teams[].name", "honoured", "namespace team-<name>, a Google service account per team and the "
               "Kubernetes service account <name> that alone may act as it (Workload Identity)",
               Evidence("gcp:serviceaccount/iAMMember:IAMMember", PROD, prop="member",
                        equals="serviceAccount:vision-ml-prod.svc.id.goog[team-vision/vision]")),
    Capability("teams[].members", "honoured", "RoleBindings of view/edit/admin in the team namespace (users and "
               "service accounts by email; groups through Google Groups for RBAC, gke-security-groups@<domain>) "
               "and roles/container.clusterViewer to fetch credentials",
               Evidence(ROLE_BINDING, PROD, prop="subjects[0].name", equals="vision-data-science@example.com")),
    Capability("teams[].gpu_quota[].pool", "honoured", "the pool's ResourceFlavor in the team's ClusterQueue",
               Evidence(CLUSTER_QUEUE, PROD, prop="spec.resourceGroups[0].flavors[0].name", equals="a100")),
    Capability("teams[].gpu_quota[].gpus", "honoured", "the ClusterQueue's nominal nvidia.com/gpu quota (and the CPU "
               "and memory of those GPUs' share of a node) in the platform's cohort",
               Evidence(CLUSTER_QUEUE, PROD, prop="spec.resourceGroups[0].flavors[0].resources[2].nominalQuota",
                        equals=16)),
    Capability("teams[].gpu_quota[].borrow_gpus", "honoured", "the ClusterQueue's borrowing limit in the cohort",
               Evidence(CLUSTER_QUEUE, PROD, prop="spec.resourceGroups[0].flavors[0].resources[2].borrowingLimit",
                        equals=16)),
    Capability("teams[].storage_prefix", "honoured", "a managed folder at the prefix in every platform bucket, with "
               "roles/storage.objectUser for the team's service account on it only (list, read, write)",
               Evidence(FOLDER_MEMBER, PROD, prop="managedFolder", equals="teams/speech-audio/")),
    # --- registry ---
    Capability("registry.repositories", "honoured", "one CMEK Artifact Registry Docker repository each",
               Evidence(REPOSITORY, DEV, prop="repositoryId", equals="vision-dev-trainer")),
    Capability("registry.models", "honoured", "a reserved Vertex AI model id and the Vertex AI API (models "
               "appear on first upload; no resource per model)",
               Evidence("gcp:projects/service:Service", DEV, prop="service", equals="aiplatform.googleapis.com")),
    Capability("registry.renamed_from", "honoured", "aliases; the repository id keeps the first name",
               Evidence(REPOSITORY, DEV, {"registry": {"repositories": ["trainer", "serving"],
                                                       "renamed_from": {"serving": "detector"}},
                                          "serving": None},
                        prop="repositoryId", equals="vision-dev-detector")),
    Capability("registry.immutable_tags", "honoured", "the repository's immutable tags",
               Evidence(REPOSITORY, PROD, prop="dockerConfig.immutableTags", equals=True)),
    Capability("registry.scan_on_push", "honoured", "vulnerability scanning (Container Scanning API)",
               Evidence(REPOSITORY, PROD, prop="vulnerabilityScanningConfig.enablementConfig", equals="INHERITED")),
    Capability("registry.untagged_image_retention_days", "honoured", "a cleanup policy deleting untagged images",
               Evidence(REPOSITORY, PROD, prop="cleanupPolicies[0].condition.tagState", equals="UNTAGGED")),
    # --- serving ---
    Capability("serving.endpoints[].name", "honoured", "one Cloud Run service <platform>-<environment>-<name>",
               Evidence(RUN, DEV, prop="labels.mlfabric-endpoint", equals="detector")),
    Capability("serving.endpoints[].renamed_from", "honoured", "aliases; the service keeps its first name",
               Evidence(RUN, DEV, _endpoint(name="scorer", renamed_from="detector"),
                        prop="labels.mlfabric-endpoint", equals="scorer")),
    Capability("serving.endpoints[].model", "honoured", "the mlfabric-model label", Evidence(
        RUN, DEV, prop="labels.mlfabric-model", equals="detector")),
    Capability("serving.endpoints[].image", "honoured", "the revision's container image",
               Evidence(RUN, DEV, prop="template.containers[0].image")),
    Capability("serving.endpoints[].instance", "honoured", "the revision's CPU and memory limits (a machine "
               "type that fits a Cloud Run instance)",
               Evidence(RUN, DEV, _endpoint(accelerator=None, instance="n2-standard-8"),
                        prop="template.containers[0].resources.limits.cpu", equals="8")),
    Capability("serving.endpoints[].accelerator", "honoured", "an NVIDIA L4 per instance (node selector)",
               Evidence(RUN, DEV, prop="template.nodeSelector.accelerator", equals="nvidia-l4")),
    Capability("serving.endpoints[].accelerator", "refused", _CLOUD_RUN_INSTEAD, refused_when=_not_on_cloud_run,
               example="t4", case="other than l4"),
    Capability("serving.endpoints[].min_replicas", "honoured", "the service's minimum instances",
               Evidence(RUN, PROD, prop="scaling.minInstanceCount", equals=2)),
    Capability("serving.endpoints[].max_replicas", "honoured", "the service's maximum instances",
               Evidence(RUN, PROD, prop="scaling.maxInstanceCount", equals=6)),
    Capability("serving.endpoints[].target_invocations_per_replica", "honoured", "the revision's request "
               "concurrency (rate x p99 latency)", Evidence(RUN, PROD, prop="template.maxInstanceRequestConcurrency")),
    Capability("serving.endpoints[].traffic.strategy", "honoured", "all-at-once: the ready revision takes 100%",
               Evidence(RUN, PROD, prop="traffics[0].percent", equals=100), case="all-at-once"),
    Capability("serving.endpoints[].traffic.strategy", "refused", "Cloud Run moves all traffic to a revision once "
               "it is ready and has no alarm rollback: set strategy: all-at-once (roll back by redeploying the "
               "previous image)", refused_when=_rollout, protective=True, example="canary", case="canary, linear"),
    Capability("serving.endpoints[].traffic.canary_percent", "refused", "no stepwise rollout on Cloud Run: "
               "leave canary_percent at 10 with strategy: all-at-once",
               refused_when=_not_default(10), protective=True, example=25),
    Capability("serving.endpoints[].traffic.bake_minutes", "refused", "no stepwise rollout on Cloud Run: leave "
               "bake_minutes at 10 with strategy: all-at-once",
               refused_when=_not_default(10), protective=True, example=30),
    Capability("serving.endpoints[].traffic.challenger.image", "refused", "a Cloud Run service declares one "
               "revision, so a main and a challenger revision cannot both exist on its first deploy: declare the "
               "challenger as a second endpoint and split traffic in the caller", example="detector:0.4.0"),
    Capability("serving.endpoints[].traffic.challenger.percent", "refused", "see traffic.challenger.image: "
               "declare the challenger as a second endpoint", example=10),
    Capability("serving.endpoints[].traffic.shadow.image", "refused", "Cloud Run cannot mirror requests: drop "
               "the shadow, or deploy it as a second endpoint and replay traffic to it", example="detector:0.4.0"),
    Capability("serving.endpoints[].traffic.shadow.percent", "refused", "Cloud Run cannot mirror requests: drop "
               "the shadow", example=10),
    Capability("serving.endpoints[].data_capture_percent", "refused", "Cloud Run's request logs carry no request "
               "or response bodies: set data_capture_percent: 0 and log payloads from the serving image (e.g. to "
               "the artifacts bucket)", refused_when=_captures, example=20),
    Capability("serving.endpoints[].monitoring.drift.baseline_prefix", "refused", _NO_DRIFT, example="baselines/detector/"),
    Capability("serving.endpoints[].monitoring.drift.schedule", "refused", _NO_DRIFT, example="hourly"),
    # --- tracking ---
    Capability("tracking.size", "honoured", "MLflow on Cloud Run (internal ingress, IAM-only; 2/4/6 vCPU with the proxy) with a "
               "Cloud SQL PostgreSQL backend (db-custom-1-3840 / 2-7680 / 4-15360; private IP only, CMEK with the "
               "tracking key, backups "
               "with point-in-time recovery, IAM login through the Cloud SQL Auth Proxy: no password) and artifacts "
               "in the artifacts bucket", Evidence(SQL_INSTANCE, PROD, prop="settings.tier", equals="db-custom-2-7680")),
    # --- notebooks ---
    Capability("notebooks.idle_minutes", "honoured", "the Workbench instance's idle-timeout-seconds metadata "
               "(idle shutdown)", Evidence(WORKBENCH, PROD, prop="gceSetup.metadata.idle-timeout-seconds",
                                           equals="3600")),
    Capability("notebooks.machine", "honoured", "the Workbench instance's machine type (a CPU machine)",
               Evidence(WORKBENCH, PROD, prop="gceSetup.machineType", equals="n2-standard-4")),
    Capability("notebooks.teams", "honoured", "one Vertex AI Workbench instance per team, running as the team's "
               "service account (no public IP, Shielded VM, CMEK disks), its non-reader members may act as it",
               Evidence(WORKBENCH, PROD, prop="labels.mlfabric-notebook", equals="vision")),
    # --- batch ---
    # --- batch: CronJobs on the training cluster (components/kubernetes/batch.py) ---
    *batch_capabilities("gcp-prod", "detector"),
    # --- monitoring ---
    Capability("monitoring.notify", "honoured", "a notification channel per target (email, webhook)",
               Evidence(CHANNEL, DEV, prop="type", equals="email")),
    Capability("monitoring.latency_p99_ms", "honoured", "each endpoint's p99 latency alert",
               Evidence(ALERT, PROD, prop="conditions[0].conditionThreshold.thresholdValue", equals=250)),
    Capability("monitoring.error_rate_percent", "honoured", "each endpoint's error-rate alert (a fraction)",
               Evidence(ALERT, PROD, prop="conditions[0].conditionThreshold.thresholdValue", equals=0.01)),
    Capability("monitoring.gpu_utilization_low_percent", "honoured", "the GPU duty-cycle alert",
               Evidence(ALERT, PROD, prop="conditions[0].conditionThreshold.thresholdValue", equals=15)),
    Capability("monitoring.log_retention_days", "honoured", "the platform log bucket's retention",
               Evidence(LOG_BUCKET, PROD, prop="retentionDays", equals=90)),
    # --- rbac ---
    Capability("rbac.personas", "honoured", "predefined-role grants to the persona's principals",
               Evidence(PROJECT_MEMBER, DEV, prop="member", equals="group:vision-ml-engineering@example.com")),
    Capability("rbac.custom_personas", "honoured", "the grants of the access level's template",
               Evidence(PROJECT_MEMBER, DEV, {"rbac": {"custom_personas": {"auditors": {"access": "read"}},
                                                       "personas": {"auditors": ["group:audit@example.com"]}}},
                        prop="member", equals="group:audit@example.com")),
    Capability("storage.replication_region", "honoured", "a CMEK replica bucket per data bucket in that region, "
               "kept current by a Storage Transfer Service replication job (existing buckets are not replaced)",
               Evidence(TRANSFER_JOB, PROD, prop="replicationSpec.gcsDataSink.bucketName")),
    Capability("rbac.allow_guardrail_changes", "honoured", "false: an IAM deny policy takes bucket and cluster "
               "updates and bucket IAM from admin principals; true: no deny policy (check reports it)",
               Evidence(DENY_POLICY, DEV, prop="rules[0].denyRule.deniedPrincipals[0]",
                        equals="principalSet://goog/group/ml-platform@example.com")),
    *budget_rows(),
)
