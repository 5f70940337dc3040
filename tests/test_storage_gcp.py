"""GcpStorage under the mock runtime.

What a mock test cannot prove: that Google accepts these inputs together — that the Cloud Storage
service agent really is the member the invoke names and that the IAM grant has propagated before
the first write, that a regional key ring matches the bucket location as Cloud KMS requires, that
the usage-log writer group may be granted under the organisation's policies, or that lifecycle
rules fire as intended. The mock answers ids in the provider's formats but never validates them;
those checks need a real project (README: limits).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mlfabric.components.concerns import StorageOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import Plan, plan_spec, run_program
from tests.helpers import of_type, only, spec_data
from tests.helpers import plan as plan_platform

BUCKET = "gcp:storage/bucket:Bucket"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_RING = "gcp:kms/keyRing:KeyRing"
KEY_USER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
LOG_WRITER = "gcp:storage/bucketIAMMember:BucketIAMMember"
SERVICE = "gcp:projects/service:Service"
PROVIDER = "pulumi:providers:gcp"
PROJECT = "ml-platform-test"
REPO = Path(__file__).resolve().parents[1]


def plan(cloud: str, environment: str, **sections: Any) -> Plan:
    """The platform plan, narrowed to the storage component's own children (and the provider)."""
    full = plan_platform(cloud, environment, **sections)
    [storage] = [r.urn for r in full.resources if r.type == "mlfabric:storage:GcpStorage"]
    keep = [r for r in full.resources if r.parent == storage or r.type == "pulumi:providers:gcp"]
    return Plan(full.project, full.stack, full.spec, keep, full.outputs, full.notes)


def _children(p: Plan) -> Counter[str]:
    return Counter(r.type for r in p.custom_resources if r.type != PROVIDER)


def _data_buckets(p: Plan) -> list[Any]:
    return [r for r in of_type(p.resources, BUCKET) if not r.name.endswith("-access-logs")]


def test_dev_storage_creates_exact_child_types() -> None:
    assert _children(plan("gcp", "dev")) == {
        SERVICE: 2,
        KEY_RING: 1,
        KEY: 1,
        KEY_USER: 1,
        BUCKET: 3,
    }


def test_prod_storage_adds_a_log_bucket_and_its_writer() -> None:
    assert _children(plan("gcp", "prod")) == {
        SERVICE: 2,
        KEY_RING: 1,
        KEY: 1,
        KEY_USER: 1,
        BUCKET: 4,
        LOG_WRITER: 1,
    }


def test_storage_and_kms_apis_are_enabled_and_left_on_at_destroy() -> None:
    services = of_type(plan("gcp", "dev").resources, SERVICE)
    assert {r.inputs["service"] for r in services} == {"storage.googleapis.com", "cloudkms.googleapis.com"}
    assert all(r.inputs["disableOnDestroy"] is False and r.inputs["project"] == PROJECT for r in services)


def test_every_bucket_is_encrypted_with_the_platform_kms_key() -> None:
    p = plan("gcp", "prod")
    key = only(p.resources, KEY)
    key_ring = only(p.resources, KEY_RING)
    assert key.id is not None and key_ring.id is not None
    assert key_ring.id.startswith(f"projects/{PROJECT}/locations/us-central1/keyRings/")
    assert key.id.startswith(f"{key_ring.id}/cryptoKeys/")
    assert p.outputs["storage_key_id"] == key.id
    buckets = of_type(p.resources, BUCKET)
    assert len(buckets) == 4  # the access-log bucket too
    for bucket in buckets:
        assert bucket.inputs["encryption"] == {"defaultKmsKeyName": key.id}


def test_key_ring_lives_in_the_bucket_region_and_the_key_rotates_on_the_spec_schedule() -> None:
    p = plan("gcp", "dev", storage={"key_rotation_days": 180})
    assert only(p.resources, KEY_RING).inputs["location"] == "us-central1"
    key = only(p.resources, KEY)
    assert key.inputs["rotationPeriod"] == f"{180 * 86400}s"
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    assert key.inputs["destroyScheduledDuration"] == "2592000s"
    assert {r.inputs["location"] for r in of_type(p.resources, BUCKET)} == {"us-central1"}


def test_storage_service_agent_may_use_the_key_before_any_bucket_is_created() -> None:
    p = plan("gcp", "prod")
    key = only(p.resources, KEY)
    grant = only(p.resources, KEY_USER)
    assert grant.inputs == {
        "cryptoKeyId": key.id,
        "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "member": "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
    }
    for bucket in of_type(p.resources, BUCKET):
        assert grant.urn in bucket.dependencies


def test_buckets_allow_iam_access_only_and_never_public_access() -> None:
    for bucket in of_type(plan("gcp", "prod").resources, BUCKET):
        assert bucket.inputs["uniformBucketLevelAccess"] is True
        assert bucket.inputs["publicAccessPrevention"] == "enforced"
        assert "softDeletePolicy" not in bucket.inputs  # Google's default soft delete stays on


