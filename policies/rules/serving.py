"""Serving rules: endpoints encrypted with a customer key, data capture on in prod, at least two
replicas in prod, and no anonymous invocation.

SageMaker endpoints always require SigV4-signed requests and Azure ML online endpoints always
require a key or token, so "no anonymous auth" checks the front doors that can be opened to
anyone: Lambda function URLs and API Gateway methods/routes with authorization NONE, and an Azure
ML endpoint without an auth mode. On GCP, anonymous invocation is an IAM grant to allUsers or
allAuthenticatedUsers, caught by ``mlf-gcp-no-public-members`` (Cloud Run services included). Vertex AI
has no declarable deployed-model resource, so Vertex replica counts are not visible to a policy (see
the README limits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .base import (
    HIGH,
    MANDATORY,
    MEDIUM,
    ByType,
    MlfPolicy,
    RuleInfo,
    fmt,
    get,
    is_set,
    items,
    mapping,
    number,
    resource_policy,
    truthy,
)

SM_ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SM_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SCALING_TARGET = "aws:appautoscaling/target:Target"
VERTEX_ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
CLOUD_RUN = "gcp:cloudrunv2/service:Service"
AML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
AML_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
AML_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
K8S_HPA = "re:^kubernetes:autoscaling/v2(beta2)?:HorizontalPodAutoscaler$"
LAMBDA_URL = "aws:lambda/functionUrl:FunctionUrl"
APIGW_METHOD = "aws:apigateway/method:Method"
APIGW_ROUTE = "aws:apigatewayv2/route:Route"


# SageMaker refuses a volume KMS key for instance types with local NVMe instance storage (their
# storage is encrypted by the Nitro hardware): g5/g6/p5/trn families and every "d" family
# (g4dn, p4d, m5d...). Kept in step with components/serving/aws.py by a test.
_LOCAL_STORAGE_FAMILIES = frozenset({"g5", "g6", "g6e", "gr6", "p5", "p5e", "p5en", "trn1", "trn1n", "trn2"})
_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")


def has_local_storage(instance: str) -> bool:
    """Does this SageMaker instance type carry NVMe instance storage (so no volume key is allowed)?"""
    family = instance.removeprefix("ml.").split(".")[0]
    return family in _LOCAL_STORAGE_FAMILIES or _D_FAMILY.match(family) is not None


# Cloud Run's maximum instances per revision when a service sets none.
CLOUD_RUN_DEFAULT_MAX_INSTANCES = 100


def cloud_run_gpus(props: Mapping[str, Any]) -> tuple[str, int] | None:
    """(accelerator, GPUs per instance) of a Cloud Run v2 service; None when it runs without GPUs.

    The accelerator is the template's nodeSelector; the count is the containers' nvidia.com/gpu limits
    (Cloud Run requires exactly one, so a GPU service with no limit counts one)."""
    accelerator = get(props, "template.nodeSelector.accelerator")
    limits = [number(get(c, "resources.limits").get("nvidia.com/gpu"))
              for c in items(get(props, "template.containers")) if isinstance(get(c, "resources.limits"), Mapping)]
    count = int(sum(n for n in limits if n is not None))
    if not accelerator and not count:
        return None
    return str(accelerator or "nvidia.com/gpu"), count or 1


def cloud_run_max_instances(props: Mapping[str, Any]) -> int:
    """Most instances a Cloud Run v2 service runs: the service-wide cap, else the template's, else 100."""
    for path in ("scaling.maxInstanceCount", "template.scaling.maxInstanceCount"):
        value = number(get(props, path))
        if value is not None and value > 0:
            return int(value)
    return CLOUD_RUN_DEFAULT_MAX_INSTANCES


def _aml(resource_type: str, kind: str) -> bool:
    return resource_type.startswith("azure-native:machinelearningservices") and resource_type.endswith(f":{kind}")


