"""What AWS does with each spec field (the kit's ``capabilities``; SDK-free).

One row per spec field (``components/capabilities.py``): honoured, with the resource or input of an
example stack's plan that proves it (``Evidence``), or refused, with what to use instead. A field
that behaves differently on an existing VPC has one row per case.

On an existing VPC (``network.existing_network_id``), mlfabric adds what attaches to a VPC it does
not own — the S3 gateway endpoint, the ECR/STS interface endpoints, the flow log — and refuses the
settings that describe the VPC itself (CIDR, zone count, NAT gateways) when they differ from the
environment's default: the spec cannot tell a default from the same value written out, so only a
value someone changed is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from mlfabric.components.capabilities import Capability, Evidence, budget_rows, everywhere
from mlfabric.components.kubernetes.batch_rules import batch_capabilities
from mlfabric.components.kubernetes.gpu_pool import GPU_POOL_LABEL

if TYPE_CHECKING:
    from mlfabric.components.spec import PlatformSpec

EXISTING_VPC: Final = "vpc-0123456789abcdef0"
WITH_EXISTING_NETWORK: Final = "with existing_network_id"
NEW_NETWORK: Final = "new network"
# prod with an existing VPC: its CIDR is the default one, so nothing describing the VPC is refused
_PROD_ON_EXISTING_VPC: Final = {"network": {"existing_network_id": EXISTING_VPC, "cidr": "10.0.0.0/16"}}
_DEV_ON_EXISTING_VPC: Final = {"network": {"existing_network_id": EXISTING_VPC}}


def _environment_default(field: str, spec: PlatformSpec) -> Any:
    """The value ``network.<field>`` takes in the spec's environment when the spec omits it."""
    from mlfabric.components.spec.base import ENV_DEFAULTS_KEY
    from mlfabric.components.spec.network import NetworkSpec

    info = NetworkSpec.model_fields[field]
    extra = info.json_schema_extra
    if isinstance(extra, dict) and ENV_DEFAULTS_KEY in extra:
        by_env = extra[ENV_DEFAULTS_KEY]
        assert isinstance(by_env, dict)
        return by_env[spec.environment]
    return info.default


def _changed_on_existing_network(field: str) -> Callable[[Any, PlatformSpec], bool]:
    def refused(value: Any, spec: PlatformSpec) -> bool:
        return spec.network.existing_network_id is not None and value != _environment_default(field, spec)

    return refused


def _scorer(**changes: Any) -> dict[str, Any]:
    """The dev stack's endpoint with ``changes`` (a patch replaces the whole endpoints list)."""
    endpoint = {"name": "scorer", "model": "fraud-detector", "image": "scorer:1.4.2", "instance": "ml.m5.large",
                "max_replicas": 2, **changes}
    return {"serving": {"endpoints": [endpoint]}}


_ROUTING: Final = "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration"
CLUSTER: Final = "aws:eks/cluster:Cluster"
NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
BUCKET: Final = "aws:s3/bucket:Bucket"
LIFECYCLE: Final = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ENDPOINT: Final = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG: Final = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL: Final = "aws:sagemaker/model:Model"
VPC_ENDPOINT: Final = "aws:ec2/vpcEndpoint:VpcEndpoint"
REPOSITORY: Final = "aws:ecr/repository:Repository"
ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE: Final = "aws:iam/role:Role"
LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
PLACEMENT_GROUP: Final = "aws:ec2/placementGroup:PlacementGroup"
FSX: Final = "aws:fsx/lustreFileSystem:LustreFileSystem"
DATA_REPOSITORY: Final = "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation"
ACCESS_POLICY: Final = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
NAMESPACE: Final = "kubernetes:core/v1:Namespace"
CLUSTER_QUEUE: Final = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
_QUOTA: Final = "spec.resourceGroups[0].flavors[0]"
# the prod stack's a100 pool with a capacity reservation (a patch replaces the whole pool list)
_RESERVED: Final = {"training": {"gpu_pools": [
    {"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 8, "max_nodes": 4, "spot": False,
     "reservation": "cr-0123456789abcdef0"},
    {"name": "l4", "accelerator": "l4", "max_nodes": 8}]}}

