"""Stack rules: alarms on every endpoint, prod stateful resources protected, the GPU budget at max
scale, allowed regions, and encrypted alert topics.

These need the whole stack at once (an alarm is about an endpoint; a budget sums every pool), or
resource options (``protect``) that only stack validation sees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from . import gpu
from .base import (
    ADVISORY,
    HIGH,
    MANDATORY,
    MEDIUM,
    MlfPolicy,
    RuleInfo,
    TypeMatcher,
    falsy,
    get,
    is_set,
    items,
    mapping,
    mentions,
    number,
    of_types,
    plain,
    refers_to,
    resource_policy,
    stack_policy,
)
from .serving import AML_DEPLOYMENT, AML_ENDPOINT, SCALING_TARGET, SM_ENDPOINT, SM_ENDPOINT_CONFIG, VERTEX_ENDPOINT

CW_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GCP_ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
AZ_METRIC_ALERT = "azure-native:monitor:MetricAlert"
SNS_TOPIC = "aws:sns/topic:Topic"

_LATENCY = re.compile(r"latenc", re.IGNORECASE)
_ERRORS = re.compile(r"error|5xx|fault|fail", re.IGNORECASE)


def _alarm_shape(alarm: PolicyResource) -> tuple[str, bool]:
    """(text of what the alarm measures, whether it notifies someone)."""
    props = alarm.props
    if alarm.resource_type == CW_ALARM:
        measured = {k: plain(props).get(k) for k in ("metricName", "metricQueries", "namespace")}
        routed = is_set(props, "alarmActions") and not falsy(props.get("actionsEnabled"))
    elif alarm.resource_type == GCP_ALERT:
        measured = {k: plain(props).get(k) for k in ("conditions", "displayName")}
        routed = is_set(props, "notificationChannels") and not falsy(props.get("enabled"))
    else:
        measured = {k: plain(props).get(k) for k in ("criteria", "description")}
        actions = plain(props).get("actions")
        routed = any(is_set(a, "actionGroupId") for a in items(actions)) and not falsy(props.get("enabled"))
    return json.dumps(plain(measured), default=str), routed


ENDPOINT_ALARMS = RuleInfo(
    id="mlf-endpoint-alarms",
    title="Every endpoint has latency and error alarms that notify",
    description="Every serving endpoint (SageMaker endpoint, Vertex AI endpoint, Azure ML online "
    "endpoint) has a latency alarm and an error alarm (CloudWatch alarms, Cloud Monitoring alert "
    "policies, Azure metric alerts) that route to a notification target (SNS topic, notification "
    "channel, action group).",
    remediation="Use mlfabric's monitoring component: it alarms on p99 latency and error rate per endpoint "
    "and routes to the platform's alert topic (monitoring.notify).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(SM_ENDPOINT, VERTEX_ENDPOINT, AML_ENDPOINT, CW_ALARM, GCP_ALERT, AZ_METRIC_ALERT),
    section="monitoring",
    kind="stack",
)

_ALARM_PROPS = {CW_ALARM: ["dimensions", "metricQueries"], GCP_ALERT: ["conditions"], AZ_METRIC_ALERT: ["scopes", "criteria"]}


@stack_policy(ENDPOINT_ALARMS)
def endpoint_alarms(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    alarms = of_types(resources, CW_ALARM, GCP_ALERT, AZ_METRIC_ALERT)
    for endpoint in of_types(resources, SM_ENDPOINT, VERTEX_ENDPOINT, AML_ENDPOINT):
        latency = errors = False
        unrouted: list[str] = []
        for alarm in alarms:
            keys = next((v for k, v in _ALARM_PROPS.items() if TypeMatcher([k])(alarm.resource_type)), [])
            if not mentions(alarm, endpoint, keys):
                continue
            measured, routed = _alarm_shape(alarm)
            is_latency, is_errors = bool(_LATENCY.search(measured)), bool(_ERRORS.search(measured))
            if (is_latency or is_errors) and not routed:
                unrouted.append(alarm.name)
                continue
            latency, errors = latency or is_latency, errors or is_errors
        missing = [what for what, ok in (("latency", latency), ("error", errors)) if not ok]
        if missing:
            extra = f" ({', '.join(unrouted)} notify nobody)" if unrouted else ""
            yield (f"endpoint {endpoint.name} has no {' and no '.join(missing)} alarm routed to a notification "
                   f"target{extra}", endpoint.urn)


STATEFUL_DEFAULT = [
    "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:ecr/repository:Repository", "aws:eks/cluster:Cluster",
    "aws:efs/fileSystem:FileSystem", "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "gcp:storage/bucket:Bucket", "gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKey:CryptoKey",
    "gcp:artifactregistry/repository:Repository", "gcp:container/cluster:Cluster",
    "azure-native:resources:ResourceGroup", "azure-native:storage:StorageAccount", "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key", "azure-native:containerregistry:Registry",
    "azure-native:containerservice:ManagedCluster", "azure-native:machinelearningservices:Workspace",
]

STATEFUL = RuleInfo(
    id="mlf-prod-stateful-protected",
    title="Prod stateful resources protected",
    description="In prod, every stateful resource (buckets, keys, registries, clusters, storage "
    "accounts, vaults, ML workspaces: statefulTypes in config) is declared with protect=true, so no "
    "`pulumi destroy` or replacing change can delete it. Disabled in the dev and staging configs.",
    remediation="Keep deletion_protection on in prod (the default); mlfabric components then set "
    "protect and retain_on_delete on stateful resources.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=tuple(STATEFUL_DEFAULT),
    section="storage",
    config={"statefulTypes": {"type": "array", "items": {"type": "string"}, "default": STATEFUL_DEFAULT,
                              "description": "Type tokens that hold data (azure-native: any API version)."}},
    kind="stack",
)


@stack_policy(STATEFUL)
def prod_stateful_protected(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    match = TypeMatcher(str(t) for t in items(config.get("statefulTypes")))
    for resource in resources:
        if match(resource.resource_type) and not resource.opts.protect:
            yield (f"{resource.resource_type.rsplit(':', 1)[-1]} {resource.name} is not protected (protect=false)",
                   resource.urn)


GPU_BUDGET = RuleInfo(
    id="mlf-gpu-budget",
    title="Total GPUs at max scale within budget",
    description="The GPUs the stack can run at maximum scale (every GPU pool at max nodes times GPUs per "
    "node, plus GPU serving instances at max replicas when includeServing) stay within the "
    "environment's maxTotalGpus. GPU machines the pack does not know are reported, not counted as zero.",
    remediation="Lower max_nodes/max_replicas, or raise maxTotalGpus in policies/config/<env>.json after a "
    "budget review (add unknown machines to gpusPerInstanceType).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(*(gpu.EKS_NODE_GROUP, gpu.GKE_NODE_POOL, gpu.AKS_AGENT_POOL, gpu.AKS_CLUSTER),
                    SM_ENDPOINT_CONFIG, SCALING_TARGET, AML_DEPLOYMENT),
    section="training",
    config={
        "maxTotalGpus": {"type": "integer", "default": 64, "minimum": 0,
                         "description": "Most GPUs the stack may run at once, at max scale."},
        "includeServing": {"type": "boolean", "default": True,
                           "description": "Count GPU serving instances at max replicas too."},
        "gpusPerInstanceType": {"type": "object", "additionalProperties": {"type": "integer"}, "default": {},
                                "description": "GPUs per machine for types the pack does not know."},
    },
    kind="stack",
)


def _serving_gpus(resources: Sequence[PolicyResource], extra: Mapping[str, Any]) -> list[tuple[str, str, int | None, int]]:
    """(what, machine, gpus per machine or None, max machines) for GPU serving capacity."""
    found: list[tuple[str, str, int | None, int]] = []
    endpoints = of_types(resources, SM_ENDPOINT)
    targets = [t for t in of_types(resources, SCALING_TARGET) if t.props.get("serviceNamespace") == "sagemaker"]
    for config in of_types(resources, SM_ENDPOINT_CONFIG):
        users = [e for e in endpoints if refers_to(e, "endpointConfigName", config)]
        if endpoints and not users:
            continue  # a config no endpoint runs costs nothing
        for variant in items(config.props.get("productionVariants")) + items(config.props.get("shadowProductionVariants")):
            machine = str(mapping(variant).get("instanceType") or "")
            if not gpu.is_gpu_machine(machine):
                continue
            name = str(mapping(variant).get("variantName") or "")
            scaling = [t for t in targets if str(t.props.get("resourceId") or "").endswith(f"/variant/{name}")
                       and (not users or any(mentions(t, e, ["resourceId"]) for e in users))]
            most = max((number(t.props.get("maxCapacity")) or 0 for t in scaling), default=None)
            count = most if most is not None else number(mapping(variant).get("initialInstanceCount")) or 1
            found.append((f"endpoint {config.name}/{name}", machine, gpu.gpus_per_machine(machine, extra), int(count)))
    for deployment in of_types(resources, AML_DEPLOYMENT):
        machine = str(get(deployment.props, "properties.instanceType") or "")
        if not gpu.is_gpu_machine(machine):
            continue
        scale = mapping(get(deployment.props, "properties.scaleSettings"))
        most = number(scale.get("maxInstances")) or number(get(deployment.props, "sku.capacity")) or 1
        found.append((f"deployment {deployment.name}", machine, gpu.gpus_per_machine(machine, extra), int(most)))
    return found


@stack_policy(GPU_BUDGET)
def gpu_budget(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    extra = mapping(config.get("gpusPerInstanceType"))
    budget = number(config.get("maxTotalGpus"))
    lines: list[tuple[str, str, int | None, int]] = []
    for resource in resources:
        for pool_type, pool in gpu.node_pools(resource.resource_type, resource.props):
            if not gpu.is_gpu_pool(pool_type, pool):
                continue
            machine = ",".join(gpu.pool_machines(pool_type, pool)) or "accelerators"
            label = str(pool.get("name") or pool.get("nodeGroupName") or resource.name)
            most = gpu.pool_max_nodes(pool_type, pool)
            lines.append((f"pool {label}", machine, gpu.pool_gpus_per_node(pool_type, pool, extra), most or 0))
    if config.get("includeServing", True) not in (False, "false"):
        lines.extend(_serving_gpus(resources, extra))
    unknown = sorted({machine for _, machine, per, _ in lines if per is None})
    if unknown:
        yield (f"GPUs per machine unknown for {', '.join(unknown)}: add them to gpusPerInstanceType", None)
    total = sum((per or 0) * most for _, _, per, most in lines)
    if budget is not None and total > budget:
        parts = ", ".join(f"{what}: {most} x {per} {machine}" for what, machine, per, most in lines if per)
        yield (f"{total} GPUs at max scale, more than the budget of {budget:g} ({parts})", None)


REGIONS = RuleInfo(
    id="mlf-allowed-regions",
    title="Resources only in allowed regions",
    description="Providers (aws region, gcp region, azure-native location) and resources that name their "
    "own region/location deploy only into allowedRegions from policy config (empty: any region). "
    "Azure's 'global' location is always allowed.",
    remediation="Set the spec's region to an allowed region, or extend allowedRegions in "
    "policies/config/<env>.json (data-residency review).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=("re:^pulumi:providers:(aws|gcp|azure-native)$", "re:^(aws|gcp|azure-native):"),
    section="region",
    config={"allowedRegions": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "Regions resources may live in (empty: any)."}},
)
_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")


def _region_of(resource_type: str, props: Mapping[str, Any]) -> str | None:
    if resource_type.startswith("azure-native") or resource_type == "pulumi:providers:azure-native":
        value = props.get("location")
    elif resource_type.startswith("gcp:"):
        value = props.get("region") or props.get("location")
    else:
        value = props.get("region")
    if not isinstance(value, str) or not value:
        return None
    region = value.lower().replace(" ", "")
    zone = _ZONE.match(region)
    return zone.group(1) if zone else region


@resource_policy(REGIONS)
def allowed_regions(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    allowed = {str(r).lower().replace(" ", "") for r in items(config.get("allowedRegions"))}
    region = _region_of(resource_type, props)
    if allowed and region is not None and region != "global" and region not in allowed:
        yield f"region {region} is not allowed (allowed: {', '.join(sorted(allowed))})"


TOPIC_ENCRYPTED = RuleInfo(
    id="mlf-alert-topic-encrypted",
    title="Alert topics encrypted",
    description="SNS topics (alarm routing) set kmsMasterKeyId, so alert payloads are encrypted at rest "
    "with a KMS key.",
    remediation="Give the topic kms_master_key_id (the platform key, or alias/aws/sns).",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("aws",),
    resource_types=(SNS_TOPIC,),
    section="monitoring",
)


@resource_policy(TOPIC_ENCRYPTED)
def alert_topic_encrypted(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    if not is_set(props, "kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set: messages are stored unencrypted"


POLICIES: list[MlfPolicy] = [endpoint_alarms, prod_stateful_protected, gpu_budget, allowed_regions, alert_topic_encrypted]
