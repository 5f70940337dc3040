"""AwsRbac under the mock runtime.

What a mock test cannot prove: that IAM evaluates these policies as intended (the IAM policy
simulator or a real account would), that the EKS cluster accepts access entries (its authentication
mode must include the EKS API), that the OIDC provider exists for the workload role's trust, or that
a pod's projected token really assumes the role. Those need a real account (README: limits).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.aws.rbac import EKS_ACCESS_POLICIES, AwsRbac
from mlfabric.components.aws.storage import AwsStorage
from mlfabric.components.concerns import RbacOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import Persona, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:rbac:AwsRbac"
ROLE = "aws:iam/role:Role"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"
CLUSTER = "fraud-prod-eks"
BUCKETS = {b: f"arn:aws:s3:::fraud-prod-{b}-abc1234" for b in ("datasets", "artifacts", "models")}
GROUP_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/fraud-prod-fraud-detector"
PERSONAS = {
    "data-scientist": [f"arn:aws:iam::{ACCOUNT}:role/DataScientists", f"arn:aws:iam::{ACCOUNT}:user/ana"],
    "ml-engineer": [f"arn:aws:iam::{ACCOUNT}:role/MLEngineers"],
    "platform-admin": [f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmins"],
    "ci-deployer": ["arn:aws:iam::210987654321:role/GitHubActions"],
}


@dataclass(frozen=True)
class FakeStorage:
    bucket_names: pulumi.Output[dict[str, str]]
    bucket_urls: pulumi.Output[dict[str, str]]
    bucket_ids: pulumi.Output[dict[str, str]]
    encryption_key_id: pulumi.Output[str]
    access_log_bucket: pulumi.Output[str]


@dataclass(frozen=True)
class FakeRegistry:
    registry_urls: pulumi.Output[dict[str, str]]
    model_registry_ids: pulumi.Output[dict[str, str]]


@dataclass(frozen=True)
class FakeCluster:
    cluster_name: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    gpu_pool_names: pulumi.Output[dict[str, str]]


def handles(cluster: bool) -> dict[str, object]:
    o = pulumi.Output.from_input
    found: dict[str, object] = {
        "storage": FakeStorage(
            o({k: v.removeprefix("arn:aws:s3:::") for k, v in BUCKETS.items()}), o({}), o(BUCKETS), o(KEY_ARN), o(""),
        ),
        "registry": FakeRegistry(
            o({r: f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/fraud-prod/{r}" for r in ("trainer", "scorer")}),
            o({"fraud-detector": GROUP_ARN}),
        ),
    }
    if cluster:
        found["cluster"] = FakeCluster(
            o(CLUSTER), o("https://ABCDEF.gr7.us-east-1.eks.amazonaws.com"), pulumi.Output.secret("kubeconfig"),
            o(f"https://{ISSUER}"), o({}),
        )
    return found


# What one run of the mock runtime gave: every registration and the stack outputs.
Built = tuple[list[ResourceRecord], dict[str, Any]]


def build(personas: dict[str, Any] | None = None, *, cluster: bool = True,
          custom: dict[str, Any] | None = None, **options: Any) -> Built:
    rbac: dict[str, Any] = {"personas": PERSONAS if personas is None else personas, **options}
    if custom:
        rbac["custom_personas"] = custom
    spec = parse_spec(spec_data("aws", "prod", rbac=rbac))

    def program() -> None:
        ctx = PlatformContext.from_spec(spec).with_handles(**handles(cluster))
        component = AwsRbac(spec.base_name, spec.rbac, ctx)
        assert isinstance(component, RbacOutputs)
        pulumi.export("persona_roles", component.persona_roles)
        pulumi.export("workload_identity", component.workload_identity)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-east-1"),
    )
    return records, outputs


@pytest.fixture(scope="module")
def prod() -> Built:
    return build()


def roles(records: list[ResourceRecord]) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in of_type(records, ROLE)}


def policy(role: dict[str, Any]) -> list[dict[str, Any]]:
    (inline,) = role["inlinePolicies"]
    statements: list[dict[str, Any]] = json.loads(inline["policy"])["Statement"]
    return statements


def as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def grants(role: dict[str, Any], action: str) -> set[str]:
    """Resources the role's policy allows ``action`` on (exact action or a matching service wildcard);
    Deny statements are read by ``denials``."""
    service = action.split(":", maxsplit=1)[0]
    found: set[str] = set()
    for statement in policy(role):
        if statement["Effect"] != "Allow":
            continue
        actions = as_list(statement["Action"])
        if action in actions or f"{service}:*" in actions:
            found |= set(as_list(statement["Resource"]))
    return found


def test_creates_a_role_access_entry_and_access_policy_per_persona_and_a_workload_role(prod: Built) -> None:
    records, _ = prod
    assert Counter(r.type for r in records if r.custom) == {ROLE: 5, ENTRY: 4, ASSOCIATION: 4}
    component = only(records, COMPONENT)
    assert all(r.parent == component.urn for r in records if r.custom)


def test_without_a_cluster_there_are_only_persona_roles_and_no_workload_identity() -> None:
    records, outputs = build(cluster=False)
    assert Counter(r.type for r in records if r.custom) == {ROLE: 4}
    assert outputs["workload_identity"] == ""


def test_only_personas_listed_in_the_spec_get_a_role() -> None:
    records, outputs = build({"data-scientist": PERSONAS["data-scientist"]})
    assert set(roles(records)) == {"fraud-prod-data-scientist", "fraud-prod-training"}
    assert outputs["persona_roles"] == {"data-scientist": f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-data-scientist"}


def test_each_persona_role_is_assumable_only_by_that_personas_principals(prod: Built) -> None:
    found = roles(prod[0])
    for persona, principals in PERSONAS.items():
        (statement,) = json.loads(found[f"fraud-prod-{persona}"]["assumeRolePolicy"])["Statement"]
        assert statement == {"Effect": "Allow", "Principal": {"AWS": sorted(principals)}, "Action": "sts:AssumeRole"}


def test_no_policy_allows_any_action_on_every_resource_or_a_whole_service_everywhere(prod: Built) -> None:
    for role in roles(prod[0]).values():
        for statement in policy(role) + json.loads(role["assumeRolePolicy"])["Statement"]:
            actions = as_list(statement["Action"])
            assert "*" not in actions
            assert statement.get("Principal") != "*"
            if "Resource" in statement and "*" in as_list(statement["Resource"]):
                assert not [a for a in actions if a.endswith(":*")], statement


def denials(role: dict[str, Any], action: str) -> set[str]:
    """Resources an explicit Deny of the role's policy covers for ``action``."""
    return {r for s in policy(role) if s["Effect"] == "Deny" and action in as_list(s["Action"])
            for r in as_list(s["Resource"])}


