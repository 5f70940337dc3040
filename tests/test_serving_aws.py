"""AwsServing under the mock runtime.

What a mock test cannot prove: that SageMaker accepts these inputs together and brings the endpoint
InService (instance quotas, the image really serving on port 8080, the role propagated in IAM before
CreateModel), that a blue/green canary really shifts traffic and rolls back when an alarm fires, that
data capture lands in S3, or that Application Auto Scaling tracks the target. moto's SageMaker knows
only old instance types (no ml.g5/g6), which is irrelevant here: no boto3 call is made. Those need a
real account (README: limits).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.aws.monitoring import AwsMonitoring
from mlfabric.components.aws.registry import AwsRegistry
from mlfabric.components.aws.serving import AwsServing, has_local_storage, instance_type
from mlfabric.components.aws.storage import AwsStorage
from mlfabric.components.concerns import ServingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import EndpointSpec, SpecError, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:serving:AwsServing"
MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
ROLE = "aws:iam/role:Role"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:fraud-prod-alerts"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
ARTIFACTS = "fraud-prod-artifacts-abc1234"
SUBNETS = ["subnet-0a", "subnet-0b", "subnet-0c"]

# prod pins images outside the platform's registry by digest
OUTSIDE_IMAGE = "ghcr.io/acme/ranker@sha256:abababababababababababababababababababababababababababababababab"
REGISTRY_SECTION = {"repositories": ["trainer", "scorer"], "models": ["fraud-detector"]}
AB_ENDPOINT: dict[str, Any] = {
    "name": "scorer",
    "model": "fraud-detector",
    "image": "scorer:1.4.2",
    "accelerator": "a10g",
    "min_replicas": 2,
    "max_replicas": 8,
    "target_invocations_per_replica": 200,
    "traffic": {"strategy": "canary", "canary_percent": 10, "bake_minutes": 15,
                "challenger": {"image": "scorer:1.5.0", "percent": 20}},
}
SHADOW_ENDPOINT: dict[str, Any] = {
    "name": "ranker",
    "model": "fraud-detector",
    "image": "scorer:1.4.2",
    "traffic": {"strategy": "linear", "canary_percent": 25, "bake_minutes": 5,
                "shadow": {"image": OUTSIDE_IMAGE, "percent": 30}},
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
class FakeNetwork:
    network_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]


@dataclass(frozen=True)
class FakeMonitoring:
    alert_topic: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]


def handles(buckets: tuple[str, ...] = ("datasets", "artifacts", "models")) -> dict[str, object]:
    """Prerequisite handles made of plain values; must be called inside a program."""
    o = pulumi.Output.from_input
    names = {b: ARTIFACTS if b == "artifacts" else f"fraud-prod-{b}-abc1234" for b in buckets}
    return {
        "network": FakeNetwork(o("vpc-0123"), o(SUBNETS), o(["subnet-pub"])),
        "storage": FakeStorage(
            o(names), o({k: f"s3://{v}" for k, v in names.items()}),
            o({k: f"arn:aws:s3:::{v}" for k, v in names.items()}), o(KEY_ARN), o(""),
        ),
        "registry": FakeRegistry(
            o({r: f"{REGISTRY}/fraud-prod/{r}" for r in REGISTRY_SECTION["repositories"]}),
            o({"fraud-detector": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/fraud-prod-fraud-detector"}),
        ),
        "monitoring": FakeMonitoring(o(TOPIC_ARN), o("https://console")),
    }


# What one run of the mock runtime gave: every registration and the stack outputs.
Built = tuple[list[ResourceRecord], dict[str, Any]]


def run(program: Callable[[], None]) -> Built:
    records, outputs, _ = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-east-1"),
    )
    return records, outputs


def build(
    *endpoints: dict[str, Any],
    environment: str = "prod",
    monitoring: dict[str, Any] | None = None,
    network: bool = True,
    buckets: tuple[str, ...] = ("datasets", "artifacts", "models"),
) -> Built:
    spec = parse_spec(spec_data(
        "aws", environment, registry=REGISTRY_SECTION, serving={"endpoints": list(endpoints)},
        monitoring=monitoring or {},
    ))
    assert spec.serving is not None
    serving = spec.serving

    def program() -> None:
        prerequisites = handles(buckets)
        if not network:
            del prerequisites["network"]
        ctx = PlatformContext.from_spec(spec).with_handles(**prerequisites)
        component = AwsServing(spec.base_name, serving, ctx)
        assert isinstance(component, ServingOutputs)
        pulumi.export("endpoint_names", component.endpoint_names)
        pulumi.export("endpoint_urls", component.endpoint_urls)

    return run(program)


def named(records: list[ResourceRecord], type_token: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in of_type(records, type_token)}


@pytest.fixture(scope="module")
def prod() -> Built:
    return build(AB_ENDPOINT, SHADOW_ENDPOINT)


def test_creates_exact_children_for_an_ab_endpoint_and_a_shadowed_endpoint(prod: Built) -> None:
    records, _ = prod
    assert Counter(r.type for r in records if r.custom) == {
        SECURITY_GROUP: 1,
        ROLE: 2,           # one execution role per endpoint
        MODEL: 4,          # scorer: main + challenger; ranker: main + shadow
        CONFIG: 2,
        ENDPOINT: 2,
        ALARM: 11,         # 3 per production variant (3 variants) + 1 no-invocations per endpoint
        TARGET: 4,         # per variant, shadow included
        POLICY: 4,
    }
    component = only(records, COMPONENT)
    assert all(r.parent == component.urn for r in records if r.custom)


def test_endpoints_have_stable_platform_names_and_https_invocation_urls(prod: Built) -> None:
    records, outputs = prod
    assert {e["name"] for e in named(records, ENDPOINT).values()} == {"fraud-prod-scorer", "fraud-prod-ranker"}
    assert outputs["endpoint_names"] == {"scorer": "fraud-prod-scorer", "ranker": "fraud-prod-ranker"}
    assert outputs["endpoint_urls"]["scorer"] == (
        "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/fraud-prod-scorer/invocations"
    )


def test_ab_endpoint_splits_traffic_by_variant_weight(prod: Built) -> None:
    config = named(prod[0], CONFIG)["fraud-prod-scorer"]
    weights = {v["variantName"]: v["initialVariantWeight"] for v in config["productionVariants"]}
    assert weights == {"main": 80, "challenger": 20}
    assert "shadowProductionVariants" not in config


def test_shadow_endpoint_mirrors_a_share_of_requests_to_one_shadow_variant(prod: Built) -> None:
    config = named(prod[0], CONFIG)["fraud-prod-ranker"]
    assert [v["variantName"] for v in config["productionVariants"]] == ["main"]
    (shadow,) = config["shadowProductionVariants"]
    assert shadow["variantName"] == "shadow"
    # Relative to the main variant's weight of 100: 30 mirrors 30% of requests.
    assert (config["productionVariants"][0]["initialVariantWeight"], shadow["initialVariantWeight"]) == (100, 30)


def test_each_variant_serves_its_own_model_and_image(prod: Built) -> None:
    records, _ = prod
    models = named(records, MODEL)
    assert models["fraud-prod-scorer-main"]["primaryContainer"]["image"] == f"{REGISTRY}/fraud-prod/scorer:1.4.2"
    assert models["fraud-prod-scorer-challenger"]["primaryContainer"]["image"] == f"{REGISTRY}/fraud-prod/scorer:1.5.0"
    # A full image URL is used as given.
    assert models["fraud-prod-ranker-shadow"]["primaryContainer"]["image"] == OUTSIDE_IMAGE
    config = named(records, CONFIG)["fraud-prod-scorer"]
    model_names = {r.name: r.id for r in of_type(records, MODEL)}
    assert {v["modelName"] for v in config["productionVariants"]} == {
        model_names["fraud-prod-scorer-main"], model_names["fraud-prod-scorer-challenger"]
    }


def test_models_are_network_isolated_in_the_private_subnets_behind_an_egress_only_group(prod: Built) -> None:
    records, _ = prod
    group = only(records, SECURITY_GROUP)
    assert group.inputs["vpcId"] == "vpc-0123"
    assert not group.inputs.get("ingress")
    assert [(e["protocol"], e["fromPort"], e["toPort"]) for e in group.inputs["egress"]] == [("tcp", 443, 443)]
    for model in named(records, MODEL).values():
        assert model["enableNetworkIsolation"] is True
        assert model["vpcConfig"] == {"subnets": SUBNETS, "securityGroupIds": [group.id]}


def test_without_a_network_models_have_no_vpc_config_and_no_security_group() -> None:
    records, _ = build(SHADOW_ENDPOINT, network=False)
    assert not of_type(records, SECURITY_GROUP)
    assert all("vpcConfig" not in m for m in named(records, MODEL).values())


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"instance": "ml.c6i.2xlarge"}, "ml.c6i.2xlarge"),
        ({"instance": "g5.2xlarge"}, "ml.g5.2xlarge"),
        ({"accelerator": "a10g"}, "ml.g5.xlarge"),
        ({"accelerator": "t4"}, "ml.g4dn.xlarge"),
        ({"accelerator": "l4"}, "ml.g6.xlarge"),
        ({}, "ml.m5.xlarge"),
    ],
)
def test_instance_type_comes_from_the_spec_or_the_catalogue(fields: dict[str, str], expected: str) -> None:
    endpoint = EndpointSpec(name="scorer", model="fraud-detector", image="scorer:1", **fields)
    assert instance_type(endpoint) == expected


@pytest.mark.parametrize(
    ("instance", "local"),
    [("ml.g5.xlarge", True), ("ml.g4dn.xlarge", True), ("ml.p4d.24xlarge", True), ("ml.g6.xlarge", True),
     ("ml.m5d.large", True), ("ml.c6id.xlarge", True), ("ml.m5.xlarge", False), ("ml.c6i.large", False),
     ("ml.inf2.xlarge", False), ("ml.p3.2xlarge", False)],
)
def test_instance_types_with_local_nvme_storage_are_recognised(instance: str, local: bool) -> None:
    assert has_local_storage(instance) is local


def test_volumes_use_the_storage_key_except_on_instances_with_local_storage(prod: Built) -> None:
    configs = named(prod[0], CONFIG)
    # ml.g5.xlarge has NVMe instance storage: SageMaker rejects a volume key there (hardware-encrypted).
    assert {v["instanceType"] for v in configs["fraud-prod-scorer"]["productionVariants"]} == {"ml.g5.xlarge"}
    assert "kmsKeyArn" not in configs["fraud-prod-scorer"]
    assert configs["fraud-prod-ranker"]["productionVariants"][0]["instanceType"] == "ml.m5.xlarge"
    assert configs["fraud-prod-ranker"]["kmsKeyArn"] == KEY_ARN


def test_variants_start_at_min_replicas(prod: Built) -> None:
    configs = named(prod[0], CONFIG)
    counts = [v["initialInstanceCount"] for c in configs.values()
              for v in c["productionVariants"] + c.get("shadowProductionVariants", [])]
    assert counts == [2, 2, 2, 2]


def test_prod_captures_the_default_share_of_traffic_to_the_artifacts_bucket_encrypted(prod: Built) -> None:
    capture = named(prod[0], CONFIG)["fraud-prod-scorer"]["dataCaptureConfig"]
    assert capture["enableCapture"] is True
    assert capture["initialSamplingPercentage"] == 20
    assert capture["destinationS3Uri"] == f"s3://{ARTIFACTS}/data-capture/fraud-prod-scorer"
    assert capture["kmsKeyId"] == KEY_ARN
    assert [o["captureMode"] for o in capture["captureOptions"]] == ["Input", "Output"]


def test_data_capture_percent_follows_the_spec_and_zero_disables_it() -> None:
    records, _ = build({**SHADOW_ENDPOINT, "data_capture_percent": 5}, {**AB_ENDPOINT, "data_capture_percent": 0})
    configs = named(records, CONFIG)
    assert configs["fraud-prod-ranker"]["dataCaptureConfig"]["initialSamplingPercentage"] == 5
    assert "dataCaptureConfig" not in configs["fraud-prod-scorer"]


def test_dev_captures_nothing_and_needs_no_artifacts_bucket() -> None:
    records, _ = build(SHADOW_ENDPOINT, environment="dev", buckets=("datasets",))
    assert "dataCaptureConfig" not in only(records, CONFIG).inputs


def test_data_capture_without_an_artifacts_bucket_is_refused_by_the_spec_with_the_field_named() -> None:
    # validate refuses it (spec_rules), so the program never meets it
    with pytest.raises(SpecError, match=r"serving\.endpoints\[0\]\.data_capture_percent: data capture writes to the "
                       r"'artifacts' bucket, which storage\.buckets does not declare \(got 20\)"):
        parse_spec(spec_data("aws", "prod", registry=REGISTRY_SECTION, serving={"endpoints": [SHADOW_ENDPOINT]},
                             storage={"buckets": [{"name": "datasets"}]}))


def test_a_canary_rollout_bakes_each_step_and_rolls_back_on_the_variant_alarms(prod: Built) -> None:
    records, _ = prod
    config = named(records, ENDPOINT)["fraud-prod-scorer"]["deploymentConfig"]
    policy = config["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"] == {
        "type": "CANARY",
        "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
        "waitIntervalInSeconds": 15 * 60,
    }
    assert policy["terminationWaitInSeconds"] == 15 * 60
    assert 600 <= policy["maximumExecutionTimeoutInSeconds"] <= 28800
    rollback = {a["alarmName"] for a in config["autoRollbackConfiguration"]["alarms"]}
    assert rollback == {
        f"fraud-prod-scorer-{variant}-{kind}"
        for variant in ("main", "challenger") for kind in ("p99-latency", "5xx-rate", "4xx-rate")
    }
    assert rollback <= {a["name"] for a in named(records, ALARM).values()}


def test_a_linear_rollout_moves_traffic_in_canary_percent_steps(prod: Built) -> None:
    routing = named(prod[0], ENDPOINT)["fraud-prod-ranker"]["deploymentConfig"]["blueGreenUpdatePolicy"][
        "trafficRoutingConfiguration"
    ]
    assert routing == {
        "type": "LINEAR", "linearStepSize": {"type": "CAPACITY_PERCENT", "value": 25}, "waitIntervalInSeconds": 300,
    }


def test_an_all_at_once_rollout_shifts_everything_and_still_bakes() -> None:
    endpoint = {**SHADOW_ENDPOINT, "traffic": {"strategy": "all-at-once", "bake_minutes": 20}}
    routing = only(build(endpoint)[0], ENDPOINT).inputs["deploymentConfig"]["blueGreenUpdatePolicy"][
        "trafficRoutingConfiguration"
    ]
    assert routing == {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 1200}


def test_latency_alarms_compare_p99_model_latency_in_microseconds_with_the_spec() -> None:
    records, _ = build(AB_ENDPOINT, monitoring={"latency_p99_ms": 250})
    latency = [a for a in named(records, ALARM).values() if a.get("metricName") == "ModelLatency"]
    assert len(latency) == 2
    for alarm in latency:
        assert alarm["namespace"] == "AWS/SageMaker"
        assert alarm["extendedStatistic"] == "p99"
        assert alarm["threshold"] == 250_000
        assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert {a["dimensions"]["VariantName"] for a in latency} == {"main", "challenger"}


def test_error_rate_alarms_divide_5xx_and_4xx_by_invocations_against_the_spec_percent() -> None:
    records, _ = build(SHADOW_ENDPOINT, monitoring={"error_rate_percent": 2.5})
    alarms = named(records, ALARM)
    for kind in ("5XX", "4XX"):
        alarm = alarms[f"fraud-prod-ranker-main-{kind.lower()}-rate"]
        queries = {q["id"]: q for q in alarm["metricQueries"]}
        assert queries["errors"]["metric"]["metricName"] == f"Invocation{kind}Errors"
        assert queries["invocations"]["metric"]["metricName"] == "Invocations"
        assert queries["rate"] == {
            "id": "rate", "expression": "100 * errors / invocations", "label": f"{kind} rate (%)", "returnData": True,
        }
        assert queries["errors"]["metric"]["dimensions"] == {"EndpointName": "fraud-prod-ranker", "VariantName": "main"}
        assert alarm["threshold"] == 2.5


def test_every_alarm_notifies_the_monitoring_topic(prod: Built) -> None:
    for alarm in named(prod[0], ALARM).values():
        assert alarm["alarmActions"] == [TOPIC_ARN]
        assert alarm["okActions"] == [TOPIC_ARN]


def test_invocations_dropping_to_zero_alarms_but_does_not_roll_back(prod: Built) -> None:
    records, _ = prod
    alarm = named(records, ALARM)["fraud-prod-scorer-no-invocations"]
    assert (alarm["metricName"], alarm["statistic"], alarm["comparisonOperator"], alarm["threshold"]) == (
        "Invocations", "Sum", "LessThanThreshold", 1
    )
    assert alarm["treatMissingData"] == "breaching"
    rollback = named(records, ENDPOINT)["fraud-prod-scorer"]["deploymentConfig"]["autoRollbackConfiguration"]
    assert "fraud-prod-scorer-no-invocations" not in {a["alarmName"] for a in rollback["alarms"]}


def test_every_variant_autoscales_between_min_and_max_on_invocations_per_instance(prod: Built) -> None:
    records, _ = prod
    targets = named(records, TARGET)
    assert {t["resourceId"] for t in targets.values()} == {
        "endpoint/fraud-prod-scorer/variant/main", "endpoint/fraud-prod-scorer/variant/challenger",
        "endpoint/fraud-prod-ranker/variant/main", "endpoint/fraud-prod-ranker/variant/shadow",
    }
    scorer = targets["fraud-prod-scorer-main"]
    assert (scorer["minCapacity"], scorer["maxCapacity"]) == (2, 8)
    assert scorer["serviceNamespace"] == "sagemaker"
    assert scorer["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (targets["fraud-prod-ranker-shadow"]["minCapacity"], targets["fraud-prod-ranker-shadow"]["maxCapacity"]) == (2, 4)
    policies = named(records, POLICY)
    tracking = policies["fraud-prod-scorer-main"]["targetTrackingScalingPolicyConfiguration"]
    assert policies["fraud-prod-scorer-main"]["policyType"] == "TargetTrackingScaling"
    assert tracking["targetValue"] == 200
    assert tracking["predefinedMetricSpecification"] == {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert policies["fraud-prod-ranker-shadow"]["resourceId"] == "endpoint/fraud-prod-ranker/variant/shadow"


def wildcard_violations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Allow statements with a `*` action, or a service-wide `svc:*` action on every resource."""
    bad = []
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "*" in actions or ("*" in resources and any(a.endswith(":*") for a in actions)):
            bad.append(statement)
    return bad


