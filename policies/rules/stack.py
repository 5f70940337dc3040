"""Stack rules: alarms on every endpoint, prod stateful resources protected, the GPU budget at max
scale, allowed regions, and encrypted alert topics.

These need the whole stack at once (an alarm is about an endpoint; a budget sums every pool), or
resource options (``protect``) that only stack validation sees. Joins are indexed once per validation
(``MentionIndex`` / ``ReferenceIndex``), never endpoint x alarm scans: a stack of hundreds of endpoints
and alarms validates in tens of milliseconds.
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
    MentionIndex,
    MlfPolicy,
    ReferenceIndex,
    RuleInfo,
    TypeMatcher,
    falsy,
    flag_rule,
    get,
    is_set,
    items,
    mapping,
    must_be_set,
    number,
    of_types,
    plain,
    resource_policy,
    stack_policy,
)
from .serving import (
    AML_DEPLOYMENT,
    AML_ENDPOINT,
    CLOUD_RUN,
    SCALING_TARGET,
    SM_ENDPOINT,
    SM_ENDPOINT_CONFIG,
    VERTEX_ENDPOINT,
    cloud_run_gpus,
    cloud_run_max_instances,
)

CW_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GCP_ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
AZ_METRIC_ALERT = "azure-native:monitor:MetricAlert"
# Log (KQL) alerts; azure-native v1 and older API versions put both alert kinds in the insights module.
AZ_LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
AZ_METRIC_ALERTS = (AZ_METRIC_ALERT, "azure-native:insights:MetricAlert")
AZ_LOG_ALERTS = (AZ_LOG_ALERT, "azure-native:insights:ScheduledQueryRule")
SNS_TOPIC = "aws:sns/topic:Topic"
AZ_AUTOSCALE = ("azure-native:monitor:AutoscaleSetting", "azure-native:insights:AutoscaleSetting")

_LATENCY = re.compile(r"latenc", re.IGNORECASE)
_ERRORS = re.compile(r"error|5xx|fault|fail", re.IGNORECASE)
# In a log alert's query, latency is a duration column (AmlOnlineEndpointTrafficLog's TotalDurationMs,
# App Insights' duration) and errors a status code filter (ResponseCode >= 500).
_LOG_LATENCY = re.compile(r"latenc|duration|response.?time", re.IGNORECASE)
_LOG_ERRORS = re.compile(r"error|5xx|fault|fail|(response|result|status).?code\w*\s*(>=?|==|in|startswith)\s*\(?\s*['\"]?[45]",
                         re.IGNORECASE)
_IS_CW, _IS_GCP = TypeMatcher([CW_ALARM]), TypeMatcher([GCP_ALERT])
_IS_AZ_METRIC, _IS_AZ_LOG = TypeMatcher(AZ_METRIC_ALERTS), TypeMatcher(AZ_LOG_ALERTS)


def _alarm_shape(alarm: PolicyResource) -> tuple[bool, bool, bool]:
    """(measures latency, measures errors, notifies someone) of one alarm."""
    props = alarm.props
    raw = mapping(plain(props))
    if _IS_CW(alarm.resource_type):
        measured = json.dumps({k: raw.get(k) for k in ("metricName", "metricQueries", "namespace")}, default=str)
        routed = is_set(props, "alarmActions") and not falsy(props.get("actionsEnabled"))
    elif _IS_GCP(alarm.resource_type):
        measured = json.dumps({k: raw.get(k) for k in ("conditions", "displayName")}, default=str)
        routed = is_set(props, "notificationChannels") and not falsy(props.get("enabled"))
    elif _IS_AZ_LOG(alarm.resource_type):
        # Only the query text and the rule's own words: JSON keys ("windowSize", ...) would match too.
        queries = [get(c, "query") for c in items(get(raw, "criteria.allOf"))] + [get(raw, "source.query")]
        text = "\n".join(str(v) for v in (*queries, raw.get("displayName"), raw.get("description")) if v)
        routed = (is_set(props, "actions.actionGroups") or is_set(props, "action.aznsAction.actionGroup")) and not falsy(
            props.get("enabled"))
        return bool(_LOG_LATENCY.search(text)), bool(_LOG_ERRORS.search(text)), routed
    else:
        measured = json.dumps({k: raw.get(k) for k in ("criteria", "description")}, default=str)
        routed = any(is_set(a, "actionGroupId") for a in items(raw.get("actions"))) and not falsy(props.get("enabled"))
    return bool(_LATENCY.search(measured)), bool(_ERRORS.search(measured)), routed


ENDPOINT_ALARMS = RuleInfo(
    id="mlf-endpoint-alarms",
    title="Every endpoint has latency and error alarms that notify",
    description="Every serving endpoint (SageMaker endpoint, Vertex AI endpoint, Cloud Run v2 service, Azure ML "
    "online endpoint) has a latency alarm and an error alarm (CloudWatch alarms, Cloud Monitoring alert "
    "policies whose filters name the service, Azure metric alerts or scheduled-query log alerts) that "
    "route to a notification target (SNS topic, notification channel, action group).",
    remediation="Use mlfabric's monitoring component: it alarms on p99 latency and error rate per endpoint "
    "and routes to the platform's alert topic (monitoring.notify).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(SM_ENDPOINT, VERTEX_ENDPOINT, CLOUD_RUN, AML_ENDPOINT, CW_ALARM, GCP_ALERT, *AZ_METRIC_ALERTS,
                    *AZ_LOG_ALERTS),
    section="monitoring",
    kind="stack",
)


def _alarm_props(alarm: PolicyResource) -> list[str]:
    """The props through which an alarm names what it watches."""
    if _IS_CW(alarm.resource_type):
        return ["dimensions", "metricQueries"]
    if _IS_GCP(alarm.resource_type):
        return ["conditions"]
    if _IS_AZ_LOG(alarm.resource_type):
        return ["scopes", "criteria", "source"]
    return ["scopes", "criteria"]


@stack_policy(ENDPOINT_ALARMS)
def endpoint_alarms(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    alarms = of_types(resources, CW_ALARM, GCP_ALERT, *AZ_METRIC_ALERTS, *AZ_LOG_ALERTS)
    # Indexed once: which endpoint each alarm watches, and what it measures (not endpoints x alarms).
    watching = MentionIndex(alarms, _alarm_props)
    shapes = {alarm.urn: _alarm_shape(alarm) for alarm in alarms}
    for endpoint in of_types(resources, SM_ENDPOINT, VERTEX_ENDPOINT, CLOUD_RUN, AML_ENDPOINT):
        latency = errors = False
        unrouted: list[str] = []
        for alarm in watching.of(endpoint):
            is_latency, is_errors, routed = shapes[alarm.urn]
            if (is_latency or is_errors) and not routed:
                unrouted.append(alarm.name)
                continue
            latency, errors = latency or is_latency, errors or is_errors
        missing = [what for what, ok in (("latency", latency), ("error", errors)) if not ok]
        if missing:
            extra = f" ({', '.join(unrouted)} notify nobody)" if unrouted else ""
            yield (f"endpoint {endpoint.name} has no {' and no '.join(missing)} alarm routed to a notification "
                   f"target{extra}", endpoint.urn)



SNS_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
GCP_CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
AZ_ACTION_GROUPS = ("azure-native:monitor:ActionGroup", "azure-native:insights:ActionGroup")
# An action group's receiver lists: any one non-empty reaches someone.
_AZ_RECEIVERS = ("emailReceivers", "webhookReceivers", "smsReceivers", "voiceReceivers", "azureAppPushReceivers",
                 "armRoleReceivers", "logicAppReceivers", "azureFunctionReceivers", "automationRunbookReceivers",
                 "itsmReceivers", "eventHubReceivers")

ALERTS_REACH_SOMEONE = RuleInfo(
    id="mlf-alerts-reach-someone",
    title="A stack with endpoints pages someone",
    description="A stack that serves endpoints has at least one notification target that reaches a person "
    "or a system: an SNS topic subscription (AWS), a notification channel other than the Pub/Sub alert "
    "stream (GCP), an action group with a receiver (Azure). Alarms routed only to a topic nobody "
    "subscribes to page nobody. Advisory in dev and staging configs.",
    remediation="List e-mail addresses or https:// webhooks under monitoring.notify.",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(SM_ENDPOINT, VERTEX_ENDPOINT, CLOUD_RUN, AML_ENDPOINT, SNS_SUBSCRIPTION, GCP_CHANNEL,
                    *AZ_ACTION_GROUPS),
    section="monitoring",
    kind="stack",
)


def _reaches_someone(resource: PolicyResource) -> bool:
    if resource.resource_type == SNS_SUBSCRIPTION:
        return is_set(resource.props, "endpoint")
    if resource.resource_type == GCP_CHANNEL:
        # The pubsub channel streams alerts to the platform's own topic; it pages nobody by itself.
        return str(resource.props.get("type") or "") != "pubsub" and not falsy(resource.props.get("enabled"))
    return any(items(resource.props.get(key)) for key in _AZ_RECEIVERS) and not falsy(resource.props.get("enabled"))


@stack_policy(ALERTS_REACH_SOMEONE)
def alerts_reach_someone(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    endpoints = of_types(resources, SM_ENDPOINT, VERTEX_ENDPOINT, CLOUD_RUN, AML_ENDPOINT)
    if not endpoints:
        return
    if any(_reaches_someone(r) for r in of_types(resources, SNS_SUBSCRIPTION, GCP_CHANNEL, *AZ_ACTION_GROUPS)):
        return
    names = ", ".join(sorted(e.name for e in endpoints))
    yield (f"the alarms of {len(endpoints)} endpoint(s) ({names}) notify nobody: no subscription, channel "
           "or receiver reaches a person", None)

STATEFUL_DEFAULT = [
    "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:ecr/repository:Repository", "aws:eks/cluster:Cluster",
    "aws:efs/fileSystem:FileSystem", "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "gcp:storage/bucket:Bucket", "gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKey:CryptoKey",
    "gcp:artifactregistry/repository:Repository", "gcp:container/cluster:Cluster",
    "azure-native:resources:ResourceGroup", "azure-native:storage:StorageAccount", "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key", "azure-native:containerregistry:Registry",
    "azure-native:containerservice:ManagedCluster", "azure-native:machinelearningservices:Workspace",
    # Model versions, and the audit/platform logs a deletion would lose.
    "azure-native:machinelearningservices:Registry", "azure-native:operationalinsights:Workspace",
    "gcp:logging/projectBucketConfig:ProjectBucketConfig",
]

STATEFUL = RuleInfo(
    id="mlf-prod-stateful-protected",
    title="Prod stateful resources protected",
    description="In prod, every stateful resource (buckets, keys, registries, clusters, storage "
    "accounts, vaults, ML workspaces and registries, log buckets and Log Analytics workspaces: "
    "statefulTypes in config) is declared with protect=true, so no "
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
    "node, plus GPU serving instances at max replicas when includeServing: SageMaker variants at their "
    "scaling target's maxCapacity, Azure ML deployments at the largest of their autoscale settings' "
    "profiles[].capacity.maximum, scaleSettings.maxInstances and sku.capacity, Cloud Run services at "
    "scaling.maxInstanceCount (else the template's; Cloud Run's default of 100 when neither is set) "
    "times the template's nvidia.com/gpu limit) stay within the environment's maxTotalGpus. GPU "
    "machines the pack does not know are reported, not counted as zero.",
    remediation="Lower max_nodes/max_replicas, or raise maxTotalGpus in policies/config/<env>.json after a "
    "budget review (add unknown machines to gpusPerInstanceType).",
    severity=HIGH,
    enforcement=MANDATORY,
    clouds=("aws", "gcp", "azure"),
    resource_types=(*(gpu.EKS_NODE_GROUP, gpu.GKE_NODE_POOL, gpu.AKS_AGENT_POOL, gpu.AKS_CLUSTER),
                    SM_ENDPOINT_CONFIG, SCALING_TARGET, AML_DEPLOYMENT, *AZ_AUTOSCALE, CLOUD_RUN),
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


_AML_DEPLOYMENT_URI = re.compile(r"/onlineEndpoints/([^/]+)/deployments/([^/]+)/?$", re.IGNORECASE)


def _autoscale_maximum(setting: PolicyResource) -> float | None:
    """The most instances an enabled autoscale setting allows (over its profiles); None when disabled."""
    if falsy(setting.props.get("enabled")):
        return None
    maxima = [number(get(p, "capacity.maximum")) for p in items(setting.props.get("profiles"))]
    return max((m for m in maxima if m is not None), default=None)


def _aml_autoscale(resources: Sequence[PolicyResource], deployments: Sequence[PolicyResource]) -> dict[str, float]:
    """Deployment URN -> the largest maximum of the autoscale settings targeting it.

    Joined by the property dependency of ``targetResourceUri`` (or its value naming the deployment's
    id), else by the endpoint and deployment names at the end of the URI."""
    by_reference = ReferenceIndex(deployments)
    by_name = {(str(d.props.get("endpointName") or "").lower(), str(d.props.get("deploymentName") or "").lower()): d
               for d in deployments}
    found: dict[str, float] = {}
    for setting in of_types(resources, *AZ_AUTOSCALE):
        most = _autoscale_maximum(setting)
        if most is None:
            continue
        targets = by_reference.of(setting, "targetResourceUri")
        uri = _AML_DEPLOYMENT_URI.search(str(setting.props.get("targetResourceUri") or ""))
        if not targets and uri and (uri.group(1).lower(), uri.group(2).lower()) in by_name:
            targets = [by_name[(uri.group(1).lower(), uri.group(2).lower())]]
        for target in targets:
            found[target.urn] = max(found.get(target.urn, 0.0), most)
    return found


GpuLine = tuple[str, str, int | None, int]  # (what, machine, gpus per machine or None, max machines)


def _endpoint_users(endpoints: Sequence[PolicyResource], configs: Sequence[PolicyResource]) -> dict[str, list[PolicyResource]]:
    """Endpoint config URN -> the SageMaker endpoints that run it."""
    by_config = ReferenceIndex(configs)
    users_of: dict[str, list[PolicyResource]] = {}
    for endpoint in endpoints:
        for config in by_config.of(endpoint, "endpointConfigName"):
            users_of.setdefault(config.urn, []).append(endpoint)
    return users_of


def _variant_gpus(config: PolicyResource, candidates: Mapping[str, PolicyResource], extra: Mapping[str, Any]) -> list[GpuLine]:
    """A config's GPU variants, each at its scaling target's maxCapacity (else its initial count)."""
    found: list[GpuLine] = []
    for variant in items(config.props.get("productionVariants")) + items(config.props.get("shadowProductionVariants")):
        machine = str(mapping(variant).get("instanceType") or "")
        if not gpu.is_gpu_machine(machine):
            continue
        name = str(mapping(variant).get("variantName") or "")
        scaling = [t for t in candidates.values() if str(t.props.get("resourceId") or "").endswith(f"/variant/{name}")]
        most = max((number(t.props.get("maxCapacity")) or 0 for t in scaling), default=None)
        count = most if most is not None else number(mapping(variant).get("initialInstanceCount")) or 1
        found.append((f"endpoint {config.name}/{name}", machine, gpu.gpus_per_machine(machine, extra), int(count)))
    return found


def _sagemaker_gpus(resources: Sequence[PolicyResource], extra: Mapping[str, Any]) -> list[GpuLine]:
    endpoints = of_types(resources, SM_ENDPOINT)
    targets = [t for t in of_types(resources, SCALING_TARGET) if t.props.get("serviceNamespace") == "sagemaker"]
    configs = of_types(resources, SM_ENDPOINT_CONFIG)
    users_of = _endpoint_users(endpoints, configs)
    scaling_of = MentionIndex(targets, lambda _: ["resourceId"])
    found: list[GpuLine] = []
    for config in configs:
        users = users_of.get(config.urn, [])
        if endpoints and not users:
            continue  # a config no endpoint runs costs nothing
        candidates = {t.urn: t for e in users for t in scaling_of.of(e)} if users else {t.urn: t for t in targets}
        found.extend(_variant_gpus(config, candidates, extra))
    return found


def _aml_gpus(resources: Sequence[PolicyResource], extra: Mapping[str, Any]) -> list[GpuLine]:
    deployments = of_types(resources, AML_DEPLOYMENT)
    autoscaled = _aml_autoscale(resources, deployments)
    found: list[GpuLine] = []
    for deployment in deployments:
        machine = str(get(deployment.props, "properties.instanceType") or "")
        if not gpu.is_gpu_machine(machine):
            continue
        scale = mapping(get(deployment.props, "properties.scaleSettings"))
        sizes = [autoscaled.get(deployment.urn), number(scale.get("maxInstances")), number(get(deployment.props, "sku.capacity"))]
        most = max((n for n in sizes if n is not None), default=None) or 1
        found.append((f"deployment {deployment.name}", machine, gpu.gpus_per_machine(machine, extra), int(most)))
    return found


def _cloud_run_gpus(resources: Sequence[PolicyResource]) -> list[GpuLine]:
    found: list[GpuLine] = []
    for service in of_types(resources, CLOUD_RUN):
        shape = cloud_run_gpus(service.props)
        if shape is None:
            continue
        accelerator, per_instance = shape
        found.append((f"service {service.name}", accelerator, per_instance, cloud_run_max_instances(service.props)))
    return found


def _serving_gpus(resources: Sequence[PolicyResource], extra: Mapping[str, Any]) -> list[GpuLine]:
    """(what, machine, gpus per machine or None, max machines) for GPU serving capacity.

    Each join is indexed once (endpoints by config, scaling targets by endpoint, autoscale settings by
    deployment), so the rule stays linear in the size of the stack."""
    return [*_sagemaker_gpus(resources, extra), *_aml_gpus(resources, extra), *_cloud_run_gpus(resources)]


@stack_policy(GPU_BUDGET)
def gpu_budget(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    extra = mapping(config.get("gpusPerInstanceType"))
    budget = number(config.get("maxTotalGpus"))
    lines: list[GpuLine] = []
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


alert_topic_encrypted = flag_rule(TOPIC_ENCRYPTED, must_be_set(
    "kmsMasterKeyId", "kmsMasterKeyId is not set: messages are stored unencrypted"))


POLICIES: list[MlfPolicy] = [endpoint_alarms, alerts_reach_someone, prod_stateful_protected, gpu_budget, allowed_regions,
                             alert_topic_encrypted]
