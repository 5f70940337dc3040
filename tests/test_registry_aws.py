"""AwsRegistry under the mock runtime.

What a mock test cannot prove: that ECR really scans on push and expires untagged images on the
schedule (the lifecycle rule is checked for shape, not evaluated), that the KMS key policy lets ECR
create its grants, or that a protected repository survives `pulumi destroy`. Those need a real
account (README: limits).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pulumi
import pytest

from mlfabric.components.aws.common import ecr_repository_arn
from mlfabric.components.aws.registry import AwsRegistry
from mlfabric.components.concerns import RegistryOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:registry:AwsRegistry"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
KEY = "aws:kms/key:Key"


def build(environment: str = "prod", **registry: Any) -> tuple[list[ResourceRecord], dict[str, Any]]:
    """Build an AwsRegistry for a spec with the given registry section; return records and outputs."""
    section = {"repositories": ["trainer", "scorer"], "models": ["fraud-detector"], **registry}
    spec = parse_spec(spec_data("aws", environment, registry=section))
    assert spec.registry is not None
    registry_spec = spec.registry

    def program() -> None:
        component = AwsRegistry(spec.base_name, registry_spec, PlatformContext.from_spec(spec))
        assert isinstance(component, RegistryOutputs)
        pulumi.export("registry_urls", component.registry_urls)
        pulumi.export("model_registry_ids", component.model_registry_ids)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-east-1"),
    )
    return records, outputs


def test_creates_a_key_and_one_repository_with_lifecycle_per_spec_repository_and_a_group_per_model() -> None:
    records, _ = build()
    assert Counter(r.type for r in records if r.custom) == {
        KEY: 1,
        "aws:kms/alias:Alias": 1,
        REPOSITORY: 2,
        LIFECYCLE: 2,
        GROUP: 1,
    }
    component = only(records, COMPONENT)
    assert all(r.parent == component.urn for r in records if r.custom)


def test_repositories_are_named_under_the_platform_and_scan_images_on_push() -> None:
    records, _ = build()
    repositories = {r.inputs["name"]: r.inputs for r in of_type(records, REPOSITORY)}
    assert set(repositories) == {"fraud-prod/trainer", "fraud-prod/scorer"}
    assert all(r["imageScanningConfiguration"] == {"scanOnPush": True} for r in repositories.values())


def test_scan_on_push_follows_the_spec() -> None:
    records, _ = build(scan_on_push=False)
    assert {r.inputs["imageScanningConfiguration"]["scanOnPush"] for r in of_type(records, REPOSITORY)} == {False}


def test_repositories_are_encrypted_with_a_rotating_customer_managed_key() -> None:
    records, _ = build()
    key = only(records, KEY)
    assert key.inputs["enableKeyRotation"] is True
    key_arn = f"arn:aws:kms:us-east-1:123456789012:key/{key.id}"
    for repository in of_type(records, REPOSITORY):
        assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn}]


@pytest.mark.parametrize(("environment", "mutability"), [("dev", "MUTABLE"), ("staging", "IMMUTABLE"), ("prod", "IMMUTABLE")])
def test_image_tags_are_immutable_outside_dev(environment: str, mutability: str) -> None:
    records, _ = build(environment)
    assert {r.inputs["imageTagMutability"] for r in of_type(records, REPOSITORY)} == {mutability}


def test_an_explicit_immutable_tags_setting_overrides_the_environment_default() -> None:
    records, _ = build("dev", immutable_tags=True)
    assert {r.inputs["imageTagMutability"] for r in of_type(records, REPOSITORY)} == {"IMMUTABLE"}


def test_lifecycle_policy_expires_untagged_images_after_the_spec_retention() -> None:
    records, _ = build(untagged_image_retention_days=7)
    policies = of_type(records, LIFECYCLE)
    assert {p.inputs["repository"] for p in policies} == {"fraud-prod/trainer", "fraud-prod/scorer"}
    for policy in policies:
        (rule,) = json.loads(policy.inputs["policy"])["rules"]
        assert rule["selection"] == {
            "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7,
        }
        assert rule["action"] == {"type": "expire"}


def test_prod_repositories_key_and_model_groups_are_protected_and_never_force_deleted() -> None:
    records, _ = build("prod")
    stateful = of_type(records, REPOSITORY) + of_type(records, KEY) + of_type(records, GROUP)
    assert len(stateful) == 4
    assert all(r.protect and r.retain_on_delete for r in stateful)
    assert {r.inputs["forceDelete"] for r in of_type(records, REPOSITORY)} == {False}


def test_dev_repositories_can_be_deleted_with_their_images() -> None:
    records, _ = build("dev")
    repositories = of_type(records, REPOSITORY)
    assert all(r.inputs["forceDelete"] is True and not r.protect for r in repositories)


def test_each_model_gets_a_model_package_group_named_after_the_platform() -> None:
    records, _ = build(models=["fraud-detector", "churn"])
    groups = {r.inputs["modelPackageGroupName"]: r for r in of_type(records, GROUP)}
    assert set(groups) == {"fraud-prod-fraud-detector", "fraud-prod-churn"}
    assert groups["fraud-prod-churn"].inputs["tags"]["mlfabric-model"] == "churn"


def test_outputs_map_spec_names_to_push_urls_and_model_package_group_arns() -> None:
    _, outputs = build()
    assert outputs["registry_urls"] == {
        "trainer": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-prod/trainer",
        "scorer": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-prod/scorer",
    }
    assert outputs["model_registry_ids"] == {
        "fraud-detector": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-prod-fraud-detector"
    }


def test_a_registry_without_repositories_creates_no_key_and_empty_urls() -> None:
    records, outputs = build(repositories=[])
    assert not of_type(records, KEY) and not of_type(records, REPOSITORY)
    assert outputs["registry_urls"] == {}


@pytest.mark.parametrize(
    ("url", "arn"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-prod/scorer",
         "arn:aws:ecr:us-east-1:123456789012:repository/fraud-prod/scorer"),
        ("210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/base:2.1",
         "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"),
        ("ghcr.io/acme/scorer:1.0", None),
    ],
)
def test_ecr_urls_map_to_their_repository_arn_and_other_registries_to_none(url: str, arn: str | None) -> None:
    assert ecr_repository_arn(url, "aws") == arn
