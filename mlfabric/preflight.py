"""``mlfabric preflight``: can this AWS account hold the stack at full scale? Checked before
``pulumi up`` with boto3, from the same inventory ``mlfabric cost`` prices (the offline plan).

- **Instance types offered**: every node group's instance type must be offered in the region
  (``ec2:DescribeInstanceTypeOfferings``); offered in fewer zones than the platform spans is a warning.
- **EC2 vCPU quotas**: node groups at ``max_nodes`` need vCPUs from the Service Quotas of their
  instance class, on-demand and spot apart (G and VT: ``L-DB2E81BA`` / ``L-3819A6DF``; P: ``L-417A185B``
  / ``L-7212CCBC``; system nodes: Standard ``L-1216C47A`` / ``L-34B43A08``). The applied value is read
  with ``GetServiceQuota`` (the default when none was ever applied), and vCPUs other workloads already
  run in the region (``DescribeInstances``, this cluster's own nodes excluded) are subtracted.
- **SageMaker endpoint quotas**: per instance type, ``<type> for endpoint usage`` must cover every
  variant (main, challenger, shadow) at ``max_replicas`` twice over, because a blue/green update
  provisions the new fleet beside the old one; instances of the account's other endpoints are
  subtracted. A type with no such quota is not offered for endpoints in the region.

A quota that cannot be read (no permission, an emulator without Service Quotas) is reported as
``unknown``: not a failure unless ``--strict``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from mlfabric.components import catalog, prices
from mlfabric.cost import Inventory, NodePool, inventory
from mlfabric.errors import UsageError
from mlfabric.plan import Plan

ClientFactory = Callable[[str], Any]
Status = Literal["ok", "short", "missing", "unknown", "warn"]
FAILING: Final[frozenset[str]] = frozenset({"short", "missing"})

# A SageMaker blue/green update runs the new (green) fleet beside the old (blue) one until the
# last bake ends: at full scale that is twice max_replicas of each variant.
BLUE_GREEN_FLEETS: Final = 2
# The tag EKS puts on the instances of a cluster's managed node groups.
EKS_CLUSTER_TAG: Final = "eks:cluster-name"


@dataclass(frozen=True)
class QuotaClass:
    """EC2 instance classes sharing one vCPU quota per purchase option."""

    name: str
    families: tuple[str, ...]       # instance-type letters before the generation digit
    on_demand: tuple[str, str]      # (quota code, quota name)
    spot: tuple[str, str]


# Service Quotas codes of the EC2 vCPU limits (service code "ec2").
QUOTA_CLASSES: Final[tuple[QuotaClass, ...]] = (
    QuotaClass("G and VT", ("g", "vt"),
               ("L-DB2E81BA", "Running On-Demand G and VT instances"),
               ("L-3819A6DF", "All G and VT Spot Instance Requests")),
    QuotaClass("P", ("p",),
               ("L-417A185B", "Running On-Demand P instances"),
               ("L-7212CCBC", "All P Spot Instance Requests")),
    QuotaClass("Inf", ("inf",),
               ("L-1945791B", "Running On-Demand Inf instances"),
               ("L-B5D1601B", "All Inf Spot Instance Requests")),
    QuotaClass("Trn", ("trn",),
               ("L-2C3B7624", "Running On-Demand Trn instances"),
               ("L-5480EFD2", "All Trn Spot Instance Requests")),
    QuotaClass("DL", ("dl",),
               ("L-6E869C2A", "Running On-Demand DL instances"),
               ("L-85EED4F7", "All DL Spot Instance Requests")),
    QuotaClass("X", ("x",),
               ("L-7295265B", "Running On-Demand X instances"),
               ("L-E3A00192", "All X Spot Instance Requests")),
    QuotaClass("F", ("f",),
               ("L-74FC7D96", "Running On-Demand F instances"),
               ("L-88CF9481", "All F Spot Instance Requests")),
    # Everything else: A, C, D, H, I, M, R, T, Z.
    QuotaClass("Standard", (),
               ("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
               ("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests")),
)


def quota_class(instance_type: str) -> QuotaClass:
    """The vCPU quota class of an EC2 instance type (g6.xlarge -> G and VT, m6i.large -> Standard)."""
    family = prices.instance_class(instance_type)
    for klass in QUOTA_CLASSES:
        if family in klass.families:
            return klass
    return QUOTA_CLASSES[-1]


@dataclass(frozen=True)
class Finding:
    """One preflight check and its outcome."""

    check: str
    subject: str
    need: str
    available: str
    status: Status
    detail: str = ""

    def line(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.status}: {self.check}: {self.subject}: need {self.need}, available {self.available}{detail}"


@dataclass
class PreflightReport:
    stack: str
    region: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.status in FAILING]

    @property
    def unknown(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "unknown"]

    def exit_code(self, *, strict: bool = False) -> int:
        return 1 if self.failing or (strict and self.unknown) else 0


# --- AWS access ------------------------------------------------------------------------------------


def boto3_clients(region: str, endpoint_url: str | None = None) -> ClientFactory:
    """Cached boto3 clients for one region, all pointed at ``endpoint_url`` when given."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=region)
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=30)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]
        return cache[service]

    return client


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def is_client_error(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(error, ClientError)


def require_aws(plan: Plan, command: str) -> None:
    """UsageError (exit 2) unless the stack is on AWS: these checks read AWS APIs."""
    if plan.spec.cloud != "aws":
        raise UsageError([f"{command} checks AWS stacks only (stack {plan.stack} is on {plan.spec.cloud})"])


def unreachable(error: Exception) -> UsageError:
    """A UsageError (exit 2) for credentials or connection problems: nothing was checked."""
    return UsageError([f"cannot reach AWS: {error}"])


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key) or [])
    return items