def test_execution_roles_are_assumable_only_by_sagemaker_and_scoped_to_the_platform(prod: Built) -> None:
    roles = named(prod[0], ROLE)
    assert set(roles) == {"fraud-prod-scorer-execution", "fraud-prod-ranker-execution"}
    for role in roles.values():
        (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        (inline,) = role["inlinePolicies"]
        assert wildcard_violations(json.loads(inline["policy"])) == []
    scorer = {s["Sid"]: s for s in json.loads(roles["fraud-prod-scorer-execution"]["inlinePolicies"][0]["policy"])["Statement"]}
    assert scorer["PullServingImages"]["Resource"] == [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/fraud-prod/scorer"]
    assert scorer["CaptureRequestsAndResponses"]["Resource"] == (
        f"arn:aws:s3:::{ARTIFACTS}/data-capture/fraud-prod-scorer/*"
    )
    assert scorer["EncryptCapturedDataWithThePlatformKey"]["Resource"] == KEY_ARN
    assert scorer["ManageEnisInThePlatformVpc"]["Condition"] == {
        "ArnEquals": {"ec2:Vpc": f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0123"}
    }
    # The models run on the execution role of their own endpoint.
    models = named(prod[0], MODEL)
    assert models["fraud-prod-scorer-main"]["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/fraud-prod-scorer-serving"


def test_an_image_outside_ecr_grants_no_registry_access() -> None:
    endpoint = {**SHADOW_ENDPOINT, "image": OUTSIDE_IMAGE, "data_capture_percent": 0}
    role = only(build(endpoint, network=False)[0], ROLE)
    sids = {s["Sid"] for s in json.loads(role.inputs["inlinePolicies"][0]["policy"])["Statement"]}
    assert sids == {"WriteEndpointLogs"}


def test_a_challenger_and_a_shadow_on_one_endpoint_is_refused_with_the_field_named() -> None:
    endpoint = {**AB_ENDPOINT, "traffic": {**AB_ENDPOINT["traffic"], "shadow": {"image": "scorer:2", "percent": 5}}}
    # The spec refuses it before any component runs (the component keeps its own guard too).
    with pytest.raises(SpecError, match=r"serving\.endpoints\[0\]\.traffic\.shadow: SageMaker runs a shadow variant only"):
        build(endpoint)


def test_a_bake_longer_than_sagemakers_hour_is_refused() -> None:
    endpoint = {**SHADOW_ENDPOINT, "traffic": {"strategy": "canary", "bake_minutes": 90}}
    with pytest.raises(SpecError, match=r"traffic\.bake_minutes: SageMaker bakes each step at most 60 minutes \(got 90\)"):
        build(endpoint)


def test_a_linear_rollout_longer_than_eight_hours_is_refused() -> None:
    endpoint = {**SHADOW_ENDPOINT, "traffic": {"strategy": "linear", "canary_percent": 5, "bake_minutes": 60}}
    with pytest.raises(SpecError, match=r"serving\.endpoints\[0\]\.traffic: a linear rollout in 5% steps baking 60 "
                       "minutes each exceeds SageMaker's 8-hour deployment limit"):
        build(endpoint)


def test_serving_reads_the_real_registry_storage_and_monitoring_components() -> None:
    spec = parse_spec(spec_data(
        "aws", "prod", registry=REGISTRY_SECTION, serving={"endpoints": [SHADOW_ENDPOINT]},
    ))
    assert spec.registry is not None and spec.serving is not None
    registry_spec, serving_spec = spec.registry, spec.serving

    def program() -> None:
        ctx = PlatformContext.from_spec(spec)
        ctx = ctx.with_handles(storage=AwsStorage(spec.base_name, spec.storage, ctx))
        ctx = ctx.with_handles(registry=AwsRegistry(spec.base_name, registry_spec, ctx))
        ctx = ctx.with_handles(monitoring=AwsMonitoring(spec.base_name, spec.monitoring, ctx))
        AwsServing(spec.base_name, serving_spec, ctx)

    records, _ = run(program)
    topic = only(records, "aws:sns/topic:Topic")
    bucket = only(records, "aws:s3/bucket:Bucket", "fraud-prod-artifacts")
    storage_key = only(records, "aws:kms/key:Key", "fraud-prod-storage")
    config = only(records, CONFIG).inputs
    assert config["dataCaptureConfig"]["destinationS3Uri"] == f"s3://{bucket.id}/data-capture/fraud-prod-ranker"
    assert config["kmsKeyArn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{storage_key.id}"
    assert named(records, MODEL)["fraud-prod-ranker-main"]["primaryContainer"]["image"] == (
        f"{REGISTRY}/fraud-prod/scorer:1.4.2"
    )
    serving_alarms = [a for a in of_type(records, ALARM) if a.name.startswith("fraud-prod-ranker")]
    assert {a.inputs["alarmActions"][0] for a in serving_alarms} == {f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic.inputs['name']}"}
