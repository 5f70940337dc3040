"""`mlfabric verify` against a real AWS API emulator (moto_server on loopback).

Each test "deploys" the dev stack with boto3 the way its plan declares it (KMS-encrypted private
buckets with versioning suspended, mutable scanned ECR repositories, EKS 1.35 with a system group
and a spot L4 group that scales to zero, a SageMaker endpoint on ml.m5.large autoscaled 1-2, a model
package group, an encrypted alert topic with its e-mail subscriber, the plan's alarms), writes what
`pulumi stack output --json` would print, and runs `python -m mlfabric verify` as a user would:
once matching (exit 0), then once per kind of drift (exit 1, naming it).

What these tests cannot prove: that real AWS answers exactly as moto does (moto stores but does
not return SageMaker shadow variants, and has no Service Quotas for EC2/SageMaker); the calls and
their shapes are botocore's own, validated against the service models.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlfabric import stackfile, verify
from mlfabric.plan import Plan, plan_stack
from tests.helpers import ROOT

Aws = Callable[[str], Any]
REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKETS = {
    "datasets": "fraud-dev-datasets-f7d367b",
    "artifacts": "fraud-dev-artifacts-f5e08a1",
    "models": "fraud-dev-models-f4cd613",
}
SYSTEM_GROUP = "fraud-dev-system-5a1c0de"
GPU_GROUP = "fraud-dev-gpu-l4-c3e306f"
ENDPOINT = "fraud-dev-scorer"
TOPIC = "fraud-dev-alerts"


@pytest.fixture(scope="module")
def dev_plan() -> Plan:
    return plan_stack(stackfile.load(ROOT / "stacks" / "Pulumi.dev.yaml"))


def alarm_names(plan: Plan) -> list[str]:
    return sorted(r.inputs["name"] for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))


def deploy_dev(aws: Aws, plan: Plan, *, cluster_version: str = "1.35", variant: str = "main",
               instance: str = "ml.m5.large", model_registry: bool = True) -> dict[str, Any]:
    """Create the dev stack's resources as it declares them; return its `pulumi stack output --json`."""
    key = aws("kms").create_key(Description="mlfabric fraud-dev: object storage encryption")["KeyMetadata"]["Arn"]
    s3 = aws("s3")
    for name in BUCKETS.values():
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
            "BucketKeyEnabled": True}]})
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})

    registry_key = aws("kms").create_key(Description="mlfabric fraud-dev: container image encryption")["KeyMetadata"]["Arn"]
    urls = {}
    for repository in ("trainer", "scorer"):
        repo = aws("ecr").create_repository(
            repositoryName=f"fraud-dev/{repository}", imageTagMutability="MUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": registry_key},
        )["repository"]
        urls[repository] = repo["repositoryUri"]
    sagemaker = aws("sagemaker")
    group_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/fraud-dev-fraud-detector"
    if model_registry:
        group_arn = sagemaker.create_model_package_group(
            ModelPackageGroupName="fraud-dev-fraud-detector")["ModelPackageGroupArn"]

    eks = aws("eks")
    eks.create_cluster(name="fraud-dev", version=cluster_version, roleArn=f"arn:aws:iam::{ACCOUNT}:role/fraud-dev-cluster",
                       resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]})
    node_role = f"arn:aws:iam::{ACCOUNT}:role/fraud-dev-node"
    eks.create_nodegroup(clusterName="fraud-dev", nodegroupName=SYSTEM_GROUP, nodeRole=node_role,
                         subnets=["subnet-1", "subnet-2"], instanceTypes=["m6i.large"], capacityType="ON_DEMAND",
                         amiType="AL2023_x86_64_STANDARD", labels={"mlfabric.dev/system-pool": "true"},
                         scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 1})
    eks.create_nodegroup(clusterName="fraud-dev", nodegroupName=GPU_GROUP, nodeRole=node_role,
                         subnets=["subnet-1", "subnet-2"], instanceTypes=["g6.xlarge"], capacityType="SPOT",
                         amiType="AL2023_x86_64_NVIDIA",
                         labels={"mlfabric.dev/gpu-pool": "l4", "k8s.amazonaws.com/accelerator": "nvidia-l4"},
                         taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
                         scalingConfig={"minSize": 0, "maxSize": 4, "desiredSize": 0})

    sagemaker.create_model(ModelName="fraud-dev-scorer-main-0a1b2c3",
                           ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/fraud-dev-scorer-serving",
                           PrimaryContainer={"Image": f"{urls['scorer']}:1.4.2"}, EnableNetworkIsolation=True)
    sagemaker.create_endpoint_config(EndpointConfigName="fraud-dev-scorer-4d5e6f7", ProductionVariants=[{
        "VariantName": variant, "ModelName": "fraud-dev-scorer-main-0a1b2c3", "InstanceType": instance,
        "InitialInstanceCount": 1, "InitialVariantWeight": 100.0}])
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="fraud-dev-scorer-4d5e6f7")
    aws("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=f"endpoint/{ENDPOINT}/variant/{variant}",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=2)

    monitoring_key = aws("kms").create_key(Description="mlfabric fraud-dev: alerts")["KeyMetadata"]["Arn"]
    topic = aws("sns").create_topic(Name=TOPIC, Attributes={"KmsMasterKeyId": monitoring_key})["TopicArn"]
    aws("sns").subscribe(TopicArn=topic, Protocol="email", Endpoint="ml-oncall@example.com")
    for name in alarm_names(plan):
        aws("cloudwatch").put_metric_alarm(
            AlarmName=name, Namespace="AWS/SageMaker", MetricName="Invocations", Statistic="Sum", Period=60,
            EvaluationPeriods=5, Threshold=1, ComparisonOperator="GreaterThanThreshold",
            AlarmActions=[topic], OKActions=[topic])

    return {
        "cloud": "aws", "region": REGION, "environment": "dev",
        "bucket_names": BUCKETS,
        "bucket_urls": {k: f"s3://{v}" for k, v in BUCKETS.items()},
        "bucket_ids": {k: f"arn:aws:s3:::{v}" for k, v in BUCKETS.items()},
        "storage_key_id": key,
        "access_log_bucket": "",
        "registry_urls": urls,
        "model_registry_ids": {"fraud-detector": group_arn},
        "cluster_name": "fraud-dev",
        "kubeconfig": "[secret]",
        "gpu_pool_names": {"l4": GPU_GROUP},
        "alert_topic": topic,
        "endpoint_names": {"scorer": ENDPOINT},
        "endpoint_urls": {"scorer": f"https://runtime.sagemaker.{REGION}.amazonaws.com/endpoints/{ENDPOINT}/invocations"},
    }


def mlfabric(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlfabric", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def run_verify(env: dict[str, str], url: str, outputs: dict[str, Any], tmp_path: Path,
               stack: str = "dev") -> subprocess.CompletedProcess[str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs, indent=2))
    return mlfabric(env, "verify", "-s", stack, "--outputs", str(path), "--endpoint-url", url)