# --- EC2 vCPU quotas -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VcpuNeed:
    """vCPUs one quota must allow, and which node groups need them."""

    klass: QuotaClass
    spot: bool
    vcpus: int
    parts: tuple[str, ...]

    @property
    def code(self) -> str:
        return (self.klass.spot if self.spot else self.klass.on_demand)[0]

    @property
    def name(self) -> str:
        return (self.klass.spot if self.spot else self.klass.on_demand)[1]


def instance_vcpus(instance_types: Iterable[str], ec2: Any | None = None) -> dict[str, int]:
    """vCPUs per instance type: the catalogue's, then ``DescribeInstanceTypes`` for the rest."""
    found: dict[str, int] = {}
    missing: list[str] = []
    for instance in sorted(set(instance_types)):
        shape = next((s for s in catalog.GPU_SHAPES if s.cloud == "aws" and s.machine == instance), None)
        machine = catalog.cpu_machine("aws", instance)
        if shape is not None:
            found[instance] = shape.vcpus
        elif machine is not None:
            found[instance] = machine.vcpus
        else:
            missing.append(instance)
    if missing and ec2 is not None:
        for row in ec2.describe_instance_types(InstanceTypes=missing).get("InstanceTypes") or []:
            found[row["InstanceType"]] = int(row["VCpuInfo"]["DefaultVCpus"])
    return found


def vcpu_needs(pools: Iterable[NodePool], vcpus: dict[str, int]) -> list[VcpuNeed]:
    """vCPUs per (quota class, purchase option) with every node group at ``max_nodes``."""
    totals: dict[tuple[str, bool], int] = defaultdict(int)
    parts: dict[tuple[str, bool], list[str]] = defaultdict(list)
    classes: dict[str, QuotaClass] = {}
    for pool in pools:
        if pool.max_nodes == 0:
            continue
        klass = quota_class(pool.machine)
        classes[klass.name] = klass
        key = (klass.name, pool.spot)
        per_node = vcpus.get(pool.machine, 0)
        totals[key] += pool.max_nodes * per_node
        parts[key].append(f"{pool.name}: {pool.max_nodes} x {pool.machine} x {per_node} vCPUs")
    return [VcpuNeed(classes[name], spot, totals[(name, spot)], tuple(parts[(name, spot)]))
            for name, spot in sorted(totals)]


def read_quota(quotas: Any, service_code: str, quota_code: str) -> tuple[float | None, str, str]:
    """(value, quota name, how it was read): the applied value, else the AWS default; value None
    with the reason when neither can be read."""
    try:
        quota = quotas.get_service_quota(ServiceCode=service_code, QuotaCode=quota_code)["Quota"]
        return float(quota["Value"]), str(quota.get("QuotaName") or ""), "applied"
    except Exception as error:
        if not is_client_error(error):
            raise
        if error_code(error) != "NoSuchResourceException":
            return None, "", f"cannot read {quota_code}: {error_code(error) or error}"
    try:
        quota = quotas.get_aws_default_service_quota(ServiceCode=service_code, QuotaCode=quota_code)["Quota"]
        return float(quota["Value"]), str(quota.get("QuotaName") or ""), "default"
    except Exception as error:
        if not is_client_error(error):
            raise
        return None, "", f"cannot read {quota_code}: {error_code(error) or error}"


