"""The AWS hardening rules of issue 15: each fails on a fixture recorded from the prod example stack's
plan before the fix (2026-12-01, ``mlfabric plan -s prod``; props copied verbatim, statements not
involved left out), and passes on today's plans of the dev and prod example stacks.

What this cannot prove: that IAM evaluates the Deny, the key policies and the endpoint policies as
the rules read them (only a real account does: ``aws iam simulate-principal-policy`` against the
deployed roles, an S3 read of a foreign bucket from a node, a decrypt by a non-platform role).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mlfabric.check import PackConfig, RuleSetting, Source, run_pack
from mlfabric.plan import ResourceRecord
from mlfabric.policies.rules import BY_ID, hardening_aws
from tests.policies.helpers import R, verdicts

ROOT = Path(__file__).resolve().parents[2]
ROLE = "aws:iam/role:Role"
KEY = "aws:kms/key:Key"
ADDON = "aws:eks/addon:Addon"
VPCE = "aws:ec2/vpcEndpoint:VpcEndpoint"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
TAGS = {"managed-by": "mlfabric", "mlfabric-platform": "fraud", "cost-center": "4711", "mlfabric-environment": "prod",
        "team": "risk-ml"}


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- recorded before the fix (prod example stack) ------------------------------------------------------

BEFORE_ADMIN = R(ROLE, "fraud-prod-platform-admin", {
    "name": "fraud-prod-platform-admin",
    "tags": {**TAGS, "mlfabric-persona": "platform-admin"},
    "inlinePolicies": [{"name": "platform-admin", "policy": _doc(
        {"Sid": "AdministerPlatformBuckets", "Effect": "Allow", "Action": ["s3:*"],
         "Resource": ["arn:aws:s3:::fraud-prod-datasets-e09339c", "arn:aws:s3:::fraud-prod-datasets-e09339c/*"]},
        {"Sid": "AdministerPlatformRepositories", "Effect": "Allow", "Action": ["ecr:*"],
         "Resource": ["arn:aws:ecr:us-east-1:123456789012:repository/fraud-prod/scorer"]},
        {"Sid": "AdministerModelRegistry", "Effect": "Allow", "Action": ["sagemaker:*"],
         "Resource": ["arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-prod-fraud-detector"]},
        {"Sid": "ReadSageMaker", "Effect": "Allow", "Action": ["sagemaker:Describe*", "sagemaker:List*"], "Resource": ["*"]},
        {"Sid": "AdministerPlatformCluster", "Effect": "Allow", "Action": ["eks:*"],
         "Resource": ["arn:aws:eks:us-east-1:123456789012:cluster/fraud-prod"]},
    )}],
})
BEFORE_DATA_SCIENTIST = R(ROLE, "fraud-prod-data-scientist", {
    "name": "fraud-prod-data-scientist",
    "inlinePolicies": [{"name": "data-scientist", "policy": _doc(
        {"Sid": "LogInToEcr", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]},
        {"Sid": "ReadMetricsAndAlarms", "Effect": "Allow", "Action": [
            "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard",
            "cloudwatch:ListDashboards"], "Resource": ["*"]},
    )}],
})
BEFORE_STORAGE_KEY = R(KEY, "fraud-prod-storage", {
    "enableKeyRotation": True, "description": "mlfabric fraud-prod: object storage encryption", "tags": TAGS,
    "deletionWindowInDays": 30.0, "rotationPeriodInDays": 90.0})
BEFORE_CLUSTER_KEY = R(KEY, "fraud-prod-cluster", {"enableKeyRotation": True, "policy": _doc(
    {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
     "Action": "kms:*", "Resource": "*"})})
BEFORE_VPC_CNI = R(ADDON, "fraud-prod-vpc-cni", {
    "resolveConflictsOnCreate": "OVERWRITE", "addonName": "vpc-cni", "tags": TAGS, "clusterName": "fraud-prod",
    "addonVersion": "v1.19.0-eksbuild.1", "resolveConflictsOnUpdate": "OVERWRITE"})
BEFORE_S3_ENDPOINT = R(VPCE, "fraud-prod-s3", {
    "vpcId": "vpc-cf6bc053426045225", "tags": {**TAGS, "Name": "fraud-prod-s3"},
    "routeTableIds": ["rtb-a9b9ee9538f0b07c7"], "vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.us-east-1.s3"})
BEFORE_BUCKET = R(BUCKET, "fraud-prod-models", {"tags": {**TAGS, "mlfabric-bucket": "models"}, "forceDestroy": False})


@pytest.mark.parametrize(("rule_id", "fixture", "expected"), [
    ("mlf-aws-guardrail-deny", BEFORE_ADMIN, "s3:PutBucketPolicy"),
    ("mlf-aws-scoped-reads", BEFORE_ADMIN, "sagemaker:Describe*"),
    ("mlf-aws-scoped-reads", BEFORE_DATA_SCIENTIST, "cloudwatch:DescribeAlarms, cloudwatch:GetDashboard"),
    ("mlf-aws-kms-key-policy", BEFORE_STORAGE_KEY, "declares no key policy"),
    ("mlf-aws-kms-key-policy", BEFORE_CLUSTER_KEY, "lets the whole account use the key (kms:*)"),
    ("mlf-aws-vpc-cni-network-policy", BEFORE_VPC_CNI, "enableNetworkPolicy"),
    ("mlf-aws-vpc-endpoint-policy", BEFORE_S3_ENDPOINT, "has no endpoint policy"),
    ("mlf-aws-s3-replication", BEFORE_BUCKET, "has no replication configuration"),
])
def test_each_rule_fails_on_the_plan_recorded_before_the_fix(rule_id: str, fixture: R, expected: str) -> None:
    [violation] = verdicts(rule_id, fixture)
    assert expected in violation.message
    assert violation.resource_name == fixture.name


# --- today's example plans --------------------------------------------------------------------------------


@cache
def _records(stack: str) -> tuple[ResourceRecord, ...]:
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    return tuple(plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")).resources)


def _messages(rule_id: str, records: list[ResourceRecord]) -> list[str]:
    source = Source("test", "mlfabric", "prod", None, "", records)
    report = run_pack(source, PackConfig(None, None, {rule_id: RuleSetting(None, {})}), [BY_ID[rule_id]])
    return [v.message for v in report.violations]


FIXED = ["mlf-aws-guardrail-deny", "mlf-aws-guardrail-hatch", "mlf-aws-scoped-reads", "mlf-aws-kms-key-policy",
         "mlf-aws-vpc-cni-network-policy", "mlf-aws-vpc-endpoint-policy"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("rule_id", FIXED)
def test_the_example_stacks_pass_each_rule_after_the_fix(stack: str, rule_id: str) -> None:
    assert _messages(rule_id, [copy.deepcopy(r) for r in _records(stack)]) == []


def test_the_prod_example_stack_reports_its_unreplicated_buckets() -> None:
    """Replication is an option (storage.replication_region): advisory in prod, off in dev/staging."""
    messages = _messages("mlf-aws-s3-replication", [copy.deepcopy(r) for r in _records("prod")])
    assert len(messages) == 3 and all("no replication configuration" in m for m in messages)


def test_platform_admin_keeps_operating_but_is_denied_guardrail_changes() -> None:
    [admin] = [r for r in _records("prod") if r.type == ROLE and r.name == "fraud-prod-platform-admin"]
    policy = json.loads(admin.inputs["inlinePolicies"][0]["policy"])
    allows = {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert {"s3:*", "ecr:*", "eks:*", "sagemaker:*"} <= allows
    [deny] = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Sid"] == "DenyGuardrailChanges"
    assert set(deny["Action"]) == set(hardening_aws.GUARDRAIL_ACTIONS)
    assert "arn:aws:eks:us-east-1:123456789012:access-entry/fraud-prod/*" in deny["Resource"]


def test_the_rule_and_the_component_list_the_same_guardrail_actions() -> None:
    from mlfabric.components.aws import rbac

    assert [a for group in rbac.GUARDRAIL_ACTIONS.values() for a in group] == hardening_aws.GUARDRAIL_ACTIONS
    assert rbac.GUARDRAIL_TAG == hardening_aws.GUARDRAIL_TAG


def test_other_personas_get_no_deny_they_hold_no_guardrail_action() -> None:
    for record in _records("prod"):
        if record.type == ROLE and record.name in ("fraud-prod-data-scientist", "fraud-prod-ml-engineer"):
            policy = json.loads(record.inputs["inlinePolicies"][0]["policy"])
            assert all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_every_platform_key_keeps_root_for_administration_only() -> None:
    keys = [r for r in _records("prod") if r.type == KEY]
    assert len(keys) == 5
    for key in keys:
        statements = json.loads(key.inputs["policy"])["Statement"]
        root = statements[0]
        assert root["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"} and "kms:*" not in root["Action"]
        assert not {"kms:Decrypt", "kms:Encrypt"} & set(root["Action"])
        use = statements[1]
        assert use["Condition"] == {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/fraud-prod-*"}}
        assert key.inputs["rotationPeriodInDays"] == 90


def test_the_s3_gateway_endpoint_reaches_the_platforms_buckets_and_ecr_layers_only() -> None:
    [endpoint] = [r for r in _records("prod") if r.type == VPCE and r.name == "fraud-prod-s3"]
    statements = json.loads(endpoint.inputs["policy"])["Statement"]
    assert statements[0]["Resource"] == ["arn:aws:s3:::fraud-prod-*", "arn:aws:s3:::fraud-prod-*/*"]
    assert statements[1] == {"Sid": "EcrImageLayers", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*"}


def test_the_autoscaler_is_hardened_pinned_and_fenced() -> None:
    records = _records("prod")
    [deployment] = [r for r in records if r.type == "kubernetes:apps/v1:Deployment"]
    pod = deployment.inputs["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"].endswith("@sha256:2fc9433dd3b47baef0e68d6b1110b770a3c93db10c7bead4c5bc6cb21c72b875")
    assert pod["automountServiceAccountToken"] is True  # it calls the API server and assumes its IRSA role
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    [fence] = [r for r in records if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
               and r.name == "fraud-prod-cluster-autoscaler"]
    assert fence.inputs["spec"]["ingress"] == []
    assert [p["port"] for rule in fence.inputs["spec"]["egress"] for p in rule["ports"]] == [53, 53, 443]
