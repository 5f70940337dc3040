"""``mlfabric verify``: is what is deployed on AWS still what the stack declares?

The declaration is the stack's offline plan (the same registrations ``pulumi up`` sent: node group
bounds, endpoint variants, repository settings, alarm names), the physical names come from
``pulumi stack output --json`` (buckets and node groups carry provider-generated suffixes), and the
live state is read with boto3. Checks:

- buckets: exist, default encryption SSE-KMS with the platform's storage key, versioning as the spec
  says (Enabled, or not enabled), all four public-access-block switches on; the access-log bucket too;
- ECR repositories: exist, scan on push and tag mutability as declared, KMS encryption;
- EKS: the cluster is ACTIVE at the declared Kubernetes version; every node group (system and each
  GPU pool) exists, is ACTIVE, with the declared instance type, capacity type and scaling bounds
  (desired size is the autoscaler's, not checked);
- SageMaker: every endpoint InService with exactly the declared variants (main, challenger, shadow)
  on the declared instance types, and each variant's autoscaling bounds; model package groups exist;
- monitoring: the alert topic exists, is KMS-encrypted and has every notify target subscribed; every
  declared alarm exists and notifies the alert topic.

Any failed check is drift (exit 1); each is printed as one ``drift:`` line naming the resource.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from mlfabric.cost import GPU_POOL_LABEL, SYSTEM_POOL_LABEL, Endpoint, Inventory, NodePool, inventory
from mlfabric.errors import UsageError
from mlfabric.plan import Plan
from mlfabric.preflight import ClientFactory, boto3_clients, error_code, is_client_error, require_aws, unreachable

__all__ = ["Check", "VerifyReport", "boto3_clients", "load_outputs", "render", "run"]

AWS_REPOSITORY: Final = "aws:ecr/repository:Repository"
AWS_ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECRET_MARK: Final = "[secret]"
# Stack outputs verify reads, by the spec section that makes the stack export them.
OUTPUTS_READ: Final = (
    "bucket_names", "storage_key_id", "access_log_bucket", "registry_urls", "model_registry_ids",
    "cluster_name", "gpu_pool_names", "endpoint_names", "alert_topic",
)
# Not-found answers: the resource (or, for a bucket setting, the configuration) does not exist.
_NOT_FOUND: Final = frozenset({
    "404", "NoSuchBucket", "NotFound", "NotFoundException", "RepositoryNotFoundException",
    "ResourceNotFoundException", "ResourceNotFound", "NoSuchEntity",
    "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration",
})


@dataclass(frozen=True)
class Check:
    """One comparison of a declared value with the live one."""

    resource: str
    check: str
    expected: str
    actual: str
    ok: bool

    def line(self) -> str:
        return f"drift: {self.resource}: {self.check}: expected {self.expected}, got {self.actual}"


@dataclass
class VerifyReport:
    stack: str
    region: str
    checks: list[Check] = field(default_factory=list)

    @property
    def drifted(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


class _Missing(Exception):
    """The resource does not exist (any service's not-found answer)."""


class _Unreadable(Exception):
    """The call failed for another reason (permissions...): the check cannot pass."""


def _call(method: Callable[..., Any], **kwargs: Any) -> Any:
    from botocore.exceptions import ClientError

    try:
        return method(**kwargs)
    except ClientError as error:
        code = error_code(error)
        message = str(error)
        if code in _NOT_FOUND or (code == "ValidationException" and ("not find" in message or "not exist" in message)):
            raise _Missing(code) from None
        raise _Unreadable(code or message) from None


def _equal(resource: str, check: str, expected: Any, actual: Any) -> Check:
    return Check(resource, check, str(expected), str(actual), expected == actual)


def _exists(resource: str, method: Callable[..., Any], **kwargs: Any) -> tuple[Any, list[Check]]:
    """(response, []) when the resource is there; (None, [failing check]) otherwise."""
    try:
        return _call(method, **kwargs), []
    except _Missing:
        return None, [Check(resource, "exists", "deployed", "missing", False)]
    except _Unreadable as error:
        return None, [Check(resource, "exists", "deployed", f"unreadable ({error})", False)]


def _read(resource: str, check: str, expected: str, method: Callable[..., Any], **kwargs: Any) -> tuple[Any, Check | None]:
    """A call whose not-found answer means "not configured" (None, no check) and whose other
    failures are a failing check."""
    try:
        return _call(method, **kwargs), None
    except _Missing:
        return None, None
    except _Unreadable as error:
        return None, Check(resource, check, expected, f"unreadable ({error})", False)


# --- outputs -------------------------------------------------------------------------------------


def load_outputs(path: Path, plan: Plan) -> dict[str, Any]:
    """``pulumi stack output --json`` of the stack; UsageError when it cannot be this stack's."""
    require_aws(plan, "verify")
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise UsageError([f"{path}: cannot read stack outputs ({error.strerror})"]) from None
    except json.JSONDecodeError as error:
        raise UsageError([f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"]) from None
    if not isinstance(data, dict):
        raise UsageError([f"{path}: not `pulumi stack output --json` output (expected a JSON object)"])
    problems: list[str] = []
    for key in ("cloud", "region", "environment"):
        declared = getattr(plan.spec, key)
        if key in data and data[key] != declared:
            problems.append(f"{path}: {key}: the outputs are from another stack (got {data[key]!r}, "
                            f"stack {plan.stack} declares {declared!r})")
    for key in OUTPUTS_READ:
        if key in plan.outputs and key not in data:
            problems.append(f"{path}: {key}: missing (stack {plan.stack} exports it; give the output of "
                            "`pulumi stack output --json`)")
        elif data.get(key) == SECRET_MARK:
            problems.append(f"{path}: {key}: a secret placeholder (run `pulumi stack output --json --show-secrets`)")
    if problems:
        raise UsageError(problems)
    return data


# --- storage -------------------------------------------------------------------------------------


def _same_key(declared: str, live: str) -> bool:
    """A KMS key named by ARN, key id or alias on either side."""
    if not declared or not live:
        return False
    return declared == live or declared.endswith(f"/{live}") or live.endswith(f"/{declared}")


def _bucket_checks(s3: Any, resource: str, bucket: str, key_arn: str | None, versioning: bool | None) -> list[Check]:
    _, missing = _exists(resource, s3.head_bucket, Bucket=bucket)
    if missing:
        return missing
    checks: list[Check] = []
    expected = "aws:kms with the storage key" if key_arn else "server-side encryption"
    answer, unreadable = _read(resource, "encryption", expected, s3.get_bucket_encryption, Bucket=bucket)
    if unreadable:
        checks.append(unreadable)
    else:
        rules = ((answer or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [{}]
        default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
        algorithm, key = default.get("SSEAlgorithm"), str(default.get("KMSMasterKeyID") or "")
        ok = (algorithm == "aws:kms" and _same_key(key_arn, key)) if key_arn else bool(algorithm)
        found = f"{algorithm} with {key}" if key else str(algorithm or "none")
        # The matching key is the one the expectation names; a different one is shown in full.
        actual = expected if key_arn and ok else found
        checks.append(Check(resource, "encryption", expected, actual, ok))
    if versioning is not None:
        answer, unreadable = _read(resource, "versioning", "", s3.get_bucket_versioning, Bucket=bucket)
        status = (answer or {}).get("Status") or "never enabled"
        expected = "Enabled" if versioning else "not Enabled"
        checks.append(unreadable or Check(resource, "versioning", expected, status, (status == "Enabled") == versioning))
    answer, unreadable = _read(resource, "public access block", "all four on", s3.get_public_access_block, Bucket=bucket)
    if unreadable is not None:
        checks.append(unreadable)
    else:
        switches = (answer or {}).get("PublicAccessBlockConfiguration") or {}
        off = [k for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
               if not switches.get(k)]
        actual = "all four on" if not off else ("none" if len(off) == 4 else "off: " + ", ".join(off))
        checks.append(Check(resource, "public access block", "all four on", actual, not off))
    return checks


def check_storage(plan: Plan, outputs: dict[str, Any], clients: ClientFactory) -> list[Check]:
    if "bucket_names" not in plan.outputs:
        return []
    s3 = clients("s3")
    names: dict[str, str] = outputs.get("bucket_names") or {}
    key_arn = str(outputs.get("storage_key_id") or "")
    checks: list[Check] = []
    for bucket in plan.spec.storage.buckets:
        physical = names.get(bucket.name)
        resource = f"bucket {bucket.name}" + (f" ({physical})" if physical else "")
        if physical is None:
            checks.append(Check(resource, "exists", "deployed", "not in the stack outputs", False))
            continue
        checks += _bucket_checks(s3, resource, physical, key_arn, plan.spec.storage.versioning)
    log_bucket = str(outputs.get("access_log_bucket") or "")
    if plan.spec.storage.access_logging:
        if not log_bucket:
            checks.append(Check("access-log bucket", "exists", "deployed", "not in the stack outputs", False))
        else:
            # Log delivery cannot write to SSE-KMS buckets: any default encryption is right here.
            checks += _bucket_checks(s3, f"access-log bucket ({log_bucket})", log_bucket, None, None)
    return checks


# --- registry ------------------------------------------------------------------------------------


def check_registry(plan: Plan, outputs: dict[str, Any], clients: ClientFactory) -> list[Check]:
    spec = plan.spec.registry
    if spec is None:
        return []
    checks: list[Check] = []
    declared = {str(r.inputs.get("name")): r.inputs for r in plan.of_type(AWS_REPOSITORY)}
    urls: dict[str, str] = outputs.get("registry_urls") or {}
    if spec.repositories:
        ecr = clients("ecr")
        for repository in spec.repositories:
            url = urls.get(repository)
            resource = f"repository {repository}"
            if url is None:
                checks.append(Check(resource, "exists", "deployed", "not in the stack outputs", False))
                continue
            name = url.split("/", 1)[1] if "/" in url else url
            resource = f"repository {repository} ({name})"
            answer, missing = _exists(resource, ecr.describe_repositories, repositoryNames=[name])
            if missing:
                checks += missing
                continue
            live = answer["repositories"][0]
            inputs = declared.get(name, {})
            scan = (inputs.get("imageScanningConfiguration") or {}).get("scanOnPush", spec.scan_on_push)
            mutability = inputs.get("imageTagMutability") or ("IMMUTABLE" if spec.immutable_tags else "MUTABLE")
            checks.append(_equal(resource, "scan on push", bool(scan),
                                 bool((live.get("imageScanningConfiguration") or {}).get("scanOnPush"))))
            checks.append(_equal(resource, "tag mutability", mutability, live.get("imageTagMutability")))
            checks.append(_equal(resource, "encryption", "KMS",
                                 (live.get("encryptionConfiguration") or {}).get("encryptionType", "AES256")))
    if spec.models:
        sagemaker = clients("sagemaker")
        arns: dict[str, str] = outputs.get("model_registry_ids") or {}
        for model in spec.models:
            arn = arns.get(model)
            if arn is None:
                checks.append(Check(f"model registry {model}", "exists", "deployed", "not in the stack outputs", False))
                continue
            group = arn.rsplit("/", 1)[-1]
            resource = f"model registry {model} ({group})"
            answer, missing = _exists(resource, sagemaker.describe_model_package_group, ModelPackageGroupName=group)
            checks += missing or [_equal(resource, "status", "Completed", answer.get("ModelPackageGroupStatus"))]
    return checks


# --- cluster ---------------------------------------------------------------------------------------


def _node_group_checks(resource: str, pool: NodePool, live: dict[str, Any]) -> list[Check]:
    scaling = live.get("scalingConfig") or {}
    return [
        _equal(resource, "status", "ACTIVE", live.get("status")),
        _equal(resource, "instance types", pool.machine, ", ".join(live.get("instanceTypes") or []) or "none"),
        _equal(resource, "capacity type", "SPOT" if pool.spot else "ON_DEMAND", live.get("capacityType")),
        _equal(resource, "scaling bounds", f"min {pool.min_nodes}, max {pool.max_nodes}",
               f"min {scaling.get('minSize')}, max {scaling.get('maxSize')}"),
    ]


def check_cluster(found: Inventory, outputs: dict[str, Any], clients: ClientFactory) -> list[Check]:
    if not found.clusters:
        return []
    eks = clients("eks")
    declared = found.clusters[0]
    name = str(outputs.get("cluster_name") or declared.name)
    resource = f"EKS cluster {name}"
    answer, missing = _exists(resource, eks.describe_cluster, name=name)
    if missing:
        return missing
    cluster = answer["cluster"]
    checks = [
        _equal(resource, "status", "ACTIVE", cluster.get("status")),
        _equal(resource, "Kubernetes version", declared.version, cluster.get("version")),
    ]
    try:
        groups = {}
        for page in eks.get_paginator("list_nodegroups").paginate(clusterName=name):
            for group in page.get("nodegroups") or []:
                groups[group] = _call(eks.describe_nodegroup, clusterName=name, nodegroupName=group)["nodegroup"]
    except (_Missing, _Unreadable) as error:
        return [*checks, Check(f"node groups of {name}", "readable", "listed", f"unreadable ({error})", False)]
    physical: dict[str, str] = outputs.get("gpu_pool_names") or {}
    for pool in found.pools:
        if pool.gpu:
            group_name = physical.get(pool.name)
            label = "GPU pool"
        else:
            # The system group's physical name is not a stack output: find it by its label.
            group_name = next((g for g, d in groups.items() if (d.get("labels") or {}).get(SYSTEM_POOL_LABEL)), None)
            label = "system node group"
        if group_name is None and pool.gpu:
            group_name = next((g for g, d in groups.items()
                               if (d.get("labels") or {}).get(GPU_POOL_LABEL) == pool.name), None)
        resource = f"{label} {pool.name}" + (f" ({group_name})" if group_name else "")
        if group_name is None or group_name not in groups:
            checks.append(Check(resource, "exists", "deployed", "missing", False))
            continue
        checks += _node_group_checks(resource, pool, groups[group_name])
    return checks


# --- serving ---------------------------------------------------------------------------------------


def _endpoint_checks(endpoint: Endpoint, physical: str, sagemaker: Any, autoscaling: Any) -> list[Check]:
    resource = f"endpoint {endpoint.name} ({physical})"
    answer, missing = _exists(resource, sagemaker.describe_endpoint, EndpointName=physical)
    if missing:
        return missing
    checks = [_equal(resource, "status", "InService", answer.get("EndpointStatus"))]
    declared = sorted(v.name for v in endpoint.variants)
    live_variants = [v["VariantName"] for key in ("ProductionVariants", "ShadowProductionVariants")
                     for v in answer.get(key) or []]
    checks.append(_equal(resource, "variants", ", ".join(declared), ", ".join(sorted(live_variants))))
    config_name = answer.get("EndpointConfigName")
    types: dict[str, str] = {}
    if config_name:
        try:
            config = _call(sagemaker.describe_endpoint_config, EndpointConfigName=config_name)
            types = {v["VariantName"]: v.get("InstanceType") or "serverless"
                     for key in ("ProductionVariants", "ShadowProductionVariants") for v in config.get(key) or []}
        except (_Missing, _Unreadable) as error:
            checks.append(Check(resource, "endpoint configuration", config_name, f"unreadable ({error})", False))
    for variant in endpoint.variants:
        if variant.name not in live_variants:
            continue
        where = f"{resource} variant {variant.name}"
        if types:
            checks.append(_equal(where, "instance type", variant.instance, types.get(variant.name, "none")))
        resource_id = f"endpoint/{physical}/variant/{variant.name}"
        try:
            targets = _call(autoscaling.describe_scalable_targets, ServiceNamespace="sagemaker",
                            ResourceIds=[resource_id]).get("ScalableTargets") or []
        except (_Missing, _Unreadable) as error:
            checks.append(Check(where, "autoscaling bounds", "readable", f"unreadable ({error})", False))
            continue
        live = (f"min {targets[0].get('MinCapacity')}, max {targets[0].get('MaxCapacity')}" if targets
                else "no scalable target")
        checks.append(_equal(where, "autoscaling bounds", f"min {variant.min_replicas}, max {variant.max_replicas}", live))
    return checks


def check_serving(found: Inventory, outputs: dict[str, Any], clients: ClientFactory) -> list[Check]:
    if not found.endpoints:
        return []
    sagemaker = clients("sagemaker")
    autoscaling = clients("application-autoscaling")
    names: dict[str, str] = outputs.get("endpoint_names") or {}
    checks: list[Check] = []
    for endpoint in found.endpoints:
        checks += _endpoint_checks(endpoint, names.get(endpoint.name, endpoint.physical), sagemaker, autoscaling)
    return checks


# --- monitoring ------------------------------------------------------------------------------------


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _topic_checks(plan: Plan, topic: str, clients: ClientFactory) -> list[Check]:
    """The alert topic: deployed, KMS-encrypted, every notify target subscribed."""
    sns = clients("sns")
    resource = f"alert topic ({topic.rsplit(':', 1)[-1]})"
    answer, missing = _exists(resource, sns.get_topic_attributes, TopicArn=topic)
    if missing:
        return missing
    key = (answer.get("Attributes") or {}).get("KmsMasterKeyId") or ""
    checks = [Check(resource, "encryption", "KMS key", key or "none", bool(key))]
    try:
        subscribed = {s.get("Endpoint") for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
            TopicArn=topic) for s in page.get("Subscriptions") or []}
    except Exception as error:
        subscribed = set()
        checks.append(Check(resource, "subscriptions", "readable", f"unreadable ({error_code(error)})", False))
    for target in plan.spec.monitoring.notify:
        checks.append(Check(resource, f"subscription {target}", "subscribed",
                            "subscribed" if target in subscribed else "missing", target in subscribed))
    return checks


def _live_alarms(names: list[str], clients: ClientFactory) -> dict[str, dict[str, Any]]:
    """Alarm name -> its description, for the declared names that exist (_Missing/_Unreadable raise)."""
    cloudwatch = clients("cloudwatch")
    live: dict[str, dict[str, Any]] = {}
    for batch in _chunks(names, 100):
        response = _call(cloudwatch.describe_alarms, AlarmNames=batch, MaxRecords=100)
        for alarm in (response.get("MetricAlarms") or []) + (response.get("CompositeAlarms") or []):
            live[alarm["AlarmName"]] = alarm
    return live


def _alarm_check(name: str, alarm: dict[str, Any] | None, topic: str) -> Check:
    if alarm is None:
        return Check(f"alarm {name}", "exists", "deployed", "missing", False)
    if not topic:
        return Check(f"alarm {name}", "exists", "deployed", "deployed", True)
    actions = list(alarm.get("AlarmActions") or [])
    return Check(f"alarm {name}", "notifies the alert topic", "yes",
                 "yes" if topic in actions else f"no ({', '.join(actions) or 'no actions'})", topic in actions)


def _alarm_checks(plan: Plan, topic: str, clients: ClientFactory) -> list[Check]:
    """Every declared CloudWatch alarm: deployed, and notifying the alert topic when there is one."""
    names = sorted(str(r.inputs.get("name")) for r in plan.of_type(AWS_ALARM) if r.inputs.get("name"))
    if not names:
        return []
    try:
        live = _live_alarms(names, clients)
    except (_Missing, _Unreadable) as error:
        return [Check("alarms", "readable", "described", f"unreadable ({error})", False)]
    return [_alarm_check(name, live.get(name), topic) for name in names]


def check_monitoring(plan: Plan, outputs: dict[str, Any], clients: ClientFactory) -> list[Check]:
    topic = str(outputs.get("alert_topic") or "")
    checks = _topic_checks(plan, topic, clients) if "alert_topic" in plan.outputs else []
    return checks + _alarm_checks(plan, topic, clients)


# --- the whole check -------------------------------------------------------------------------------------


def run(plan: Plan, outputs: dict[str, Any], clients: ClientFactory) -> VerifyReport:
    """Every check of a deployed AWS stack; UsageError when it is not AWS or AWS is unreachable."""
    require_aws(plan, "verify")
    from botocore.exceptions import BotoCoreError

    found = inventory(plan)
    report = VerifyReport(plan.stack, plan.spec.region)
    groups: tuple[tuple[str, Callable[[], list[Check]]], ...] = (
        ("storage", lambda: check_storage(plan, outputs, clients)),
        ("registry", lambda: check_registry(plan, outputs, clients)),
        ("cluster", lambda: check_cluster(found, outputs, clients)),
        ("serving", lambda: check_serving(found, outputs, clients)),
        ("monitoring", lambda: check_monitoring(plan, outputs, clients)),
    )
    for name, group in groups:
        try:
            report.checks += group()
        except BotoCoreError as error:
            raise unreachable(error) from None
        except Exception as error:
            # A call refused outright (permissions, throttling): that part is unverified, which fails.
            if not is_client_error(error):
                raise
            report.checks.append(Check(name, "readable", "readable", f"unreadable ({error_code(error) or error})",
                                       False))
    return report


def render(console: Any, report: VerifyReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Verify — stack {report.stack}, AWS {report.region}: deployed vs declared")
    for column in ("resource", "check", "expected", "actual", "status"):
        table.add_column(column, overflow="fold")  # never an ellipsis: a log shows every character
    for c in report.checks:
        table.add_row(escape(c.resource), escape(c.check), escape(c.expected), escape(c.actual),
                      "[green]ok[/]" if c.ok else "[bold red]drift[/]")
    console.print(table)
    # Plain lines (never wrapped or styled) naming what drifted.
    for check in report.drifted:
        print(check.line())
    total = len(report.checks)
    if report.drifted:
        print(f"verify: {len(report.drifted)} of {total} checks drifted in stack {report.stack}")
    else:
        print(f"verify: {total} checks, no drift — stack {report.stack} is deployed as declared")