def drift_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("drift: ")]


# --- through the CLI ---------------------------------------------------------------------------------


def test_verify_passes_when_the_deployment_matches_the_dev_stack(
    aws: Aws, moto_url: str, aws_env: dict[str, str], dev_plan: Plan, tmp_path: Path
) -> None:
    result = run_verify(aws_env, moto_url, deploy_dev(aws, dev_plan), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert drift_lines(result) == []
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("verify: ") and "no drift" in last


def _enable_versioning(aws: Aws, _: dict[str, Any]) -> None:
    aws("s3").put_bucket_versioning(Bucket=BUCKETS["models"], VersioningConfiguration={"Status": "Enabled"})


def _sse_s3(aws: Aws, _: dict[str, Any]) -> None:
    aws("s3").put_bucket_encryption(Bucket=BUCKETS["datasets"], ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})


def _drop_public_access_block(aws: Aws, _: dict[str, Any]) -> None:
    aws("s3").delete_public_access_block(Bucket=BUCKETS["artifacts"])


def _scan_off(aws: Aws, _: dict[str, Any]) -> None:
    aws("ecr").put_image_scanning_configuration(repositoryName="fraud-dev/trainer",
                                                imageScanningConfiguration={"scanOnPush": False})


def _immutable_tags(aws: Aws, _: dict[str, Any]) -> None:
    aws("ecr").put_image_tag_mutability(repositoryName="fraud-dev/scorer", imageTagMutability="IMMUTABLE")


def _widen_gpu_pool(aws: Aws, _: dict[str, Any]) -> None:
    aws("eks").update_nodegroup_config(clusterName="fraud-dev", nodegroupName=GPU_GROUP,
                                       scalingConfig={"minSize": 0, "maxSize": 8, "desiredSize": 0})


def _delete_endpoint(aws: Aws, _: dict[str, Any]) -> None:
    aws("sagemaker").delete_endpoint(EndpointName=ENDPOINT)


