"""GCS storage: one customer-managed Cloud KMS key, and per spec bucket a private, CMEK-encrypted
bucket with lifecycle rules.

Creates: ``gcp:projects/service:Service`` for the Cloud Storage and Cloud KMS APIs (left enabled on
destroy: other concerns use them too); ``gcp:kms/keyRing:KeyRing`` and ``gcp:kms/cryptoKey:CryptoKey``
(rotated every ``key_rotation_days``) in the platform region; ``gcp:kms/cryptoKeyIAMMember`` that
lets the project's Cloud Storage service agent encrypt and decrypt with the key; per bucket a
``gcp:storage/bucket:Bucket`` (default KMS key, uniform bucket-level access, public access
prevention enforced, versioning per spec, lifecycle rules, labels); with access logging, a log
bucket with the same protections and a ``gcp:storage/bucketIAMMember`` letting Cloud Storage's
usage-log writer (``group:cloud-storage-analytics@google.com``) create objects in it.

Unlike pulumi-aws v7, a GCS bucket carries encryption, versioning, lifecycle and logging inline, so
policies read them from the bucket's own inputs. Every bucket ``depends_on`` the key's IAM member:
a bucket whose default key the service agent may not use yet fails its first write.

TLS only is inherent on GCP: Cloud Storage is reached through Google's HTTPS front end, and with
public access prevention enforced there is no anonymous access that could be served any other way.
What a bucket cannot express, and so is not enforced here: a deny-non-TLS or minimum-TLS-version
condition (GCS has no bucket policy language like S3's); network restrictions (VPC Service
Controls perimeters are organisation-level); refusing objects written with another key
(``constraints/gcp.restrictNonCmekServices`` is an organisation policy). Data-access audit logs
(Cloud Audit Logs) are a project-level IAM audit config, not a bucket setting; the usage logs here
are the per-bucket record. Organisations that restrict IAM members to their own domain
(``constraints/iam.allowedPolicyMemberDomains``) must allow ``google.com`` for the usage-log
writer, or leave ``access_logging`` off.
"""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import BucketSpec, StorageSpec

_STORAGE_API: Final = "storage.googleapis.com"
_KMS_API: Final = "cloudkms.googleapis.com"
_KEY_USER_ROLE: Final = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
# Cloud Storage writes usage logs as this Google-owned group (documented, fixed).
_LOG_WRITER: Final = "group:cloud-storage-analytics@google.com"
_LOG_WRITER_ROLE: Final = "roles/storage.objectCreator"
_ACCESS_LOG_RETENTION_DAYS: Final = 365
_ABORT_UPLOADS_AFTER_DAYS: Final = 7
# Key versions wait this long in DESTROY_SCHEDULED before they are gone (Cloud KMS default, explicit).
_KEY_DESTROY_DELAY: Final = f"{30 * 86400}s"
_SECONDS_PER_DAY: Final = 86400


def _rule(action: str, condition: gcp.storage.BucketLifecycleRuleConditionArgs,
          storage_class: str | None = None) -> gcp.storage.BucketLifecycleRuleArgs:
    return gcp.storage.BucketLifecycleRuleArgs(
        action=gcp.storage.BucketLifecycleRuleActionArgs(type=action, storage_class=storage_class),
        condition=condition,
    )