def instance_vcpus_in_use(ec2: Any, own_clusters: Iterable[str]) -> dict[tuple[str, bool], int]:
    """vCPUs of running and pending instances per (quota class, spot), outside this stack's clusters."""
    own = set(own_clusters)
    used: dict[tuple[str, bool], int] = defaultdict(int)
    reservations = _paginate(ec2, "describe_instances", "Reservations",
                             Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])
    for reservation in reservations:
        for instance in reservation.get("Instances") or []:
            tags = {t.get("Key"): t.get("Value") for t in instance.get("Tags") or []}
            if tags.get(EKS_CLUSTER_TAG) in own:
                continue
            cpu = instance.get("CpuOptions") or {}
            count = int(cpu.get("CoreCount", 0)) * int(cpu.get("ThreadsPerCore", 1))
            if not count:
                count = instance_vcpus([instance["InstanceType"]], ec2).get(instance["InstanceType"], 0)
            key = (quota_class(instance["InstanceType"]).name, instance.get("InstanceLifecycle") == "spot")
            used[key] += count
    return used


def check_vcpu_quotas(found: Inventory, clients: ClientFactory) -> list[Finding]:
    """One finding per vCPU quota the node groups at full scale draw on."""
    ec2 = clients("ec2")
    quotas = clients("service-quotas")
    needs = vcpu_needs(found.pools, instance_vcpus((p.machine for p in found.pools), ec2))
    if not needs:
        return []
    used = instance_vcpus_in_use(ec2, (c.name for c in found.clusters))
    findings: list[Finding] = []
    for need in needs:
        value, name, how = read_quota(quotas, "ec2", need.code)
        subject = f"{name or need.name} ({need.code})"
        detail = "; ".join(need.parts)
        in_use = used.get((need.klass.name, need.spot), 0)
        if value is None:
            findings.append(Finding("EC2 vCPU quota", subject, f"{need.vcpus} vCPUs", "unknown", "unknown",
                                    f"{how}; {detail}"))
            continue
        free = int(value) - in_use
        status: Status = "ok" if need.vcpus <= free else "short"
        findings.append(Finding(
            "EC2 vCPU quota", subject, f"{need.vcpus} vCPUs",
            f"{free} vCPUs ({how} quota {int(value)}, {in_use} in use)", status, detail,
        ))
    return findings


# --- instance types offered ------------------------------------------------------------------------


def check_offerings(found: Inventory, clients: ClientFactory, zones_wanted: int) -> list[Finding]:
    """Every node group's instance type offered in the region, and in how many of its zones."""
    types = sorted({p.machine for p in found.pools})
    if not types:
        return []
    ec2 = clients("ec2")
    where = {p.machine: ", ".join(sorted(q.name for q in found.pools if q.machine == p.machine)) for p in found.pools}
    filters = [{"Name": "instance-type", "Values": types}]
    regional = {o["InstanceType"] for o in _paginate(ec2, "describe_instance_type_offerings", "InstanceTypeOfferings",
                                                    LocationType="region", Filters=filters)}
    zonal: dict[str, set[str]] = defaultdict(set)
    for offering in _paginate(ec2, "describe_instance_type_offerings", "InstanceTypeOfferings",
                              LocationType="availability-zone", Filters=filters):
        zonal[offering["InstanceType"]].add(offering["Location"])
    findings: list[Finding] = []
    for instance in types:
        subject = f"{instance} (node group {where[instance]})"
        if instance not in regional:
            findings.append(Finding(f"offered in {found.region}", subject, "offered", "not offered", "missing",
                                    f"EC2 does not offer {instance} in {found.region}"))
            continue
        count = len(zonal.get(instance, ()))
        status: Status = "ok" if count >= zones_wanted else "warn"
        detail = "" if status == "ok" else f"the platform spans {zones_wanted} zones: nodes can only start in {count}"
        findings.append(Finding(f"offered in {found.region}", subject, f"{zones_wanted} zones", f"{count} zones",
                                status, detail))
    return findings


# --- SageMaker endpoint quotas ----------------------------------------------------------------------


def endpoint_quota_name(instance: str) -> str:
    return f"{instance} for endpoint usage"


def endpoint_instance_needs(found: Inventory) -> dict[str, tuple[int, list[str]]]:
    """Instances per type at full scale during a blue/green update, and which variants need them."""
    needs: dict[str, tuple[int, list[str]]] = {}
    for endpoint in found.endpoints:
        for variant in endpoint.variants:
            count, parts = needs.get(variant.instance, (0, []))
            needs[variant.instance] = (count + variant.max_replicas * BLUE_GREEN_FLEETS,
                                       [*parts, f"{endpoint.name}/{variant.name}: {variant.max_replicas} x "
                                                f"{BLUE_GREEN_FLEETS} fleets"])
    return needs


def read_sagemaker_quotas(quotas: Any) -> tuple[dict[str, tuple[float, str]], str]:
    """Quota name -> (value, applied|default) of SageMaker, and a reason when they cannot be read."""
    values: dict[str, tuple[float, str]] = {}
    for operation, how in (("list_aws_default_service_quotas", "default"), ("list_service_quotas", "applied")):
        try:
            rows = _paginate(quotas, operation, "Quotas", ServiceCode="sagemaker")
        except Exception as error:
            if not is_client_error(error):
                raise
            if how == "default":
                return {}, f"cannot read SageMaker quotas: {error_code(error) or error}"
            continue
        for row in rows:
            values[str(row["QuotaName"])] = (float(row["Value"]), how)
    return values, ""


