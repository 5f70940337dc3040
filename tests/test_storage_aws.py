"""AwsStorage under the mock runtime.

What a mock test cannot prove: that AWS accepts these inputs together (e.g. that the KMS key
policy lets S3 use the key), or that the bucket policy's TLS condition keys are evaluated as
intended. Those need a real account (README: limits)."""

from __future__ import annotations

import json
from collections import Counter

from mlfabric.plan import Plan
from tests.helpers import of_type, only
from tests.helpers import plan as plan_platform

S3 = "aws:s3/"


def plan(cloud: str, environment: str, **sections: object) -> Plan:
    """The platform plan, narrowed to the storage component's own children."""
    full = plan_platform(cloud, environment, **sections)
    [storage] = [r.urn for r in full.resources if r.type == "mlfabric:storage:AwsStorage"]
    keep = [r for r in full.resources if r.parent == storage or r.type == "pulumi:providers:aws"]
    return Plan(full.project, full.stack, full.spec, keep, full.outputs, full.notes)
BUCKET = "aws:s3/bucket:Bucket"


def test_dev_storage_creates_exact_child_types_per_bucket() -> None:
    p = plan("aws", "dev")
    counts = Counter(r.type for r in p.custom_resources if r.type != "pulumi:providers:aws")
    assert counts == {
        "aws:kms/key:Key": 1,
        "aws:kms/alias:Alias": 1,
        BUCKET: 3,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 3,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 3,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 3,
        "aws:s3/bucketVersioning:BucketVersioning": 3,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 3,
        "aws:s3/bucketPolicy:BucketPolicy": 3,
    }


