"""Experiment tracking, notebooks and drift monitoring on AWS (issue 17), through the offline plan of
the prod example stack (and small patches of it); batch scoring runs as CronJobs on the cluster (tests/test_batch_kubernetes.py).

What a mock test cannot prove: that SageMaker accepts the MLflow server's role and artifact prefix,
that IAM evaluates the policies as intended, that a VPC-only Studio domain reaches the SageMaker APIs
through the prod VPC's NAT gateways, that Model Monitor finds the baseline files under the prefix,
or that a processing job ending with violations emits the EventBridge event the rule matches (its
ExitMessage, ``CompletedWithViolations: ...``). Those need a real account (README: limits).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlfabric.testing import Plan, ResourceRecord
from tests.capability_support import cached_plan, deep_merge, stack_spec
from tests.helpers import ROOT

ACCOUNT = "123456789012"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MLFLOW = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"
DOMAIN = "aws:sagemaker/domain:Domain"
PROFILE = "aws:sagemaker/userProfile:UserProfile"
DATA_QUALITY = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SERVER_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:mlflow-tracking-server/fraud-prod-mlflow"
LIFECYCLE_TYPES = (MLFLOW, DOMAIN, PROFILE, DATA_QUALITY, SCHEDULE, RULE, TARGET)


@pytest.fixture(scope="module")
def prod() -> Plan:
    return cached_plan("prod", "{}")


def _one(plan: Plan, type_token: str, name: str) -> ResourceRecord:
    [record] = [r for r in plan.resources if r.type == type_token and r.name == name]
    return record


def _statements(document: str) -> dict[str, dict[str, Any]]:
    return {s.get("Sid", ""): s for s in json.loads(document)["Statement"]}


def _inline(plan: Plan, name: str) -> dict[str, dict[str, Any]]:
    [inline] = _one(plan, ROLE, name).inputs["inlinePolicies"]
    return _statements(inline["policy"])


def _bucket(plan: Plan, name: str) -> str:
    """The physical name of a platform bucket (auto-named: the record's id)."""
    bucket = _one(plan, "aws:s3/bucket:Bucket", f"fraud-prod-{name}").id
    assert bucket is not None
    return bucket


def _storage_key(plan: Plan) -> str:
    return str(_one(plan, DATA_QUALITY, "fraud-prod-scorer-data-quality").inputs["dataQualityJobOutputConfig"]["kmsKeyId"])


# --- tracking ---------------------------------------------------------------------------------------


def test_the_tracking_server_keeps_artifacts_under_its_prefix_of_the_artifacts_bucket(prod: Plan) -> None:
    server = _one(prod, MLFLOW, "fraud-prod-mlflow").inputs
    assert server["trackingServerName"] == "fraud-prod-mlflow"
    assert server["trackingServerSize"] == "Medium"
    assert server["automaticModelRegistration"] is False
    assert server["artifactStoreUri"].startswith("s3://fraud-prod-artifacts-")
    assert server["artifactStoreUri"].endswith("/mlflow/")
    assert server["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-mlflow"
    assert prod.outputs["tracking_uri"] == SERVER_ARN


def test_the_tracking_server_role_is_sagemakers_and_reaches_only_its_prefix_through_the_platform_key(
    prod: Plan,
) -> None:
    role = _one(prod, ROLE, "fraud-prod-mlflow").inputs
    assert json.loads(role["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    statements = _inline(prod, "fraud-prod-mlflow")
    bucket = statements["ListArtifactPrefix"]["Resource"]
    assert bucket.startswith("arn:aws:s3:::fraud-prod-artifacts-")
    assert statements["ListArtifactPrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["mlflow/*"]}}
    assert statements["ReadWriteArtifacts"]["Resource"] == f"{bucket}/mlflow/*"
    assert statements["UseStorageKeyThroughS3"]["Resource"] == _storage_key(prod)
    assert statements["UseStorageKeyThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_tracking_access_is_scoped_to_the_server_and_attached_by_persona_and_team(prod: Plan) -> None:
    use = _statements(_one(prod, POLICY, "fraud-prod-mlflow-use").inputs["policy"])
    read = _statements(_one(prod, POLICY, "fraud-prod-mlflow-read").inputs["policy"])
    assert use["TrackExperiments"]["Action"] == ["sagemaker-mlflow:*"]
    assert read["ReadExperiments"]["Action"] == ["sagemaker-mlflow:Get*", "sagemaker-mlflow:Search*",
                                                 "sagemaker-mlflow:List*"]
    for statements in (use, read):
        # only AccessUI (no resource type in the service reference) is granted on "*"
        assert {sid: s["Resource"] for sid, s in statements.items() if s["Resource"] == "*"} == {"OpenMlflowUi": "*"}
        assert statements["OpenMlflowUi"]["Action"] == "sagemaker-mlflow:AccessUI"
        assert {s["Resource"] for sid, s in statements.items() if sid != "OpenMlflowUi"} == {SERVER_ARN}
    attached = {r.inputs["role"]: r.inputs["policyArn"].rsplit("/", 1)[-1] for r in prod.of_type(ATTACHMENT)
                if "mlflow" in r.inputs["policyArn"]}
    assert attached == {
        "fraud-prod-team-vision": "fraud-prod-mlflow-use", "fraud-prod-team-fraud": "fraud-prod-mlflow-use",
        "fraud-prod-data-scientist": "fraud-prod-mlflow-use", "fraud-prod-ml-engineer": "fraud-prod-mlflow-use",
        "fraud-prod-platform-admin": "fraud-prod-mlflow-use", "fraud-prod-ci-deployer": "fraud-prod-mlflow-read",
        "fraud-prod-training": "fraud-prod-mlflow-use",
    }


# --- notebooks ----------------------------------------------------------------------------------------


def test_the_studio_domain_is_vpc_only_on_the_private_subnets_and_encrypted_with_the_platform_key(
    prod: Plan,
) -> None:
    domain = _one(prod, DOMAIN, "fraud-prod-studio").inputs
    private = sorted(r.id or "" for r in prod.of_type("aws:ec2/subnet:Subnet")
                     if r.inputs["tags"].get("Name", "").startswith("fraud-prod-private-"))
    assert domain["authMode"] == "IAM"
    assert domain["appNetworkAccessType"] == "VpcOnly"
    assert sorted(domain["subnetIds"]) == private and len(private) == 3
    assert domain["kmsKeyId"] == _storage_key(prod)
    assert domain["retentionPolicy"] == {"homeEfsFileSystem": "Retain"}


def test_notebooks_stop_after_the_idle_minutes_and_users_cannot_raise_it(prod: Plan) -> None:
    settings = _one(prod, DOMAIN, "fraud-prod-studio").inputs["defaultUserSettings"]
    expected = {"lifecycleManagement": "ENABLED", "idleTimeoutInMinutes": 120, "maxIdleTimeoutInMinutes": 120,
                "minIdleTimeoutInMinutes": 60}
    for app in ("jupyterLabAppSettings", "codeEditorAppSettings"):
        assert settings[app]["appLifecycleManagement"]["idleSettings"] == expected, app
    assert settings["jupyterLabAppSettings"]["defaultResourceSpec"]["instanceType"] == "ml.t3.large"


def test_notebook_apps_have_a_security_group_without_ingress(prod: Plan) -> None:
    group = _one(prod, "aws:ec2/securityGroup:SecurityGroup", "fraud-prod-notebooks").inputs
    assert not group.get("ingress")
    assert [(e["fromPort"], e["cidrBlocks"]) for e in group["egress"]] == [(443, ["0.0.0.0/0"]), (2049, ["10.40.0.0/16"])]
    group_id = _one(prod, "aws:ec2/securityGroup:SecurityGroup", "fraud-prod-notebooks").id
    assert _one(prod, DOMAIN, "fraud-prod-studio").inputs["defaultUserSettings"]["securityGroups"] == [group_id]


def test_each_team_notebook_runs_as_the_team_role_which_trusts_sagemaker_of_this_account_only(prod: Plan) -> None:
    for team in ("vision", "fraud"):
        profile = _one(prod, PROFILE, f"fraud-prod-studio-{team}").inputs
        assert profile["userProfileName"] == f"team-{team}"
        assert profile["userSettings"]["executionRole"] == f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-team-{team}"
        trust = json.loads(_one(prod, ROLE, f"fraud-prod-team-{team}").inputs["assumeRolePolicy"])["Statement"]
        assert trust[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust[1] == {"Sid": "SageMakerStudioOfThisAccount", "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    assert set(prod.outputs["notebooks"]) == {"vision", "fraud"}


def test_the_default_execution_role_reads_no_data_when_teams_have_their_own(prod: Plan) -> None:
    role = _one(prod, ROLE, "fraud-prod-notebooks").inputs
    assert not role.get("inlinePolicies")
    studio = _statements(_one(prod, POLICY, "fraud-prod-studio").inputs["policy"])
    domain_id = _one(prod, DOMAIN, "fraud-prod-studio").id
    assert domain_id is not None and domain_id.startswith("d-")
    assert all(domain_id in arn for arn in studio["OwnAppsAndSpacesInThisDomain"]["Resource"])


def test_only_the_listed_teams_get_notebooks_and_the_others_keep_an_irsa_only_trust() -> None:
    plan = cached_plan("prod", json.dumps({"notebooks": {"teams": ["fraud"]}}))
    assert [r.inputs["userProfileName"] for r in plan.of_type(PROFILE)] == ["team-fraud"]
    trust = json.loads(_one(plan, ROLE, "fraud-prod-team-vision").inputs["assumeRolePolicy"])["Statement"]
    assert [s["Action"] for s in trust] == ["sts:AssumeRoleWithWebIdentity"]


# --- drift ----------------------------------------------------------------------------------------------


def test_drift_compares_the_endpoints_capture_with_the_baseline_isolated_and_encrypted(prod: Plan) -> None:
    definition = _one(prod, DATA_QUALITY, "fraud-prod-scorer-data-quality").inputs
    datasets = f"s3://{_bucket(prod, 'datasets')}/baselines/scorer/"
    baseline = definition["dataQualityBaselineConfig"]
    assert baseline["constraintsResource"]["s3Uri"] == f"{datasets}constraints.json"
    assert baseline["statisticsResource"]["s3Uri"] == f"{datasets}statistics.json"
    assert definition["dataQualityJobInput"]["endpointInput"]["endpointName"] == "fraud-prod-scorer"
    assert definition["dataQualityAppSpecification"]["imageUri"] == (
        "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer")
    key = _storage_key(prod)
    assert definition["jobResources"]["clusterConfig"]["volumeKmsKeyId"] == key
    assert definition["networkConfig"]["enableNetworkIsolation"] is True
    assert definition["networkConfig"]["enableInterContainerTrafficEncryption"] is True
    assert definition["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-scorer-monitor"
    schedule = _one(prod, SCHEDULE, "fraud-prod-scorer-data-quality").inputs["monitoringScheduleConfig"]
    assert schedule["scheduleConfig"]["scheduleExpression"] == "cron(0 * ? * * *)"
    assert schedule["monitoringType"] == "DataQuality"


def test_the_monitor_role_reads_only_this_endpoints_capture_and_baseline(prod: Plan) -> None:
    statements = _inline(prod, "fraud-prod-scorer-monitor")
    artifacts, datasets = (f"arn:aws:s3:::{_bucket(prod, b)}" for b in ("artifacts", "datasets"))
    assert statements["ReadCapturedRequests"]["Resource"] == [
        f"{artifacts}/data-capture/fraud-prod-scorer/*", f"{datasets}/baselines/scorer/*"]
    assert statements["WriteReports"]["Resource"] == f"{artifacts}/monitoring/fraud-prod-scorer/*"


def test_drift_findings_are_routed_to_the_alert_topic(prod: Plan) -> None:
    rule = _one(prod, RULE, "fraud-prod-scorer-drift").inputs
    pattern = json.loads(rule["eventPattern"])
    assert pattern["detail"]["MonitoringScheduleArn"] == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:monitoring-schedule/fraud-prod-scorer-data-quality"]
    assert {"ExitMessage": [{"prefix": "CompletedWithViolations"}]} in pattern["detail"]["$or"]
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:fraud-prod-alerts"
    assert _one(prod, TARGET, "fraud-prod-scorer-drift").inputs == {"rule": "fraud-prod-scorer-drift", "arn": topic}
    policy = _statements(_one(prod, "aws:sns/topicPolicy:TopicPolicy", "fraud-prod-alerts").inputs["policy"])
    assert policy["ThisAccountsDriftRulesPublish"]["Principal"] == {"Service": "events.amazonaws.com"}
    assert policy["ThisAccountsDriftRulesPublish"]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_the_dev_stack_declares_none_of_the_lifecycle() -> None:
    dev = cached_plan("dev", "{}")
    assert not [r for r in dev.resources if r.type in LIFECYCLE_TYPES]
    policy = _statements(_one(dev, "aws:sns/topicPolicy:TopicPolicy", "fraud-dev-alerts").inputs["policy"])
    assert "ThisAccountsDriftRulesPublish" not in policy


# --- refusals ----------------------------------------------------------------------------------------------


def _validate(tmp_path: Path, patch: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlfabric:platform": deep_merge(stack_spec("prod"), patch)}}))
    return subprocess.run([sys.executable, "-m", "mlfabric", "validate", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


_SCORER: dict[str, Any] = {"name": "scorer", "model": "fraud-detector", "image": "scorer:1.4.2",
                           "instance": "ml.g5.xlarge", "data_capture_percent": 20}


@pytest.mark.parametrize("patch,line", [
    ({"notebooks": {"idle_minutes": 30}},
     "notebooks.idle_minutes: SageMaker Studio stops idle apps after 60 to 525600 minutes (got 30)"),
    ({"notebooks": {"machine": "t3.large"}}, "notebooks.machine: must be a SageMaker instance type"),
    ({"storage": {"buckets": [{"name": "datasets"}, {"name": "models"}]}, "serving": None, "training": {"shared_fs": None}},
     "tracking: SageMaker MLflow keeps its artifacts in the artifacts bucket"),
    ({"region": "af-south-1", "serving": {"endpoints": [{**_SCORER, "monitoring": {"drift": {
        "baseline_prefix": "baselines/scorer/"}}}]}},
     "serving.endpoints[0].monitoring.drift: SageMaker Model Monitor's analyzer image is not published in af-south-1"),
])
def test_what_aws_cannot_honour_in_the_lifecycle_is_refused_naming_the_field(
    tmp_path: Path, patch: dict[str, Any], line: str
) -> None:
    result = _validate(tmp_path, patch)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert any(problem.startswith(line) for problem in result.stderr.splitlines()), result.stderr
