"""GcpRegistry under the mock runtime.

What a mock test cannot prove: that the Artifact Registry and Vertex AI service agents exist and
hold the key before the first write (IAM propagation takes up to minutes), that Artifact Registry
accepts the key's location for the repository's, that the cleanup policy deletes what it should, or
that a model uploaded under the reserved id with the key lands in Vertex AI Model Registry as
expected. Those need a real project (README: limits).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.concerns import RegistryOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import models_of, repositories_of
from mlfabric.components.gcp.registry import GcpRegistry
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:registry:GcpRegistry"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
SERVICE = "gcp:projects/service:Service"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
KEY_RING = "gcp:kms/keyRing:KeyRing"
KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_USER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
PROJECT = "ml-platform-test"
NUMBER = "123456789012"
FULL = {"repositories": ["trainer", "scorer"], "models": ["fraud-detector", "ranker"]}


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    repository_ids: dict[str, str]
    model_ids: dict[str, str]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.records if r.custom)


def build(environment: str, registry: dict[str, Any]) -> Built:
    spec = parse_spec(spec_data("gcp", environment, registry=registry))
    assert spec.registry is not None
    section = spec.registry
    ctx = PlatformContext.from_spec(spec, account=PROJECT)
    static: dict[str, str] = {}
    models: dict[str, str] = {}

    def program() -> None:
        component = GcpRegistry(spec.base_name, section, ctx)
        assert isinstance(component, RegistryOutputs)
        static.update(repositories_of(component))
        models.update(models_of(component))
        pulumi.export("registry_urls", component.registry_urls)
        pulumi.export("model_registry_ids", component.model_registry_ids)
        pulumi.export("model_encryption_key", component.model_encryption_key)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-central1"),
    )
    return Built(records, outputs, static, models)


@pytest.fixture(scope="module")
def prod() -> Built:
    return build("prod", FULL)


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev", FULL)


def test_repositories_and_models_create_exact_child_types(prod: Built) -> None:
    assert prod.counts() == {
        SERVICE: 4,      # Cloud KMS, Artifact Registry, Container Scanning, Vertex AI
        KEY_RING: 1,
        KEY: 1,
        IDENTITY: 2,     # Artifact Registry and Vertex AI service agents
        KEY_USER: 2,
        REPOSITORY: 2,
    }
    component = only(prod.records, COMPONENT)
    assert all(r.parent == component.urn for r in prod.records if r.custom)


def test_without_models_no_vertex_api_or_agent_is_declared() -> None:
    built = build("dev", {"repositories": ["trainer"]})
    assert built.counts() == {SERVICE: 3, KEY_RING: 1, KEY: 1, IDENTITY: 1, KEY_USER: 1, REPOSITORY: 1}
    assert "aiplatform.googleapis.com" not in {r.inputs["service"] for r in of_type(built.records, SERVICE)}
    assert built.outputs["model_registry_ids"] == {}


def test_an_empty_registry_declares_nothing() -> None:
    built = build("dev", {})
    assert built.counts() == {}
    assert built.outputs["registry_urls"] == {} and built.outputs["model_registry_ids"] == {}


def test_repositories_are_docker_in_the_region_with_stable_platform_ids(prod: Built) -> None:
    repos = {r.inputs["repositoryId"]: r.inputs for r in of_type(prod.records, REPOSITORY)}
    assert set(repos) == {"fraud-prod-trainer", "fraud-prod-scorer"}
    assert all(r["format"] == "DOCKER" and r["location"] == "us-central1" and r["project"] == PROJECT
               for r in repos.values())
    assert prod.repository_ids == {"trainer": "fraud-prod-trainer", "scorer": "fraud-prod-scorer"}


def test_repositories_are_encrypted_with_the_registry_key_after_the_agent_holds_it(prod: Built) -> None:
    key = only(prod.records, KEY)
    grant = next(r for r in of_type(prod.records, KEY_USER) if "artifactregistry" in r.name)
    assert grant.inputs == {
        "cryptoKeyId": key.id,
        "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "member": f"serviceAccount:service-{NUMBER}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
    }
    for repo in of_type(prod.records, REPOSITORY):
        assert repo.inputs["kmsKeyName"] == key.id
        assert grant.urn in repo.dependencies


def test_vertex_ai_agent_may_use_the_key_uploads_must_name(prod: Built) -> None:
    key = only(prod.records, KEY)
    grant = next(r for r in of_type(prod.records, KEY_USER) if "aiplatform" in r.name)
    assert grant.inputs["cryptoKeyId"] == key.id
    assert grant.inputs["member"] == f"serviceAccount:service-{NUMBER}@gcp-sa-aiplatform.iam.gserviceaccount.com"
    assert {r.inputs["service"] for r in of_type(prod.records, IDENTITY)} == {
        "artifactregistry.googleapis.com", "aiplatform.googleapis.com"}
    assert prod.outputs["model_encryption_key"] == key.id


def test_key_rotates_on_the_platform_schedule_and_is_regional(prod: Built) -> None:
    # storage.key_rotation_days: 90 days in prod (was a fixed year)
    assert only(prod.records, KEY).inputs["rotationPeriod"] == f"{90 * 86400}s"
    assert only(prod.records, KEY_RING).inputs["location"] == "us-central1"


def test_tags_are_immutable_outside_dev(prod: Built, dev: Built) -> None:
    assert {r.inputs["dockerConfig"]["immutableTags"] for r in of_type(prod.records, REPOSITORY)} == {True}
    assert {r.inputs["dockerConfig"]["immutableTags"] for r in of_type(dev.records, REPOSITORY)} == {False}


def test_pushes_are_scanned_through_the_container_scanning_api(prod: Built) -> None:
    assert {r.inputs["vulnerabilityScanningConfig"]["enablementConfig"] for r in of_type(prod.records, REPOSITORY)} == {
        "INHERITED"}
    assert "containerscanning.googleapis.com" in {r.inputs["service"] for r in of_type(prod.records, SERVICE)}
    off = build("prod", {"repositories": ["trainer"], "scan_on_push": False})
    assert only(off.records, REPOSITORY).inputs["vulnerabilityScanningConfig"] == {"enablementConfig": "DISABLED"}
    assert "containerscanning.googleapis.com" not in {r.inputs["service"] for r in of_type(off.records, SERVICE)}


def test_untagged_images_are_deleted_after_the_spec_retention(prod: Built) -> None:
    built = build("prod", {"repositories": ["trainer"], "untagged_image_retention_days": 30})
    repo = only(built.records, REPOSITORY).inputs
    assert repo["cleanupPolicyDryRun"] is False
    assert repo["cleanupPolicies"] == [
        {"id": "delete-untagged", "action": "DELETE", "condition": {"tagState": "UNTAGGED", "olderThan": "2592000s"}}
    ]


def test_prod_repositories_and_keys_are_protected_and_dev_ones_are_not(prod: Built, dev: Built) -> None:
    stateful = (REPOSITORY, KEY, KEY_RING)
    assert all(r.protect and r.retain_on_delete for r in prod.records if r.type in stateful)
    assert not any(r.protect for r in dev.records if r.type in stateful)


def test_every_repository_and_key_carries_the_identity_labels(prod: Built) -> None:
    for record in [*of_type(prod.records, REPOSITORY), only(prod.records, KEY)]:
        labels = record.inputs["labels"]
        assert labels["mlfabric-platform"] == "fraud" and labels["mlfabric-environment"] == "prod"
        assert labels["managed-by"] == "mlfabric"


def test_outputs_are_image_addresses_and_reserved_vertex_model_names(prod: Built) -> None:
    assert prod.outputs["registry_urls"] == {
        "trainer": f"us-central1-docker.pkg.dev/{PROJECT}/fraud-prod-trainer/trainer",
        "scorer": f"us-central1-docker.pkg.dev/{PROJECT}/fraud-prod-scorer/scorer",
    }
    assert prod.outputs["model_registry_ids"] == {
        "fraud-detector": f"projects/{PROJECT}/locations/us-central1/models/fraud-prod-fraud-detector",
        "ranker": f"projects/{PROJECT}/locations/us-central1/models/fraud-prod-ranker",
    }
    # What RBAC grants on is known at declaration, and names the same models.
    assert prod.model_ids == {"fraud-detector": "fraud-prod-fraud-detector", "ranker": "fraud-prod-ranker"}
    assert all(prod.outputs["model_registry_ids"][m].endswith(f"/models/{i}") for m, i in prod.model_ids.items())


def test_other_concerns_refuse_a_registry_handle_without_static_repository_and_model_ids() -> None:
    @dataclass(frozen=True)
    class Foreign:
        registry_urls: Any = None
        model_registry_ids: Any = None

    assert repositories_of(None) == {} and models_of(None) == {}
    with pytest.raises(TypeError, match="repository_ids"):
        repositories_of(Foreign())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model_ids"):
        models_of(Foreign())  # type: ignore[arg-type]
