"""The ML lifecycle around training and serving (issue 17).

- ``mlf-tracking-private``: an experiment-tracking server keeps its data private and encrypted:
  SageMaker managed MLflow runs with its own role and keeps artifacts in S3; the Cloud SQL instance
  behind MLflow on GCP has no public IP and a customer-managed key. (Azure's tracking is the ML
  workspace's endpoint, which the workspace rules already cover.)
- ``mlf-drift-monitoring`` (stack): every endpoint that captures requests has a scheduled drift
  (data-quality) monitor on them — a SageMaker DataQualityJobDefinition on the endpoint with a
  MonitoringSchedule running it; an Azure ML Schedule naming the endpoint.
- ``mlf-notebook-idle-private``: notebooks stop when idle and have no public IP: a SageMaker Studio
  domain in VpcOnly mode, KMS-encrypted, with the JupyterLab idle shutdown enabled; a Vertex AI
  Workbench instance with no public IP and an idle timeout; an Azure ML compute instance with an idle
  shutdown and no public IP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .base import (
    ADVISORY,
    HIGH,
    MEDIUM,
    MlfPolicy,
    RuleInfo,
    get,
    is_set,
    is_unknown,
    mapping,
    mentions,
    of_types,
    plain,
    refers_to,
    resource_policy,
    stack_policy,
    truthy,
    type_pattern,
)

MLFLOW_SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
SM_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SM_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SM_DATA_QUALITY = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SM_SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
AML_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
AML_SCHEDULE = "azure-native:machinelearningservices:Schedule"
SM_DOMAIN = "aws:sagemaker/domain:Domain"
WORKBENCH = "gcp:workbench/instance:Instance"
AML_COMPUTE = "azure-native:machinelearningservices:Compute"


TRACKING = RuleInfo(
    id="mlf-tracking-private",
    title="Experiment tracking is private and encrypted",
    description="A SageMaker MLflow tracking server has a roleArn and an s3:// artifactStoreUri (IAM-only "
    "access; artifacts under the bucket's KMS encryption). A Cloud SQL instance has no public IPv4 "
    "(settings.ipConfiguration.ipv4Enabled false) and an encryptionKeyName (CMEK).",
    remediation="Use `tracking:` in the spec: mlfabric declares the server private with the platform key.",
    severity=HIGH,
    enforcement=ADVISORY,
    clouds=("aws", "gcp"),
    resource_types=(MLFLOW_SERVER, CLOUD_SQL),
    section="tracking",
)


@resource_policy(TRACKING)
def tracking_private(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type == MLFLOW_SERVER:
        if not is_set(props, "roleArn"):
            yield "roleArn is not set: the server has no role of its own to reach its artifact store"
        uri = get(props, "artifactStoreUri")
        if not is_unknown(uri) and not str(plain(uri) or "").startswith("s3://"):
            yield f"artifactStoreUri is not an s3:// location (got {plain(uri)!r})"
        return
    if truthy(get(props, "settings.ipConfiguration.ipv4Enabled")) or get(props, "settings.ipConfiguration") is None:
        yield "settings.ipConfiguration.ipv4Enabled is not false: the instance has a public IP"
    if not is_set(props, "encryptionKeyName"):
        yield "encryptionKeyName is not set: the database is encrypted with a Google-managed key"


DRIFT = RuleInfo(
    id="mlf-drift-monitoring",
    title="Endpoints that capture requests are watched for drift",
    description="Every SageMaker endpoint whose endpoint configuration enables data capture has a "
    "DataQualityJobDefinition on it and a MonitoringSchedule running that definition; every Azure ML online "
    "deployment that collects model inputs has an Azure ML Schedule naming its endpoint.",
    remediation="Set serving.endpoints[].monitoring.drift (a baseline prefix and a schedule).",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("aws", "azure"),
    resource_types=(SM_ENDPOINT, SM_CONFIG, SM_DATA_QUALITY, SM_SCHEDULE, AML_DEPLOYMENT, AML_SCHEDULE),
    section="serving",
    kind="stack",
)


def _captures(config: PolicyResource) -> bool:
    return truthy(get(config.props, "dataCaptureConfig.enableCapture"))


def _collects(deployment: PolicyResource) -> bool:
    collections = mapping(get(deployment.props, "properties.dataCollector.collections"))
    return any(str(plain(get(c, "dataCollectionMode"))) == "Enabled" for c in collections.values())


def _aws_drift(resources: Sequence[PolicyResource]) -> Iterable[tuple[str, str | None]]:
    configs = of_types(resources, SM_CONFIG)
    definitions = of_types(resources, SM_DATA_QUALITY)
    schedules = of_types(resources, SM_SCHEDULE)
    for endpoint in of_types(resources, SM_ENDPOINT):
        config = [c for c in configs if refers_to(endpoint, "endpointConfigName", c)]
        if not any(_captures(c) for c in config):
            continue
        watching = [d for d in definitions if mentions(d, endpoint, ["dataQualityJobInput"])]
        scheduled = [d for d in watching if any(mentions(s, d, ["monitoringScheduleConfig"]) for s in schedules)]
        if not scheduled:
            what = "no data-quality job definition on it" if not watching else "its job definition is never scheduled"
            yield f"endpoint {endpoint.name} captures requests but {what}: drift goes unnoticed", endpoint.urn


def _azure_drift(resources: Sequence[PolicyResource]) -> Iterable[tuple[str, str | None]]:
    schedules = [json.dumps(plain(s.props), default=str) for s in of_types(resources, AML_SCHEDULE)]
    for deployment in of_types(resources, AML_DEPLOYMENT):
        if not _collects(deployment):
            continue
        endpoint = str(plain(get(deployment.props, "endpointName")) or "")
        if not endpoint or not any(f'"{endpoint}' in text or f"/{endpoint}/" in text for text in schedules):
            yield (f"deployment {deployment.name} of endpoint {endpoint or '?'} collects model inputs but no "
                   "Azure ML schedule monitors them", deployment.urn)


@stack_policy(DRIFT)
def drift_monitoring(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    yield from _aws_drift(resources)
    yield from _azure_drift(resources)


NOTEBOOKS = RuleInfo(
    id="mlf-notebook-idle-private",
    title="Notebooks stop when idle and have no public IP",
    description="A SageMaker domain has appNetworkAccessType VpcOnly, a kmsKeyId and "
    "defaultUserSettings.jupyterLabAppSettings.appLifecycleManagement.idleSettings.lifecycleManagement "
    "ENABLED; a Vertex AI Workbench instance sets gceSetup.disablePublicIp true and an idle-timeout-seconds "
    "metadata entry; an Azure ML compute instance sets idleTimeBeforeShutdown and enableNodePublicIp false.",
    remediation="Use `notebooks:` in the spec: mlfabric declares idle shutdown (idle_minutes) and private "
    "networking on every cloud.",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(SM_DOMAIN, WORKBENCH, AML_COMPUTE),
    section="notebooks",
)


def _domain(props: Mapping[str, Any]) -> Iterable[str]:
    access = get(props, "appNetworkAccessType")
    if not is_unknown(access) and str(plain(access) or "PublicInternetOnly") != "VpcOnly":
        yield f"appNetworkAccessType is {plain(access) or 'PublicInternetOnly (default)'}, not VpcOnly"
    if not is_set(props, "kmsKeyId"):
        yield "kmsKeyId is not set: home directories use an AWS-owned key"
    idle = "defaultUserSettings.jupyterLabAppSettings.appLifecycleManagement.idleSettings.lifecycleManagement"
    if str(plain(get(props, idle)) or "") != "ENABLED":
        yield "JupyterLab idle shutdown is not enabled (defaultUserSettings...idleSettings.lifecycleManagement)"


def _workbench(props: Mapping[str, Any]) -> Iterable[str]:
    if not truthy(get(props, "gceSetup.disablePublicIp")):
        yield "gceSetup.disablePublicIp is not true: the instance has a public IP"
    if not str(plain(mapping(get(props, "gceSetup.metadata")).get("idle-timeout-seconds")) or ""):
        yield "gceSetup.metadata has no idle-timeout-seconds: the instance never stops when idle"


def _compute_instance(props: Mapping[str, Any]) -> Iterable[str]:
    if str(plain(get(props, "properties.computeType")) or "") != "ComputeInstance":
        return
    inner = mapping(get(props, "properties.properties"))
    if not str(plain(inner.get("idleTimeBeforeShutdown")) or ""):
        yield "properties.properties.idleTimeBeforeShutdown is not set: the instance never stops when idle"
    public = inner.get("enableNodePublicIp")
    if public is None or truthy(public):
        yield "properties.properties.enableNodePublicIp is not false: the instance has a public IP"


@resource_policy(NOTEBOOKS)
def notebook_idle_private(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    if resource_type == SM_DOMAIN:
        yield from _domain(props)
    elif resource_type == WORKBENCH:
        yield from _workbench(props)
    elif type_pattern(AML_COMPUTE).match(resource_type):
        yield from _compute_instance(props)


POLICIES: list[MlfPolicy] = [tracking_private, drift_monitoring, notebook_idle_private]
