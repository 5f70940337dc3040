"""Helpers every AWS concern shares, written once: names and ARNs that more than one concern derives
the same way, the caller's account and partition, IAM policy documents (trust policies, the
TLS-only deny), the customer-managed KMS key every concern encrypts with (and the key policy that
lets CloudWatch Logs use one), and the Output of a name -> value map. Concern modules import these
from here, never from a sibling concern's module."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

import pulumi
import pulumi_aws as aws

from mlfabric.components.naming import rename_aliases

if TYPE_CHECKING:
    from mlfabric.components.context import PlatformContext

POLICY_VERSION: Final = "2012-10-17"
# Days KMS waits before deleting a key scheduled for deletion (the maximum: time to notice a mistake).
KEY_DELETION_WINDOW_DAYS: Final = 30


def policy_document(statements: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """An IAM, key, bucket or topic policy document of the given statements."""
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def trust_policy(
    principal: dict[str, Any], action: str = "sts:AssumeRole", condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A role's trust policy: one principal may assume it (under ``condition`` when given)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return policy_document([statement])


def web_identity_trust(provider_arn: str, issuer_host: str, namespace: str, service_account: str) -> dict[str, Any]:
    """A trust policy only ``namespace/service_account`` of one EKS cluster satisfies (IRSA): the
    token must come from the cluster's OIDC provider, name that service account and be meant for STS."""
    return trust_policy(
        {"Federated": provider_arn},
        "sts:AssumeRoleWithWebIdentity",
        {
            "StringEquals": {
                f"{issuer_host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer_host}:aud": "sts.amazonaws.com",
            }
        },
    )


def deny_insecure_transport(action: str, resource: Any) -> dict[str, Any]:
    """A resource-policy statement refusing ``action`` on ``resource`` over plain HTTP."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# What the account root (that is: IAM principals of the account IAM allows) may do with a key:
# administer it, never use it. Create* keeps kms:CreateGrant, which services that encrypt on the
# caller's behalf (EKS, ECR, SageMaker, EBS) need from the deployer. The list is the "key
# administrators" statement of the KMS developer guide.
KEY_ADMIN_ACTIONS: Final = (
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
)
KEY_USE_ACTIONS: Final = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")


def platform_role_pattern(partition: pulumi.Input[str], account: pulumi.Input[str], base_name: str) -> pulumi.Output[str]:
    """ARN pattern of every IAM role this platform creates (all are named ``<platform>-<environment>-...``)."""
    return pulumi.Output.format("arn:{0}:iam::{1}:role/{2}-*", partition, account, base_name)


def platform_key_statements(partition: pulumi.Input[str], account: pulumi.Input[str], base_name: str) -> list[dict[str, Any]]:
    """The two statements every platform key policy starts with: the account administers the key
    through IAM, and only the platform's own roles (by ARN pattern) may use it. This replaces the
    default key policy, which grants ``kms:*`` to the whole account (any role with an IAM grant could
    decrypt the platform's data)."""
    root = pulumi.Output.format("arn:{0}:iam::{1}:root", partition, account)
    return [
        {
            "Sid": "AccountAdministersKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(KEY_ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "PlatformRolesUseKey",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(KEY_USE_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": platform_role_pattern(partition, account, base_name)}},
        },
    ]


def logs_key_policy(
    partition: pulumi.Input[str],
    account: pulumi.Input[str],
    region: str,
    log_group_arn: pulumi.Input[str] | None,
    base_name: str,
) -> dict[str, Any]:
    """A KMS key policy: the platform key statements (``platform_key_statements``) and, when
    ``log_group_arn`` is given, CloudWatch Logs may use it for that one log group (CloudWatch Logs
    needs an explicit key-policy grant; IAM policies alone do not let it use a key)."""
    statements = platform_key_statements(partition, account, base_name)
    if log_group_arn is not None:
        statements.append(
            {
                "Sid": "CloudWatchLogsEncryptsOneLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
            }
        )
    return policy_document(statements)


def concern_key(
    owner: pulumi.Resource,
    ctx: PlatformContext,
    logical: str,
    purpose: str,
    *,
    alias: str | None = None,
    policy: pulumi.Input[str] | None = None,
    rotation_period_in_days: int | None = None,
    provider: pulumi.ProviderResource | None = None,
) -> aws.kms.Key:
    """A concern's customer-managed KMS key: rotated (every ``storage.key_rotation_days`` unless a period
    is given), deletable only
    after the longest window, and protected like the data it encrypts. Without ``policy``, the
    platform key policy (``platform_key_statements``: the account administers, the platform's roles
    use). With ``alias``, also the alias ``alias/mlfabric/<platform>-<environment>/<alias>`` (same
    logical name as the key). ``provider``: another region's provider (a replica's key)."""
    if rotation_period_in_days is None and ctx.spec is not None:
        # Every platform key rotates like the storage key (storage.key_rotation_days: 90 days in prod).
        rotation_period_in_days = ctx.spec.storage.key_rotation_days
    if policy is None:
        account, partition = caller_account(owner)
        policy = pulumi.Output.json_dumps(policy_document(platform_key_statements(partition, account, ctx.base_name)))
    key = aws.kms.Key(
        logical,
        description=f"mlfabric {ctx.base_name}: {purpose}",
        enable_key_rotation=True,
        rotation_period_in_days=rotation_period_in_days,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=policy,
        tags=ctx.tags(),
        opts=ctx.stateful(owner, provider=provider),
    )
    if alias is not None:
        aws.kms.Alias(
            logical,
            name=f"alias/mlfabric/{ctx.base_name}/{alias}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=owner, provider=provider),
        )
    return key


def caller_account(owner: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(account id, partition) of the credentials deploying the stack, read once per component."""
    caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=owner))
    return caller.account_id, caller.arn.apply(lambda arn: arn.split(":")[1])


def dict_output(values: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """One Output of a name -> value map (``{}`` when there is nothing to map)."""
    # Output.all() of nothing resolves to a list, not an empty dict.
    if not values:
        return pulumi.Output.from_input({})
    mapping: pulumi.Output[dict[str, str]] = pulumi.Output.all(**values)
    return mapping


def platform_log_group_name(base_name: str) -> str:
    """The platform's own log group (jobs and tools of this platform write here)."""
    return f"/mlfabric/{base_name}"


def ecr_repository_arn(url: str, partition: str) -> str | None:
    """The ECR repository ARN a repository or image URL points to (None outside ECR)."""
    match = _ECR_URL.match(url)
    if match is None:
        return None
    account, region, repository = match.groups()
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"


def renamed(
    logical: str, name: str, renamed_from: Sequence[str], opts: pulumi.ResourceOptions, suffix: str = ""
) -> pulumi.ResourceOptions:
    """``opts`` plus the aliases that keep the identity of resource ``logical + suffix`` after its spec
    item ``name`` (which ``logical`` ends with) was renamed from ``renamed_from``: same type and
    parent, only the item's part of the name changes. Nothing is added for an item never renamed."""
    if not renamed_from:
        return opts
    aliases = [pulumi.Alias(name=f"{alias.name}{suffix}") for alias in rename_aliases(logical, name, renamed_from)]
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases))


def endpoint_name(base_name: str, endpoint: str) -> str:
    """Physical endpoint name (at most 53 of SageMaker's 63 characters)."""
    return f"{base_name}-{endpoint}"


_ECR_URL = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")
