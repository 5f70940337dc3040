"""S3 storage: one customer-managed KMS key, and per spec bucket a private, KMS-encrypted,
TLS-only bucket with lifecycle rules.

Creates: ``aws:kms/key:Key`` (rotation on) and its alias; per bucket ``aws:s3/bucket:Bucket``,
``BucketOwnershipControls`` (ACLs off), ``BucketPublicAccessBlock`` (all four on),
``BucketServerSideEncryptionConfiguration`` (aws:kms with the key, bucket keys on),
``BucketVersioning``, ``BucketLifecycleConfiguration`` and ``BucketPolicy`` (deny non-TLS and
TLS < 1.2); with access logging, a log bucket and a ``BucketLogging`` per bucket.

pulumi-aws v7 splits a bucket's settings into these separate resources, so policies about a bucket
join them back by the bucket they name.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import BucketSpec, StorageSpec

# S3 server access logging cannot deliver into a bucket whose default encryption is SSE-KMS,
# so the log bucket uses SSE-S3 (AES256); it holds access records, not training data.
_LOG_BUCKET_SSE = "AES256"
_ACCESS_LOG_RETENTION_DAYS = 365


def _tls_only_statements(bucket_arn: pulumi.Output[str]) -> pulumi.Output[Any]:
    return pulumi.Output.all(bucket_arn).apply(
        lambda args: [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [args[0], f"{args[0]}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyOutdatedTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [args[0], f"{args[0]}/*"],
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
        ]
    )


class AwsStorage(pulumi.ComponentResource):
    """Private, KMS-encrypted S3 buckets for datasets, artifacts and models."""

    bucket_names: pulumi.Output[dict[str, str]]
    bucket_urls: pulumi.Output[dict[str, str]]
    bucket_ids: pulumi.Output[dict[str, str]]
    encryption_key_id: pulumi.Output[str]
    access_log_bucket: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: StorageSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlfabric:storage:AwsStorage", name, None, opts)
        self._name = name
        self._spec = spec
        self._ctx = ctx

        self.key = aws.kms.Key(
            f"{name}-storage",
            description=f"mlfabric {ctx.base_name}: object storage encryption",
            enable_key_rotation=True,
            rotation_period_in_days=spec.key_rotation_days,
            deletion_window_in_days=30,
            tags=ctx.tags(),
            opts=ctx.stateful(self),
        )
        aws.kms.Alias(
            f"{name}-storage",
            name=f"alias/mlfabric/{ctx.base_name}/storage",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.log_bucket = self._log_bucket() if spec.access_logging else None
        buckets = {b.name: self._bucket(b) for b in spec.buckets}

        self.bucket_names = pulumi.Output.all(**{k: b.bucket for k, b in buckets.items()})
        self.bucket_urls = self.bucket_names.apply(lambda names: {k: f"s3://{v}" for k, v in names.items()})
        self.bucket_ids = pulumi.Output.all(**{k: b.arn for k, b in buckets.items()})
        self.encryption_key_id = self.key.arn
        self.access_log_bucket = self.log_bucket.bucket if self.log_bucket else pulumi.Output.from_input("")
        self.register_outputs(
            {
                "bucket_names": self.bucket_names,
                "bucket_urls": self.bucket_urls,
                "bucket_ids": self.bucket_ids,
                "encryption_key_id": self.encryption_key_id,
                "access_log_bucket": self.access_log_bucket,
            }
        )

    def _private_bucket(self, logical: str, role: str) -> aws.s3.Bucket:
        """A bucket with ACLs off and every public-access switch on; shared by data and log buckets."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            logical,
            force_destroy=self._spec.force_destroy,
            tags=self._ctx.tags({"mlfabric-bucket": role}),
            opts=self._ctx.stateful(self),
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
        return bucket

    def _log_bucket(self) -> aws.s3.Bucket:
        logical = f"{self._name}-access-logs"
        bucket = self._private_bucket(logical, "access-logs")
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketServerSideEncryptionConfiguration(
            logical,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm=_LOG_BUCKET_SSE,
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            logical,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=_ACCESS_LOG_RETENTION_DAYS
                    ),
                )
            ],
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        policy = pulumi.Output.all(_tls_only_statements(bucket.arn), bucket.arn, account.account_id).apply(
            lambda args: {
                "Version": "2012-10-17",
                "Statement": [
                    *args[0],
                    {
                        "Sid": "AllowS3AccessLogDelivery",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"{args[1]}/*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": args[2]}},
                    },
                ],
            }
        )
        aws.s3.BucketPolicy(logical, bucket=bucket.id, policy=pulumi.Output.json_dumps(policy), opts=child)
        return bucket

    def _bucket(self, spec: BucketSpec) -> aws.s3.Bucket:
        logical = f"{self._name}-{spec.name}"
        bucket = self._private_bucket(logical, spec.name)
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketServerSideEncryptionConfiguration(
            logical,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms",
                        kms_master_key_id=self.key.arn,
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            logical, bucket=bucket.id, rules=self._lifecycle_rules(spec), opts=child
        )
        policy = _tls_only_statements(bucket.arn).apply(
            lambda statements: {"Version": "2012-10-17", "Statement": statements}
        )
        aws.s3.BucketPolicy(logical, bucket=bucket.id, policy=pulumi.Output.json_dumps(policy), opts=child)
        if self.log_bucket is not None:
            aws.s3.BucketLogging(
                logical,
                bucket=bucket.id,
                target_bucket=self.log_bucket.id,
                target_prefix=f"{spec.name}/",
                opts=child,
            )
        return bucket

    def _lifecycle_rules(self, spec: BucketSpec) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
        everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=everything,
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            ),
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=everything,
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=self._spec.noncurrent_version_retention_days
                ),
            ),
        ]
        if spec.archive_after_days is not None:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="archive",
                    status="Enabled",
                    filter=everything,
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=spec.archive_after_days, storage_class="STANDARD_IA"
                        )
                    ],
                )
            )
        if spec.retention_days is not None:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-after-retention",
                    status="Enabled",
                    filter=everything,
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=spec.retention_days),
                )
            )
        return rules