def test_every_bucket_is_encrypted_with_the_platform_kms_key() -> None:
    p = plan("aws", "prod")
    key_arn = p.outputs["storage_key_id"]
    assert key_arn.startswith("arn:aws:kms:us-east-1:")
    sse = of_type(p.resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    data = [r for r in sse if not r.name.endswith("access-logs")]
    assert len(data) == 3
    for record in data:
        rule = record.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
        assert rule["bucketKeyEnabled"] is True


def test_kms_key_rotates_on_the_spec_schedule() -> None:
    key = only(plan("aws", "dev", storage={"key_rotation_days": 180}).resources, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["rotationPeriodInDays"] == 180


def test_all_public_access_is_blocked_and_acls_are_off() -> None:
    p = plan("aws", "dev")
    for block in of_type(p.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert {k: block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")} == dict.fromkeys(
            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
        )
    for owner in of_type(p.resources, "aws:s3/bucketOwnershipControls:BucketOwnershipControls"):
        assert owner.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_bucket_policies_deny_plain_http_and_old_tls() -> None:
    for record in of_type(plan("aws", "dev").resources, "aws:s3/bucketPolicy:BucketPolicy"):
        statements = {s["Sid"]: s for s in json.loads(record.inputs["policy"])["Statement"]}
        assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
        assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert statements["DenyOutdatedTls"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
        assert record.inputs["bucket"] in statements["DenyInsecureTransport"]["Resource"][0]


def test_prod_buckets_and_key_are_protected_and_retained_on_delete() -> None:
    p = plan("aws", "prod")
    stateful = of_type(p.resources, BUCKET) + of_type(p.resources, "aws:kms/key:Key")
    assert len(stateful) == 5  # 3 data buckets, the access-log bucket, the key
    assert all(r.protect and r.retain_on_delete for r in stateful)
    assert not any(r.inputs.get("forceDestroy") for r in of_type(p.resources, BUCKET))


def test_dev_buckets_can_be_destroyed_and_are_not_protected() -> None:
    buckets = of_type(plan("aws", "dev").resources, BUCKET)
    assert all(r.inputs["forceDestroy"] is True and not r.protect for r in buckets)


def test_versioning_follows_the_environment_default() -> None:
    def statuses(environment: str) -> set[str]:
        records = of_type(plan("aws", environment).resources, "aws:s3/bucketVersioning:BucketVersioning")
        return {r.inputs["versioningConfiguration"]["status"] for r in records}

    assert statuses("prod") == {"Enabled"}
    assert statuses("dev") == {"Suspended"}


def test_prod_logs_every_bucket_access_to_a_dedicated_bucket() -> None:
    p = plan("aws", "prod")
    logging_records = of_type(p.resources, "aws:s3/bucketLogging:BucketLogging")
    log_bucket = only(p.resources, BUCKET, "fraud-prod-access-logs")
    assert len(logging_records) == 3
    assert {r.inputs["targetBucket"] for r in logging_records} == {log_bucket.id}
    assert not of_type(plan("aws", "dev").resources, "aws:s3/bucketLogging:BucketLogging")


def test_lifecycle_rules_follow_the_bucket_spec() -> None:
    p = plan("aws", "dev", storage={"buckets": [{"name": "datasets", "retention_days": 400, "archive_after_days": 60}]})
    rules = {r["id"]: r for r in only(p.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]}
    assert rules["expire-after-retention"]["expiration"]["days"] == 400
    assert rules["archive"]["transitions"] == [{"days": 60, "storageClass": "STANDARD_IA"}]
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == 7


def test_buckets_carry_merged_tags_with_identity_tags_last() -> None:
    p = plan("aws", "prod", tags={"team": "risk-ml", "cost-center": "4711"})
    bucket = only(p.resources, BUCKET, "fraud-prod-datasets")
    assert bucket.inputs["tags"] == {
        "team": "risk-ml",
        "cost-center": "4711",
        "mlfabric-bucket": "datasets",
        "mlfabric-platform": "fraud",
        "mlfabric-environment": "prod",
        "managed-by": "mlfabric",
    }


def test_provider_is_pinned_to_the_spec_region_and_account() -> None:
    p = plan("aws", "dev", aws={"account_id": "210987654321"})
    provider = only(p.resources, "pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["210987654321"]


def test_storage_outputs_name_every_bucket() -> None:
    outputs = plan("aws", "dev").outputs
    assert set(outputs["bucket_names"]) == {"datasets", "artifacts", "models"}
    assert outputs["bucket_urls"]["models"] == "s3://" + outputs["bucket_names"]["models"]


REPLICATED = {"replication_region": "us-west-2"}


def test_replication_adds_a_replica_bucket_per_bucket_in_the_other_region() -> None:
    """A mock cannot prove S3 replicates (that needs two real regions): only what is declared."""
    p = plan("aws", "prod", storage=REPLICATED)
    providers = {r.name: r for r in of_type(p.resources, "pulumi:providers:aws")}
    replica_provider = providers["fraud-prod-replica"]
    assert replica_provider.inputs["region"] == "us-west-2"
    assert replica_provider.inputs.get("allowedAccountIds") == providers["fraud-prod-aws"].inputs.get("allowedAccountIds")
    replicas = [r for r in of_type(p.resources, BUCKET) if r.inputs["tags"]["mlfabric-bucket"] == "replica"]
    assert len(replicas) == 3
    assert all(r.provider.startswith(replica_provider.urn + "::") for r in replicas)
    assert all(r.protect for r in replicas)
    configs = of_type(p.resources, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert len(configs) == 3
    replica_key = only(p.resources, "aws:kms/key:Key", "fraud-prod-replica")
    assert replica_key.provider.startswith(replica_provider.urn + "::")
    assert replica_key.inputs["rotationPeriodInDays"] == 90
    for config in configs:
        (rule,) = config.inputs["rules"]
        assert rule["status"] == "Enabled" and rule["deleteMarkerReplication"] == {"status": "Enabled"}
        assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
        key_id = rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"]
        assert key_id.startswith("arn:aws:kms:") and key_id.endswith(replica_key.id)
    versioning = {r.inputs["bucket"]: r.inputs["versioningConfiguration"]["status"]
                  for r in of_type(p.resources, "aws:s3/bucketVersioning:BucketVersioning")}
    assert set(versioning.values()) == {"Enabled"}


def test_replication_refuses_a_spec_it_cannot_honour() -> None:
    import pytest

    from mlfabric.components.spec import parse_spec
    from mlfabric.components.spec.base import SpecError
    from tests.helpers import spec_data

    def refusal(environment: str, **storage: object) -> str:
        with pytest.raises(SpecError) as raised:
            parse_spec(spec_data("aws", environment, storage=storage))
        return str(raised.value)

    parse_spec(spec_data("aws", "prod", storage=REPLICATED))
    assert refusal("dev", replication_region="us-west-2", versioning=False) == (
        "storage.replication_region: S3 replicates only versioned buckets: set storage.versioning to true, or "
        "omit replication_region (got 'us-west-2' with versioning false)")
    assert "must be an AWS region mlfabric knows (nearest: us-west-2" in refusal("prod", replication_region="us-west2")