SERVING_CMK = RuleInfo(
    id="mlf-serving-cmk-encryption",
    title="Serving encrypted with a customer key",
    description="SageMaker endpoint configurations set kmsKeyArn (except when every variant runs on an "
    "instance type with local NVMe storage, which SageMaker encrypts in hardware and refuses a key for) "
    "and a kmsKeyId for captured data; "
    "Vertex AI endpoints set encryptionSpec.kmsKeyName; Cloud Run v2 services set template.encryptionKey "
    "(the revision's image is encrypted with it); Azure ML workspaces enable encryption with a "
    "Key Vault key (keyVaultProperties.keyIdentifier).",
    remediation="Use mlfabric's serving components, which pass the platform key to every endpoint.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(SM_ENDPOINT_CONFIG, VERTEX_ENDPOINT, CLOUD_RUN, AML_WORKSPACE),
    section="serving",
)


def _sagemaker_cmk(props: Mapping[str, Any]) -> Iterable[str]:
    variants = [mapping(v) for v in items(props.get("productionVariants")) + items(props.get("shadowProductionVariants"))]
    instances = [str(v.get("instanceType") or "") for v in variants]
    local_storage = bool(instances) and all(has_local_storage(i) for i in instances if i) and all(instances)
    if not is_set(props, "kmsKeyArn") and not local_storage:
        yield "kmsKeyArn is not set: the endpoint's storage volumes use AWS-managed keys"
    capture = mapping(props.get("dataCaptureConfig"))
    if truthy(capture.get("enableCapture")) and not is_set(capture, "kmsKeyId"):
        yield "dataCaptureConfig.kmsKeyId is not set: captured requests are not encrypted with the platform key"


def _vertex_cmk(props: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "encryptionSpec.kmsKeyName"):
        yield "encryptionSpec.kmsKeyName is not set: Google-managed keys"


def _cloud_run_cmk(props: Mapping[str, Any]) -> Iterable[str]:
    if not is_set(props, "template.encryptionKey"):
        yield "template.encryptionKey is not set: the revision's image is encrypted with Google-managed keys"


def _aml_workspace_cmk(props: Mapping[str, Any]) -> Iterable[str]:
    if str(get(props, "encryption.status", "")).lower() != "enabled":
        yield "encryption.status is not Enabled: Microsoft-managed keys"
    elif not is_set(props, "encryption.keyVaultProperties.keyIdentifier"):
        yield "encryption.keyVaultProperties.keyIdentifier is not set"


_CMK = ByType({SM_ENDPOINT_CONFIG: _sagemaker_cmk, VERTEX_ENDPOINT: _vertex_cmk, CLOUD_RUN: _cloud_run_cmk,
               AML_WORKSPACE: _aml_workspace_cmk})


