"""The spec's `storage` section: buckets, versioning, access logs, key rotation."""

from __future__ import annotations

from pydantic import Field, model_validator

from mlfabric.components.spec.base import (
    ACCESS_LOG_BUCKET,
    ItemName,
    PreviousNames,
    SpecModel,
    SpecProblem,
    env_default,
    raise_if,
    rename_problems,
    renamed_from_field,
    unique_names,
)

# --- storage -----------------------------------------------------------------------------------


class BucketSpec(SpecModel):
    """One object-storage bucket (S3 bucket, GCS bucket, Azure blob container)."""

    name: ItemName = Field(description="Logical bucket name; the physical name adds platform and environment.")
    renamed_from: PreviousNames = renamed_from_field("bucket")
    retention_days: int | None = Field(
        None, ge=1, le=36500,
        description="Delete objects this many days after creation. Omitted: kept until deleted.",
    )
    archive_after_days: int | None = Field(
        None, ge=30, le=36500,
        description="Move objects to the cloud's infrequent-access class after this many days "
        "(at least 30, S3's minimum). Omitted: objects stay in the standard class.",
    )

    @model_validator(mode="after")
    def _archive_before_retention(self) -> BucketSpec:
        if (
            self.archive_after_days is not None
            and self.retention_days is not None
            and self.archive_after_days >= self.retention_days
        ):
            raise SpecProblem(
                [(("archive_after_days",), f"must be less than retention_days ({self.retention_days}) "
                  f"(got {self.archive_after_days})")]
            )
        return self


def _default_buckets() -> list[BucketSpec]:
    return [BucketSpec(name="datasets"), BucketSpec(name="artifacts"), BucketSpec(name="models")]


class StorageSpec(SpecModel):
    """Object storage for datasets, artifacts and models: encrypted, private, TLS only."""

    buckets: list[BucketSpec] = Field(
        default_factory=_default_buckets,
        min_length=1,
        description="Buckets to create (at least one). Omitted: datasets, artifacts and models.",
    )
    versioning: bool = env_default(
        dev=False, staging=True, prod=True, description="Keep previous object versions."
    )
    noncurrent_version_retention_days: int = env_default(
        dev=7, staging=30, prod=90, ge=1, le=3650,
        description="Delete previous object versions this many days after they are replaced.",
    )
    access_logging: bool = env_default(
        dev=False, staging=False, prod=True,
        description="Record every access to the buckets in a dedicated log bucket.",
    )
    force_destroy: bool = env_default(
        dev=True, staging=False, prod=False,
        description="Let `pulumi destroy` delete non-empty buckets. Only allowed in dev.",
    )
    key_rotation_days: int = env_default(
        dev=365, staging=365, prod=90, ge=90, le=2560,
        description="Rotate the customer-managed encryption keys this often (90 days is the usual "
        "benchmark for production data).",
    )
    replication_region: str | None = Field(
        None, min_length=2,
        description="Keep a copy of every bucket in this region (a region of the same cloud, not the "
        "platform's). How each cloud does it, and which regions it can reach (Azure: only the paired "
        "region), is in the capability table. Omitted: no copy outside the region.",
    )

    @model_validator(mode="after")
    def _names_unique(self) -> StorageSpec:
        problems = unique_names((b.name for b in self.buckets), "buckets")
        problems += rename_problems(((b.name, b.renamed_from) for b in self.buckets), "buckets")
        problems += [
            (("buckets", index, "name"), f"reserved for the access-log bucket (got {bucket.name!r})")
            for index, bucket in enumerate(self.buckets)
            if bucket.name == ACCESS_LOG_BUCKET
        ]
        raise_if(problems)
        return self

