"""GCP hardening rules (issue 15): Binary Authorization on GKE, cross-region copies of prod buckets,
and the platform-admin persona kept away from the guardrails by an IAM deny policy.

- ``mlf-gke-binary-authorization`` (stack): every GKE cluster evaluates the project's singleton
  Binary Authorization policy, and the stack declares that policy (without one, the project's
  default policy admits every image).
- ``mlf-binauthz-policy-blocks``: a Binary Authorization policy's default rule (and every
  per-cluster rule) does not admit every image, and blocks rather than only logs unless
  ``allowAuditOnly`` (dev's config).
- ``mlf-gcs-replication`` (stack, advisory): every data bucket is copied to another region, by a
  Storage Transfer Service replication job or by a dual-/multi-region location.
- ``mlf-gcp-admin-guardrails-denied`` (stack, advisory): principals granted ``roles/storage.admin``
  or ``roles/container.admin`` by the platform are named by an IAM deny policy that denies the
  guardrail-changing permissions; a stack built with ``rbac.allow_guardrail_changes`` has none and
  is reported (the escape hatch is visible in ``check``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .base import (
    ADVISORY,
    LOW,
    MANDATORY,
    MEDIUM,
    MlfPolicy,
    RuleInfo,
    fmt,
    get,
    is_unknown,
    items,
    of_types,
    plain,
    resource_policy,
    stack_policy,
    truthy,
)

GKE_CLUSTER = "gcp:container/cluster:Cluster"
BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
TRANSFER_JOB = "gcp:storage/transferJob:TransferJob"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
DENY_POLICY = "gcp:iam/denyPolicy:DenyPolicy"

SINGLETON_POLICY = "PROJECT_SINGLETON_POLICY_ENFORCE"
BLOCK = "ENFORCED_BLOCK_AND_AUDIT_LOG"
# Roles that let a principal change a guardrail of the platform's buckets or cluster.
GUARDRAIL_ROLES = ("roles/storage.admin", "roles/container.admin")
# The permissions a deny policy must deny for those roles to stop short of the guardrails.
GUARDRAIL_PERMISSIONS = (
    "storage.googleapis.com/buckets.update",
    "storage.googleapis.com/buckets.setIamPolicy",
    "container.googleapis.com/clusters.update",
)
# GCS multi-regions and predefined dual-regions: a bucket there is stored in two regions or more.
MULTI_REGION_LOCATIONS = frozenset({"US", "EU", "ASIA", "NAM4", "EUR4", "ASIA1", "EUR5", "EUR7", "EUR8"})


def _str(value: Any) -> str:
    return str(plain(value) or "")


# --- Binary Authorization ------------------------------------------------------------------------------

GKE_BINAUTHZ = RuleInfo(
    id="mlf-gke-binary-authorization",
    title="GKE admits images through Binary Authorization",
    description="Every GKE cluster sets binaryAuthorization.evaluationMode to "
    "PROJECT_SINGLETON_POLICY_ENFORCE and the stack declares the project's Binary Authorization policy "
    "(gcp:binaryauthorization/policy:Policy); otherwise any image, by mutable tag, from any registry, "
    "runs on the cluster.",
    remediation="Leave gcp.binary_authorization unset (enforce outside dev, audit in dev) or set it to "
    "enforce or audit; mlfabric's GKE cluster then declares the policy.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(GKE_CLUSTER, BINAUTHZ_POLICY),
    section="training",
    kind="stack",
)


def _same_project(cluster: PolicyResource, policy: PolicyResource) -> bool:
    ours, theirs = get(cluster.props, "project"), get(policy.props, "project")
    if not ours or not theirs or is_unknown(ours) or is_unknown(theirs):
        return True  # the provider's project on one side: the same one in mlfabric's stacks
    return _str(ours) == _str(theirs)


@stack_policy(GKE_BINAUTHZ)
def gke_binary_authorization(
    resources: Sequence[PolicyResource], config: Mapping[str, Any]
) -> Iterable[tuple[str, str | None]]:
    del config
    policies = of_types(resources, BINAUTHZ_POLICY)
    for cluster in of_types(resources, GKE_CLUSTER):
        mode = get(cluster.props, "binaryAuthorization.evaluationMode")
        if is_unknown(mode):
            continue
        if _str(mode) != SINGLETON_POLICY:
            shown = fmt(mode) if mode else "not set"
            yield (f"GKE cluster {cluster.name}: binaryAuthorization.evaluationMode is {shown}, not "
                   f"{SINGLETON_POLICY}: any image from any registry runs", cluster.urn)
        elif not any(_same_project(cluster, policy) for policy in policies):
            yield (f"GKE cluster {cluster.name} evaluates the project's Binary Authorization policy but the "
                   "stack declares none: the default policy admits every image", cluster.urn)


BINAUTHZ_BLOCKS = RuleInfo(
    id="mlf-binauthz-policy-blocks",
    title="Binary Authorization policies block unlisted images",
    description="A Binary Authorization policy's defaultAdmissionRule and clusterAdmissionRules do not use "
    "ALWAYS_ALLOW, and enforce with ENFORCED_BLOCK_AND_AUDIT_LOG (DRYRUN_AUDIT_LOG_ONLY only logs) unless "
    "allowAuditOnly is set (the dev policy config sets it: dev audits).",
    remediation="Set gcp.binary_authorization to enforce (the default outside dev).",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("gcp",),
    resource_types=(BINAUTHZ_POLICY,),
    section="training",
    config={"allowAuditOnly": {"type": "boolean", "default": False,
                               "description": "Accept DRYRUN_AUDIT_LOG_ONLY (log, do not block)."}},
)


@resource_policy(BINAUTHZ_BLOCKS)
def binauthz_policy_blocks(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type
    rules: list[tuple[str, Any]] = [("defaultAdmissionRule", get(props, "defaultAdmissionRule"))]
    rules += [(f"clusterAdmissionRules[{i}]", rule) for i, rule in enumerate(items(get(props, "clusterAdmissionRules")))]
    for where, rule in rules:
        if not isinstance(plain(rule), Mapping):
            yield f"{where} is not set"
            continue
        evaluation, enforcement = get(rule, "evaluationMode"), get(rule, "enforcementMode")
        if _str(evaluation) == "ALWAYS_ALLOW":
            yield f"{where}.evaluationMode is ALWAYS_ALLOW: every image is admitted"
        if not is_unknown(enforcement) and _str(enforcement) != BLOCK and not truthy(config.get("allowAuditOnly")):
            yield f"{where}.enforcementMode is {fmt(enforcement)}, not {BLOCK}: violations are only logged"


# --- replication ---------------------------------------------------------------------------------------

GCS_REPLICATION = RuleInfo(
    id="mlf-gcs-replication",
    title="Prod buckets are copied to another region",
    description="Every GCS data bucket (not the access-log bucket) is the source of a Storage Transfer "
    "Service replication job (replicationSpec.gcsDataSource) or lives in a dual-/multi-region location "
    "(customPlacementConfig, or US/EU/ASIA/NAM4/EUR4/...), so losing the region loses no data. Advisory; "
    "disabled in the dev and staging policy configs.",
    remediation="Set storage.replication_region to another GCP region (mlfabric adds a replica bucket and "
    "a replication job per bucket).",
    severity=LOW,
    enforcement=ADVISORY,
    clouds=("gcp",),
    resource_types=(GCS_BUCKET, TRANSFER_JOB),
    section="storage",
    kind="stack",
)


def _replicated_in_place(bucket: PolicyResource) -> bool:
    if get(bucket.props, "customPlacementConfig.dataLocations"):
        return True
    return _str(get(bucket.props, "location")).upper() in MULTI_REGION_LOCATIONS


def _is_replica_or_log(bucket: PolicyResource) -> bool:
    role = _str(get(bucket.props, "labels.mlfabric-bucket"))
    return role == "access-logs" or role.endswith("-replica")


@stack_policy(GCS_REPLICATION)
def gcs_replication(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del config
    jobs = of_types(resources, TRANSFER_JOB)
    sources: set[str] = set()
    unknown_source = False
    for job in jobs:
        source = get(job.props, "replicationSpec.gcsDataSource.bucketName")
        if is_unknown(source):
            unknown_source = True
        elif source:
            sources.add(_str(source))
    for bucket in of_types(resources, GCS_BUCKET):
        if _is_replica_or_log(bucket) or _replicated_in_place(bucket):
            continue
        names = {_str(get(bucket.props, "name")), bucket.name}
        linked = any(dep.urn == bucket.urn for job in jobs
                     for dep in (job.property_dependencies or {}).get("replicationSpec", []))
        if names & sources or linked or (unknown_source and not sources):
            continue
        yield (f"bucket {bucket.name} ({fmt(get(bucket.props, 'location'))}) has no copy in another region: "
               "no replication job reads it and its location is a single region", bucket.urn)


# --- the platform-admin guardrails ---------------------------------------------------------------------

ADMIN_GUARDRAILS = RuleInfo(
    id="mlf-gcp-admin-guardrails-denied",
    title="Platform admins cannot switch off the guardrails (GCP)",
    description="Every principal the stack grants roles/storage.admin or roles/container.admin is a denied "
    "principal of an IAM deny policy (gcp:iam/denyPolicy:DenyPolicy) that denies "
    + ", ".join(GUARDRAIL_PERMISSIONS)
    + ": bucket encryption, versioning, public access prevention, bucket IAM and the cluster's Binary "
    "Authorization and network settings change through the deployer only. A stack built with "
    "rbac.allow_guardrail_changes (the escape hatch) has no deny policy and is reported here.",
    remediation="Leave rbac.allow_guardrail_changes false; change guardrails through the stack.",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("gcp",),
    resource_types=(PROJECT_MEMBER, DENY_POLICY),
    section="rbac",
    kind="stack",
)


def _denied(policy: PolicyResource) -> tuple[set[str], set[str]]:
    principals: set[str] = set()
    permissions: set[str] = set()
    for rule in items(get(policy.props, "rules")):
        deny = get(rule, "denyRule")
        principals |= {_str(p) for p in items(get(deny, "deniedPrincipals"))}
        permissions |= {_str(p) for p in items(get(deny, "deniedPermissions"))}
    return principals, permissions


def deny_principal(member: str) -> str | None:
    """The IAM v2 principal of an IAM v1 member (``group:x`` -> ``principalSet://goog/group/x``)."""
    kind, _, value = member.partition(":")
    forms = {
        "user": f"principal://goog/subject/{value}",
        "group": f"principalSet://goog/group/{value}",
        "serviceAccount": f"principal://iam.googleapis.com/projects/-/serviceAccounts/{value}",
    }
    return forms.get(kind)


@stack_policy(ADMIN_GUARDRAILS)
def gcp_admin_guardrails_denied(
    resources: Sequence[PolicyResource], config: Mapping[str, Any]
) -> Iterable[tuple[str, str | None]]:
    del config
    denies = [_denied(policy) for policy in of_types(resources, DENY_POLICY)]
    for grant in of_types(resources, PROJECT_MEMBER):
        role, member = _str(get(grant.props, "role")), get(grant.props, "member")
        if role not in GUARDRAIL_ROLES or is_unknown(member):
            continue
        principal = deny_principal(_str(member))
        covered = any(principal in principals and set(GUARDRAIL_PERMISSIONS) <= permissions
                      for principals, permissions in denies)
        if not covered:
            yield (f"{fmt(member)} holds {role} ({grant.name}) and no IAM deny policy denies it "
                   f"{', '.join(GUARDRAIL_PERMISSIONS)}: it can switch off the guardrails outside Pulumi "
                   "(rbac.allow_guardrail_changes?)", grant.urn)


POLICIES: list[MlfPolicy] = [gke_binary_authorization, binauthz_policy_blocks, gcs_replication,
                             gcp_admin_guardrails_denied]
