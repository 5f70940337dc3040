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

With ``storage.replication_region``: a second key ring and key ``<name>-storage-replica`` in that region
(same rotation; the Cloud Storage agent may use it), per data bucket a replica ``<name>-<bucket>-replica``
there with the same protections (CMEK with the replica key, uniform access, public access prevention,
versioning, lifecycle, usage logs), ``storagetransfer.googleapis.com`` and per bucket a
``gcp:storage/transferJob:TransferJob`` with a ``replicationSpec`` (Storage Transfer Service's
event-driven cross-bucket replication: every new or changed object is copied; nothing is deleted from
the replica when it goes from the source), plus ``gcp:storage/bucketIAMMember`` grants letting the
project's transfer agent read the source (``legacyBucketReader``, ``objectViewer``) and write the
replica (``legacyBucketWriter``). Why not a dual-region bucket: a bucket's location is immutable, so
turning an existing bucket dual-region replaces it (and its data); a replica leaves existing buckets
untouched. Objects written before the job existed are not copied (run a one-off transfer for those).

Unlike pulumi-aws v7, a GCS bucket carries encryption, versioning, lifecycle and logging inline, so
policies read them from the bucket's own inputs. Every bucket ``depends_on`` the key's IAM member:
a bucket whose default key the service agent may not use yet fails its first write.

A renamed bucket (``renamed_from``) keeps its GCS bucket: the logical name's previous forms are
aliases, the bucket has no name input (the provider keeps the name it auto-generated, in the state),
and its usage-log prefix stays the first name.

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

from mlfabric.components import naming
from mlfabric.components.concerns import StorageOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import KMS_API, concern_key, days, enable_api, key_user
from mlfabric.components.spec import BucketSpec, StorageSpec

_STORAGE_API: Final = "storage.googleapis.com"
# Cloud Storage writes usage logs as this Google-owned group (documented, fixed).
_LOG_WRITER: Final = "group:cloud-storage-analytics@google.com"
_LOG_WRITER_ROLE: Final = "roles/storage.objectCreator"
_ACCESS_LOG_RETENTION_DAYS: Final = 365
_ABORT_UPLOADS_AFTER_DAYS: Final = 7
_TRANSFER_API: Final = "storagetransfer.googleapis.com"
_TRANSFER_SOURCE_ROLES: Final = ("roles/storage.legacyBucketReader", "roles/storage.objectViewer")
_TRANSFER_SINK_ROLES: Final = ("roles/storage.legacyBucketWriter",)


def _rule(action: str, condition: gcp.storage.BucketLifecycleRuleConditionArgs,
          storage_class: str | None = None) -> gcp.storage.BucketLifecycleRuleArgs:
    return gcp.storage.BucketLifecycleRuleArgs(
        action=gcp.storage.BucketLifecycleRuleActionArgs(type=action, storage_class=storage_class),
        condition=condition,
    )