def test_prod_buckets_key_ring_and_key_are_protected_and_retained_on_delete() -> None:
    p = plan("gcp", "prod")
    stateful = of_type(p.resources, BUCKET) + of_type(p.resources, KEY) + of_type(p.resources, KEY_RING)
    assert len(stateful) == 6  # 3 data buckets, the access-log bucket, the key ring, the key
    assert all(r.protect and r.retain_on_delete for r in stateful)
    assert not any(r.inputs["forceDestroy"] for r in of_type(p.resources, BUCKET))


def test_dev_buckets_can_be_destroyed_and_are_not_protected() -> None:
    p = plan("gcp", "dev")
    buckets = of_type(p.resources, BUCKET)
    assert all(r.inputs["forceDestroy"] is True and not r.protect and not r.retain_on_delete for r in buckets)
    assert not only(p.resources, KEY).protect


def test_versioning_follows_the_environment_default() -> None:
    def enabled(environment: str) -> set[bool]:
        return {r.inputs["versioning"]["enabled"] for r in of_type(plan("gcp", environment).resources, BUCKET)}

    assert enabled("prod") == {True}
    assert enabled("staging") == {True}
    assert enabled("dev") == {False}


def test_prod_logs_every_bucket_access_to_a_dedicated_bucket() -> None:
    p = plan("gcp", "prod")
    log_bucket = only(p.resources, BUCKET, "fraud-prod-access-logs")
    assert "logging" not in log_bucket.inputs
    for bucket in _data_buckets(p):
        assert bucket.inputs["logging"] == {
            "logBucket": log_bucket.id,
            "logObjectPrefix": bucket.inputs["labels"]["mlfabric-bucket"],
        }
    writer = only(p.resources, LOG_WRITER)
    assert writer.inputs == {
        "bucket": log_bucket.id,
        "role": "roles/storage.objectCreator",
        "member": "group:cloud-storage-analytics@google.com",
    }
    assert all(writer.urn in b.dependencies for b in _data_buckets(p))


def test_dev_has_no_access_log_bucket() -> None:
    p = plan("gcp", "dev")
    assert not of_type(p.resources, LOG_WRITER)
    assert all("logging" not in r.inputs for r in of_type(p.resources, BUCKET))


def test_lifecycle_rules_follow_the_bucket_spec() -> None:
    p = plan("gcp", "dev", storage={"buckets": [{"name": "datasets", "retention_days": 400, "archive_after_days": 60}]})
    rules = only(p.resources, BUCKET).inputs["lifecycleRules"]
    assert rules == [
        {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 7}},
        {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 7, "withState": "ARCHIVED"}},
        {
            "action": {"type": "SetStorageClass", "storageClass": "NEARLINE"},
            "condition": {"age": 60, "matchesStorageClasses": ["STANDARD"]},
        },
        {"action": {"type": "Delete"}, "condition": {"age": 400, "withState": "LIVE"}},
    ]


def test_a_bucket_without_retention_or_archive_only_cleans_up_uploads_and_old_versions() -> None:
    p = plan("gcp", "prod", storage={"buckets": [{"name": "models"}]})
    rules = only(p.resources, BUCKET, "fraud-prod-models").inputs["lifecycleRules"]
    assert [r["action"]["type"] for r in rules] == ["AbortIncompleteMultipartUpload", "Delete"]
    assert rules[1]["condition"]["daysSinceNoncurrentTime"] == 90


def test_labels_are_lowercased_with_identity_labels_last() -> None:
    p = plan("gcp", "prod", tags={"Team": "Risk-ML", "cost-center": "4711"})
    assert only(p.resources, BUCKET, "fraud-prod-datasets").inputs["labels"] == {
        "team": "risk-ml",
        "cost-center": "4711",
        "mlfabric-bucket": "datasets",
        "mlfabric-platform": "fraud",
        "mlfabric-environment": "prod",
        "managed-by": "mlfabric",
    }
    assert only(p.resources, KEY).inputs["labels"]["team"] == "risk-ml"


def test_provider_is_pinned_to_the_spec_region_and_project_and_used_by_every_resource() -> None:
    p = plan("gcp", "dev")
    provider = only(p.resources, PROVIDER)
    assert provider.inputs["region"] == "us-central1"
    assert provider.inputs["project"] == PROJECT
    for record in p.custom_resources:
        if record.type != PROVIDER:
            assert record.provider.startswith(provider.urn + "::"), record.name
    assert {r.inputs["project"] for r in of_type(p.resources, BUCKET) + of_type(p.resources, KEY_RING)} == {PROJECT}


def test_project_comes_from_gcp_config_when_the_spec_names_none() -> None:
    data = spec_data("gcp", "dev")
    del data["gcp"]
    p = plan_spec(data, stack="gcp-config", extra_config={"gcp:project": "config-project"})
    assert "project" not in only(p.resources, PROVIDER).inputs
    assert {r.inputs["project"] for r in of_type(p.resources, BUCKET)} == {"config-project"}
    assert p.outputs["storage_key_id"].startswith("projects/config-project/")