def _delete_topic(aws: Aws, outputs: dict[str, Any]) -> None:
    aws("sns").delete_topic(TopicArn=outputs["alert_topic"])


def _delete_alarm(aws: Aws, _: dict[str, Any]) -> None:
    aws("cloudwatch").delete_alarms(AlarmNames=["fraud-dev-scorer-main-p99-latency"])


Mutation = Callable[[Aws, dict[str, Any]], None]

DRIFTS: list[tuple[str, dict[str, Any], Mutation | None, str]] = [
    ("bucket-encryption", {}, _sse_s3,
     f"drift: bucket datasets ({BUCKETS['datasets']}): encryption: expected aws:kms with the storage key, got AES256"),
    ("bucket-versioning", {}, _enable_versioning,
     f"drift: bucket models ({BUCKETS['models']}): versioning: expected not Enabled, got Enabled"),
    ("public-access-block", {}, _drop_public_access_block,
     f"drift: bucket artifacts ({BUCKETS['artifacts']}): public access block: expected all four on, got none"),
    ("ecr-scan-on-push", {}, _scan_off,
     "drift: repository trainer (fraud-dev/trainer): scan on push: expected True, got False"),
    ("ecr-tag-mutability", {}, _immutable_tags,
     "drift: repository scorer (fraud-dev/scorer): tag mutability: expected MUTABLE, got IMMUTABLE"),
    ("eks-version", {"cluster_version": "1.30"}, None,
     "drift: EKS cluster fraud-dev: Kubernetes version: expected 1.35, got 1.30"),
    ("node-group-bounds", {}, _widen_gpu_pool,
     f"drift: GPU pool l4 ({GPU_GROUP}): scaling bounds: expected min 0, max 4, got min 0, max 8"),
    ("endpoint-missing", {}, _delete_endpoint,
     f"drift: endpoint scorer ({ENDPOINT}): exists: expected deployed, got missing"),
    ("endpoint-variants", {"variant": "blue"}, None,
     f"drift: endpoint scorer ({ENDPOINT}): variants: expected main, got blue"),
    # moto cannot delete a model package group: deploy without it (the outputs still name it).
    ("model-registry", {"model_registry": False}, None,
     "drift: model registry fraud-detector (fraud-dev-fraud-detector): exists: expected deployed, got missing"),
    ("alert-topic", {}, _delete_topic,
     f"drift: alert topic ({TOPIC}): exists: expected deployed, got missing"),
    ("alarm", {}, _delete_alarm,
     "drift: alarm fraud-dev-scorer-main-p99-latency: exists: expected deployed, got missing"),
]


