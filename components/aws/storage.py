"""S3 storage: one customer-managed KMS key, and per spec bucket a private, KMS-encrypted,
TLS-only bucket with lifecycle rules.

Creates: ``aws:kms/key:Key`` (rotation on) and its alias; per bucket ``aws:s3/bucket:Bucket``,
``BucketOwnershipControls`` (ACLs off), ``BucketPublicAccessBlock`` (all four on),
``BucketServerSideEncryptionConfiguration`` (aws:kms with the key, bucket keys on),
``BucketVersioning``, ``BucketLifecycleConfiguration`` and ``BucketPolicy`` (deny non-TLS and
TLS < 1.2); with access logging, a log bucket and a ``BucketLogging`` per bucket. With
``storage.replication_region``, an ``aws`` provider and a KMS key (with alias) in that region, per
bucket a replica bucket there (the same settings, tagged ``mlfabric-bucket=replica``, no access logs:
S3 logs only to a bucket of the same region) and a ``BucketReplicationConfig``, and the IAM role S3
replicates with.

A bucket renamed in the spec (``buckets[].renamed_from``) keeps the bucket and each of its setting
resources through aliases; its auto-generated physical name comes with the aliased state, and its
access logs keep their prefix (the first name).

pulumi-aws v7 splits a bucket's settings into these separate resources, so policies about a bucket
join them back by the bucket they name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlfabric.components.aws.common import (
    caller_account,
    concern_key,
    deny_insecure_transport,
    policy_document,
    renamed,
    trust_policy,
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


@dataclass
class _Replica:
    """The replication region's provider, key and replica buckets (by spec bucket name)."""

    region: str
    provider: pulumi.ProviderResource
    key: aws.kms.Key
    buckets: dict[str, aws.s3.Bucket]


def _replication_policy(
    sources: list[pulumi.Output[str]],
    targets: list[pulumi.Output[str]],
    source_key: pulumi.Output[str],
    replica_key: pulumi.Output[str],
    region: str,
    replica_region: str,
) -> dict[str, Any]:
    """What S3 replication needs (S3 user guide, "Setting up permissions" for replication): read the
    source buckets' configuration and object versions, decrypt with the source key through S3, write
    replicas and encrypt them with the replica key through S3 of that region."""
    return policy_document([
        {"Sid": "ReadReplicationConfiguration", "Effect": "Allow",
         "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": sources},
        {"Sid": "ReadObjectVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
         "Resource": [pulumi.Output.concat(arn, "/*") for arn in sources]},
        {"Sid": "WriteReplicas", "Effect": "Allow",
         "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
         "Resource": [pulumi.Output.concat(arn, "/*") for arn in targets]},
        {"Sid": "DecryptSourceObjects", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": source_key,
         "Condition": {"StringLike": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
        {"Sid": "EncryptReplicas", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
         "Resource": replica_key,
         "Condition": {"StringLike": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"}}},
    ])


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
        self._versioning: dict[str, aws.s3.BucketVersioning] = {}
        self.log_bucket = self._log_bucket() if spec.access_logging else None
        self._replica = self._replica_region(spec.replication_region) if spec.replication_region else None
        buckets = {b.name: self._bucket(b) for b in spec.buckets}
        if self._replica is not None:
            self._replicate(buckets)

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
        self._versioning[logical] = aws.s3.BucketVersioning(
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
        if self._replica is not None:
            self._replica.buckets[spec.name] = self._replica_bucket(spec, logical)
        if self.log_bucket is not None:
            aws.s3.BucketLogging(
                logical,
                bucket=bucket.id,
                target_bucket=self.log_bucket.id,
                target_prefix=f"{original_name(spec.name, spec.renamed_from)}/",
                opts=keep(self._child),
            )
        return bucket

    # --- cross-region replication -------------------------------------------------------------

    def _replica_region(self, region: str) -> _Replica:
        """The replica region's provider and key (same rotation, same key policy as the storage key)."""
        ctx = self._ctx
        provider = aws.Provider(
            f"{self._name}-replica",
            region=region,
            # Same account guard as the platform's provider.
            allowed_account_ids=[account] if (account := ctx.account or (ctx.spec.aws.account_id if ctx.spec and ctx.spec.aws
                                                                          else None)) else None,
            opts=self._child,
        )
        key = concern_key(
            self,
            ctx,
            f"{self._name}-replica",
            f"object storage replica encryption ({region})",
            alias="storage-replica",
            rotation_period_in_days=self._spec.key_rotation_days,
            provider=provider,
        )
        return _Replica(region, provider, key, {})

    def _replica_bucket(self, spec: BucketSpec, logical: str) -> aws.s3.Bucket:
        """The bucket ``spec``'s objects replicate to: private, TLS-only, versioned, encrypted with the
        replica key, with the source's lifecycle rules; tagged ``mlfabric-bucket=replica``."""
        replica = self._replica
        assert replica is not None
        provider = replica.provider

        def keep(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(
                renamed(logical, spec.name, spec.renamed_from, opts, suffix="-replica"),
                pulumi.ResourceOptions(provider=provider),
            )

        return self._private_bucket(
            f"{logical}-replica",
            "replica",
            _DefaultEncryption(sse_algorithm="aws:kms", kms_master_key_id=replica.key.arn),
            self._lifecycle_rules(spec),
            bucket_key=True,
            keep=keep,
        )

    def _replicate(self, buckets: dict[str, aws.s3.Bucket]) -> None:
        """Per bucket a ``BucketReplicationConfig`` (every object, delete markers, KMS-encrypted objects
        re-encrypted with the replica key), and the one role S3 replicates with."""
        replica, ctx = self._replica, self._ctx
        assert replica is not None
        account, _ = caller_account(self)
        pairs = {name: (bucket, replica.buckets[name]) for name, bucket in buckets.items()}
        sources = [b.arn for b, _ in pairs.values()]
        targets = [r.arn for _, r in pairs.values()]
        role = aws.iam.Role(
            f"{self._name}-replication",
            description=f"mlfabric {ctx.base_name}: S3 replicates the platform's buckets to {replica.region}",
            assume_role_policy=pulumi.Output.json_dumps(
                trust_policy({"Service": "s3.amazonaws.com"}, condition={"StringEquals": {"aws:SourceAccount": account}})
            ),
            inline_policies=[aws.iam.RoleInlinePolicyArgs(
                name="replication",
                policy=pulumi.Output.json_dumps(_replication_policy(
                    sources, targets, self.key.arn, replica.key.arn, ctx.region, replica.region)),
            )],
            tags=ctx.tags(),
            opts=self._child,
        )
        for name, (bucket, target) in pairs.items():
            spec = next(b for b in self._spec.buckets if b.name == name)
            logical = f"{self._name}-{name}"
            rule = aws.s3.BucketReplicationConfigRuleArgs(
                id="replicate-everything",
                status="Enabled",
                filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
                source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                    sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                        status="Enabled"
                    )
                ),
                destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                    bucket=target.arn,
                    encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                        replica_kms_key_id=replica.key.arn
                    ),
                ),
            )
            aws.s3.BucketReplicationConfig(
                logical,
                bucket=bucket.id,
                role=role.arn,
                rules=[rule],
                # S3 refuses a replication configuration before both buckets are versioned.
                opts=renamed(logical, name, spec.renamed_from, pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[self._versioning[logical], self._versioning[f"{logical}-replica"]],
                )),
            )

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