def test_every_scoped_resource_belongs_to_this_platform(prod: Built) -> None:
    platform = (
        *BUCKETS.values(), KEY_ARN, ":repository/fraud-prod/", "model-package-group/fraud-prod-",
        "model-package/fraud-prod-", ":endpoint/fraud-prod-", f":cluster/{CLUSTER}", f"/{CLUSTER}/",
        "log-group:/mlfabric/fraud-prod:", "log-group:/aws/sagemaker/Endpoints/fraud-prod-",
        ":alarm:fraud-prod-", ":dashboard/fraud-prod", ":model/fraud-prod-", ":endpoint-config/fraud-prod-",
    )
    for role in roles(prod[0]).values():
        for statement in policy(role):
            for resource in as_list(statement["Resource"]):
                assert resource == "*" or any(part in resource for part in platform), resource


def test_data_scientists_read_everything_but_write_only_artifacts(prod: Built) -> None:
    role = roles(prod[0])["fraud-prod-data-scientist"]
    assert grants(role, "s3:GetObject") == {f"{arn}/*" for arn in BUCKETS.values()}
    assert grants(role, "s3:PutObject") == {f"{BUCKETS['artifacts']}/*"}
    assert not grants(role, "s3:DeleteObject")
    assert not grants(role, "ecr:PutImage")
    assert grants(role, "sagemaker:InvokeEndpoint") == {f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/fraud-prod-*"}
    assert not grants(role, "sagemaker:CreateModelPackage")


def test_ml_engineers_and_ci_push_images_and_register_model_versions(prod: Built) -> None:
    found = roles(prod[0])
    repositories = {f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/fraud-prod/{r}" for r in ("trainer", "scorer")}
    for persona in ("ml-engineer", "ci-deployer"):
        role = found[f"fraud-prod-{persona}"]
        assert grants(role, "ecr:PutImage") == repositories
        assert grants(role, "sagemaker:CreateModelPackage") == {
            GROUP_ARN, GROUP_ARN.replace("model-package-group/", "model-package/") + "/*"
        }
    assert grants(found["fraud-prod-ci-deployer"], "s3:PutObject") == {
        f"{BUCKETS['models']}/*", f"{BUCKETS['artifacts']}/*"
    }
    assert not grants(found["fraud-prod-ci-deployer"], "s3:DeleteObject")


def test_platform_admins_administer_only_the_platforms_resources(prod: Built) -> None:
    role = roles(prod[0])["fraud-prod-platform-admin"]
    assert grants(role, "s3:DeleteBucket") == {*BUCKETS.values(), *(f"{arn}/*" for arn in BUCKETS.values())}
    assert grants(role, "eks:DeleteNodegroup") >= {f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{CLUSTER}"}
    assert grants(role, "sagemaker:DeleteEndpoint") == {
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/fraud-prod-*",
        GROUP_ARN, GROUP_ARN.replace("model-package-group/", "model-package/") + "/*",
    }
    assert not grants(role, "iam:CreateRole")


def test_platform_admins_cannot_switch_off_the_guardrails_outside_pulumi(prod: Built) -> None:
    role = roles(prod[0])["fraud-prod-platform-admin"]
    for action in ("s3:DeleteBucket", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock",
                   "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning"):
        assert denials(role, action) >= set(BUCKETS.values()), action
    repositories = {f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/fraud-prod/{r}" for r in ("trainer", "scorer")}
    assert denials(role, "ecr:SetRepositoryPolicy") >= repositories
    assert f"arn:aws:eks:us-east-1:{ACCOUNT}:access-entry/{CLUSTER}/*" in denials(role, "eks:CreateAccessEntry")
    assert GROUP_ARN in denials(role, "sagemaker:PutModelPackageGroupPolicy")
    # the day-to-day operations stay allowed and undenied
    for action in ("s3:PutObject", "ecr:PutImage", "eks:UpdateNodegroupConfig", "sagemaker:UpdateEndpoint"):
        assert grants(role, action) and not denials(role, action), action
    for other in ("data-scientist", "ml-engineer", "ci-deployer"):
        assert all(s["Effect"] == "Allow" for s in policy(roles(prod[0])[f"fraud-prod-{other}"]))


def test_the_escape_hatch_lifts_the_deny_and_tags_the_role() -> None:
    records, _ = build(allow_guardrail_changes=True)
    found = roles(records)
    admin = found["fraud-prod-platform-admin"]
    assert admin["tags"]["mlfabric-guardrail-changes"] == "allowed"
    assert all(s["Effect"] == "Allow" for s in policy(admin))
    # only platform-admin's role changes: the others neither get the tag nor change their policy
    assert all("mlfabric-guardrail-changes" not in r["tags"] for n, r in found.items() if n != admin["name"])


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_each_persona_gets_its_eks_access_policy_on_the_whole_cluster(prod: Built, persona: Persona) -> None:
    records, _ = prod
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-{persona}"
    entry = only(records, ENTRY, f"fraud-prod-{persona}")
    assert (entry.inputs["clusterName"], entry.inputs["principalArn"], entry.inputs["type"]) == (CLUSTER, role_arn, "STANDARD")
    association = only(records, ASSOCIATION, f"fraud-prod-{persona}")
    assert association.inputs["policyArn"] == (
        f"arn:aws:eks::aws:cluster-access-policy/{EKS_ACCESS_POLICIES[persona]}"
    )
    assert association.inputs["principalArn"] == role_arn
    assert association.inputs["accessScope"] == {"type": "cluster"}


def test_access_policies_match_each_personas_duty() -> None:
    assert EKS_ACCESS_POLICIES == {
        "platform-admin": "AmazonEKSClusterAdminPolicy",
        "ml-engineer": "AmazonEKSEditPolicy",
        "ci-deployer": "AmazonEKSEditPolicy",
        "data-scientist": "AmazonEKSViewPolicy",
        "reader": "AmazonEKSViewPolicy",
    }


def test_training_pods_assume_the_workload_role_through_the_clusters_oidc_provider(prod: Built) -> None:
    records, outputs = prod
    role = roles(records)["fraud-prod-training"]
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:ml-training:training",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }
    assert outputs["workload_identity"] == f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-training"


def test_the_workload_role_reads_datasets_and_writes_artifacts_only(prod: Built) -> None:
    role = roles(prod[0])["fraud-prod-training"]
    assert grants(role, "s3:GetObject") == {f"{BUCKETS['datasets']}/*", f"{BUCKETS['artifacts']}/*"}
    assert grants(role, "s3:PutObject") == {f"{BUCKETS['artifacts']}/*"}
    assert grants(role, "kms:GenerateDataKey") == {KEY_ARN}
    assert not grants(role, "s3:DeleteObject")
    assert not grants(role, "ecr:PutImage")


def test_persona_roles_output_maps_each_persona_to_its_role_arn(prod: Built) -> None:
    assert prod[1]["persona_roles"] == {p: f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-{p}" for p in PERSONAS}


def test_policies_scope_to_the_real_storage_components_buckets_and_key() -> None:
    spec = parse_spec(spec_data("aws", "dev", rbac={"personas": {"data-scientist": PERSONAS["data-scientist"]}}))

    def program() -> None:
        ctx = PlatformContext.from_spec(spec)
        ctx = ctx.with_handles(storage=AwsStorage(spec.base_name, spec.storage, ctx))
        AwsRbac(spec.base_name, spec.rbac, ctx)

    records, _, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-east-1"),
    )
    buckets = {f"arn:aws:s3:::{b.id}" for b in of_type(records, "aws:s3/bucket:Bucket")}
    key = only(records, "aws:kms/key:Key")
    role = roles(records)["fraud-dev-data-scientist"]
    assert grants(role, "s3:ListBucket") == buckets
    assert grants(role, "kms:Decrypt") == {f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key.id}"}
    # No registry and no cluster: nothing about images or the cluster is granted.
    assert not grants(role, "ecr:BatchGetImage") and not grants(role, "eks:DescribeCluster")


# --- custom personas, the reader template, principals per cloud --------------------------------------

CUSTOM = {"auditors": "read", "release-bot": "deploy", "sre-oncall": "admin"}
TEMPLATE_OF = {"read": "reader", "deploy": "ci-deployer", "admin": "platform-admin"}


@pytest.fixture(scope="module")
def custom() -> Built:
    personas = {**PERSONAS, **{name: [f"arn:aws:iam::{ACCOUNT}:role/{name}"] for name in CUSTOM}}
    return build(personas, custom={name: {"access": access} for name, access in CUSTOM.items()})


def statements_without_sids(role: dict[str, Any]) -> list[tuple[Any, Any]]:
    return sorted((json.dumps(s["Action"]), json.dumps(s["Resource"])) for s in policy(role))


@pytest.mark.parametrize(("persona", "access"), sorted(CUSTOM.items()))
def test_a_custom_persona_gets_the_grants_and_cluster_access_of_its_access_levels_template(
    custom: Built, persona: str, access: str
) -> None:
    records, outputs = custom
    found = roles(records)
    template = TEMPLATE_OF[access]
    role = found[f"fraud-prod-{persona}"]
    if template != "reader":  # the built-in persona of the same template is in the same spec
        assert statements_without_sids(role) == statements_without_sids(found[f"fraud-prod-{template}"])
    association = only(records, ASSOCIATION, f"fraud-prod-{persona}")
    assert association.inputs["policyArn"].endswith(f"/{EKS_ACCESS_POLICIES[template]}")  # type: ignore[index]
    assert only(records, ENTRY, f"fraud-prod-{persona}").inputs["principalArn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-{persona}"
    )
    assert outputs["persona_roles"][persona] == f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-{persona}"
    assert only(records, ROLE, f"fraud-prod-{persona}").inputs["tags"]["mlfabric-persona"] == persona


def test_custom_personas_leave_the_built_in_personas_resource_names_unchanged(custom: Built, prod: Built) -> None:
    def names(records: list[ResourceRecord]) -> set[str]:
        return {r.urn for r in records if r.custom}

    assert names(prod[0]) <= names(custom[0])
    added = names(custom[0]) - names(prod[0])
    assert len(added) == 3 * len(CUSTOM)
    assert all(any(f"fraud-prod-{p}" in urn for p in CUSTOM) for urn in added)


def test_the_reader_template_reads_data_models_images_and_logs_and_writes_nothing(custom: Built) -> None:
    role = roles(custom[0])["fraud-prod-auditors"]
    repositories = {f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/fraud-prod/{r}" for r in ("trainer", "scorer")}
    assert grants(role, "s3:GetObject") == {f"{arn}/*" for arn in BUCKETS.values()}
    assert grants(role, "ecr:BatchGetImage") == repositories
    assert grants(role, "sagemaker:DescribeModelPackage")
    assert grants(role, "cloudwatch:GetDashboard") == {f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/fraud-prod*"}
    assert grants(role, "cloudwatch:DescribeAlarms") == {f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:fraud-prod-*"}
    assert grants(role, "logs:FilterLogEvents")
    assert grants(role, "eks:DescribeCluster") == {f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{CLUSTER}"}
    for action in ("s3:PutObject", "s3:DeleteObject", "ecr:PutImage", "sagemaker:CreateModelPackage",
                   "sagemaker:UpdateEndpoint", "sagemaker:InvokeEndpoint", "eks:UpdateNodegroupConfig",
                   "kms:GenerateDataKey"):
        assert not grants(role, action), action
    # every action the reader may take is a read
    for statement in policy(role):
        for action in as_list(statement["Action"]):
            verb = action.split(":", 1)[1]
            assert verb.startswith(("Get", "List", "Describe", "BatchGet", "BatchCheck", "Decrypt", "Filter")), action


def test_per_cloud_principals_use_only_the_aws_list() -> None:
    aws_role = f"arn:aws:iam::{ACCOUNT}:role/DataScientists"
    records, _ = build({"data-scientist": {"aws": [aws_role], "gcp": ["group:ds@example.com"],
                                           "azure": ["00000000-0000-0000-0000-000000000001"]}})
    (statement,) = json.loads(roles(records)["fraud-prod-data-scientist"]["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"AWS": [aws_role]}


def test_per_cloud_principals_are_validated_only_for_aws() -> None:
    from mlfabric.components.spec import SpecError

    with pytest.raises(SpecError) as error:
        parse_spec(spec_data("aws", "prod", rbac={"personas": {"ml-engineer": {
            "aws": ["group:not-an-arn@example.com"], "gcp": ["not-checked-on-aws"]}}}))
    assert "rbac.personas.ml-engineer.aws[0]" in str(error.value)
    assert "not-checked-on-aws" not in str(error.value)