@resource_policy(SERVING_CMK)
def serving_cmk(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del config
    yield from _CMK.check(resource_type, props)


DATA_CAPTURE = RuleInfo(
    id="mlf-serving-data-capture",
    title="Endpoint data capture on (prod)",
    description="Production endpoints capture requests and responses for monitoring and retraining: "
    "SageMaker dataCaptureConfig.enableCapture with at least minSamplingPercent, Vertex "
    "predictRequestResponseLoggingConfig enabled, Azure ML deployments collecting model_inputs and "
    "model_outputs. Disabled in dev, advisory in staging.",
    remediation="Set serving.endpoints[].data_capture_percent above 0 (the prod default is 20).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(SM_ENDPOINT_CONFIG, VERTEX_ENDPOINT, AML_DEPLOYMENT),
    section="serving",
    config={"minSamplingPercent": {"type": "number", "default": 1, "minimum": 0, "maximum": 100,
                                   "description": "Smallest share of requests to capture, in percent."}},
)


def _sagemaker_capture(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    capture = mapping(props.get("dataCaptureConfig"))
    if not truthy(capture.get("enableCapture")):
        yield "dataCaptureConfig.enableCapture is not true"
        return
    percent = number(capture.get("initialSamplingPercentage"))
    if percent is None or percent < minimum:
        yield f"dataCaptureConfig.initialSamplingPercentage is {fmt(percent)}, below {minimum:g}"
    modes = {str(get(o, "captureMode")) for o in items(capture.get("captureOptions")) if isinstance(o, Mapping)}
    if modes and not {"Input", "Output"} <= modes:
        yield f"dataCaptureConfig.captureOptions captures only {', '.join(sorted(modes))}"


def _vertex_capture(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    logging = mapping(props.get("predictRequestResponseLoggingConfig"))
    if not truthy(logging.get("enabled")):
        yield "predictRequestResponseLoggingConfig.enabled is not true"
        return
    rate = number(logging.get("samplingRate"))
    if rate is not None and rate * 100 < minimum:
        yield f"predictRequestResponseLoggingConfig.samplingRate is {rate:g}, below {minimum / 100:g}"


def _aml_deployment_capture(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    del minimum  # Azure ML's data collector has no sampling rate to compare
    collections = mapping(get(props, "properties.dataCollector.collections"))
    for name in ("model_inputs", "model_outputs"):
        mode = get(collections, f"{name}.dataCollectionMode", "Enabled" if name in collections else None)
        if str(mode).lower() != "enabled":
            yield f"properties.dataCollector.collections.{name} is not enabled"


_CAPTURE = ByType({SM_ENDPOINT_CONFIG: _sagemaker_capture, VERTEX_ENDPOINT: _vertex_capture,
                   AML_DEPLOYMENT: _aml_deployment_capture})


@resource_policy(DATA_CAPTURE)
def serving_data_capture(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    minimum = number(config.get("minSamplingPercent")) or 0.0
    yield from _CAPTURE.check(resource_type, props, minimum)


MIN_REPLICAS = RuleInfo(
    id="mlf-serving-min-replicas",
    title="At least two serving replicas (prod)",
    description="Production endpoints never scale below minReplicas (2): SageMaker production variants' "
    "initialInstanceCount and Application Auto Scaling minCapacity, Azure ML deployments' "
    "sku.capacity/scaleSettings.minInstances, Cloud Run v2 services' scaling.minInstanceCount (or the "
    "template's scaling.minInstanceCount; Cloud Run scales to zero when neither is set), Kubernetes HPAs' "
    "minReplicas. Serverless SageMaker "
    "variants have no warm replicas and fail. Disabled in dev, advisory in staging.",
    remediation="Set serving.endpoints[].min_replicas to 2 or more (the prod default).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(SM_ENDPOINT_CONFIG, SCALING_TARGET, AML_DEPLOYMENT, CLOUD_RUN, K8S_HPA),
    section="serving",
    config={"minReplicas": {"type": "integer", "default": 2, "minimum": 1,
                            "description": "Fewest replicas a serving endpoint may run."}},
)


def _sagemaker_replicas(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    for variant in items(props.get("productionVariants")):
        if not isinstance(variant, Mapping):
            continue
        name = variant.get("variantName") or "variant"
        if variant.get("serverlessConfig"):
            yield f"production variant {name} is serverless: no warm replicas"
            continue
        count = number(variant.get("initialInstanceCount"))
        if count is None:
            yield f"production variant {name} does not set initialInstanceCount"
        elif count < minimum:
            yield f"production variant {name} starts {fmt(count)} instance(s), fewer than {minimum:g}"


def _scaling_target_replicas(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    if str(props.get("serviceNamespace")) != "sagemaker":
        return
    count = number(props.get("minCapacity"))
    if count is None or count < minimum:
        yield f"minCapacity is {fmt(count)}: {props.get('resourceId', 'the endpoint')} may scale below {minimum:g}"


def _aml_deployment_replicas(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    scale = mapping(get(props, "properties.scaleSettings"))
    count = number(scale.get("minInstances")) if scale.get("scaleType") == "TargetUtilization" else None
    count = count if count is not None else number(get(props, "sku.capacity"))
    if count is None or count < minimum:
        yield f"the deployment runs {fmt(count)} instance(s) at minimum, fewer than {minimum:g}"


def _cloud_run_replicas(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    # The service-wide floor and the serving revision's floor: either keeps instances warm.
    floors = [number(get(props, p)) for p in ("scaling.minInstanceCount", "template.scaling.minInstanceCount")]
    count = max((f for f in floors if f is not None), default=None)
    if count is None:
        yield f"scaling.minInstanceCount is not set: the service scales to zero, fewer than {minimum:g}"
    elif count < minimum:
        yield f"scaling.minInstanceCount is {fmt(count)}: the service may scale below {minimum:g}"


def _hpa_replicas(props: Mapping[str, Any], minimum: float) -> Iterable[str]:
    count = number(get(props, "spec.minReplicas"))
    if count is None or count < minimum:
        yield f"spec.minReplicas is {fmt(count) if count is not None else 'not set (1)'}, fewer than {minimum:g}"


_REPLICAS = ByType({SM_ENDPOINT_CONFIG: _sagemaker_replicas, SCALING_TARGET: _scaling_target_replicas,
                    AML_DEPLOYMENT: _aml_deployment_replicas, CLOUD_RUN: _cloud_run_replicas, K8S_HPA: _hpa_replicas})


@resource_policy(MIN_REPLICAS)
def serving_min_replicas(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    minimum = number(config.get("minReplicas")) or 1
    yield from _REPLICAS.check(resource_type, props, minimum)


NO_ANONYMOUS = RuleInfo(
    id="mlf-serving-no-anonymous-access",
    title="No anonymous invocation",
    description="No inference front door accepts anonymous calls: Lambda function URLs and API Gateway "
    "methods/routes do not use authorization NONE, and Azure ML online endpoints set an auth mode "
    "(AADToken, AMLToken or Key), and Cloud Run v2 services do not set invokerIamDisabled (which lets "
    "anyone invoke them without an IAM check). GCP grants to allUsers/allAuthenticatedUsers (Cloud Run's "
    "roles/run.invoker included) are mlf-gcp-no-public-members.",
    remediation="Require IAM/SigV4, a JWT authorizer or an endpoint key/token.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(LAMBDA_URL, APIGW_METHOD, APIGW_ROUTE, AML_ENDPOINT, CLOUD_RUN),
    section="serving",
    config={"allowedAuthModes": {"type": "array", "items": {"type": "string"},
                                 "default": ["AADToken", "AMLToken", "Key"],
                                 "description": "Azure ML endpoint auth modes allowed."}},
)


@resource_policy(NO_ANONYMOUS)
def serving_no_anonymous(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    if resource_type == LAMBDA_URL and str(props.get("authorizationType")) == "NONE":
        yield "authorizationType is NONE: anyone can invoke the function URL"
    elif resource_type == APIGW_METHOD and str(props.get("authorization")) == "NONE" and not truthy(props.get("apiKeyRequired")):
        yield "authorization is NONE and no API key is required"
    elif resource_type == APIGW_ROUTE and str(props.get("authorizationType") or "NONE") == "NONE" and not truthy(
        props.get("apiKeyRequired")
    ):
        yield "authorizationType is NONE: the route is open to anyone"
    elif resource_type == CLOUD_RUN:
        if truthy(props.get("invokerIamDisabled")):
            yield "invokerIamDisabled is true: anyone who reaches the service can invoke it, without an IAM check"
    elif _aml(resource_type, "OnlineEndpoint"):
        mode = get(props, "properties.authMode")
        allowed = [str(m) for m in items(config.get("allowedAuthModes"))]
        if mode is None or str(mode) not in allowed:
            yield f"properties.authMode is {fmt(mode) if mode else 'not set'}, not one of {', '.join(allowed)}"


POLICIES: list[MlfPolicy] = [serving_cmk, serving_data_capture, serving_min_replicas, serving_no_anonymous]
