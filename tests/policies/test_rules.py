"""Every rule of the pack: a compliant fixture passes, a non-compliant one fails, a missing property
is handled (with the outcome stated per rule), and config overrides (properties and enforcement
levels) work.

Fixtures are small dicts of the engine's camelCase props, run through the real pack path
(``mlfabric.check.run_pack`` -> each policy's ``validate`` with ``pulumi_policy`` argument objects).
Integers are written as floats where the engine (and the mock runtime) hand them over that way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from mlfabric.check import PackConfig, RuleSetting, Source, run_pack
from mlfabric.policies.rules import BY_ID, RULES
from tests.policies.helpers import R, messages, records, verdicts

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
GCS = "gcp:storage/bucket:Bucket"
ACCOUNT = "azure-native:storage:StorageAccount"
ACCOUNT_V = "azure-native:storage/v20230501:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
VAULT = "azure-native:keyvault:Vault"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"
AKS = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"
ECR = "aws:ecr/repository:Repository"
AR = "gcp:artifactregistry/repository:Repository"
ACR = "azure-native:containerregistry:Registry"
SM_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SM_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TARGET = "aws:appautoscaling/target:Target"
VERTEX = "gcp:vertex/aiEndpoint:AiEndpoint"
AML_WS = "azure-native:machinelearningservices:Workspace"
AML_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
AML_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CLOUD_RUN = "gcp:cloudrunv2/service:Service"
GCP_ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
AKS_KEY = "azure-native:keyvault:Key"

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0000"
IDENTITY = {"mlfabric-platform": "fraud", "mlfabric-environment": "prod", "managed-by": "mlfabric"}
OWNER = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def bucket(name: str = "data", **props: Any) -> R:
    return R(BUCKET, name, {"tags": IDENTITY, **props})


def sse(algorithm: str, key: str | None = KEY_ARN, target: str = "data") -> R:
    default = {"sseAlgorithm": algorithm, **({"kmsMasterKeyId": key} if key else {})}
    return R(SSE, f"{target}-sse", {"bucket": f"{target}-physical", "rules": [{"applyServerSideEncryptionByDefault": default}]},
             links={"bucket": target})


TLS_DENY = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
OLD_TLS_DENY = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}}
GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
GPU_GROUP = {"instanceTypes": ["g5.xlarge"], "taints": GPU_TAINT, "scalingConfig": {"minSize": 0.0, "maxSize": 4.0}}
CAPTURE = {"enableCapture": True, "initialSamplingPercentage": 20.0, "kmsKeyId": KEY_ARN,
           "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}]}


def endpoint_with_alarms(*alarms: dict[str, Any]) -> list[R]:
    return [R(SM_ENDPOINT, "scorer", {"endpointConfigName": "cfg"}),
            *(R(ALARM, f"alarm{i}", a, links={"dimensions": "scorer"}) for i, a in enumerate(alarms))]


LATENCY_ALARM = {"namespace": "AWS/SageMaker", "metricName": "ModelLatency", "dimensions": {"EndpointName": "x"},
                 "alarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"]}
ERROR_ALARM = {**LATENCY_ALARM, "metricName": "Invocation5XXErrors"}
CHANNELS = ["projects/p/notificationChannels/1"]
RUN_LATENCY = 'metric.type="run.googleapis.com/request_latencies" AND resource.labels.service_name="{}"'
RUN_ERRORS = ('metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="5xx" '
              'AND resource.labels.service_name="{}"')


def cloud_run(name: str = "detector", **props: Any) -> R:
    """A Cloud Run v2 service as mlfabric declares it: an L4 GPU, 2 to 6 instances, a CMEK key."""
    template = {"encryptionKey": "projects/p/locations/l/keyRings/r/cryptoKeys/k", "nodeSelector": {"accelerator": "nvidia-l4"},
                "containers": [{"image": "img", "resources": {"limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}}}]}
    return R(CLOUD_RUN, name, {"name": name, "scaling": {"minInstanceCount": 2.0, "maxInstanceCount": 6.0},
                               "template": template, **props})


def run_alert(kind: str, service: str = "detector", channels: list[str] | None = None, link: bool = True) -> R:
    """A Cloud Monitoring alert policy on a Cloud Run service (``link``: with the property dependency)."""
    filter_ = (RUN_LATENCY if kind == "latency" else RUN_ERRORS).format(service)
    return R(GCP_ALERT, f"{service}-{kind}", {
        "displayName": f"{service}: {'p99 latency' if kind == 'latency' else 'error rate'} too high",
        "conditions": [{"conditionThreshold": {"filter": filter_}}],
        "notificationChannels": CHANNELS if channels is None else channels}, links={"conditions": service} if link else {})


def log_alert(name: str, query: str, **props: Any) -> R:
    """An Azure scheduled-query (log) alert on the online endpoint ``aml``, sent to an action group."""
    return R(LOG_ALERT, name, {"scopes": ["/subscriptions/s/x/onlineEndpoints/aml"], "criteria": {"allOf": [{"query": query}]},
                               "actions": {"actionGroups": ["/ag"]}, "enabled": True, **props}, links={"scopes": "aml"})


AML_TRAFFIC_LATENCY = "AmlOnlineEndpointTrafficLog | summarize p99 = percentile(TotalDurationMs, 99) by bin(TimeGenerated, 5m)"
AML_TRAFFIC_ERRORS = "AmlOnlineEndpointTrafficLog | where ResponseCode >= 500 | summarize count() by bin(TimeGenerated, 5m)"


def aml_deployment(instance: str = "Standard_NC24ads_A100_v4", **props: Any) -> R:
    return R(AML_DEPLOYMENT, "asr-main", {"endpointName": "asr", "deploymentName": "main", "sku": {"capacity": 2.0},
                                          "properties": {"instanceType": instance, "scaleSettings": {"scaleType": "Default"}},
                                          **props})


def autoscale(maximum: str = "6", link: bool = True, **props: Any) -> R:
    """The autoscale setting mlfabric puts on a deployment (capacities are strings in the Azure API)."""
    uri = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/asr/deployments/main"
    return R(AUTOSCALE, "asr-main-scale", {"targetResourceUri": uri, "enabled": True, "profiles": [
        {"name": "requests", "capacity": {"minimum": "2", "maximum": maximum, "default": "2"}}], **props},
        links={"targetResourceUri": "asr-main"} if link else {})


NAMESPACE = "kubernetes:core/v1:Namespace"
KUEUE = "kueue.x-k8s.io/v1beta2"
FSX = "aws:fsx/lustreFileSystem:LustreFileSystem"
FILESTORE = "gcp:filestore/instance:Instance"
AMLFS = "azure-native:storagecache:AmlFilesystem"


MLFLOW = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
DQ = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
DOMAIN = "aws:sagemaker/domain:Domain"
STUDIO_IDLE = {"jupyterLabAppSettings": {"appLifecycleManagement": {"idleSettings": {
    "lifecycleManagement": "ENABLED", "idleTimeoutInMinutes": 60.0}}}}


def capturing_endpoint() -> list[R]:
    """A SageMaker endpoint whose configuration captures requests (today's prod, before drift)."""
    return [R("aws:sagemaker/endpoint:Endpoint", "scorer", {"endpointConfigName": "cfg", "name": "scorer"},
              links={"endpointConfigName": "cfg"}),
            R("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "cfg", {"name": "cfg", "dataCaptureConfig": {
                "enableCapture": True, "initialSamplingPercentage": 20.0}})]


def team_objects(team: str, gpus: float = 8.0) -> list[R]:
    """A team's namespace, ClusterQueue, LocalQueue and ResourceQuota as mlfabric declares them."""
    namespace = f"team-{team}"
    gpu = {"name": "nvidia.com/gpu", "nominalQuota": gpus}
    return [
        R(NAMESPACE, namespace, {"metadata": {"name": namespace, "labels": {"mlfabric.dev/team": team}}}),
        R(f"kubernetes:{KUEUE}:ClusterQueue", f"{team}-queue", {"metadata": {"name": team}, "spec": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [
                {"name": "a100", "resources": [gpu]}]}]}}),
        R(f"kubernetes:{KUEUE}:LocalQueue", f"{team}-local", {"metadata": {"name": team, "namespace": namespace},
                                                              "spec": {"clusterQueue": team}}),
        R("kubernetes:core/v1:ResourceQuota", f"{team}-gpus", {"metadata": {"name": "gpus", "namespace": namespace},
                                                               "spec": {"hard": {"requests.nvidia.com/gpu": "16"}}}),
    ]


def kueue_chart(manage: bool = True) -> R:
    config = f"manageJobsWithoutQueueName: {'true' if manage else 'false'}\n"
    return R("kubernetes:helm.sh/v4:Chart", "kueue", {"chart": "oci://registry.k8s.io/kueue/charts/kueue",
                                                      "values": {"managerConfig": {"controllerManagerConfigYaml": config}}})


def flavor(pool: str) -> R:
    return R(f"kubernetes:{KUEUE}:ResourceFlavor", f"flavor-{pool}", {"metadata": {"name": pool},
                                                                      "spec": {"nodeLabels": {"mlfabric.dev/gpu-pool": pool}}})


AKS_KMS_KEY = R(AKS_KEY, "prod-kms", {"keyName": "aks-etcd-kms", "vaultName": "kvaks", "properties": {"kty": "RSA"}})


@dataclass(frozen=True)
class Case:
    rule: str
    kind: str  # compliant | violating | missing | override
    fixture: R | list[R]
    expect_violation: bool
    properties: dict[str, Any] | None = None
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.kind}:{self.note}" if self.note else f"{self.rule}:{self.kind}"


C, V, M, O = "compliant", "violating", "missing", "override"  # noqa: E741 (table shorthand)