class GcpStorage(StorageOutputs):
    """Private, CMEK-encrypted GCS buckets for datasets, artifacts and models."""

    type_token = "mlfabric:storage:GcpStorage"

    def __init__(self, name: str, spec: StorageSpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, spec, ctx, opts)
        storage_api = enable_api(f"{name}-storage-api", _STORAGE_API, ctx, self)
        kms_api = enable_api(f"{name}-kms-api", KMS_API, ctx, self)
        # The data's only key, rotated on the spec's schedule; its labels are the platform's tags only.
        self._key = concern_key(
            name, "storage", ctx, self, kms_api, rotation_period=days(spec.key_rotation_days), labels=ctx.tags()
        ).key
        # The invoke also creates the service agent if the project has none yet.
        agent = gcp.storage.get_project_service_account_output(
            project=ctx.account, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[storage_api])
        )
        # Every bucket waits for these: a bucket whose default key the agent may not use fails its first write.
        self._ready: list[pulumi.Resource] = [
            storage_api, key_user(f"{name}-storage-gcs-agent", self._key.id, agent.member, self)
        ]

        self._log_bucket: gcp.storage.Bucket | None = None
        if spec.access_logging:
            self._log_bucket = self._access_log_bucket()
        buckets = {b.name: self._bucket(b) for b in spec.buckets}
        if spec.replication_region:
            self._replicate(spec.replication_region, kms_api, buckets)

        self.bucket_names = pulumi.Output.all(**{k: b.name for k, b in buckets.items()})
        self.bucket_urls = pulumi.Output.all(**{k: b.url for k, b in buckets.items()})
        # IAM on GCS scopes to the bucket name (gcp.storage.BucketIAMMember(bucket=...)).
        self.bucket_ids = self.bucket_names
        self.encryption_key_id = self._key.id
        self.access_log_bucket = self._log_bucket.name if self._log_bucket else pulumi.Output.from_input("")
        self.register_contract()

    def _private_bucket(
        self,
        logical: str,
        role: str,
        lifecycle_rules: list[gcp.storage.BucketLifecycleRuleArgs],
        logging: gcp.storage.BucketLoggingArgs | None = None,
        aliases: list[pulumi.Alias] | None = None,
        *,
        location: str | None = None,
        key_id: pulumi.Input[str] | None = None,
        ready: list[pulumi.Resource] | None = None,
    ) -> gcp.storage.Bucket:
        """A CMEK-encrypted bucket with IAM-only access and no public access; data, log and replica
        buckets (a replica: in ``location`` with that region's ``key_id``)."""
        return gcp.storage.Bucket(
            logical,
            project=self._ctx.account,
            location=location or self._ctx.region,
            storage_class="STANDARD",
            encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=key_id or self._key.id),
            # IAM only: object ACLs are off, so no object can be shared past the bucket's policy.
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=self._spec.versioning),
            lifecycle_rules=lifecycle_rules,
            logging=logging,
            force_destroy=self._spec.force_destroy,
            labels=self._ctx.tags({"mlfabric-bucket": role}),
            # No name input: the provider auto-names the bucket once and keeps that name in its state, so
            # a renamed spec bucket (aliases) keeps its GCS bucket.
            opts=self._ctx.stateful(self, depends_on=list(ready or self._ready), aliases=aliases or None),
        )

    def _access_log_bucket(self) -> gcp.storage.Bucket:
        """The usage-log bucket, and the grant that lets Cloud Storage's log writer fill it."""
        logical = f"{self._name}-access-logs"
        bucket = self._private_bucket(
            logical, "access-logs", self._lifecycle_rules(_ACCESS_LOG_RETENTION_DAYS, None)
        )
        writer = gcp.storage.BucketIAMMember(
            logical,
            bucket=bucket.name,
            role=_LOG_WRITER_ROLE,
            member=_LOG_WRITER,
            opts=self._child,
        )
        # Data buckets log into it only once the writer may write.
        self._ready.append(writer)
        return bucket

    def _bucket(self, spec: BucketSpec) -> gcp.storage.Bucket:
        # A renamed bucket keeps its usage-log prefix (the first name) and its resource (aliases).
        first = naming.original_name(spec.name, spec.renamed_from)
        logging = (
            gcp.storage.BucketLoggingArgs(log_bucket=self._log_bucket.name, log_object_prefix=first)
            if self._log_bucket is not None
            else None
        )
        logical = f"{self._name}-{spec.name}"
        return self._private_bucket(
            logical,
            spec.name,
            self._lifecycle_rules(spec.retention_days, spec.archive_after_days),
            logging,
            naming.rename_aliases(logical, spec.name, spec.renamed_from),
        )

    def _replicate(self, region: str, kms_api: pulumi.Resource, buckets: dict[str, gcp.storage.Bucket]) -> None:
        """A replica per data bucket in ``region``, kept current by a Storage Transfer Service job."""
        name, ctx = self._name, self._ctx
        key = concern_key(name, "storage-replica", ctx, self, kms_api, rotation_period=days(self._spec.key_rotation_days),
                          labels=ctx.tags(), location=region).key
        agent = gcp.storage.get_project_service_account_output(
            project=ctx.account, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self._ready[0]])
        )
        ready = [*self._ready, key_user(f"{name}-storage-replica-gcs-agent", key.id, agent.member, self)]
        transfer_api = enable_api(f"{name}-storagetransfer-api", _TRANSFER_API, ctx, self)
        transfer_agent = gcp.storage.get_transfer_project_service_account_output(
            project=ctx.account, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[transfer_api])
        )
        by_name = {b.name: b for b in self._spec.buckets}
        for bucket_name, source in buckets.items():
            spec = by_name[bucket_name]
            first = naming.original_name(spec.name, spec.renamed_from)
            logical = f"{name}-{spec.name}-replica"
            replica = self._private_bucket(
                logical,
                f"{spec.name}-replica",
                self._lifecycle_rules(spec.retention_days, spec.archive_after_days),
                gcp.storage.BucketLoggingArgs(log_bucket=self._log_bucket.name, log_object_prefix=f"{first}-replica")
                if self._log_bucket is not None else None,
                naming.rename_aliases(logical, f"{spec.name}-replica",
                                      [f"{old}-replica" for old in spec.renamed_from]),
                location=region,
                key_id=key.id,
                ready=ready,
            )
            grants = [
                gcp.storage.BucketIAMMember(
                    f"{logical}-transfer-{'source' if target is source else 'sink'}-{role.rsplit('.', 1)[-1].lower()}",
                    bucket=target.name,
                    role=role,
                    member=transfer_agent.member,
                    opts=self._child,
                )
                for target, roles in ((source, _TRANSFER_SOURCE_ROLES), (replica, _TRANSFER_SINK_ROLES))
                for role in roles
            ]
            gcp.storage.TransferJob(
                logical,
                project=ctx.account,
                description=f"mlfabric {ctx.base_name}: replicate {spec.name} to {region}",
                replication_spec=gcp.storage.TransferJobReplicationSpecArgs(
                    gcs_data_source=gcp.storage.TransferJobReplicationSpecGcsDataSourceArgs(bucket_name=source.name),
                    gcs_data_sink=gcp.storage.TransferJobReplicationSpecGcsDataSinkArgs(bucket_name=replica.name),
                    transfer_options=gcp.storage.TransferJobReplicationSpecTransferOptionsArgs(
                        delete_objects_from_source_after_transfer=False,
                        delete_objects_unique_in_sink=False,
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[transfer_api, *grants]),
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