MLFLOW: Final = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
DOMAIN: Final = "aws:sagemaker/domain:Domain"
USER_PROFILE: Final = "aws:sagemaker/userProfile:UserProfile"
DATA_QUALITY: Final = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
_JUPYTER_IDLE: Final = "defaultUserSettings.jupyterLabAppSettings.appLifecycleManagement.idleSettings"

CAPABILITIES: Final[tuple[Capability, ...]] = (
    # --- identity and placement ------------------------------------------------------------------
    everywhere("spec_version", "format version 1: the only one; the schema refuses any other"),
    everywhere("name", "prefix of every resource's logical and physical name (<name>-<environment>)",
               Evidence(CLUSTER, "prod", prop="name", equals="fraud-prod")),
    everywhere("environment", "picks the environment defaults and is the mlfabric-environment tag",
               Evidence(BUCKET, "prod", prop="tags.mlfabric-environment", equals="prod")),
    everywhere("cloud", "the AWS kit builds every concern with pulumi-aws",
               Evidence("pulumi:providers:aws", "dev")),
    everywhere("region", "the explicit AWS provider's region",
               Evidence("pulumi:providers:aws", "prod", prop="region", equals="us-east-1")),
    everywhere("tags", "merged into every resource's tags (at most 50 per resource, values of the characters "
               "AWS APIs accept: spec_rules.py)",
               Evidence(BUCKET, "prod", prop="tags.team", equals="risk-ml")),
    Capability("deletion_protection", "honoured", "protect and retain_on_delete on stateful resources; ECR "
               "repositories without force_delete", Evidence(REPOSITORY, "prod", prop="forceDelete", equals=False)),
    # --- network ---------------------------------------------------------------------------------
    Capability("network.cidr", "honoured", "the new VPC's CIDR block, carved into subnets",
               Evidence("aws:ec2/vpc:Vpc", "prod", prop="cidrBlock", equals="10.40.0.0/16"), case=NEW_NETWORK),
    Capability("network.cidr", "refused", "an existing VPC keeps its own CIDR: omit network.cidr",
               refused_when=_changed_on_existing_network("cidr"), example="10.8.0.0/16", case=WITH_EXISTING_NETWORK),
    Capability("network.availability_zones", "honoured", "a private and a public subnet per zone",
               Evidence("aws:ec2/subnet:Subnet", "prod", prop="tags.Name", equals="fraud-prod-private-3"),
               case=NEW_NETWORK),
    Capability("network.availability_zones", "refused", "an existing VPC keeps its own subnets and zones (mlfabric "
               "uses the subnets tagged kubernetes.io/role/internal-elb and kubernetes.io/role/elb): omit "
               "network.availability_zones", refused_when=_changed_on_existing_network("availability_zones"),
               example=3, case=WITH_EXISTING_NETWORK),
    Capability("network.nat_gateways", "honoured", "one NAT gateway, or one per zone with a private route table each",
               Evidence("aws:ec2/natGateway:NatGateway", "prod", prop="tags.Name", equals="fraud-prod-nat-3"),
               case=NEW_NETWORK),
    Capability("network.nat_gateways", "refused", "an existing VPC keeps its own egress (NAT gateways and routes "
               "are the VPC owner's): omit network.nat_gateways", refused_when=_changed_on_existing_network(
                   "nat_gateways"), example="per-zone", case=WITH_EXISTING_NETWORK),
    Capability("network.flow_logs", "honoured", "a VPC flow log of all traffic to a KMS-encrypted CloudWatch log group",
               Evidence("aws:ec2/flowLog:FlowLog", "prod", prop="trafficType", equals="ALL"), case=NEW_NETWORK),
    Capability("network.flow_logs", "honoured", "a flow log added to the existing VPC",
               Evidence("aws:ec2/flowLog:FlowLog", "prod", _PROD_ON_EXISTING_VPC, prop="vpcId", equals=EXISTING_VPC),
               case=WITH_EXISTING_NETWORK),
    Capability("network.private_endpoints", "honoured", "ECR api/dkr and STS interface endpoints with private DNS in "
               "the private subnets (the S3 gateway endpoint is always created)",
               Evidence(VPC_ENDPOINT, "prod", prop="vpcEndpointType", equals="Interface"), case=NEW_NETWORK),
    Capability("network.private_endpoints", "honoured", "the interface endpoints are added to the existing VPC's "
               "private subnets (those tagged kubernetes.io/role/internal-elb)",
               Evidence(VPC_ENDPOINT, "prod", _PROD_ON_EXISTING_VPC, prop="serviceName",
                        equals="com.amazonaws.us-east-1.ecr.dkr"), case=WITH_EXISTING_NETWORK),
    Capability("network.existing_network_id", "honoured", "the VPC and its tagged subnets are read, not created; the "
               "S3 gateway endpoint is added on the private subnets' route tables",
               Evidence(VPC_ENDPOINT, "dev", _DEV_ON_EXISTING_VPC, prop="vpcId", equals=EXISTING_VPC)),
    # --- storage ---------------------------------------------------------------------------------
    Capability("storage.buckets[].name", "honoured", "one private, KMS-encrypted, TLS-only S3 bucket per entry",
               Evidence(BUCKET, "dev", prop="tags.mlfabric-bucket", equals="datasets")),
    Capability("storage.buckets[].renamed_from", "honoured", "aliases on the bucket and its settings keep the "
               "deployed bucket (and its auto-generated name)",
               Evidence(BUCKET, "dev", {"storage": {"buckets": [
                   {"name": "training-data", "renamed_from": "datasets", "retention_days": 90},
                   {"name": "artifacts"}, {"name": "models"}]}}, prop="tags.mlfabric-bucket", equals="training-data")),
    Capability("storage.buckets[].retention_days", "honoured", "a lifecycle rule expiring objects",
               Evidence(LIFECYCLE, "dev", prop="rules[2].expiration.days", equals=90)),
    Capability("storage.buckets[].archive_after_days", "honoured", "a lifecycle transition to STANDARD_IA",
               Evidence(LIFECYCLE, "prod", prop="rules[2].transitions[0].days", equals=90)),
    Capability("storage.versioning", "honoured", "BucketVersioning Enabled (Suspended when off)",
               Evidence("aws:s3/bucketVersioning:BucketVersioning", "prod",
                        prop="versioningConfiguration.status", equals="Enabled")),
    Capability("storage.noncurrent_version_retention_days", "honoured", "a lifecycle rule expiring old versions",
               Evidence(LIFECYCLE, "prod", prop="rules[1].noncurrentVersionExpiration.noncurrentDays", equals=90)),
    Capability("storage.access_logging", "honoured", "S3 server access logs into a dedicated log bucket",
               Evidence("aws:s3/bucketLogging:BucketLogging", "prod", prop="targetPrefix", equals="datasets/")),
    Capability("storage.force_destroy", "honoured", "the buckets' force_destroy",
               Evidence(BUCKET, "dev", prop="forceDestroy", equals=True)),
    Capability("storage.key_rotation_days", "honoured", "the rotation period of every platform KMS key (storage, "
               "registry, cluster, flow logs, monitoring, replica)",
               Evidence("aws:kms/key:Key", "prod", prop="rotationPeriodInDays", equals=90)),
    # --- training --------------------------------------------------------------------------------
    Capability("training.cluster.kubernetes_version", "honoured", "the EKS control plane and node groups' version, "
               "checked against the EKS calendar (kubernetes_versions.json)",
               Evidence(CLUSTER, "prod", prop="version", equals="1.35")),
    Capability("training.cluster.endpoint_public_cidrs", "honoured", "the EKS public endpoint, open to these CIDRs "
               "only (private only when empty)",
               Evidence(CLUSTER, "dev", prop="vpcConfig.publicAccessCidrs[0]", equals="203.0.113.0/24")),
    Capability("training.cluster.system_pool.machine", "honoured", "the system node group's EC2 instance type "
               "(x86_64, checked against the EC2 instance types)",
               Evidence(NODE_GROUP, "prod", prop="instanceTypes[0]", equals="m6i.large")),
    Capability("training.cluster.system_pool.min_nodes", "honoured", "the system node group's minimum size",
               Evidence(NODE_GROUP, "prod", prop="scalingConfig.minSize", equals=2)),
    Capability("training.cluster.system_pool.max_nodes", "honoured", "the system node group's maximum size",
               Evidence(NODE_GROUP, "prod", prop="scalingConfig.maxSize", equals=4)),
    Capability("training.cluster.audit_logging", "honoured", "EKS control-plane logs (api, audit, authenticator, "
               "controllerManager, scheduler) into a KMS-encrypted log group",
               Evidence(CLUSTER, "prod", prop="enabledClusterLogTypes[1]", equals="audit")),
    Capability("training.gpu_pools[].name", "honoured", "one EKS managed node group per pool (mlfabric-node-pool tag, "
               f"{GPU_POOL_LABEL} label)",
               Evidence(NODE_GROUP, "prod", prop="tags.mlfabric-node-pool", equals="a100")),
    Capability("training.gpu_pools[].renamed_from", "honoured", "aliases on the node group, its launch template and "
               "its autoscaler tags keep the deployed pool",
               Evidence(NODE_GROUP, "dev", {"training": {"gpu_pools": [
                   {"name": "inference", "renamed_from": "l4", "accelerator": "l4", "max_nodes": 4}]}},
                   prop="tags.mlfabric-node-pool", equals="inference")),
    Capability("training.gpu_pools[].accelerator", "honoured", "the catalogue's EC2 GPU instance type",
               Evidence(NODE_GROUP, "prod", prop="instanceTypes[0]", equals="p4de.24xlarge")),
    Capability("training.gpu_pools[].gpus_per_node", "honoured", "the instance size with that many GPUs",
               Evidence(NODE_GROUP, "dev", {"training": {"gpu_pools": [
                   {"name": "l4", "accelerator": "l4", "gpus_per_node": 4, "max_nodes": 4}]}},
                   prop="instanceTypes[0]", equals="g6.12xlarge")),
    Capability("training.gpu_pools[].min_nodes", "honoured", "the node group's minimum size (0 scales to zero)",
               Evidence(NODE_GROUP, "prod", prop="scalingConfig.minSize", equals=0)),
    Capability("training.gpu_pools[].max_nodes", "honoured", "the node group's maximum size",
               Evidence(NODE_GROUP, "prod", prop="scalingConfig.maxSize", equals=8)),
    Capability("training.gpu_pools[].spot", "honoured", "the node group's SPOT capacity type",
               Evidence(NODE_GROUP, "prod", prop="capacityType", equals="SPOT")),
    Capability("training.gpu_pools[].disk_gib", "honoured", "the launch template's gp3 root volume size",
               Evidence("aws:ec2/launchTemplate:LaunchTemplate", "prod",
                        prop="blockDeviceMappings[0].ebs.volumeSize", equals=200)),
    Capability("training.gpu_pools[].interconnect", "honoured", "auto: on an instance type with EFA "
               "(efa_instance_types.json: p4d, p4de, p5, and g4dn/g5/g6 from 12xlarge) one EFA interface per network "
               "card, a cluster placement group, the node group pinned to the first zone's subnet (a cluster placement "
               "group is single-AZ), a security group open only to itself, and the EFA device plugin; on a type "
               "without EFA (g4dn.xlarge, g5.xlarge, g6.xlarge) standard networking, said in a spec note; off: standard "
               "networking",
               Evidence(PLACEMENT_GROUP, "prod", prop="strategy", equals="cluster")),
    Capability("training.gpu_pools[].reservation", "honoured", "the launch template's capacity reservation target: a "
               "reservation id (cr-...) or a capacity reservation resource group ARN, on-demand pools only (spec_rules.py)",
               Evidence(LAUNCH_TEMPLATE, "prod", _RESERVED,
                        prop="capacityReservationSpecification.capacityReservationTarget.capacityReservationId",
                        equals="cr-0123456789abcdef0")),
    Capability("training.gpu_pools[].queued_provisioning", "refused", "EKS has no counterpart of GKE's Dynamic "
               "Workload Scheduler that mlfabric builds on: jobs wait in their Kueue queue while the Cluster "
               "Autoscaler adds nodes; for capacity that is there when a job starts use gpu_pools[].reservation",
               example=True),
    Capability("training.shared_fs.capacity_gib", "honoured", "an FSx for Lustre PERSISTENT_2 SSD file system of that "
               "size (1200 GiB or a multiple of 2400: spec_rules.py), encrypted with the storage key, in the first "
               "private subnet, Lustre ports open to the cluster security group only; each team's shared-data claim",
               Evidence(FSX, "prod", prop="storageCapacity", equals=2400)),
    Capability("training.shared_fs.import_datasets", "honoured", "a data repository association of /datasets with "
               "the datasets bucket (imports and exports new, changed and deleted objects) and a KMS grant for the "
               "file system's S3 role on that bucket's objects",
               Evidence(DATA_REPOSITORY, "prod", prop="fileSystemPath", equals="/datasets")),
    # --- teams -----------------------------------------------------------------------------------
    Capability("teams[].name", "honoured", "namespace team-<name>, service account <name> with its IRSA role "
               "<platform>-<env>-team-<name> (tagged mlfabric-team), ClusterQueue and LocalQueue <name>",
               Evidence(NAMESPACE, "prod", prop="metadata.name", equals="team-vision")),
    Capability("teams[].members", "honoured", "per principal one EKS access entry, and per access level an access "
               "policy association (AmazonEKSViewPolicy, EditPolicy or AdminPolicy) scoped to the teams' namespaces",
               Evidence(ACCESS_POLICY, "prod", prop="accessScope.namespaces[1]", equals="team-fraud")),
    Capability("teams[].gpu_quota[].pool", "honoured", "the pool's ResourceFlavor in the team's ClusterQueue",
               Evidence(CLUSTER_QUEUE, "prod", prop=f"{_QUOTA}.name", equals="a100")),
    Capability("teams[].gpu_quota[].gpus", "honoured", "the ClusterQueue's nominal nvidia.com/gpu quota on the pool's "
               "flavor (and the CPU and memory of those GPUs' share of a node)",
               Evidence(CLUSTER_QUEUE, "prod", prop=f"{_QUOTA}.resources[2].nominalQuota", equals=16)),
    Capability("teams[].gpu_quota[].borrow_gpus", "honoured", "the ClusterQueue's borrowing limit in the platform's "
               "cohort (omitted: no limit)",
               Evidence(CLUSTER_QUEUE, "prod", prop=f"{_QUOTA}.resources[2].borrowingLimit", equals=8)),
    Capability("teams[].storage_prefix", "honoured", "the team role's S3 scope: ListBucket under the prefix "
               "(s3:prefix condition), object reads, writes and deletes under it only",
               Evidence(ROLE, "prod", prop="description",
                        equals="mlfabric fraud-prod: team fraud (team-fraud/fraud), prefix fraud-team/")),
    # --- registry --------------------------------------------------------------------------------
    Capability("registry.repositories", "honoured", "one KMS-encrypted ECR repository each (<platform>-<env>/<name>)",
               Evidence(REPOSITORY, "prod", prop="name", equals="fraud-prod/trainer")),
    Capability("registry.models", "honoured", "one SageMaker model package group each",
               Evidence("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "prod",
                        prop="modelPackageGroupName", equals="fraud-prod-fraud-detector")),
    Capability("registry.renamed_from", "honoured", "aliases keep the deployed repository or model package group, "
               "and its first name (neither can be renamed in place)",
               Evidence(REPOSITORY, "dev", {"registry": {"repositories": ["training", "scorer"],
                                                         "renamed_from": {"training": "trainer"}}},
                        prop="name", equals="fraud-dev/trainer")),
    Capability("registry.immutable_tags", "honoured", "the repositories' IMMUTABLE tag mutability",
               Evidence(REPOSITORY, "prod", prop="imageTagMutability", equals="IMMUTABLE")),
    Capability("registry.scan_on_push", "honoured", "ECR basic scanning on push",
               Evidence(REPOSITORY, "prod", prop="imageScanningConfiguration.scanOnPush", equals=True)),
    Capability("registry.untagged_image_retention_days", "honoured", "an ECR lifecycle policy expiring untagged images",
               Evidence("aws:ecr/lifecyclePolicy:LifecyclePolicy", "prod", prop="policy")),
    # --- serving ---------------------------------------------------------------------------------
    Capability("serving.endpoints[].name", "honoured", "a SageMaker real-time endpoint <platform>-<env>-<name>",
               Evidence(ENDPOINT, "prod", prop="name", equals="fraud-prod-scorer")),
    Capability("serving.endpoints[].renamed_from", "honoured", "aliases keep the deployed endpoint, its URL, alarms "
               "and roles (physical names keep the first name)",
               Evidence(ENDPOINT, "dev", _scorer(name="scoring", renamed_from="scorer"), prop="name",
                        equals="fraud-dev-scorer")),
    Capability("serving.endpoints[].model", "honoured", "the registry model the endpoint serves: checked against "
               "registry.models, and the mlfabric-model tag on its SageMaker models and endpoint",
               Evidence(ENDPOINT, "prod", prop="tags.mlfabric-model", equals="fraud-detector")),
    Capability("serving.endpoints[].image", "honoured", "the SageMaker model's container image (platform "
               "repositories resolved to their ECR URL)",
               Evidence(MODEL, "prod", prop="primaryContainer.image",
                        equals="123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-prod/scorer:1.4.2")),
    Capability("serving.endpoints[].instance", "honoured", "the variants' SageMaker instance type (checked against "
               "the instance types SageMaker endpoints accept)",
               Evidence(ENDPOINT_CONFIG, "prod", prop="productionVariants[0].instanceType", equals="ml.g5.xlarge")),
    Capability("serving.endpoints[].accelerator", "honoured", "the catalogue's 1-GPU SageMaker instance type",
               Evidence(ENDPOINT_CONFIG, "dev", _scorer(instance=None, accelerator="a10g"),
                        prop="productionVariants[0].instanceType", equals="ml.g5.xlarge")),
    Capability("serving.endpoints[].min_replicas", "honoured", "the variants' autoscaling minimum and initial count",
               Evidence("aws:appautoscaling/target:Target", "prod", prop="minCapacity", equals=2)),
    Capability("serving.endpoints[].max_replicas", "honoured", "the variants' autoscaling maximum",
               Evidence("aws:appautoscaling/target:Target", "prod", prop="maxCapacity", equals=8)),
    Capability("serving.endpoints[].target_invocations_per_replica", "honoured", "target tracking on "
               "SageMakerVariantInvocationsPerInstance",
               Evidence("aws:appautoscaling/policy:Policy", "prod",
                        prop="targetTrackingScalingPolicyConfiguration.targetValue", equals=200)),
    Capability("serving.endpoints[].traffic.strategy", "honoured", "the blue/green update policy's traffic routing "
               "(CANARY, LINEAR or ALL_AT_ONCE), rolled back on the variant alarms",
               Evidence(ENDPOINT, "prod", prop=f"{_ROUTING}.type", equals="CANARY")),
    Capability("serving.endpoints[].traffic.canary_percent", "honoured", "the canary (or linear step) size in percent "
               "of capacity (an all-at-once update has no step: a changed value is refused there, spec_rules.py)",
               Evidence(ENDPOINT, "prod", prop=f"{_ROUTING}.canarySize.value", equals=10)),
    Capability("serving.endpoints[].traffic.bake_minutes", "honoured", "the wait between traffic steps (and before "
               "the old fleet is terminated)",
               Evidence(ENDPOINT, "prod", prop=f"{_ROUTING}.waitIntervalInSeconds", equals=900)),
    Capability("serving.endpoints[].traffic.challenger.image", "honoured", "a second production variant "
               "('challenger') running this image",
               Evidence(MODEL, "dev", _scorer(traffic={"challenger": {"image": "scorer:1.5.0", "percent": 20}}),
                        prop="tags.mlfabric-variant", equals="challenger")),
    Capability("serving.endpoints[].traffic.challenger.percent", "honoured", "the challenger variant's weight",
               Evidence(ENDPOINT_CONFIG, "dev", _scorer(traffic={"challenger": {"image": "scorer:1.5.0", "percent": 20}}),
                        prop="productionVariants[1].initialVariantWeight", equals=20)),
    Capability("serving.endpoints[].traffic.shadow.image", "honoured", "a shadow production variant running this image",
               Evidence(ENDPOINT_CONFIG, "dev", _scorer(traffic={"shadow": {"image": "scorer:1.5.0", "percent": 30}}),
                        prop="shadowProductionVariants[0].variantName", equals="shadow")),
    Capability("serving.endpoints[].traffic.shadow.percent", "honoured", "the shadow variant's weight (the share of "
               "requests mirrored)",
               Evidence(ENDPOINT_CONFIG, "dev", _scorer(traffic={"shadow": {"image": "scorer:1.5.0", "percent": 30}}),
                        prop="shadowProductionVariants[0].initialVariantWeight", equals=30)),
    Capability("serving.endpoints[].data_capture_percent", "honoured", "SageMaker data capture of requests and "
               "responses to the artifacts bucket, encrypted with the storage key",
               Evidence(ENDPOINT_CONFIG, "prod", prop="dataCaptureConfig.initialSamplingPercentage", equals=20)),
    # --- monitoring ------------------------------------------------------------------------------
    Capability("monitoring.notify", "honoured", "SNS subscriptions (email or https) to the alert topic",
               Evidence("aws:sns/topicSubscription:TopicSubscription", "prod", prop="endpoint",
                        equals="ml-oncall@example.com")),
    Capability("monitoring.latency_p99_ms", "honoured", "each production variant's p99 ModelLatency alarm "
               "(microseconds), a rollback signal",
               Evidence(ALARM, "prod", prop="threshold", equals=250000)),
    Capability("monitoring.error_rate_percent", "honoured", "each production variant's 5XX and 4XX rate alarms, "
               "rollback signals", Evidence(ALARM, "prod", prop="name", equals="fraud-prod-scorer-main-5xx-rate")),
    Capability("monitoring.gpu_utilization_low_percent", "honoured", "the cluster's idle-GPU alarm (Container Insights)",
               Evidence(ALARM, "prod", prop="name", equals="fraud-prod-cluster-gpu-utilization-low")),
    Capability("monitoring.log_retention_days", "honoured", "the retention of the platform's CloudWatch log groups "
               "(only CloudWatch's periods: spec_rules.py)",
               Evidence("aws:cloudwatch/logGroup:LogGroup", "prod", prop="retentionInDays", equals=90)),
    # --- rbac ------------------------------------------------------------------------------------
    Capability("rbac.personas", "honoured", "an IAM role per persona assumable by its AWS principals (the aws: list "
               "of a per-cloud persona), an EKS access entry and access policy",
               Evidence(ROLE, "prod", prop="name", equals="fraud-prod-data-scientist")),
    Capability("rbac.custom_personas", "honoured", "an IAM role named after the persona with its access level's "
               "grants (read: reader, deploy: ci-deployer, admin: platform-admin)",
               Evidence(ROLE, "dev", {"rbac": {"custom_personas": {"auditors": {"access": "read"}},
                                               "personas": {"auditors": ["arn:aws:iam::123456789012:role/Audit"]}}},
                        prop="name", equals="fraud-dev-auditors")),
    Capability("storage.replication_region", "honoured", "S3 replication of every bucket to a versioned replica "
               "bucket in that region, encrypted with a replica KMS key there (versioning required: spec_rules.py)",
               Evidence("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "prod",
                        {"storage": {"replication_region": "us-west-2"}},
                        prop="rules[0].destination.encryptionConfiguration.replicaKmsKeyId")),
    Capability("rbac.allow_guardrail_changes", "honoured", "false: platform-admin's policy ends with an explicit Deny "
               "of guardrail changes on the platform's resources; true: no Deny, the role is tagged "
               "mlfabric-guardrail-changes=allowed and mlf-aws-guardrail-hatch flags it",
               Evidence(ROLE, "prod", {"rbac": {"allow_guardrail_changes": True}},
                        prop="tags.mlfabric-guardrail-changes", equals="allowed")),
    # --- lifecycle (tracking.py, notebooks.py, drift.py) ------------------------------------------
    Capability("tracking.size", "honoured", "a SageMaker managed MLflow tracking server of that size (Small, Medium, "
               "Large), artifacts under mlflow/ of the artifacts bucket (SSE-KMS with the storage key), IAM-only access "
               "(tracking_uri is its ARN, for the sagemaker-mlflow plugin); use/read policies attached to team, persona "
               "and workload roles",
               Evidence(MLFLOW, "prod", prop="trackingServerSize", equals="Medium")),
    Capability("notebooks.idle_minutes", "honoured", "JupyterLab and Code Editor idle shutdown of the SageMaker Studio "
               "domain (users may lower, not raise it; Studio takes 60 to 525600 minutes: spec_rules.py)",
               Evidence(DOMAIN, "prod", prop=f"{_JUPYTER_IDLE}.idleTimeoutInMinutes", equals=120)),
    Capability("notebooks.machine", "honoured", "the JupyterLab default instance type (omitted: ml.t3.medium)",
               Evidence(DOMAIN, "prod", prop="defaultUserSettings.jupyterLabAppSettings.defaultResourceSpec.instanceType",
                        equals="ml.t3.large")),
    Capability("notebooks.teams", "honoured", "a Studio user profile team-<name> per team, running as the team's IAM "
               "role (SageMaker added to its trust, for this account only); without teams one profile 'platform'",
               Evidence(USER_PROFILE, "prod", prop="userSettings.executionRole",
                        equals="arn:aws:iam::123456789012:role/fraud-prod-team-vision")),
    Capability("serving.endpoints[].monitoring.drift.baseline_prefix", "honoured", "a SageMaker Model Monitor data-"
               "quality job definition comparing the endpoint's capture with statistics.json and constraints.json under "
               "this prefix of the datasets bucket (storage key, network isolation, private subnets); violations and "
               "failed runs reach the alert topic through an EventBridge rule",
               Evidence(DATA_QUALITY, "prod", prop="dataQualityBaselineConfig.constraintsResource.s3Uri")),
    Capability("serving.endpoints[].monitoring.drift.schedule", "honoured", "the monitoring schedule's cron expression "
               "(hourly: cron(0 * ? * * *), daily: cron(0 0 ? * * *))",
               Evidence("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "prod",
                        prop="monitoringScheduleConfig.scheduleConfig.scheduleExpression", equals="cron(0 * ? * * *)")),
    # --- batch: CronJobs on the training cluster (components/kubernetes/batch.py) ---
    *batch_capabilities("prod", "fraud-detector"),
    *budget_rows(),
)