CASES = [
    # --- storage: S3 (stack rules joining v7's separate bucket resources) ---
    Case("mlf-s3-kms-encryption", C, [bucket(), sse("aws:kms")], False),
    Case("mlf-s3-kms-encryption", C, [bucket("data", bucket="data-physical"),
                                      R(SSE, "s", {"bucket": "data-physical", "rules": [
                                          {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                                                  "kmsMasterKeyId": KEY_ARN}}]})],
         False, note="joined-by-bucket-name"),
    Case("mlf-s3-kms-encryption", C, [bucket("logs", tags={**IDENTITY, "mlfabric-bucket": "access-logs"}),
                                      sse("AES256", None, "logs")], False, note="access-log-bucket-exempt"),
    Case("mlf-s3-kms-encryption", V, [bucket(), sse("AES256", None)], True),
    Case("mlf-s3-kms-encryption", V, [bucket(), sse("aws:kms", None)], True, note="aws-managed-key"),
    Case("mlf-s3-kms-encryption", M, [bucket()], True, note="no-encryption-resource"),
    Case("mlf-s3-kms-encryption", O, [bucket("logs", tags={"mlfabric-bucket": "access-logs"}), sse("AES256", None, "logs")],
         True, {"exemptTags": {}}),
    Case("mlf-s3-public-access-block", C, [bucket(), R(PAB, "pab", dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True), links={"bucket": "data"})],
         False),
    Case("mlf-s3-public-access-block", V, [bucket(), R(PAB, "pab", {"blockPublicAcls": True, "blockPublicPolicy": False,
                                                                    "ignorePublicAcls": True, "restrictPublicBuckets": True},
                                                      links={"bucket": "data"})], True),
    Case("mlf-s3-public-access-block", M, [bucket()], True),
    Case("mlf-s3-tls-only", C, [bucket(), R(BUCKET_POLICY, "p", {"policy": doc(TLS_DENY, OLD_TLS_DENY)}, links={"bucket": "data"})],
         False),
    Case("mlf-s3-tls-only", V, [bucket(), R(BUCKET_POLICY, "p", {"policy": doc(TLS_DENY)}, links={"bucket": "data"})], True),
    Case("mlf-s3-tls-only", M, [bucket()], True),
    Case("mlf-s3-tls-only", O, [bucket(), R(BUCKET_POLICY, "p", {"policy": doc(TLS_DENY, OLD_TLS_DENY)}, links={"bucket": "data"})],
         True, {"minTlsVersion": "1.3"}),
    Case("mlf-s3-versioning", C, [bucket(), R(VERSIONING, "v", {"versioningConfiguration": {"status": "Enabled"}},
                                              links={"bucket": "data"})], False),
    Case("mlf-s3-versioning", V, [bucket(), R(VERSIONING, "v", {"versioningConfiguration": {"status": "Suspended"}},
                                              links={"bucket": "data"})], True),
    Case("mlf-s3-versioning", M, [bucket()], True),
    Case("mlf-bucket-no-force-destroy", C, [bucket(forceDestroy=False), R(GCS, "g", {"forceDestroy": False})], False),
    Case("mlf-bucket-no-force-destroy", V, R(GCS, "g", {"forceDestroy": True}), True),
    Case("mlf-bucket-no-force-destroy", M, R(BUCKET, "b", {}), False, note="provider-default-is-false"),
    Case("mlf-kms-key-rotation", C, [R("aws:kms/key:Key", "k", {"enableKeyRotation": True, "rotationPeriodInDays": 365.0}),
                                     R("gcp:kms/cryptoKey:CryptoKey", "g", {"rotationPeriod": "7776000s"}),
                                     R("azure-native:keyvault:Key", "a", {"properties": {"rotationPolicy": {"lifetimeActions": [
                                         {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}}]}}})], False),
    Case("mlf-kms-key-rotation", V, R("aws:kms/key:Key", "k", {"enableKeyRotation": False}), True),
    Case("mlf-kms-key-rotation", M, R("gcp:kms/cryptoKey:CryptoKey", "g", {}), True),
    Case("mlf-kms-key-rotation", C, AKS_KMS_KEY, False, note="aks-kms-key-exempt"),
    Case("mlf-kms-key-rotation", V, R(AKS_KEY, "storage", {"keyName": "storage-cmk", "properties": {"kty": "RSA"}}), True,
         note="key-vault-key-without-rotation"),
    Case("mlf-kms-key-rotation", O, AKS_KMS_KEY, True, {"exemptKeyNames": []}, note="aks-kms-key-no-longer-exempt"),
    Case("mlf-kms-key-rotation", O, R("aws:kms/key:Key", "k", {"enableKeyRotation": True, "rotationPeriodInDays": 365.0}),
         True, {"maxRotationDays": 180}),
    # --- storage: GCS ---
    Case("mlf-gcs-cmek-encryption", C, R(GCS, "g", {"encryption": {"defaultKmsKeyName": "projects/p/keyRings/r/cryptoKeys/k"}}),
         False),
    Case("mlf-gcs-cmek-encryption", V, R(GCS, "g", {"encryption": {}}), True),
    Case("mlf-gcs-cmek-encryption", M, R(GCS, "g", {}), True),
    Case("mlf-gcs-public-access-prevention", C, R(GCS, "g", {"publicAccessPrevention": "enforced"}), False),
    Case("mlf-gcs-public-access-prevention", V, R(GCS, "g", {"publicAccessPrevention": "inherited"}), True),
    Case("mlf-gcs-public-access-prevention", M, R(GCS, "g", {}), True),
    Case("mlf-gcs-uniform-access", C, R(GCS, "g", {"uniformBucketLevelAccess": True}), False),
    Case("mlf-gcs-uniform-access", V, R(GCS, "g", {"uniformBucketLevelAccess": False}), True),
    Case("mlf-gcs-uniform-access", M, R(GCS, "g", {}), True),
    Case("mlf-gcs-versioning", C, R(GCS, "g", {"versioning": {"enabled": True}}), False),
    Case("mlf-gcs-versioning", V, R(GCS, "g", {"versioning": {"enabled": False}}), True),
    Case("mlf-gcs-versioning", M, R(GCS, "g", {}), True),
    # --- storage: Azure ---
    Case("mlf-azure-storage-cmk", C, R(ACCOUNT_V, "st", {"encryption": {"keySource": "Microsoft.Keyvault", "keyVaultProperties": {
        "keyName": "storage-cmk", "keyVaultUri": "https://kv.vault.azure.net/"}}}), False, note="versioned-token"),
    Case("mlf-azure-storage-cmk", V, R(ACCOUNT, "st", {"encryption": {"keySource": "Microsoft.Storage"}}), True),
    Case("mlf-azure-storage-cmk", M, R(ACCOUNT, "st", {}), True),
    Case("mlf-azure-storage-no-public-blob", C, [R(ACCOUNT, "st", {"allowBlobPublicAccess": False}),
                                                 R(CONTAINER, "c", {"publicAccess": "None"})], False),
    Case("mlf-azure-storage-no-public-blob", V, R(CONTAINER, "c", {"publicAccess": "Blob"}), True),
    Case("mlf-azure-storage-no-public-blob", M, R(ACCOUNT, "st", {}), True),
    Case("mlf-azure-storage-tls", C, R(ACCOUNT, "st", {"enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2"}), False),
    Case("mlf-azure-storage-tls", V, R(ACCOUNT, "st", {"enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_0"}), True),
    Case("mlf-azure-storage-tls", M, R(ACCOUNT, "st", {}), True),
    Case("mlf-azure-blob-versioning", C, [R(ACCOUNT, "st", {}), R(BLOB_SERVICE, "bs", {"isVersioningEnabled": True},
                                                                 links={"accountName": "st"})], False),
    Case("mlf-azure-blob-versioning", C, [R(ACCOUNT, "logs", {"tags": {"mlfabric-bucket": "access-logs"}})], False,
         note="access-log-account-exempt"),
    Case("mlf-azure-blob-versioning", V, [R(ACCOUNT, "st", {}), R(BLOB_SERVICE, "bs", {"isVersioningEnabled": False},
                                                                 links={"accountName": "st"})], True),
    Case("mlf-azure-blob-versioning", M, [R(ACCOUNT, "st", {})], True),
    Case("mlf-azure-blob-versioning", O, [R(ACCOUNT, "logs", {"tags": {"mlfabric-bucket": "access-logs"}})], True,
         {"exemptTags": {}}),
    Case("mlf-azure-keyvault-purge-protection", C, R(VAULT, "kv", {"properties": {"enablePurgeProtection": True,
                                                                                  "enableSoftDelete": True}}), False),
    Case("mlf-azure-keyvault-purge-protection", V, R(VAULT, "kv", {"properties": {"enablePurgeProtection": False}}), True),
    Case("mlf-azure-keyvault-purge-protection", M, R(VAULT, "kv", {}), True),
    # --- clusters ---
    Case("mlf-cluster-private-endpoint", C, [
        R(EKS, "eks", {"vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True}}),
        R(EKS, "eks2", {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}}),
        R(GKE, "gke", {"privateClusterConfig": {"enablePrivateEndpoint": True}}),
        R(GKE, "gke2", {"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}]}}),
        R(AKS, "aks", {"apiServerAccessProfile": {"enablePrivateCluster": True}})], False),
    Case("mlf-cluster-private-endpoint", V, R(EKS, "eks", {"vpcConfig": {"endpointPublicAccess": True,
                                                                          "publicAccessCidrs": ["0.0.0.0/0"]}}), True),
    Case("mlf-cluster-private-endpoint", V, R(GKE, "gke", {"masterAuthorizedNetworksConfig": {"cidrBlocks": [
        {"cidrBlock": "0.0.0.0/0"}]}}), True, note="gke-open"),
    Case("mlf-cluster-private-endpoint", V, R(AKS, "aks", {"apiServerAccessProfile": {"authorizedIPRanges": []}}), True,
         note="aks-public"),
    Case("mlf-cluster-private-endpoint", M, R(EKS, "eks", {}), True, note="eks-defaults-to-public"),
    Case("mlf-cluster-secrets-encryption", C, [
        R(EKS, "eks", {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}}}),
        R(GKE, "gke", {"databaseEncryption": {"state": "ENCRYPTED", "keyName": "projects/p/cryptoKeys/k"}}),
        R(AKS, "aks", {"securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyId": "https://kv/keys/k/1"}}})], False),
    Case("mlf-cluster-secrets-encryption", V, R(GKE, "gke", {"databaseEncryption": {"state": "DECRYPTED"}}), True),
    Case("mlf-cluster-secrets-encryption", M, R(AKS, "aks", {}), True),
    Case("mlf-cluster-audit-logging", C, [
        R(EKS, "eks", {"enabledClusterLogTypes": ["api", "audit", "authenticator"]}), R(GKE, "gke", {}),
        R(AKS, "aks", {}), R("azure-native:monitor:DiagnosticSetting", "diag", {
            "logs": [{"category": "kube-audit-admin", "enabled": True}]}, links={"resourceUri": "aks"})], False),
    Case("mlf-cluster-audit-logging", V, [R(AKS, "aks", {}), R("azure-native:monitor:DiagnosticSetting", "diag", {
        "logs": [{"category": "kube-apiserver", "enabled": True}]}, links={"resourceUri": "aks"})], True),
    Case("mlf-cluster-audit-logging", V, R(GKE, "gke", {"loggingService": "none"}), True, note="gke-logging-off"),
    Case("mlf-cluster-audit-logging", M, R(EKS, "eks", {}), True),
    Case("mlf-cluster-audit-logging", O, R(EKS, "eks", {"enabledClusterLogTypes": ["audit"]}), True,
         {"eksLogTypes": ["audit", "authenticator"]}),
    Case("mlf-cluster-workload-identity", C, [
        R(EKS, "eks", {}), R("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "oidc", {"url": "https://oidc"},
                             links={"url": "eks"}),
        R(EKS, "eks2", {}), R("aws:eks/addon:Addon", "pia", {"addonName": "eks-pod-identity-agent"},
                              links={"clusterName": "eks2"}),
        R(GKE, "gke", {"workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"}}),
        R(AKS, "aks", {"securityProfile": {"workloadIdentity": {"enabled": True}}, "oidcIssuerProfile": {"enabled": True}})],
         False),
    Case("mlf-cluster-workload-identity", V, [R(EKS, "eks", {})], True),
    Case("mlf-cluster-workload-identity", V, [R(GKE_POOL, "pool", {"nodeConfig": {"workloadMetadataConfig": {
        "mode": "GCE_METADATA"}}})], True, note="gke-node-metadata"),
    Case("mlf-cluster-workload-identity", M, [R(GKE, "gke", {})], True),
    # --- GPU pools ---
    Case("mlf-gpu-pool-tainted", C, [
        R(NODE_GROUP, "gpu", GPU_GROUP), R(NODE_GROUP, "cpu", {"instanceTypes": ["m6i.large"]}),
        R(GKE_POOL, "l4", {"nodeConfig": {"machineType": "g2-standard-4", "guestAccelerators": [{"type": "nvidia-l4", "count": 1.0}],
                                          "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]}}),
        R(AKS_POOL, "t4", {"vmSize": "Standard_NC4as_T4_v3", "nodeTaints": ["nvidia.com/gpu=present:NoSchedule"]})], False),
    Case("mlf-gpu-pool-tainted", V, R(NODE_GROUP, "gpu", {"instanceTypes": ["p4de.24xlarge"]}), True),
    Case("mlf-gpu-pool-tainted", V, R(AKS, "aks", {"agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v5"},
                                                                         {"name": "gpu", "vmSize": "Standard_NC24ads_A100_v4"}]}),
         True, note="aks-inline-pool"),
    Case("mlf-gpu-pool-tainted", M, R(NODE_GROUP, "gpu", {"amiType": "AL2023_x86_64_NVIDIA"}), True, note="gpu-ami-no-taints"),
    Case("mlf-gpu-pool-tainted", O, R(NODE_GROUP, "gpu", GPU_GROUP), True, {"taintKeys": ["sku"]}),
    Case("mlf-gpu-pool-max-nodes", C, R(NODE_GROUP, "gpu", GPU_GROUP), False),
    Case("mlf-gpu-pool-max-nodes", V, R(NODE_GROUP, "gpu", {**GPU_GROUP, "scalingConfig": {"maxSize": 40.0}}), True),
    Case("mlf-gpu-pool-max-nodes", V, R(GKE_POOL, "l4", {"nodeConfig": {"machineType": "g2-standard-4"}, "nodeLocations": [
        "us-central1-a", "us-central1-b", "us-central1-c"], "autoscaling": {"maxNodeCount": 3.0}}), True,
         {"maxNodesPerPool": 8}, note="gke-per-zone-max"),
    Case("mlf-gpu-pool-max-nodes", M, R(NODE_GROUP, "gpu", {"instanceTypes": ["g5.xlarge"]}), True, note="unbounded"),
    Case("mlf-gpu-pool-max-nodes", O, R(NODE_GROUP, "gpu", GPU_GROUP), True, {"maxNodesPerPool": 2}),
    Case("mlf-gpu-allowed-types", C, R(NODE_GROUP, "gpu", GPU_GROUP), False, note="empty-allow-list-allows-all"),
    Case("mlf-gpu-allowed-types", C, R(GKE_POOL, "l4", {"nodeConfig": {"machineType": "g2-standard-4", "guestAccelerators": [
        {"type": "nvidia-l4", "count": 1.0}]}}), False, {"allowedInstanceTypes": ["g2-*"], "allowedAccelerators": ["nvidia-l4"]},
         note="gke-allowed"),
    Case("mlf-gpu-allowed-types", V, R(NODE_GROUP, "gpu", {"instanceTypes": ["p5.48xlarge"]}), True,
         {"allowedInstanceTypes": ["g4dn.*", "g5.*"]}),
    Case("mlf-gpu-allowed-types", M, R(NODE_GROUP, "gpu", {}), False, {"allowedInstanceTypes": ["g5.*"]},
         note="no-machine-is-not-a-gpu-pool"),
    Case("mlf-gpu-allowed-types", O, R(GKE_POOL, "a100", {"nodeConfig": {"machineType": "a2-highgpu-1g", "guestAccelerators": [
        {"type": "nvidia-tesla-a100", "count": 1.0}]}}), True, {"allowedAccelerators": ["nvidia-l4", "nvidia-tesla-t4"]}),
    Case("mlf-gke-node-auto-repair-upgrade", C, R(GKE_POOL, "p", {"management": {"autoRepair": True, "autoUpgrade": True}}), False),
    Case("mlf-gke-node-auto-repair-upgrade", V, R(GKE_POOL, "p", {"management": {"autoRepair": True, "autoUpgrade": False}}), True),
    Case("mlf-gke-node-auto-repair-upgrade", M, R(GKE_POOL, "p", {}), False, note="gke-default-is-on"),
    Case("mlf-gke-node-auto-repair-upgrade", V, R(GKE_POOL, "p", {"management": {"autoRepair": False}}), True,
         note="repair-off"),
    Case("mlf-gke-node-auto-repair-upgrade", C, R(GKE_POOL, "p", {"queuedProvisioning": {"enabled": True},
                                                                "management": {"autoRepair": False}}), False,
         note="queued-provisioning-pool"),
    Case("mlf-aks-local-accounts-off", C, R(AKS, "aks", {"disableLocalAccounts": True}), False),
    Case("mlf-aks-local-accounts-off", V, R(AKS, "aks", {"disableLocalAccounts": False}), True),
    Case("mlf-aks-local-accounts-off", M, R(AKS, "aks", {}), True),
    Case("mlf-aks-azure-rbac", C, R(AKS, "aks", {"aadProfile": {"managed": True, "enableAzureRBAC": True}}), False),
    Case("mlf-aks-azure-rbac", V, R(AKS, "aks", {"aadProfile": {"managed": True, "enableAzureRBAC": False}}), True),
    Case("mlf-aks-azure-rbac", M, R(AKS, "aks", {}), True),
    Case("mlf-aks-auto-upgrade", C, R(AKS, "aks", {"autoUpgradeProfile": {"upgradeChannel": "patch"}}), False),
    Case("mlf-aks-auto-upgrade", V, R(AKS, "aks", {"autoUpgradeProfile": {"upgradeChannel": "none"}}), True),
    Case("mlf-aks-auto-upgrade", M, R(AKS, "aks", {}), True),
    # --- registries ---
    Case("mlf-registry-scan-on-push", C, [R(ECR, "ecr", {"imageScanningConfiguration": {"scanOnPush": True}}),
                                          R(AR, "ar", {"format": "DOCKER"})], False),
    Case("mlf-registry-scan-on-push", C, [R(ECR, "ecr", {}), R("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
                                                                "scan", {"rules": [{"scanFrequency": "SCAN_ON_PUSH"}]})],
         False, note="registry-wide"),
    Case("mlf-registry-scan-on-push", V, [R(AR, "ar", {"vulnerabilityScanningConfig": {"enablementConfig": "DISABLED"}})], True),
    Case("mlf-registry-scan-on-push", M, [R(ECR, "ecr", {})], True),
    Case("mlf-registry-immutable-tags", C, [R(ECR, "ecr", {"imageTagMutability": "IMMUTABLE"}),
                                            R(AR, "ar", {"format": "DOCKER", "dockerConfig": {"immutableTags": True}})], False),
    Case("mlf-registry-immutable-tags", V, R(ECR, "ecr", {"imageTagMutability": "MUTABLE"}), True),
    Case("mlf-registry-immutable-tags", M, R(ECR, "ecr", {}), True),
    Case("mlf-registry-cmk-encryption", C, [
        R(ECR, "ecr", {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}]}),
        R(AR, "ar", {"kmsKeyName": "projects/p/cryptoKeys/k"}),
        R(ACR, "acr", {"encryption": {"status": "enabled", "keyVaultProperties": {"keyIdentifier": "https://kv/keys/k"}}})], False),
    Case("mlf-registry-cmk-encryption", V, R(ECR, "ecr", {"encryptionConfigurations": [{"encryptionType": "AES256"}]}), True),
    Case("mlf-registry-cmk-encryption", M, R(ACR, "acr", {}), True),
    Case("mlf-acr-admin-user-off", C, R(ACR, "acr", {"adminUserEnabled": False}), False),
    Case("mlf-acr-admin-user-off", V, R(ACR, "acr", {"adminUserEnabled": True}), True),
    Case("mlf-acr-admin-user-off", M, R(ACR, "acr", {}), False, note="azure-default-is-off"),
    Case("mlf-acr-anonymous-pull-off", C, R(ACR, "acr", {"anonymousPullEnabled": False}), False),
    Case("mlf-acr-anonymous-pull-off", V, R(ACR, "acr", {"anonymousPullEnabled": True}), True),
    Case("mlf-acr-anonymous-pull-off", M, R(ACR, "acr", {}), False, note="azure-default-is-off"),
    Case("mlf-acr-defender-scanning", C, [R(ACR, "acr", {}), R("azure-native:security:Pricing", "containers", {
        "pricingName": "Containers", "pricingTier": "Standard"})], False),
    Case("mlf-acr-defender-scanning", V, [R(ACR, "acr", {}), R("azure-native:security:Pricing", "containers", {
        "pricingName": "Containers", "pricingTier": "Free"})], True),
    Case("mlf-acr-defender-scanning", M, [R(ACR, "acr", {})], True),
    # --- serving ---
    Case("mlf-serving-cmk-encryption", C, [
        R(SM_CONFIG, "cfg", {"kmsKeyArn": KEY_ARN, "dataCaptureConfig": CAPTURE}),
        R(VERTEX, "v", {"encryptionSpec": {"kmsKeyName": "projects/p/cryptoKeys/k"}}),
        R(AML_WS, "ws", {"encryption": {"status": "Enabled", "keyVaultProperties": {"keyIdentifier": "https://kv/keys/k"}}})],
         False),
    Case("mlf-serving-cmk-encryption", C, R(SM_CONFIG, "cfg", {"productionVariants": [
        {"variantName": "main", "instanceType": "ml.g5.xlarge"}]}), False, note="local-nvme-instance-takes-no-key"),
    Case("mlf-serving-cmk-encryption", V, R(SM_CONFIG, "cfg", {"productionVariants": [
        {"variantName": "main", "instanceType": "ml.m5.large"}]}), True, note="ebs-instance-needs-key"),
    Case("mlf-serving-cmk-encryption", V, R(SM_CONFIG, "cfg", {"kmsKeyArn": KEY_ARN, "dataCaptureConfig": {
        **CAPTURE, "kmsKeyId": None}}), True, note="capture-unencrypted"),
    Case("mlf-serving-cmk-encryption", M, R(SM_CONFIG, "cfg", {}), True),
    Case("mlf-serving-cmk-encryption", C, cloud_run(), False, note="cloud-run"),
    Case("mlf-serving-cmk-encryption", V, cloud_run(template={"encryptionKey": ""}), True, note="cloud-run-empty-key"),
    Case("mlf-serving-cmk-encryption", M, R(CLOUD_RUN, "run", {"template": {}}), True, note="cloud-run-no-key"),
    Case("mlf-serving-data-capture", C, [
        R(SM_CONFIG, "cfg", {"dataCaptureConfig": CAPTURE}),
        R(VERTEX, "v", {"predictRequestResponseLoggingConfig": {"enabled": True, "samplingRate": 0.2}}),
        R(AML_DEPLOYMENT, "d", {"properties": {"dataCollector": {"collections": {
            "model_inputs": {"dataCollectionMode": "Enabled"}, "model_outputs": {"dataCollectionMode": "Enabled"}}}}})], False),
    Case("mlf-serving-data-capture", V, R(SM_CONFIG, "cfg", {"dataCaptureConfig": {**CAPTURE, "enableCapture": False}}), True),
    Case("mlf-serving-data-capture", M, R(SM_CONFIG, "cfg", {}), True),
    Case("mlf-serving-data-capture", O, R(SM_CONFIG, "cfg", {"dataCaptureConfig": CAPTURE}), True, {"minSamplingPercent": 50}),
    Case("mlf-serving-min-replicas", C, [
        R(SM_CONFIG, "cfg", {"productionVariants": [{"variantName": "AllTraffic", "initialInstanceCount": 2.0}]}),
        R(TARGET, "t", {"serviceNamespace": "sagemaker", "minCapacity": 2.0, "maxCapacity": 8.0,
                        "resourceId": "endpoint/scorer/variant/AllTraffic"}),
        R(TARGET, "ecs", {"serviceNamespace": "ecs", "minCapacity": 0.0}),
        R(AML_DEPLOYMENT, "d", {"sku": {"name": "Default", "capacity": 2.0}}),
        R("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hpa", {"spec": {"minReplicas": 2.0}})], False),
    Case("mlf-serving-min-replicas", V, R(TARGET, "t", {"serviceNamespace": "sagemaker", "minCapacity": 1.0}), True),
    Case("mlf-serving-min-replicas", V, R(SM_CONFIG, "cfg", {"productionVariants": [{"variantName": "AllTraffic",
                                                                                      "serverlessConfig": {"maxConcurrency": 5.0}}]}),
         True, note="serverless"),
    Case("mlf-serving-min-replicas", M, R(SM_CONFIG, "cfg", {"productionVariants": [{"variantName": "AllTraffic"}]}), True),
    Case("mlf-serving-min-replicas", O, R(AML_DEPLOYMENT, "d", {"sku": {"capacity": 2.0}}), True, {"minReplicas": 3}),
    Case("mlf-serving-min-replicas", C, cloud_run(), False, note="cloud-run"),
    Case("mlf-serving-min-replicas", C, R(CLOUD_RUN, "run", {"template": {"scaling": {"minInstanceCount": 2.0}}}), False,
         note="cloud-run-template-scaling"),
    Case("mlf-serving-min-replicas", V, cloud_run(scaling={"minInstanceCount": 1.0, "maxInstanceCount": 4.0}), True,
         note="cloud-run-one-instance"),
    Case("mlf-serving-min-replicas", M, R(CLOUD_RUN, "run", {"template": {}}), True, note="cloud-run-scales-to-zero"),
    Case("mlf-serving-min-replicas", O, cloud_run(), True, {"minReplicas": 3}, note="cloud-run"),
    Case("mlf-serving-no-anonymous-access", C, [
        R("aws:lambda/functionUrl:FunctionUrl", "u", {"authorizationType": "AWS_IAM"}),
        R("aws:apigateway/method:Method", "m", {"authorization": "AWS_IAM"}),
        R("aws:apigatewayv2/route:Route", "r", {"authorizationType": "JWT"}),
        R(AML_ENDPOINT, "e", {"properties": {"authMode": "AADToken"}})], False),
    Case("mlf-serving-no-anonymous-access", V, R("aws:lambda/functionUrl:FunctionUrl", "u", {"authorizationType": "NONE"}), True),
    Case("mlf-serving-no-anonymous-access", M, R(AML_ENDPOINT, "e", {}), True),
    Case("mlf-serving-no-anonymous-access", C, cloud_run(invokerIamDisabled=False), False, note="cloud-run-iam-checked"),
    Case("mlf-serving-no-anonymous-access", V, cloud_run(invokerIamDisabled=True), True, note="cloud-run-iam-disabled"),
    Case("mlf-serving-no-anonymous-access", M, cloud_run(), False, note="cloud-run-iam-check-is-the-default"),
    Case("mlf-serving-no-anonymous-access", O, R(AML_ENDPOINT, "e", {"properties": {"authMode": "Key"}}), True,
         {"allowedAuthModes": ["AADToken"]}),
    # --- IAM / RBAC ---
    Case("mlf-iam-no-wildcard-admin", C, R("aws:iam/policy:Policy", "p", {"policy": doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*"})}), False),
    Case("mlf-iam-no-wildcard-admin", V, R("aws:iam/rolePolicy:RolePolicy", "p", {"policy": doc(
        {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]})}), True),
    Case("mlf-iam-no-wildcard-admin", V, R("aws:iam/role:Role", "r", {"inlinePolicies": [{"name": "all", "policy": doc(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}]}), True, note="inline-notaction"),
    Case("mlf-iam-no-wildcard-admin", V, R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {
        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), True, note="admin-attachment"),
    Case("mlf-iam-no-wildcard-admin", V, R("azure-native:authorization:RoleDefinition", "d", {"permissions": [
        {"actions": ["*"]}]}), True, note="azure-custom-role"),
    Case("mlf-iam-no-wildcard-admin", M, R("aws:iam/policy:Policy", "p", {}), False),
    Case("mlf-iam-no-open-trust", C, R("aws:iam/role:Role", "r", {"assumeRolePolicy": doc(
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {"oidc.eks:sub": "system:serviceaccount:ml:trainer"}}})}), False),
    Case("mlf-iam-no-open-trust", C, R("aws:iam/role:Role", "r", {"assumeRolePolicy": doc(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}})}), False, note="org-pinned"),
    Case("mlf-iam-no-open-trust", V, R("aws:iam/role:Role", "r", {"assumeRolePolicy": doc(
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})}), True),
    Case("mlf-iam-no-open-trust", V, R("aws:iam/role:Role", "r", {"assumeRolePolicy": doc(
        {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}})}), True,
         note="oidc-without-sub"),
    Case("mlf-iam-no-open-trust", M, R("aws:iam/role:Role", "r", {}), False),
    Case("mlf-iam-no-open-trust", O, R("aws:iam/role:Role", "r", {"assumeRolePolicy": doc(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}})}), True, {"restrictingConditionKeys": []}),
    Case("mlf-gcp-no-primitive-roles", C, R("gcp:projects/iAMMember:IAMMember", "m", {
        "role": "roles/storage.objectViewer", "member": "group:ml@example.com"}), False),
    Case("mlf-gcp-no-primitive-roles", V, R("gcp:projects/iAMMember:IAMMember", "m", {"role": "roles/owner",
                                                                                       "member": "user:a@example.com"}), True),
    Case("mlf-gcp-no-primitive-roles", V, R("gcp:projects/iAMPolicy:IAMPolicy", "p", {"policyData": json.dumps(
        {"bindings": [{"role": "roles/editor", "members": ["group:ml@example.com"]}]})}), True, note="policy-data"),
    Case("mlf-gcp-no-primitive-roles", M, R("gcp:projects/iAMBinding:IAMBinding", "b", {}), False),
    Case("mlf-gcp-no-primitive-roles", O, R("gcp:projects/iAMBinding:IAMBinding", "b", {"role": "roles/viewer",
                                                                                         "members": ["user:a@example.com"]}),
         True, {"forbiddenRoles": ["roles/viewer"]}),
    Case("mlf-gcp-no-public-members", C, R("gcp:storage/bucketIAMMember:BucketIAMMember", "m", {
        "role": "roles/storage.objectCreator", "member": "group:cloud-storage-analytics@google.com"}), False),
    Case("mlf-gcp-no-public-members", V, R("gcp:storage/bucketIAMMember:BucketIAMMember", "m", {
        "role": "roles/storage.objectViewer", "member": "allUsers"}), True),
    Case("mlf-gcp-no-public-members", V, R("gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding", "b", {
        "role": "roles/run.invoker", "members": ["allAuthenticatedUsers"]}), True, note="anonymous-invoke"),
    Case("mlf-gcp-no-public-members", M, R("gcp:storage/bucketIAMMember:BucketIAMMember", "m", {}), False),
    # Anonymous invocation of a Cloud Run service is an invoker grant to allUsers/allAuthenticatedUsers.
    Case("mlf-gcp-no-public-members", C, R("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "m", {
        "name": "detector", "role": "roles/run.invoker", "member": "group:ml@example.com"}), False, note="cloud-run-group"),
    Case("mlf-gcp-no-public-members", V, R("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "m", {
        "name": "detector", "role": "roles/run.invoker", "member": "allUsers"}), True, note="cloud-run-all-users"),
    Case("mlf-gcp-no-public-members", V, R("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "m", {
        "name": "detector", "role": "roles/run.invoker", "member": "allAuthenticatedUsers"}), True,
         note="cloud-run-all-authenticated-users"),
    Case("mlf-gcp-no-public-members", V, R("gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy", "p", {
        "name": "detector", "policyData": json.dumps({"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]})}),
         True, note="cloud-run-policy"),
    Case("mlf-azure-no-owner-contributor", C, R("azure-native:authorization:RoleAssignment", "a", {
        "roleDefinitionId": READER, "scope": "/subscriptions/s"}), False),
    Case("mlf-azure-no-owner-contributor", V, R("azure-native:authorization:RoleAssignment", "a", {
        "roleDefinitionId": OWNER, "scope": "/subscriptions/s"}), True),
    Case("mlf-azure-no-owner-contributor", M, R("azure-native:authorization:RoleAssignment", "a", {}), False),
    Case("mlf-azure-no-owner-contributor", O, R("azure-native:authorization:RoleAssignment", "a", {
        "roleDefinitionId": READER}), True, {"forbiddenRoleDefinitionIds": ["2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"]}),
    # --- tags ---
    Case("mlf-required-tags", C, [bucket(), R(GCS, "g", {"labels": {k.upper(): v for k, v in IDENTITY.items()}}),
                                  R(BUCKET_POLICY, "p", {})], False),
    Case("mlf-required-tags", C, [R("pulumi:providers:aws", "aws", {"defaultTags": json.dumps({"tags": IDENTITY})}),
                                  R(BUCKET, "b", {}, provider="aws")], False, note="provider-default-tags"),
    Case("mlf-required-tags", V, R(ACCOUNT_V, "st", {"tags": {"mlfabric-platform": "fraud"}}), True),
    Case("mlf-required-tags", M, R("aws:kms/key:Key", "k", {}), True),
    Case("mlf-required-tags", O, bucket(), True, {"requiredKeys": ["team", *IDENTITY]}),
    # --- stack rules ---
    Case("mlf-endpoint-alarms", C, endpoint_with_alarms(LATENCY_ALARM, ERROR_ALARM), False),
    Case("mlf-endpoint-alarms", C, [
        R(VERTEX, "v", {"displayName": "scorer"}),
        R("gcp:monitoring/alertPolicy:AlertPolicy", "lat", {"conditions": [{"conditionThreshold": {
            "filter": 'metric.type="aiplatform.googleapis.com/prediction/online/prediction_latencies"'}}],
            "notificationChannels": ["projects/p/notificationChannels/1"]}, links={"conditions": "v"}),
        R("gcp:monitoring/alertPolicy:AlertPolicy", "err", {"conditions": [{"conditionThreshold": {
            "filter": 'metric.type="aiplatform.googleapis.com/prediction/online/error_count"'}}],
            "notificationChannels": ["projects/p/notificationChannels/1"]}, links={"conditions": "v"}),
        R(AML_ENDPOINT, "aml", {}),
        R("azure-native:monitor:MetricAlert", "aml-lat", {"criteria": {"allOf": [{"metricName": "RequestLatency_P99"}]},
                                                          "actions": [{"actionGroupId": "/ag"}]}, links={"scopes": "aml"}),
        R("azure-native:monitor:MetricAlert", "aml-err", {"criteria": {"allOf": [{"metricName": "RequestsPerMinute",
                                                                                   "dimensions": [{"values": ["5xx"]}]}]},
                                                          "actions": [{"actionGroupId": "/ag"}]}, links={"scopes": "aml"})],
         False, note="gcp-and-azure"),
    Case("mlf-alerts-reach-someone", C, [R(SM_ENDPOINT, "scorer", {}), R("aws:sns/topicSubscription:TopicSubscription", "s",
                                                                           {"protocol": "email", "endpoint": "a@b.c"})], False),
    Case("mlf-alerts-reach-someone", V, [R(SM_ENDPOINT, "scorer", {}), R("azure-native:monitor:ActionGroup", "ag",
                                                                           {"emailReceivers": [], "enabled": True})], True),
    Case("mlf-alerts-reach-someone", M, [R(SM_ENDPOINT, "scorer", {})], True),
    Case("mlf-endpoint-alarms", V, endpoint_with_alarms(LATENCY_ALARM), True, note="no-error-alarm"),
    Case("mlf-endpoint-alarms", V, endpoint_with_alarms(LATENCY_ALARM, {**ERROR_ALARM, "alarmActions": []}), True,
         note="error-alarm-notifies-nobody"),
    Case("mlf-endpoint-alarms", M, [R(SM_ENDPOINT, "scorer", {})], True),
    Case("mlf-endpoint-alarms", C, [cloud_run(), run_alert("latency"), run_alert("errors")], False, note="cloud-run"),
    Case("mlf-endpoint-alarms", C, [cloud_run(), run_alert("latency", link=False), run_alert("errors", link=False)], False,
         note="cloud-run-joined-by-filter"),
    Case("mlf-endpoint-alarms", V, [cloud_run(), run_alert("latency"), run_alert("errors", channels=[])], True,
         note="cloud-run-error-policy-notifies-nobody"),
    Case("mlf-endpoint-alarms", V, [cloud_run(), run_alert("latency", "detector-canary", link=False),
                                    run_alert("errors", "detector-canary", link=False)], True,
         note="cloud-run-policies-watch-another-service"),
    Case("mlf-endpoint-alarms", M, cloud_run(), True, note="cloud-run-no-policies"),
    Case("mlf-endpoint-alarms", C, [R(AML_ENDPOINT, "aml", {"name": "aml"}), log_alert("lat", AML_TRAFFIC_LATENCY),
                                    log_alert("err", AML_TRAFFIC_ERRORS)], False, note="azure-log-alerts"),
    Case("mlf-endpoint-alarms", C, [R(AML_ENDPOINT, "aml", {"name": "aml"}),
                                    R("azure-native:monitor:MetricAlert", "lat", {"criteria": {"allOf": [
                                        {"metricName": "RequestLatency_P99"}]}, "actions": [{"actionGroupId": "/ag"}]},
                                      links={"scopes": "aml"}),
                                    R("azure-native:insights/v20180416:ScheduledQueryRule", "err", {
                                        "source": {"query": AML_TRAFFIC_ERRORS, "dataSourceId": "/ws"},
                                        "action": {"aznsAction": {"actionGroup": ["/ag"]}}, "enabled": "true"},
                                      links={"source": "aml"})], False, note="azure-metric-and-insights-log-alert"),
    Case("mlf-endpoint-alarms", V, [R(AML_ENDPOINT, "aml", {"name": "aml"}), log_alert("lat", AML_TRAFFIC_LATENCY),
                                    log_alert("err", AML_TRAFFIC_ERRORS, actions={"actionGroups": []})], True,
         note="azure-log-alert-notifies-nobody"),
    Case("mlf-prod-stateful-protected", C, R(BUCKET, "b", {}, protect=True), False),
    Case("mlf-prod-stateful-protected", V, R("azure-native:keyvault/v20230701:Vault", "kv", {}, protect=False), True),
    Case("mlf-prod-stateful-protected", M, R(EKS, "eks", {}), True, note="protect-not-set"),
    Case("mlf-prod-stateful-protected", O, R(BUCKET, "b", {}), False, {"statefulTypes": ["aws:kms/key:Key"]}),
    Case("mlf-prod-stateful-protected", C, [R("azure-native:machinelearningservices/v20240401:Registry", "models", {}, protect=True),
                                            R("azure-native:operationalinsights:Workspace", "logs", {}, protect=True),
                                            R("gcp:logging/projectBucketConfig:ProjectBucketConfig", "b", {}, protect=True)],
         False, note="registries-and-logs-protected"),
    Case("mlf-prod-stateful-protected", V, R("azure-native:machinelearningservices:Registry", "models", {}), True,
         note="azure-ml-registry"),
    Case("mlf-prod-stateful-protected", V, R("azure-native:operationalinsights:Workspace", "logs", {}), True,
         note="log-analytics-workspace"),
    Case("mlf-prod-stateful-protected", V, R("gcp:logging/projectBucketConfig:ProjectBucketConfig", "logs", {}), True,
         note="gcp-log-bucket"),
    Case("mlf-gpu-budget", C, R(NODE_GROUP, "gpu", GPU_GROUP), False),
    Case("mlf-gpu-budget", V, [R(NODE_GROUP, "a100", {"instanceTypes": ["p4de.24xlarge"], "scalingConfig": {"maxSize": 8.0}}),
                               R(SM_CONFIG, "cfg", {"productionVariants": [{"variantName": "AllTraffic",
                                                                            "instanceType": "ml.g5.xlarge",
                                                                            "initialInstanceCount": 2.0}]})], True),
    Case("mlf-gpu-budget", M, R(NODE_GROUP, "gpu", {"instanceTypes": ["g9.xlarge"], "scalingConfig": {"maxSize": 1.0}}), True,
         note="unknown-gpu-machine"),
    Case("mlf-gpu-budget", O, R(NODE_GROUP, "gpu", GPU_GROUP), True, {"maxTotalGpus": 2}),
    Case("mlf-gpu-budget", O, R(NODE_GROUP, "gpu", {"instanceTypes": ["g9.xlarge"], "scalingConfig": {"maxSize": 1.0}}), False,
         {"gpusPerInstanceType": {"g9.xlarge": 1}}, note="extra-machine"),
    Case("mlf-gpu-budget", C, cloud_run(), False, {"maxTotalGpus": 6}, note="cloud-run-at-max-instances"),
    Case("mlf-gpu-budget", V, cloud_run(), True, {"maxTotalGpus": 5}, note="cloud-run-over-budget"),
    Case("mlf-gpu-budget", M, cloud_run(scaling={}), True, {"maxTotalGpus": 99}, note="cloud-run-no-max-counts-100"),
    Case("mlf-gpu-budget", C, [aml_deployment(), autoscale()], False, {"maxTotalGpus": 6}, note="azure-autoscaled"),
    Case("mlf-gpu-budget", V, [aml_deployment(), autoscale()], True, {"maxTotalGpus": 5}, note="azure-autoscaled"),
    Case("mlf-gpu-budget", V, [aml_deployment(), autoscale(link=False)], True, {"maxTotalGpus": 5},
         note="azure-autoscale-joined-by-uri"),
    Case("mlf-gpu-budget", C, [aml_deployment(), autoscale(enabled=False)], False, {"maxTotalGpus": 2},
         note="azure-autoscale-disabled"),
    Case("mlf-allowed-regions", C, [R("pulumi:providers:aws", "aws", {"region": "us-east-1"}),
                                    R(ACCOUNT, "st", {"location": "East US"}),
                                    R("azure-native:monitor:ActionGroup", "ag", {"location": "Global"}),
                                    R(GKE_POOL, "p", {"location": "us-east1-b"})], False,
         {"allowedRegions": ["us-east-1", "eastus", "us-east1"]}),
    Case("mlf-allowed-regions", C, R("pulumi:providers:gcp", "gcp", {"region": "asia-east1"}), False, note="empty-allows-all"),
    Case("mlf-allowed-regions", V, R("pulumi:providers:azure-native", "az", {"location": "westeurope"}), True,
         {"allowedRegions": ["eastus"]}),
    Case("mlf-allowed-regions", M, R("pulumi:providers:aws", "aws", {}), False, {"allowedRegions": ["eu-west-1"]}),
    Case("mlf-allowed-regions", O, R(BUCKET, "b", {"region": "us-west-2"}), True, {"allowedRegions": ["us-east-1"]}),
    Case("mlf-alert-topic-encrypted", C, R("aws:sns/topic:Topic", "t", {"kmsMasterKeyId": "alias/aws/sns"}), False),
    Case("mlf-alert-topic-encrypted", V, R("aws:sns/topic:Topic", "t", {"kmsMasterKeyId": ""}), True),
    Case("mlf-alert-topic-encrypted", M, R("aws:sns/topic:Topic", "t", {}), True),
    # --- hardening (azure) ---
    Case("mlf-aks-encryption-at-host", C, R("azure-native:containerservice:AgentPool", "p",
                                            {"agentPoolName": "t4", "enableEncryptionAtHost": True}), False),
    Case("mlf-aks-encryption-at-host", V, R("azure-native:containerservice:ManagedCluster", "c",
                                            {"agentPoolProfiles": [{"name": "system", "enableEncryptionAtHost": False}]}), True),
    Case("mlf-aks-encryption-at-host", M, R("azure-native:containerservice:AgentPool", "p", {"agentPoolName": "t4"}), True),
    Case("mlf-aks-network-policy", C, R("azure-native:containerservice:ManagedCluster", "c",
                                        {"networkProfile": {"networkPolicy": "cilium"}}), False),
    Case("mlf-aks-network-policy", V, R("azure-native:containerservice:ManagedCluster", "c",
                                        {"networkProfile": {"networkPolicy": "none"}}), True),
    Case("mlf-aks-network-policy", M, R("azure-native:containerservice:ManagedCluster", "c", {"networkProfile": {}}), True),
    Case("mlf-aks-network-policy", O, R("azure-native:containerservice:ManagedCluster", "c",
                                        {"networkProfile": {"networkPolicy": "calico"}}), True, {"allowedEngines": ["cilium"]}),
    Case("mlf-aml-managed-network", C, R("azure-native:machinelearningservices:Workspace", "w",
                                         {"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}), False),
    Case("mlf-aml-managed-network", V, R("azure-native:machinelearningservices:Workspace", "w",
                                         {"managedNetwork": {"isolationMode": "Disabled"}}), True),
    Case("mlf-aml-managed-network", M, R("azure-native:machinelearningservices:Workspace", "w", {}), True),
    Case("mlf-aml-managed-network", O, R("azure-native:machinelearningservices:Workspace", "w",
                                         {"managedNetwork": {"isolationMode": "AllowInternetOutbound"}}), False,
         {"allowedIsolationModes": ["AllowOnlyApprovedOutbound", "AllowInternetOutbound"]}),
    Case("mlf-keyvault-hsm-keys", C, R("azure-native:keyvault:Key", "k", {"properties": {"kty": "RSA-HSM"}}), False),
    Case("mlf-keyvault-hsm-keys", V, R("azure-native:keyvault:Vault", "v", {"properties": {"sku": {"name": "standard"}}}), True),
    Case("mlf-keyvault-hsm-keys", M, R("azure-native:keyvault:Key", "k", {"properties": {}}), True),
    Case("mlf-azure-private-endpoint-only", C, [
        R(ACCOUNT, "st", {"accountName": "st1", "publicNetworkAccess": "Disabled"}),
        R("azure-native:network:PrivateEndpoint", "pe", {"privateLinkServiceConnections": [
            {"privateLinkServiceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/st1"}]})], False),
    Case("mlf-azure-private-endpoint-only", V, [
        R(ACCOUNT, "st", {"accountName": "st1", "publicNetworkAccess": "Enabled"}),
        R("azure-native:network:PrivateEndpoint", "pe", {"privateLinkServiceConnections": [
            {"privateLinkServiceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/st1"}]})], True),
    Case("mlf-azure-private-endpoint-only", M, [
        R(ACCOUNT, "st", {"accountName": "st1"}),
        R("azure-native:network:PrivateEndpoint", "pe", {"privateLinkServiceConnections": [
            {"privateLinkServiceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/st1"}]})], True),
    Case("mlf-azure-storage-geo-replication", C, R(ACCOUNT, "st", {"sku": {"name": "Standard_GZRS"}}), False),
    Case("mlf-azure-storage-geo-replication", V, R(ACCOUNT, "st", {"sku": {"name": "Standard_ZRS"}}), True),
    Case("mlf-azure-storage-geo-replication", M, R(ACCOUNT, "st", {}), True),
    Case("mlf-azure-no-guardrail-roles", C, R("azure-native:authorization:RoleAssignment", "ra", {
        "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"}), False),
    Case("mlf-azure-no-guardrail-roles", V, R("azure-native:authorization:RoleAssignment", "ra", {
        "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/f25e0fa2-a7c8-4377-a976-54943a77a395"}), True),
    Case("mlf-azure-no-guardrail-roles", M, R("azure-native:authorization:RoleAssignment", "ra", {}), False),
    # --- budget ---
    Case("mlf-cost-budget", C, R(BUCKET, "b", {}), False, {"idleUsdPerMonth": 500, "fullScaleUsdPerMonth": 5000,
         "estimate": {"idleUsdPerMonth": 275.33, "fullScaleUsdPerMonth": 1703.03, "unpricedItems": 0}}),
    Case("mlf-cost-budget", C, R(BUCKET, "b", {}), False, None, "no budget set"),
    Case("mlf-cost-budget", V, R(BUCKET, "b", {}), True, {"fullScaleUsdPerMonth": 1000,
         "estimate": {"idleUsdPerMonth": 275.33, "fullScaleUsdPerMonth": 1703.03, "unpricedItems": 0}}),
    Case("mlf-cost-budget", V, R(BUCKET, "b", {}), True, {"idleUsdPerMonth": 500,
         "estimate": {"idleUsdPerMonth": 75.5, "fullScaleUsdPerMonth": 75.5, "unpricedItems": 9}}, "incomplete"),
    Case("mlf-cost-budget", M, R(BUCKET, "b", {}), True, {"idleUsdPerMonth": 500}, "budget without an estimate"),
    Case("mlf-cost-budget", O, R(BUCKET, "b", {}), False, {"idleUsdPerMonth": 500, "failWhenIncomplete": False,
         "estimate": {"idleUsdPerMonth": 75.5, "fullScaleUsdPerMonth": 75.5, "unpricedItems": 9}}),
    # --- hardening (gcp) ---
    Case("mlf-gke-binary-authorization", C, [
        R("gcp:container/cluster:Cluster", "gke", {"binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}}),
        R("gcp:binaryauthorization/policy:Policy", "admission", {"defaultAdmissionRule": {
            "evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}})], False),
    Case("mlf-gke-binary-authorization", V, R("gcp:container/cluster:Cluster", "gke", {
        "binaryAuthorization": {"evaluationMode": "DISABLED"}}), True),
    Case("mlf-gke-binary-authorization", M, R("gcp:container/cluster:Cluster", "gke", {"datapathProvider": "ADVANCED_DATAPATH"}),
         True),
    Case("mlf-binauthz-policy-blocks", C, R("gcp:binaryauthorization/policy:Policy", "p", {"defaultAdmissionRule": {
        "evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}}), False),
    Case("mlf-binauthz-policy-blocks", V, R("gcp:binaryauthorization/policy:Policy", "p", {"defaultAdmissionRule": {
        "evaluationMode": "ALWAYS_ALLOW", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}}), True),
    Case("mlf-binauthz-policy-blocks", M, R("gcp:binaryauthorization/policy:Policy", "p", {}), True),
    Case("mlf-binauthz-policy-blocks", O, R("gcp:binaryauthorization/policy:Policy", "p", {"defaultAdmissionRule": {
        "evaluationMode": "ALWAYS_DENY", "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY"}}), False, {"allowAuditOnly": True}),
    Case("mlf-gcs-replication", C, [R(GCS, "data", {"location": "us-central1"}), R(
        "gcp:storage/transferJob:TransferJob", "job", {"replicationSpec": {"gcsDataSource": {"bucketName": "data-physical"}}},
        links={"replicationSpec": "data"})], False),
    Case("mlf-gcs-replication", C, R(GCS, "data", {"location": "EU"}), False, note="multi-region"),
    Case("mlf-gcs-replication", V, R(GCS, "data", {"location": "us-central1"}), True),
    Case("mlf-gcs-replication", M, R(GCS, "data", {}), True),
    Case("mlf-gcp-admin-guardrails-denied", C, [
        R("gcp:projects/iAMMember:IAMMember", "admin", {"role": "roles/storage.admin", "member": "user:ana@example.com"}),
        R("gcp:iam/denyPolicy:DenyPolicy", "deny", {"rules": [{"denyRule": {
            "deniedPrincipals": ["principal://goog/subject/ana@example.com"],
            "deniedPermissions": ["storage.googleapis.com/buckets.update", "storage.googleapis.com/buckets.setIamPolicy",
                                  "container.googleapis.com/clusters.update"]}}]})], False),
    Case("mlf-gcp-admin-guardrails-denied", V, [
        R("gcp:projects/iAMMember:IAMMember", "admin", {"role": "roles/container.admin", "member": "group:ops@example.com"}),
        R("gcp:iam/denyPolicy:DenyPolicy", "deny", {"rules": [{"denyRule": {
            "deniedPrincipals": ["principalSet://goog/group/someone-else@example.com"],
            "deniedPermissions": ["container.googleapis.com/clusters.update"]}}]})], True),
    Case("mlf-gcp-admin-guardrails-denied", M, R("gcp:projects/iAMMember:IAMMember", "admin", {
        "role": "roles/storage.admin", "member": "user:ana@example.com"}), True, note="hatch-open"),
    Case("mlf-k8s-workload-hardening", C, R("kubernetes:apps/v1:DaemonSet", "ds", {"spec": {"template": {"spec": {
        "automountServiceAccountToken": False, "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": "nvcr.io/x@sha256:" + "0" * 64, "securityContext": {
            "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}}}),
         False, {"requireDigest": True}),
    Case("mlf-k8s-workload-hardening", V, R("kubernetes:apps/v1:Deployment", "dep", {"spec": {"template": {"spec": {
        "serviceAccountName": "sa", "containers": [{"name": "c", "securityContext": {"privileged": True}}]}}}}), True),
    Case("mlf-k8s-workload-hardening", M, R("kubernetes:apps/v1:Deployment", "dep", {}), True),
    Case("mlf-k8s-workload-hardening", O, R("kubernetes:apps/v1:Deployment", "dep", {"metadata": {"name": "legacy"}, "spec": {
        "template": {"spec": {"containers": [{"name": "c"}]}}}}), False, {"exemptNames": ["legacy"]}),
    Case("mlf-k8s-network-policy", C, [
        R("kubernetes:apps/v1:DaemonSet", "ds", {"metadata": {"namespace": "kube-system"},
                                                 "spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}),
        R("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", {"metadata": {"namespace": "kube-system"},
                                                                  "spec": {"podSelector": {"matchLabels": {"app": "x"}}}})], False),
    Case("mlf-k8s-network-policy", V, [
        R("kubernetes:apps/v1:DaemonSet", "ds", {"metadata": {"namespace": "kube-system"},
                                                 "spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}),
        R("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", {"metadata": {"namespace": "kube-system"},
                                                                  "spec": {"podSelector": {"matchLabels": {"app": "y"}}}})], True),
    Case("mlf-k8s-network-policy", M, R("kubernetes:apps/v1:DaemonSet", "ds", {}), True),
    # --- hardening (aws) ---
    Case("mlf-aws-guardrail-deny", C, R("aws:iam/role:Role", "admin", {"inlinePolicies": [{"name": "a", "policy": json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b"]},
                       {"Effect": "Deny", "Action": ["s3:Put*", "s3:Delete*"], "Resource": ["arn:aws:s3:::b"]}]})}]}),
         False, {"guardrailActions": ["s3:PutBucketPolicy", "s3:DeleteBucket"]}),
    Case("mlf-aws-guardrail-deny", V, R("aws:iam/rolePolicy:RolePolicy", "p", {"policy": json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "ecr:SetRepositoryPolicy", "Resource": "*"}]})}), True),
    Case("mlf-aws-guardrail-deny", M, R("aws:iam/role:Role", "r", {}), False, note="no-policies-grant-nothing"),
    Case("mlf-aws-guardrail-deny", C, R("aws:iam/role:Role", "r", {"tags": {"mlfabric-guardrail-changes": "allowed"},
                                                                  "inlinePolicies": [{"name": "a", "policy": json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})}]}), False, note="hatch-reported-elsewhere"),
    Case("mlf-aws-guardrail-hatch", C, R("aws:iam/role:Role", "r", {"tags": {"mlfabric-persona": "platform-admin"}}), False),
    Case("mlf-aws-guardrail-hatch", V, R("aws:iam/role:Role", "r", {"tags": {"mlfabric-guardrail-changes": "allowed"}}), True),
    Case("mlf-aws-guardrail-hatch", M, R("aws:iam/role:Role", "r", {}), False),
    Case("mlf-aws-scoped-reads", C, R("aws:iam/role:Role", "r", {"inlinePolicies": [{"name": "a", "policy": json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": ["cloudwatch:GetMetricData", "ecr:GetAuthorizationToken"],
                        "Resource": "*"},
                       {"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
                        "Resource": "arn:aws:cloudwatch:us-east-1:1:alarm:fraud-prod-*"}]})}]}), False),
    Case("mlf-aws-scoped-reads", V, R("aws:iam/policy:Policy", "p", {"policy": {
        "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": ["*"]}]}}), True),
    Case("mlf-aws-scoped-reads", M, R("aws:iam/policy:Policy", "p", {}), False),
    Case("mlf-aws-scoped-reads", O, R("aws:iam/policy:Policy", "p", {"policy": {
        "Statement": [{"Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"}]}}), True,
         {"scopableReadActions": ["cloudwatch:Get*"]}),
    Case("mlf-aws-kms-key-policy", C, R("aws:kms/key:Key", "k", {"policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": ["kms:Describe*", "kms:Put*"],
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": ["kms:Decrypt"], "Resource": "*",
         "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/fraud-prod-*"}}}]})}), False),
    Case("mlf-aws-kms-key-policy", V, R("aws:kms/key:Key", "k", {"policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"}]})}), True),
    Case("mlf-aws-kms-key-policy", M, R("aws:kms/key:Key", "k", {}), True),
    Case("mlf-aws-vpc-cni-network-policy", C, R("aws:eks/addon:Addon", "cni", {
        "addonName": "vpc-cni", "configurationValues": '{"enableNetworkPolicy": "true"}'}), False),
    Case("mlf-aws-vpc-cni-network-policy", C, R("aws:eks/addon:Addon", "dns", {"addonName": "coredns"}), False,
         note="other-addon"),
    Case("mlf-aws-vpc-cni-network-policy", V, R("aws:eks/addon:Addon", "cni", {
        "addonName": "vpc-cni", "configurationValues": '{"enableNetworkPolicy": "false"}'}), True),
    Case("mlf-aws-vpc-cni-network-policy", M, R("aws:eks/addon:Addon", "cni", {"addonName": "vpc-cni"}), True),
    Case("mlf-aws-vpc-endpoint-policy", C, R("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {
        "vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.us-east-1.s3", "policy": json.dumps({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"}]})}), False),
    Case("mlf-aws-vpc-endpoint-policy", V, R("aws:ec2/vpcEndpoint:VpcEndpoint", "sts", {
        "vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.sts", "policy": json.dumps({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})}), True, note="full-access"),
    Case("mlf-aws-vpc-endpoint-policy", M, R("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {
        "vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.us-east-1.s3"}), True),
    Case("mlf-aws-s3-replication", C, [R(BUCKET, "models", {"tags": {"mlfabric-bucket": "models"}}),
                                       R("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "models-rep", {
                                           "rules": [{"status": "Enabled"}]}, links={"bucket": "models"}),
                                       R(BUCKET, "logs", {"tags": {"mlfabric-bucket": "access-logs"}})], False),
    Case("mlf-aws-s3-replication", V, R(BUCKET, "models", {"tags": {"mlfabric-bucket": "models"}}), True),
    Case("mlf-aws-s3-replication", M, [R(BUCKET, "models", {}),
                                       R("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "models-rep", {},
                                         links={"bucket": "models"})], True, note="replication-without-rules"),
    Case("mlf-aws-s3-replication", O, R(BUCKET, "scratch", {"tags": {"tier": "scratch"}}), False,
         {"exemptTags": [{"tier": "scratch"}]}),
    # --- teams sharing a training cluster (issue 16) ---
    Case("mlf-team-quota", C, team_objects("vision"), False),
    Case("mlf-team-quota", V, team_objects("vision", gpus=0.0), True, note="zero-quota"),
    Case("mlf-team-quota", V, team_objects("vision")[:1], True, note="namespace-only"),
    Case("mlf-team-quota", M, [*team_objects("vision")[:3]], True, note="no-resource-quota"),
    Case("mlf-team-quota", M, R(NAMESPACE, "kube", {"metadata": {"name": "tools"}}), False, note="not-a-team"),
    Case("mlf-gpu-queue", C, [R(NODE_GROUP, "a100", {**GPU_GROUP, "labels": {"mlfabric.dev/gpu-pool": "a100"}}),
                              kueue_chart(), flavor("a100")], False),
    Case("mlf-gpu-queue", V, R(NODE_GROUP, "a100", {**GPU_GROUP, "labels": {"mlfabric.dev/gpu-pool": "a100"}}), True,
         note="no-kueue"),
    Case("mlf-gpu-queue", V, [R(GKE_POOL, "l4", {"nodeConfig": {"labels": {"mlfabric.dev/gpu-pool": "l4"}}}),
                              kueue_chart(), flavor("a100")], True, note="pool-without-flavor"),
    Case("mlf-gpu-queue", V, [R(AKS_POOL, "t4", {"nodeLabels": {"mlfabric.dev/gpu-pool": "t4"}}),
                              kueue_chart(manage=False), flavor("t4")], True, note="unqueued-jobs-run"),
    Case("mlf-gpu-queue", M, R(NODE_GROUP, "system", {"labels": {"mlfabric.dev/system-pool": "true"}}), False,
         note="no-gpu-pool"),
    Case("mlf-shared-fs-private", C, R(FSX, "shared", {"storageCapacity": 1200.0, "kmsKeyId": KEY_ARN}), False),
    Case("mlf-shared-fs-private", V, R(FSX, "shared", {"storageCapacity": 1200.0}), True),
    Case("mlf-shared-fs-private", C, R(FILESTORE, "shared", {"tier": "ZONAL", "kmsKeyName": "projects/p/k"}), False,
         note="filestore"),
    Case("mlf-shared-fs-private", V, R(FILESTORE, "shared", {"tier": "ZONAL"}), True, note="filestore"),
    Case("mlf-shared-fs-private", V, R("azure-native:storagecache/v20240301:AmlFilesystem", "shared", {}), True,
         note="managed-lustre-versioned"),
    Case("mlf-shared-fs-private", C, R(AMLFS, "shared", {"encryptionSettings": {"keyEncryptionKey": {
        "keyUrl": "https://kv.vault.azure.net/keys/k/1", "sourceVault": {"id": "/kv"}}}}), False, note="managed-lustre"),
    Case("mlf-shared-fs-private", V, R("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "lustre", {
        "ipProtocol": "tcp", "fromPort": 988.0, "toPort": 988.0, "cidrIpv4": "0.0.0.0/0"}), True, note="open-port"),
    Case("mlf-shared-fs-private", C, R("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "lustre", {
        "ipProtocol": "tcp", "fromPort": 988.0, "toPort": 988.0, "cidrIpv4": "10.0.0.0/16"}), False, note="vpc-port"),
    Case("mlf-shared-fs-private", M, R(FSX, "shared", {}), True, note="no-props"),
    # --- lifecycle (issue 17) ---
    Case("mlf-tracking-private", C, R(MLFLOW, "mlflow", {"roleArn": "arn:aws:iam::1:role/m",
                                                        "artifactStoreUri": "s3://art/mlflow/"}), False),
    Case("mlf-tracking-private", V, R(MLFLOW, "mlflow", {"artifactStoreUri": "https://example.com/x"}), True),
    Case("mlf-tracking-private", C, R(SQL, "mlflow-db", {"encryptionKeyName": "projects/p/k", "settings": {
        "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "projects/p/global/networks/n"}}}), False,
         note="cloud-sql"),
    Case("mlf-tracking-private", V, R(SQL, "mlflow-db", {"encryptionKeyName": "projects/p/k", "settings": {
        "ipConfiguration": {"ipv4Enabled": True}}}), True, note="cloud-sql-public"),
    Case("mlf-tracking-private", M, R(SQL, "mlflow-db", {}), True, note="cloud-sql-defaults"),
    Case("mlf-drift-monitoring", C, [*capturing_endpoint(), R(DQ, "scorer-dq", {
        "dataQualityJobInput": {"endpointInput": {"endpointName": "scorer"}}}, links={"dataQualityJobInput": "scorer"}),
        R(SCHEDULE, "scorer-schedule", {"monitoringScheduleConfig": {"monitoringJobDefinitionName": "dq"}},
          links={"monitoringScheduleConfig": "scorer-dq"})], False),
    Case("mlf-drift-monitoring", V, capturing_endpoint(), True, note="today's prod without drift"),
    Case("mlf-drift-monitoring", V, [*capturing_endpoint(), R(DQ, "scorer-dq", {
        "dataQualityJobInput": {"endpointInput": {"endpointName": "scorer"}}}, links={"dataQualityJobInput": "scorer"})],
         True, note="never-scheduled"),
    Case("mlf-drift-monitoring", M, [R(SM_ENDPOINT, "scorer", {"endpointConfigName": "cfg"}, links={"endpointConfigName": "cfg"}),
                                     R(SM_CONFIG, "cfg", {"name": "cfg"})], False, note="no-capture"),
    Case("mlf-drift-monitoring", V, R(AML_DEPLOYMENT, "asr-main", {"endpointName": "asr", "properties": {
        "dataCollector": {"collections": {"model_inputs": {"dataCollectionMode": "Enabled"}}}}}), True, note="azure"),
    Case("mlf-drift-monitoring", C, [R(AML_DEPLOYMENT, "asr-main", {"endpointName": "asr", "properties": {
        "dataCollector": {"collections": {"model_inputs": {"dataCollectionMode": "Enabled"}}}}}),
        R("azure-native:machinelearningservices:Schedule", "asr-drift", {"properties": {"action": {"monitorDefinition": {
            "signals": {"drift": {"productionData": {"uri": "azureml://paths/modelDataCollector/asr/main/model_inputs"}}}}}}})],
         False, note="azure"),
    Case("mlf-notebook-idle-private", C, R(DOMAIN, "studio", {"appNetworkAccessType": "VpcOnly", "kmsKeyId": KEY_ARN,
                                                              "defaultUserSettings": STUDIO_IDLE}), False),
    Case("mlf-notebook-idle-private", V, R(DOMAIN, "studio", {"kmsKeyId": KEY_ARN, "defaultUserSettings": STUDIO_IDLE}),
         True, note="public-internet-default"),
    Case("mlf-notebook-idle-private", M, R(DOMAIN, "studio", {}), True),
    Case("mlf-notebook-idle-private", C, R("gcp:workbench/instance:Instance", "vision", {"gceSetup": {
        "disablePublicIp": True, "metadata": {"idle-timeout-seconds": "3600"}}}), False, note="workbench"),
    Case("mlf-notebook-idle-private", V, R("gcp:workbench/instance:Instance", "vision", {"gceSetup": {
        "metadata": {"idle-timeout-seconds": "3600"}}}), True, note="workbench-public-ip"),
    Case("mlf-notebook-idle-private", C, R("azure-native:machinelearningservices:Compute", "ci", {"properties": {
        "computeType": "ComputeInstance", "properties": {"idleTimeBeforeShutdown": "PT60M", "enableNodePublicIp": False}}}),
         False, note="compute-instance"),
    Case("mlf-notebook-idle-private", V, R("azure-native:machinelearningservices:Compute", "ci", {"properties": {
        "computeType": "ComputeInstance", "properties": {}}}), True, note="compute-instance-defaults"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_verdict(case: Case) -> None:
    found = messages(case.rule, case.fixture, case.properties)
    if case.expect_violation:
        assert found, f"{case.rule} should fail this {case.kind} fixture"
    else:
        assert not found, f"{case.rule} should pass this {case.kind} fixture, got {found}"


@pytest.mark.parametrize("rule_id", list(RULES))
def test_every_rule_has_compliant_violating_and_missing_fixtures(rule_id: str) -> None:
    kinds = {c.kind for c in CASES if c.rule == rule_id}
    assert {C, V, M} <= kinds, f"{rule_id} lacks {sorted({C, V, M} - kinds)} fixtures"
    if RULES[rule_id].config:
        assert O in kinds or any(c.properties for c in CASES if c.rule == rule_id), f"{rule_id}: no config override"


def _first_violation(rule_id: str) -> Case:
    return next(c for c in CASES if c.rule == rule_id and c.expect_violation and c.kind in (V, M))


@pytest.mark.parametrize("rule_id", list(RULES))
def test_enforcement_level_from_config_overrides_the_rules_default(rule_id: str) -> None:
    case = _first_violation(rule_id)
    advisory = verdicts(rule_id, case.fixture, case.properties, level="advisory")
    assert advisory and all(v.enforcement == "advisory" and not v.mandatory for v in advisory)
    mandatory = verdicts(rule_id, case.fixture, case.properties, level="mandatory")
    assert mandatory and all(v.mandatory for v in mandatory)
    assert verdicts(rule_id, case.fixture, case.properties, level="disabled") == []


def test_all_key_sets_every_rules_level_unless_the_rule_overrides_it() -> None:
    case = _first_violation("mlf-s3-kms-encryption")
    source = Source("test", "mlfabric", "prod", "aws", "", records(case.fixture if isinstance(case.fixture, list) else [case.fixture]))
    everything_advisory = run_pack(source, PackConfig(None, "advisory", {}), [BY_ID["mlf-s3-kms-encryption"]])
    assert everything_advisory.violations and everything_advisory.exit_code == 0
    but_this_one = PackConfig(None, "advisory", {"mlf-s3-kms-encryption": RuleSetting("mandatory")})
    assert run_pack(source, but_this_one, [BY_ID["mlf-s3-kms-encryption"]]).exit_code == 1


def test_rules_are_plain_functions_over_type_and_props() -> None:
    from mlfabric.policies.rules import storage

    check = storage.gcs_versioning.check
    assert list(check(GCS, {"versioning": {"enabled": True}}, {})) == []
    assert list(check(GCS, {"versioning": {"enabled": "false"}}, {})) == ["versioning.enabled is not true"]


def test_numbers_given_as_floats_or_strings_compare_as_numbers() -> None:
    fixture = R(NODE_GROUP, "gpu", {**GPU_GROUP, "scalingConfig": {"maxSize": "4"}})
    assert messages("mlf-gpu-pool-max-nodes", fixture, {"maxNodesPerPool": 4}) == []
    assert messages("mlf-gpu-pool-max-nodes", fixture, {"maxNodesPerPool": 3.0})


def test_a_rule_only_sees_the_types_it_names() -> None:
    assert messages("mlf-gcs-versioning", R(BUCKET, "s3", {})) == []
    assert messages("mlf-azure-storage-tls", R("azure-native:storage:StorageAccountX", "x", {})) == []


def test_gpu_budget_counts_pools_and_serving_at_max_scale() -> None:
    fixture = [
        R(NODE_GROUP, "a100", {"instanceTypes": ["p4de.24xlarge"], "scalingConfig": {"maxSize": 4.0}}),  # 32
        R(SM_ENDPOINT, "scorer", {"endpointConfigName": "cfg-physical"}, links={"endpointConfigName": "cfg"}),
        R(SM_CONFIG, "cfg", {"productionVariants": [{"variantName": "AllTraffic", "instanceType": "ml.g5.xlarge",
                                                     "initialInstanceCount": 2.0}]}),
        R(TARGET, "t", {"serviceNamespace": "sagemaker", "resourceId": "endpoint/scorer/variant/AllTraffic",
                        "minCapacity": 2.0, "maxCapacity": 8.0}, links={"resourceId": "scorer"}),  # 8
    ]
    assert messages("mlf-gpu-budget", fixture, {"maxTotalGpus": 40}) == []
    [message] = messages("mlf-gpu-budget", fixture, {"maxTotalGpus": 39})
    assert message.startswith("40 GPUs at max scale")
    assert messages("mlf-gpu-budget", fixture, {"maxTotalGpus": 32, "includeServing": False}) == []


def test_violations_carry_the_rules_metadata() -> None:
    [violation] = verdicts("mlf-gcs-versioning", R(GCS, "g", {}))
    info = RULES["mlf-gcs-versioning"]
    assert (violation.rule_id, violation.severity, violation.remediation) == (info.id, info.severity.value, info.remediation)
    assert violation.urn == "urn:pulumi:test::mlfabric::gcp:storage/bucket:Bucket::g"
    assert violation.resource_name == "g" and violation.section == "storage"


def test_values_unknown_during_preview_count_as_set() -> None:
    """In `pulumi preview` a key ARN or topic ARN of a resource not yet created is an unknown sentinel."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    assert messages("mlf-s3-kms-encryption", [bucket(), sse("aws:kms", UNKNOWN_STRING_VALUE)]) == []
    assert messages("mlf-endpoint-alarms", endpoint_with_alarms(
        {**LATENCY_ALARM, "alarmActions": [UNKNOWN_STRING_VALUE]}, {**ERROR_ALARM, "alarmActions": [UNKNOWN_STRING_VALUE]})) == []
    assert messages("mlf-gcs-cmek-encryption", R(GCS, "g", {"encryption": {"defaultKmsKeyName": UNKNOWN_STRING_VALUE}})) == []


@pytest.mark.parametrize("instance", ["ml.g5.xlarge", "ml.g4dn.xlarge", "ml.p4d.24xlarge", "ml.m5.large", "ml.m5d.large",
                                      "ml.c6i.xlarge", "ml.g6e.2xlarge", "ml.inf2.xlarge", "ml.trn1.2xlarge"])
def test_local_storage_instances_agree_with_the_serving_component(instance: str) -> None:
    from mlfabric.components.aws import serving
    from mlfabric.policies.rules.serving import has_local_storage

    assert has_local_storage(instance) == serving.has_local_storage(instance)


def test_gpu_table_agrees_with_the_catalogue() -> None:
    from mlfabric.components import catalog
    from mlfabric.policies.rules import gpu

    for shape in catalog.GPU_SHAPES:
        if shape.machine.startswith("n1-"):
            continue  # N1 machines carry GPUs only as guest accelerators, which the pool names itself
        assert gpu.is_gpu_machine(shape.machine), shape
        assert gpu.gpus_per_machine(shape.machine) == shape.gpus, shape
    for machine in catalog.CPU_MACHINES:
        assert not gpu.is_gpu_machine(machine.name), machine