def endpoint_instances_in_use(sagemaker: Any, own_endpoints: Iterable[str]) -> dict[str, int]:
    """Instances per type the account's other endpoints run now."""
    own = set(own_endpoints)
    used: dict[str, int] = defaultdict(int)
    for summary in _paginate(sagemaker, "list_endpoints", "Endpoints"):
        name = summary["EndpointName"]
        if name in own or summary.get("EndpointStatus") in ("Deleting", "Failed"):
            continue
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        types = {v["VariantName"]: v.get("InstanceType")
                 for key in ("ProductionVariants", "ShadowProductionVariants") for v in config.get(key) or []}
        for key in ("ProductionVariants", "ShadowProductionVariants"):
            for variant in endpoint.get(key) or []:
                instance = types.get(variant["VariantName"])
                if instance:
                    used[instance] += int(variant.get("CurrentInstanceCount") or 0)
    return used


def check_endpoint_quotas(found: Inventory, clients: ClientFactory) -> list[Finding]:
    needs = endpoint_instance_needs(found)
    if not needs:
        return []
    values, reason = read_sagemaker_quotas(clients("service-quotas"))
    used = endpoint_instances_in_use(clients("sagemaker"), (e.physical for e in found.endpoints)) if values else {}
    findings: list[Finding] = []
    for instance, (count, parts) in sorted(needs.items()):
        name = endpoint_quota_name(instance)
        detail = "; ".join(parts)
        if not values:
            findings.append(Finding("SageMaker endpoint quota", name, f"{count} instances", "unknown", "unknown",
                                    f"{reason}; {detail}"))
            continue
        if name not in values:
            findings.append(Finding("SageMaker endpoint quota", name, f"{count} instances", "not offered", "missing",
                                    f"SageMaker has no {instance} for endpoints in {found.region}"))
            continue
        value, how = values[name]
        in_use = used.get(instance, 0)
        free = math.floor(value) - in_use
        status: Status = "ok" if count <= free else "short"
        findings.append(Finding("SageMaker endpoint quota", name, f"{count} instances",
                                f"{free} instances ({how} quota {math.floor(value)}, {in_use} in use)", status, detail))
    return findings


# --- the whole check ----------------------------------------------------------------------------------


def run(plan: Plan, clients: ClientFactory) -> PreflightReport:
    """Every preflight check of an AWS stack; UsageError when it is not AWS or AWS is unreachable."""
    require_aws(plan, "preflight")
    from botocore.exceptions import BotoCoreError

    found = inventory(plan)
    report = PreflightReport(plan.stack, plan.spec.region)
    checks: tuple[tuple[str, Callable[[], list[Finding]]], ...] = (
        (f"offered in {found.region}", lambda: check_offerings(found, clients, plan.spec.network.availability_zones)),
        ("EC2 vCPU quota", lambda: check_vcpu_quotas(found, clients)),
        ("SageMaker endpoint quota", lambda: check_endpoint_quotas(found, clients)),
    )
    for name, check in checks:
        try:
            report.findings += check()
        except BotoCoreError as error:
            raise unreachable(error) from None
        except Exception as error:
            # An API refusing a call (permissions, throttling) leaves that check unverified, not crashed.
            if not is_client_error(error):
                raise
            report.findings.append(Finding(name, "(all)", "-", "unknown", "unknown",
                                           f"AWS refused a call: {error_code(error) or error}"))
    return report


_STYLE: Final = {"ok": "green", "warn": "yellow", "unknown": "yellow", "short": "bold red", "missing": "bold red"}


def render(console: Any, report: PreflightReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Preflight — stack {report.stack}, AWS {report.region}, at full scale")
    for column in ("check", "subject", "need", "available", "status"):
        table.add_column(column, overflow="fold")  # never an ellipsis: a log shows every character
    for f in report.findings:
        subject = escape(f.subject) + (f"\n[dim]{escape(f.detail)}[/]" if f.detail else "")
        table.add_row(escape(f.check), subject, escape(f.need), escape(f.available),
                      f"[{_STYLE[f.status]}]{f.status}[/]")
    console.print(table)
    # Plain lines (never wrapped or styled) for logs and scripts.
    for finding in report.failing + report.unknown:
        print(finding.line())
    if report.failing:
        print(f"preflight: {len(report.failing)} problem(s): the account cannot hold stack {report.stack} at full scale")
    elif report.unknown:
        print(f"preflight: nothing short, but {len(report.unknown)} quota(s) could not be read (not verified)")
    else:
        print(f"preflight: ok — the account can hold stack {report.stack} at full scale")
