"""AWS hardening rules (issue 15): guardrail-changing actions denied to admin roles (and the escape
hatch that lifts the deny, flagged), no resource-scopable reads on ``*``, KMS key policies that keep
use to the platform's roles, network-policy enforcement in the VPC CNI, VPC endpoint policies, and
cross-region replication of prod buckets.

IAM documents arrive as JSON strings or objects (``json_document``); an action may be a pattern
(``s3:*``, ``s3:Put*``): a statement grants a listed action when its pattern matches the action, or
the listed pattern matches the statement's action (both directions, case-insensitive, as IAM does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import PolicyResource

from .base import (
    ADVISORY,
    LOW,
    MANDATORY,
    MEDIUM,
    MlfPolicy,
    RuleInfo,
    get,
    is_unknown,
    items,
    json_document,
    mapping,
    of_types,
    refers_to,
    resource_policy,
    stack_policy,
    truthy,
)

AWS_ROLE = "aws:iam/role:Role"
AWS_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AWS_POLICY = "aws:iam/policy:Policy"
KMS_KEY = "aws:kms/key:Key"
EKS_ADDON = "aws:eks/addon:Addon"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"

# The tag mlfabric puts on a persona role built with rbac.allow_guardrail_changes: true.
GUARDRAIL_TAG = "mlfabric-guardrail-changes"

# Actions that switch off what the pack enforces on buckets, registries, the cluster and the model
# registry (kept equal to mlfabric.components.aws.rbac.GUARDRAIL_ACTIONS by a test).
GUARDRAIL_ACTIONS = [
    "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning", "s3:PutBucketAcl", "s3:PutBucketOwnershipControls", "s3:PutBucketLogging",
    "s3:PutReplicationConfiguration", "s3:PutBucketObjectLockConfiguration", "s3:DeleteBucket",
    "ecr:SetRepositoryPolicy", "ecr:DeleteRepositoryPolicy", "ecr:PutImageTagMutability",
    "ecr:PutImageScanningConfiguration", "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository",
    "eks:CreateAccessEntry", "eks:UpdateAccessEntry", "eks:DeleteAccessEntry", "eks:AssociateAccessPolicy",
    "eks:DisassociateAccessPolicy", "eks:UpdateClusterConfig", "eks:AssociateEncryptionConfig", "eks:UpdateAddon",
    "eks:DeleteAddon", "eks:DeleteCluster",
    "sagemaker:PutModelPackageGroupPolicy", "sagemaker:DeleteModelPackageGroupPolicy",
    "sagemaker:DeleteModelPackageGroup",
]

# Read actions that support resource-level permissions (IAM service authorization reference): on
# Resource "*" they read every alarm, dashboard, model, object or log of the account.
SCOPABLE_READS = [
    "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory", "cloudwatch:GetDashboard",
    "sagemaker:Describe*", "s3:GetObject*", "s3:ListBucket*", "logs:GetLogEvents", "logs:FilterLogEvents",
    "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:ListImages",
    "kms:Decrypt", "secretsmanager:GetSecretValue", "ssm:GetParameter*",
]

_KMS_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey"]


def _matches(action: str, pattern: str) -> bool:
    a, p = action.lower(), pattern.lower()
    return fnmatchcase(a, p) or fnmatchcase(p, a)


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [s for s in items((document or {}).get("Statement")) if isinstance(s, Mapping)]


def _documents(resource_type: str, props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if resource_type == AWS_ROLE:
        return [d for inline in items(props.get("inlinePolicies"))
                if (d := json_document(mapping(inline).get("policy"))) is not None]
    document = json_document(props.get("policy"))
    return [document] if document is not None else []


def _actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in items(statement.get("Action"))]


def _sid(statement: Mapping[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


# --- guardrail changes --------------------------------------------------------------------------------

GUARDRAIL_DENY = RuleInfo(
    id="mlf-aws-guardrail-deny",
    title="Admin roles cannot switch off the guardrails",
    description="No IAM role or policy allows a guardrail-changing action (bucket policy, public access "
    "block, default encryption, versioning, replication, ECR repository policy and tag mutability, EKS "
    "access entries and cluster config, model-registry policies: guardrailActions) unless an explicit "
    "Deny in the same role or policy covers it. Roles tagged mlfabric-guardrail-changes=allowed (the "
    "spec's rbac.allow_guardrail_changes escape hatch) are reported by mlf-aws-guardrail-hatch instead.",
    remediation="Keep rbac.allow_guardrail_changes false: mlfabric ends the platform-admin policy with the "
    "DenyGuardrailChanges statement on the platform's resources. Change guardrails through Pulumi.",
    severity=MEDIUM,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(AWS_ROLE, AWS_ROLE_POLICY, AWS_POLICY),
    section="rbac",
    config={"guardrailActions": {"type": "array", "items": {"type": "string"}, "default": GUARDRAIL_ACTIONS,
                                 "description": "Actions that change what the pack enforces."}},
)


def _hatch_open(props: Mapping[str, Any]) -> bool:
    return str(mapping(props.get("tags")).get(GUARDRAIL_TAG, "")).lower() == "allowed"


@resource_policy(GUARDRAIL_DENY)
def aws_guardrail_deny(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    if resource_type == AWS_ROLE and _hatch_open(props):
        return
    statements = [s for d in _documents(resource_type, props) for s in _statements(d)]
    allowed = [a for s in statements if s.get("Effect", "Allow") == "Allow" for a in _actions(s)]
    denied = [a for s in statements if s.get("Effect") == "Deny" for a in _actions(s)]
    open_actions = [g for g in (str(x) for x in items(config.get("guardrailActions")))
                    if any(_matches(g, a) for a in allowed)
                    and not any(fnmatchcase(g.lower(), d.lower()) for d in denied)]
    if open_actions:
        shown = ", ".join(open_actions[:4]) + (f" and {len(open_actions) - 4} more" if len(open_actions) > 4 else "")
        yield f"allows {shown} without an explicit Deny: the holder can switch off guardrails outside Pulumi"


GUARDRAIL_HATCH = RuleInfo(
    id="mlf-aws-guardrail-hatch",
    title="Guardrail escape hatch open",
    description="A persona role is built with rbac.allow_guardrail_changes: true (tag "
    "mlfabric-guardrail-changes=allowed): it may change bucket policies, public access blocks, "
    "encryption, versioning, registry policies and cluster access outside Pulumi.",
    remediation="Set rbac.allow_guardrail_changes to false (the default) once the break-glass change is done.",
    severity=MEDIUM,
    enforcement=ADVISORY,
    clouds=("aws",),
    resource_types=(AWS_ROLE,),
    section="rbac",
)


@resource_policy(GUARDRAIL_HATCH)
def aws_guardrail_hatch(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    if _hatch_open(props):
        persona = mapping(props.get("tags")).get("mlfabric-persona", "a persona")
        yield f"rbac.allow_guardrail_changes is true: {persona} may change guardrails outside Pulumi"


# --- reads on * ---------------------------------------------------------------------------------------

SCOPED_READS = RuleInfo(
    id="mlf-aws-scoped-reads",
    title="Resource-scopable reads are scoped",
    description="No IAM role or policy allows a read action that supports resource-level permissions "
    "(scopableReadActions: alarms, dashboards, SageMaker resources, objects, logs, images, keys, secrets) "
    "on Resource '*'. '*' stays for actions without resource-level permissions (ecr:GetAuthorizationToken, "
    "cloudwatch:GetMetricData, List calls).",
    remediation="Name the platform's ARNs (or ARN patterns with the platform prefix) in the statement.",
    severity=LOW,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(AWS_ROLE, AWS_ROLE_POLICY, AWS_POLICY),
    section="rbac",
    config={"scopableReadActions": {"type": "array", "items": {"type": "string"}, "default": SCOPABLE_READS,
                                    "description": "Read actions (patterns) that support resource-level permissions."}},
)


@resource_policy(SCOPED_READS)
def aws_scoped_reads(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    scopable = [str(a) for a in items(config.get("scopableReadActions"))]
    for document in _documents(resource_type, props):
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect", "Allow") != "Allow" or "*" not in [str(r) for r in items(statement.get("Resource"))]:
                continue
            broad = [a for a in _actions(statement) if a not in ("*", "*:*") and any(_matches(a, s) for s in scopable)]
            if broad:
                yield f"statement {_sid(statement, index)} allows {', '.join(broad)} on every resource ('*')"


# --- KMS key policies ---------------------------------------------------------------------------------

KEY_POLICY = RuleInfo(
    id="mlf-aws-kms-key-policy",
    title="KMS keys restrict use to named principals",
    description="Every KMS key declares a key policy, and no statement of it lets the whole account (its "
    "root, its account id or '*') use the key (kms:*, Encrypt, Decrypt, ReEncrypt, GenerateDataKey) "
    "without a condition naming the principals or the service (aws:PrincipalArn, kms:ViaService...). "
    "The default key policy grants kms:* to the account: any role with an IAM grant can decrypt.",
    remediation="Give the key a policy: the account administers (kms:Create*, Describe*, Put*...), the "
    "platform's roles use it (aws:PrincipalArn condition), services by service principal "
    "(mlfabric's platform_key_statements).",
    severity=LOW,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(KMS_KEY,),
    section="storage",
)


def _whole_account(principal: Any) -> bool:
    if principal == "*":
        return True
    for value in items(mapping(principal).get("AWS")):
        text = str(value)
        if text == "*" or text.endswith(":root") or (text.isdigit() and len(text) == 12):
            return True
    return False


@resource_policy(KEY_POLICY)
def aws_kms_key_policy(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    policy = props.get("policy")
    if is_unknown(policy):
        return
    document = json_document(policy)
    if document is None:
        yield "declares no key policy: the default one lets every principal of the account use the key"
        return
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect", "Allow") != "Allow" or statement.get("Condition"):
            continue
        if not _whole_account(statement.get("Principal")):
            continue
        use = [a for a in _actions(statement) if a in ("*", "*:*") or any(_matches(a, u) for u in _KMS_USE)]
        if use:
            yield f"statement {_sid(statement, index)} lets the whole account use the key ({', '.join(use)})"


# --- EKS VPC CNI network policy -----------------------------------------------------------------------

CNI_NETWORK_POLICY = RuleInfo(
    id="mlf-aws-vpc-cni-network-policy",
    title="VPC CNI enforces NetworkPolicies",
    description="The EKS vpc-cni add-on runs with configuration value enableNetworkPolicy \"true\": without "
    "it the cluster ignores Kubernetes NetworkPolicy objects.",
    remediation="Set configuration_values='{\"enableNetworkPolicy\": \"true\"}' on the vpc-cni aws.eks.Addon "
    "(mlfabric's cluster component does).",
    severity=LOW,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(EKS_ADDON,),
    section="training",
)


@resource_policy(CNI_NETWORK_POLICY)
def aws_vpc_cni_network_policy(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    if props.get("addonName") != "vpc-cni" or is_unknown(props.get("configurationValues")):
        return
    values = json_document(props.get("configurationValues")) or {}
    if not truthy(values.get("enableNetworkPolicy")):
        yield "the vpc-cni add-on does not set enableNetworkPolicy: NetworkPolicies are not enforced"


# --- VPC endpoint policies ----------------------------------------------------------------------------

ENDPOINT_POLICY = RuleInfo(
    id="mlf-aws-vpc-endpoint-policy",
    title="VPC endpoints declare a restricting policy",
    description="Every gateway or interface VPC endpoint declares an endpoint policy, and that policy is not "
    "the default full access (any principal, every action, every resource, no condition): a gateway "
    "endpoint without one lets the private subnets reach any bucket of the region.",
    remediation="Give the endpoint a policy: the S3 gateway the platform's buckets and ECR's "
    "prod-<region>-starport-layer-bucket, interface endpoints this account's principals (mlfabric's network "
    "component does).",
    severity=LOW,
    enforcement=MANDATORY,
    clouds=("aws",),
    resource_types=(VPC_ENDPOINT,),
    section="network",
)


@resource_policy(ENDPOINT_POLICY)
def aws_vpc_endpoint_policy(resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterable[str]:
    del resource_type, config
    if str(props.get("vpcEndpointType") or "Gateway") not in ("Gateway", "Interface"):
        return
    policy = props.get("policy")
    if is_unknown(policy):
        return
    document = json_document(policy)
    service = props.get("serviceName") or "the endpoint"
    if document is None:
        yield f"{service} has no endpoint policy: it allows full access to the service"
        return
    for index, statement in enumerate(_statements(document)):
        everyone = statement.get("Principal") in ("*", None) or _whole_account(statement.get("Principal"))
        if (statement.get("Effect", "Allow") == "Allow" and everyone and not statement.get("Condition")
                and "*" in [str(r) for r in items(statement.get("Resource"))]
                and any(a in ("*", "*:*") or a.endswith(":*") for a in _actions(statement))):
            yield f"{service}: statement {_sid(statement, index)} allows every action on every resource"


# --- cross-region replication -------------------------------------------------------------------------

REPLICATION = RuleInfo(
    id="mlf-aws-s3-replication",
    title="Buckets replicate to another region",
    description="Every S3 bucket holding platform data (all but those carrying exemptTags: access logs, "
    "replicas) has a replication configuration (aws.s3.BucketReplicationConfig), so a regional outage "
    "or loss does not lose datasets and models. Advisory in prod, disabled in dev and staging.",
    remediation="Set storage.replication_region (mlfabric builds a replica bucket and key in that region).",
    severity=LOW,
    enforcement=ADVISORY,
    clouds=("aws",),
    resource_types=(S3_BUCKET, S3_REPLICATION),
    section="storage",
    config={"exemptTags": {
        "type": "array", "items": {"type": "object", "additionalProperties": {"type": "string"}},
        "default": [{"mlfabric-bucket": "access-logs"}, {"mlfabric-bucket": "replica"}],
        "description": "Buckets carrying all tags of one of these maps need no replication."}},
    kind="stack",
)


def _exempt(bucket: PolicyResource, config: Mapping[str, Any]) -> bool:
    tags = mapping(bucket.props.get("tags"))
    return any(wanted and all(tags.get(k) == v for k, v in mapping(wanted).items())
               for wanted in items(config.get("exemptTags")))


@stack_policy(REPLICATION)
def aws_s3_replication(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    replications = of_types(resources, S3_REPLICATION)
    for bucket in of_types(resources, S3_BUCKET):
        if _exempt(bucket, config):
            continue
        if not any(refers_to(r, "bucket", bucket) and get(r.props, "rules") for r in replications):
            yield (f"bucket {bucket.name} has no replication configuration: one region holds its only copy",
                   bucket.urn)


POLICIES: list[MlfPolicy] = [aws_guardrail_deny, aws_guardrail_hatch, aws_scoped_reads, aws_kms_key_policy,
                             aws_vpc_cni_network_policy, aws_vpc_endpoint_policy, aws_s3_replication]