class GcpStorage(pulumi.ComponentResource):
    """Private, CMEK-encrypted GCS buckets for datasets, artifacts and models."""

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
        super().__init__("mlfabric:storage:GcpStorage", name, None, opts)
        self._name = name
        self._spec = spec
        self._ctx = ctx
        # The project every resource lives in; None leaves it to the provider (see providers.gcp).
        project = ctx.account
        child = pulumi.ResourceOptions(parent=self)

        storage_api = gcp.projects.Service(
            f"{name}-storage-api", service=_STORAGE_API, project=project, disable_on_destroy=False, opts=child
        )
        kms_api = gcp.projects.Service(
            f"{name}-kms-api", service=_KMS_API, project=project, disable_on_destroy=False, opts=child
        )

        # Both hold the data's only key: replacing either makes every object unreadable.
        self.key_ring = gcp.kms.KeyRing(
            f"{name}-storage",
            location=ctx.region,
            project=project,
            opts=ctx.stateful(self, depends_on=[kms_api]),
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-storage",
            key_ring=self.key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=f"{spec.key_rotation_days * _SECONDS_PER_DAY}s",
            destroy_scheduled_duration=_KEY_DESTROY_DELAY,
            labels=ctx.tags(),
            opts=ctx.stateful(self),
        )
        # The invoke also creates the service agent if the project has none yet.
        agent = gcp.storage.get_project_service_account_output(
            project=project, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[storage_api])
        )
        key_user = gcp.kms.CryptoKeyIAMMember(
            f"{name}-storage-gcs-agent",
            crypto_key_id=self.key.id,
            role=_KEY_USER_ROLE,
            member=agent.member,
            opts=child,
        )
        self._ready: list[pulumi.Resource] = [storage_api, key_user]

        self.log_bucket: gcp.storage.Bucket | None = None
        if spec.access_logging:
            self.log_bucket, log_writer = self._log_bucket()
            self._ready.append(log_writer)
        buckets = {b.name: self._bucket(b) for b in spec.buckets}

        self.bucket_names = pulumi.Output.all(**{k: b.name for k, b in buckets.items()})
        self.bucket_urls = pulumi.Output.all(**{k: b.url for k, b in buckets.items()})
        # IAM on GCS scopes to the bucket name (gcp.storage.BucketIAMMember(bucket=...)).
        self.bucket_ids = self.bucket_names
        self.encryption_key_id = self.key.id
        self.access_log_bucket = self.log_bucket.name if self.log_bucket else pulumi.Output.from_input("")
        self.register_outputs(
            {
                "bucket_names": self.bucket_names,
                "bucket_urls": self.bucket_urls,
                "bucket_ids": self.bucket_ids,
                "encryption_key_id": self.encryption_key_id,
                "access_log_bucket": self.access_log_bucket,
            }
        )

    def _private_bucket(
        self,
        logical: str,
        role: str,
        lifecycle_rules: list[gcp.storage.BucketLifecycleRuleArgs],
        logging: gcp.storage.BucketLoggingArgs | None = None,
    ) -> gcp.storage.Bucket:
        """A CMEK-encrypted bucket with IAM-only access and no public access; data and log buckets."""
        return gcp.storage.Bucket(
            logical,
            project=self._ctx.account,
            location=self._ctx.region,
            storage_class="STANDARD",
            encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=self.key.id),
            # IAM only: object ACLs are off, so no object can be shared past the bucket's policy.
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=self._spec.versioning),
            lifecycle_rules=lifecycle_rules,
            logging=logging,
            force_destroy=self._spec.force_destroy,
            labels=self._ctx.tags({"mlfabric-bucket": role}),
            opts=self._ctx.stateful(self, depends_on=list(self._ready)),
        )

    def _log_bucket(self) -> tuple[gcp.storage.Bucket, gcp.storage.BucketIAMMember]:
        logical = f"{self._name}-access-logs"
        bucket = self._private_bucket(
            logical, "access-logs", self._lifecycle_rules(_ACCESS_LOG_RETENTION_DAYS, None)
        )
        writer = gcp.storage.BucketIAMMember(
            logical,
            bucket=bucket.name,
            role=_LOG_WRITER_ROLE,
            member=_LOG_WRITER,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return bucket, writer

    def _bucket(self, spec: BucketSpec) -> gcp.storage.Bucket:
        logging = (
            gcp.storage.BucketLoggingArgs(log_bucket=self.log_bucket.name, log_object_prefix=spec.name)
            if self.log_bucket is not None
            else None
        )
        return self._private_bucket(
            f"{self._name}-{spec.name}",
            spec.name,
            self._lifecycle_rules(spec.retention_days, spec.archive_after_days),
            logging,
        )

    def _lifecycle_rules(
        self, retention_days: int | None, archive_after_days: int | None
    ) -> list[gcp.storage.BucketLifecycleRuleArgs]:
        condition = gcp.storage.BucketLifecycleRuleConditionArgs
        rules = [
            _rule("AbortIncompleteMultipartUpload", condition(age=_ABORT_UPLOADS_AFTER_DAYS)),
            # Only noncurrent versions have a noncurrent time; with_state makes that explicit.
            _rule(
                "Delete",
                condition(
                    days_since_noncurrent_time=self._spec.noncurrent_version_retention_days,
                    with_state="ARCHIVED",
                ),
            ),
        ]
        if archive_after_days is not None:
            rules.append(
                _rule(
                    "SetStorageClass",
                    condition(age=archive_after_days, matches_storage_classes=["STANDARD"]),
                    storage_class="NEARLINE",
                )
            )
        if retention_days is not None:
            # On a versioned bucket this makes the live version noncurrent; the rule above ends it.
            rules.append(_rule("Delete", condition(age=retention_days, with_state="LIVE")))
        return rules