@pytest.mark.parametrize(("overrides", "mutate", "expected"), [d[1:] for d in DRIFTS], ids=[d[0] for d in DRIFTS])
def test_verify_fails_naming_each_kind_of_drift(
    aws: Aws, moto_url: str, aws_env: dict[str, str], dev_plan: Plan, tmp_path: Path,
    overrides: dict[str, Any], mutate: Mutation | None, expected: str,
) -> None:
    outputs = deploy_dev(aws, dev_plan, **overrides)
    if mutate is not None:
        mutate(aws, outputs)
    result = run_verify(aws_env, moto_url, outputs, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = drift_lines(result)
    assert any(line.startswith(expected) for line in lines), "\n".join(lines) or result.stdout
    assert len(lines) == 1, lines  # only that drift


def test_verify_reads_outputs_of_the_same_stack_only(
    moto_url: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_verify(aws_env, moto_url, {"cloud": "aws", "region": "eu-west-1", "environment": "dev"}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert any(line.endswith("region: the outputs are from another stack (got 'eu-west-1', stack dev declares "
                             "'us-east-1')") for line in lines), lines
    assert any(": bucket_names: missing (stack dev exports it" in line for line in lines), lines


def test_verify_refuses_a_stack_that_is_not_on_aws(moto_url: str, aws_env: dict[str, str], tmp_path: Path) -> None:
    result = run_verify(aws_env, moto_url, {"cloud": "gcp"}, tmp_path, stack="gcp-dev")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["verify checks AWS stacks only (stack gcp-dev is on gcp)"]


def test_verify_says_when_aws_cannot_be_reached(aws_env: dict[str, str], dev_plan: Plan, tmp_path: Path) -> None:
    outputs = dict(dev_plan.outputs)
    outputs["kubeconfig"] = "[secret]"
    # A loopback port nobody listens on.
    result = run_verify(aws_env, "http://127.0.0.1:9", outputs, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("cannot reach AWS: ")


# --- in process, against the same emulator (kinds that need no second CLI run) ---------------------------


def _verify(aws: Aws, moto_url: str, plan: Plan, outputs: dict[str, Any]) -> verify.VerifyReport:
    return verify.run(plan, outputs, verify.boto3_clients(REGION, moto_url))


@pytest.fixture
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import DUMMY_AWS_ENV

    for key, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("dummy_credentials")
def test_every_declared_resource_is_checked(aws: Aws, moto_url: str, dev_plan: Plan) -> None:
    report = _verify(aws, moto_url, dev_plan, deploy_dev(aws, dev_plan))
    assert report.drifted == []
    resources = {c.resource for c in report.checks}
    assert {f"bucket {b} ({p})" for b, p in BUCKETS.items()} <= resources
    assert {"repository trainer (fraud-dev/trainer)", "repository scorer (fraud-dev/scorer)",
            "EKS cluster fraud-dev", f"system node group system ({SYSTEM_GROUP})", f"GPU pool l4 ({GPU_GROUP})",
            f"endpoint scorer ({ENDPOINT})", f"endpoint scorer ({ENDPOINT}) variant main",
            "model registry fraud-detector (fraud-dev-fraud-detector)", f"alert topic ({TOPIC})"} <= resources
    assert {f"alarm {name}" for name in alarm_names(dev_plan)} <= resources
    assert {(c.resource, c.check) for c in report.checks} >= {
        (f"GPU pool l4 ({GPU_GROUP})", "capacity type"),
        (f"endpoint scorer ({ENDPOINT}) variant main", "autoscaling bounds"),
        (f"alert topic ({TOPIC})", "subscription ml-oncall@example.com"),
    }


@pytest.mark.usefixtures("dummy_credentials")
@pytest.mark.parametrize(
    ("mutate", "resource", "check", "actual"),
    [
        (lambda aws: aws("application-autoscaling").register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=f"endpoint/{ENDPOINT}/variant/main",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=5),
         f"endpoint scorer ({ENDPOINT}) variant main", "autoscaling bounds", "min 1, max 5"),
        (lambda aws: aws("eks").delete_nodegroup(clusterName="fraud-dev", nodegroupName=SYSTEM_GROUP),
         "system node group system", "exists", "missing"),
        (lambda aws: aws("sns").unsubscribe(SubscriptionArn=aws("sns").list_subscriptions()["Subscriptions"][0][
            "SubscriptionArn"]),
         f"alert topic ({TOPIC})", "subscription ml-oncall@example.com", "missing"),
        (lambda aws: aws("s3").delete_bucket(Bucket=BUCKETS["datasets"]),
         f"bucket datasets ({BUCKETS['datasets']})", "exists", "missing"),
    ],
    ids=["endpoint-autoscaling", "system-node-group-missing", "subscriber-missing", "bucket-missing"],
)
def test_more_drift_is_named(aws: Aws, moto_url: str, dev_plan: Plan, mutate: Callable[[Aws], Any],
                             resource: str, check: str, actual: str) -> None:
    outputs = deploy_dev(aws, dev_plan)
    mutate(aws)
    report = _verify(aws, moto_url, dev_plan, outputs)
    assert [(c.resource, c.check, c.actual) for c in report.drifted] == [(resource, check, actual)]


@pytest.mark.usefixtures("dummy_credentials")
def test_an_endpoint_on_another_instance_type_is_drift(aws: Aws, moto_url: str, dev_plan: Plan) -> None:
    report = _verify(aws, moto_url, dev_plan, deploy_dev(aws, dev_plan, instance="ml.g4dn.xlarge"))
    assert [c.line() for c in report.drifted] == [
        f"drift: endpoint scorer ({ENDPOINT}) variant main: instance type: expected ml.m5.large, got ml.g4dn.xlarge"
    ]


def test_outputs_with_secret_placeholders_are_refused(dev_plan: Plan, tmp_path: Path) -> None:
    from mlfabric.errors import UsageError

    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**dev_plan.outputs, "alert_topic": "[secret]"}))
    with pytest.raises(UsageError) as caught:
        verify.load_outputs(path, dev_plan)
    assert caught.value.problems == [
        f"{path}: alert_topic: a secret placeholder (run `pulumi stack output --json --show-secrets`)"
    ]
