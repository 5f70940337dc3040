"""S3 storage: one customer-managed KMS key, and per spec bucket a private, KMS-encrypted,
TLS-only bucket with lifecycle rules.

Creates: ``aws:kms/key:Key`` (rotation on) and its alias; per bucket ``aws:s3/bucket:Bucket``,
``BucketOwnershipControls`` (ACLs off), ``BucketPublicAccessBlock`` (all four on),
``BucketServerSideEncryptionConfiguration`` (aws:kms with the key, bucket keys on),
``BucketVersioning``, ``BucketLifecycleConfiguration`` and ``BucketPolicy`` (deny non-TLS and
TLS < 1.2); with access logging, a log bucket and a ``BucketLogging`` per bucket.

A bucket renamed in the spec (``buckets[].renamed_from``) keeps the bucket and each of its setting
resources through aliases; its auto-generated physical name comes with the aliased state, and its
access logs keep their prefix (the first name).

pulumi-aws v7 splits a bucket's settings into these separate resources, so policies about a bucket
join them back by the bucket they name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import (
    caller_account,
    concern_key,
    deny_insecure_transport,
    policy_document,
    renamed,
)
from mlfabric.components.concerns import StorageOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.naming import original_name
from mlfabric.components.spec import BucketSpec, StorageSpec

# S3 server access logging cannot deliver into a bucket whose default encryption is SSE-KMS,
# so the log bucket uses SSE-S3 (AES256); it holds access records, not training data.
_LOG_BUCKET_SSE = "AES256"
_ACCESS_LOG_RETENTION_DAYS = 365
_DefaultEncryption = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs


def _tls_only_statements(bucket_arn: pulumi.Output[str]) -> list[dict[str, Any]]:
    objects = [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")]
    return [
        deny_insecure_transport("s3:*", objects),
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": objects,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]


def _whole_bucket_rule(rule_id: str, **action: Any) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """An enabled lifecycle rule over every object of the bucket (the empty prefix)."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule_id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        **action,
    )


class AwsStorage(StorageOutputs):
    """Private, KMS-encrypted S3 buckets for datasets, artifacts and models."""

    type_token = "mlfabric:storage:AwsStorage"

    def __init__(
        self,
        name: str,
        spec: StorageSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, spec, ctx, opts)
        self.key = concern_key(
            self,
            ctx,
            f"{name}-storage",
            "object storage encryption",
            alias="storage",
            rotation_period_in_days=spec.key_rotation_days,
        )
        self.log_bucket = self._log_bucket() if spec.access_logging else None
        buckets = {b.name: self._bucket(b) for b in spec.buckets}

        self.bucket_names = pulumi.Output.all(**{k: b.bucket for k, b in buckets.items()})
        self.bucket_urls = self.bucket_names.apply(lambda names: {k: f"s3://{v}" for k, v in names.items()})
        self.bucket_ids = pulumi.Output.all(**{k: b.arn for k, b in buckets.items()})
        self.encryption_key_id = self.key.arn
        self.access_log_bucket = self.log_bucket.bucket if self.log_bucket else pulumi.Output.from_input("")
        self.register_contract()

    def _private_bucket(
        self,
        logical: str,
        role: str,
        encryption: _DefaultEncryption,
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgs],
        grants: Callable[[pulumi.Output[str]], list[dict[str, Any]]] = lambda _arn: [],
        bucket_key: bool | None = None,
        keep: Callable[[pulumi.ResourceOptions], pulumi.ResourceOptions] = lambda opts: opts,
    ) -> aws.s3.Bucket:
        """A bucket with ACLs off, every public-access switch on, default encryption, lifecycle rules
        and a TLS-only policy (plus the statements ``grants`` makes of its ARN); data and log buckets
        differ only in these. ``keep`` adds the aliases of a renamed bucket to every resource."""
        child = keep(self._child)
        bucket = aws.s3.Bucket(
            logical,
            force_destroy=self._spec.force_destroy,
            tags=self._ctx.tags({"mlfabric-bucket": role}),
            opts=keep(self._ctx.stateful(self)),
        )
        aws.s3.BucketOwnershipControls(
            logical,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            logical,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketVersioning(
            logical,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                # Suspended (not Disabled) so that turning versioning off later is always valid.
                status="Enabled" if self._spec.versioning else "Suspended",
            ),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            logical,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=encryption, bucket_key_enabled=bucket_key
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(logical, bucket=bucket.id, rules=rules, opts=child)
        policy = policy_document([*_tls_only_statements(bucket.arn), *grants(bucket.arn)])
        aws.s3.BucketPolicy(logical, bucket=bucket.id, policy=pulumi.Output.json_dumps(policy), opts=child)
        return bucket

    def _log_bucket(self) -> aws.s3.Bucket:
        account, _ = caller_account(self)

        def log_delivery(bucket_arn: pulumi.Output[str]) -> list[dict[str, Any]]:
            return [
                {
                    "Sid": "AllowS3AccessLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": pulumi.Output.concat(bucket_arn, "/*"),
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }
            ]

        expire = _whole_bucket_rule(
            "expire-access-logs",
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=_ACCESS_LOG_RETENTION_DAYS),
        )
        return self._private_bucket(
            f"{self._name}-access-logs",
            "access-logs",
            _DefaultEncryption(sse_algorithm=_LOG_BUCKET_SSE),
            [expire],
            log_delivery,
        )

    def _bucket(self, spec: BucketSpec) -> aws.s3.Bucket:
        # A renamed bucket keeps its resources (aliases) and its auto-generated physical name, which
        # Pulumi carries over from the state of an aliased resource; its access logs keep their prefix.
        logical = f"{self._name}-{spec.name}"

        def keep(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
            return renamed(logical, spec.name, spec.renamed_from, opts)

        bucket = self._private_bucket(
            logical,
            spec.name,
            _DefaultEncryption(sse_algorithm="aws:kms", kms_master_key_id=self.key.arn),
            self._lifecycle_rules(spec),
            bucket_key=True,
            keep=keep,
        )
        if self.log_bucket is not None:
            aws.s3.BucketLogging(
                logical,
                bucket=bucket.id,
                target_bucket=self.log_bucket.id,
                target_prefix=f"{original_name(spec.name, spec.renamed_from)}/",
                opts=keep(self._child),
            )
        return bucket

    def _lifecycle_rules(self, spec: BucketSpec) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
        rules = [
            _whole_bucket_rule(
                "abort-incomplete-uploads",
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            ),
            _whole_bucket_rule(
                "expire-noncurrent-versions",
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=self._spec.noncurrent_version_retention_days
                ),
            ),
        ]
        if spec.archive_after_days is not None:
            rules.append(
                _whole_bucket_rule(
                    "archive",
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=spec.archive_after_days, storage_class="STANDARD_IA"
                        )
                    ],
                )
            )
        if spec.retention_days is not None:
            rules.append(
                _whole_bucket_rule(
                    "expire-after-retention",
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=spec.retention_days),
                )
            )
        return rules