def test_component_exposes_the_storage_outputs_of_every_cloud() -> None:
    from mlfabric.components.gcp.storage import GcpStorage

    spec = parse_spec(spec_data("gcp", "prod"))

    def program() -> None:
        storage = GcpStorage("t", spec.storage, PlatformContext.from_spec(spec, account=PROJECT))
        assert isinstance(storage, StorageOutputs)
        for output in ("bucket_names", "bucket_urls", "bucket_ids", "encryption_key_id", "access_log_bucket"):
            pulumi.export(output, getattr(storage, output))

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-central1"),
    )
    names = outputs["bucket_names"]
    assert set(names) == {"datasets", "artifacts", "models"}
    assert outputs["bucket_urls"] == {k: f"gs://{v}" for k, v in names.items()}
    assert outputs["bucket_ids"] == names
    assert outputs["encryption_key_id"] == only(records, KEY).id
    assert outputs["access_log_bucket"] == only(records, BUCKET, "t-access-logs").id


def test_access_log_bucket_output_is_empty_when_logging_is_off() -> None:
    from mlfabric.components.gcp.storage import GcpStorage

    spec = parse_spec(spec_data("gcp", "dev"))

    def program() -> None:
        storage = GcpStorage("t", spec.storage, PlatformContext.from_spec(spec, account=PROJECT))
        pulumi.export("access_log_bucket", storage.access_log_bucket)

    _, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-central1"),
    )
    assert outputs["access_log_bucket"] == ""


def test_planning_the_gcp_dev_stack_loads_no_other_cloud_sdk() -> None:
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from mlfabric import stackfile\n"
        "from mlfabric.plan import plan_stack\n"
        "p = plan_stack(stackfile.load(Path('stacks/Pulumi.gcp-dev.yaml')))\n"
        "print(json.dumps({'types': sorted({r.type for r in p.custom_resources}),\n"
        "                  'foreign': [m for m in sys.modules if m.startswith(('pulumi_aws', 'pulumi_azure'))]}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["foreign"] == []
    # Kubernetes objects (Kueue, JobSet) go through pulumi_kubernetes, which every cloud's extra installs.
    assert all(t.startswith(("gcp:", "kubernetes:", PROVIDER, "pulumi:providers:kubernetes")) for t in answer["types"])


# --- cross-region replication (storage.replication_region) --------------------------------------------

TRANSFER_JOB = "gcp:storage/transferJob:TransferJob"


def test_replication_adds_a_cmek_replica_and_a_replication_job_per_bucket_and_keeps_the_sources() -> None:
    base = plan("gcp", "prod")
    p = plan("gcp", "prod", storage={"replication_region": "us-east1"})
    # Existing buckets keep their URN and location: nothing is replaced.
    before = {r.urn: r.inputs["location"] for r in of_type(base.resources, BUCKET)}
    after = {r.urn: r.inputs["location"] for r in of_type(p.resources, BUCKET)}
    assert before.items() <= after.items()
    replicas = [r for r in of_type(p.resources, BUCKET) if r.name.endswith("-replica")]
    assert len(replicas) == len(_data_buckets(base)) == 3
    replica_key = next(r for r in of_type(p.resources, KEY) if r.name.endswith("-storage-replica"))
    ring = next(r for r in of_type(p.resources, KEY_RING) if r.name.endswith("-storage-replica"))
    assert ring.inputs["location"] == "us-east1"
    assert replica_key.inputs["rotationPeriod"] == f"{90 * 86400}s"
    for replica in replicas:
        assert replica.inputs["location"] == "us-east1"
        assert replica.inputs["encryption"] == {"defaultKmsKeyName": replica_key.id}
        assert replica.inputs["publicAccessPrevention"] == "enforced"
        assert replica.inputs["uniformBucketLevelAccess"] is True
        assert replica.inputs["versioning"] == {"enabled": True}
        assert replica.protect
    jobs = of_type(p.resources, TRANSFER_JOB)
    sources = {r.id for r in of_type(p.resources, BUCKET) if not r.name.endswith(("-replica", "-access-logs"))}
    sinks = {r.id for r in replicas}
    assert {j.inputs["replicationSpec"]["gcsDataSource"]["bucketName"] for j in jobs} == sources
    assert {j.inputs["replicationSpec"]["gcsDataSink"]["bucketName"] for j in jobs} == sinks
    assert all(j.inputs["replicationSpec"]["transferOptions"]["deleteObjectsUniqueInSink"] is False for j in jobs)
    assert "storagetransfer.googleapis.com" in {r.inputs["service"] for r in of_type(p.resources, SERVICE)}


def test_replication_to_the_platform_region_or_a_non_region_is_refused() -> None:
    from mlfabric.components.spec import SpecError

    with pytest.raises(SpecError, match=r"storage\.replication_region: 'us-central1' is the platform's own region"):
        parse_spec(spec_data("gcp", "prod", storage={"replication_region": "us-central1"}))
    with pytest.raises(SpecError, match=r"storage\.replication_region: 'US' is not a GCP region name"):
        parse_spec(spec_data("gcp", "prod", storage={"replication_region": "US"}))
