"""`mlfabric preflight`: quota arithmetic with botocore's Stubber, the rest against moto_server.

moto has no Service Quotas for EC2 or SageMaker, so the quota logic is exercised by calling the
preflight functions with clients whose calls are answered by ``botocore.stub.Stubber``: every
request and every canned response is validated against the real service models, so a wrong
parameter name or response shape fails here as it would against AWS. The instance-type offering
checks and the CLI run against moto (its offerings are AWS's own published lists).

What these tests cannot prove: the quota values a real account has, or that AWS keeps the quota
codes (L-DB2E81BA, ...) stable — they are documented by Service Quotas and listed in preflight.py.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from mlfabric import preflight
from mlfabric.cost import Cluster, Endpoint, Inventory, NodePool, Variant
from mlfabric.preflight import Finding, PreflightReport
from tests.helpers import ROOT

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def stubbed() -> Iterator[Callable[[str], tuple[Any, Stubber]]]:
    """A factory of (client, activated Stubber); every stubbed call must have been made at the end."""
    stubbers: list[Stubber] = []

    def make(service: str) -> tuple[Any, Stubber]:
        client = boto3.client(service, region_name="us-east-1",  # type: ignore[call-overload]
                              aws_access_key_id="stub", aws_secret_access_key="stub")
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return client, stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def clients_of(**clients: Any) -> preflight.ClientFactory:
    return lambda service: clients[service.replace("-", "_")]


def quota(code: str, name: str, value: float, service: str = "ec2") -> dict[str, Any]:
    return {"Quota": {"ServiceCode": service, "QuotaCode": code, "QuotaName": name, "Value": value,
                      "Unit": "None", "Adjustable": True, "GlobalQuota": False}}


POOLS = [
    NodePool("system", "system", "m6i.large", 2, 4, False, 50),
    NodePool("a10g", "gpu", "g5.xlarge", 0, 2, False, 200),
    NodePool("l4", "gpu", "g6.xlarge", 0, 4, True, 200),
    NodePool("a100", "gpu", "p4de.24xlarge", 0, 2, False, 200),
    NodePool("idle", "gpu", "g6.48xlarge", 0, 0, False, 200),
]


@pytest.mark.parametrize(
    ("instance", "klass"),
    [("g6.xlarge", "G and VT"), ("g4dn.12xlarge", "G and VT"), ("vt1.3xlarge", "G and VT"),
     ("p4de.24xlarge", "P"), ("p5.48xlarge", "P"), ("inf2.xlarge", "Inf"), ("trn1.32xlarge", "Trn"),
     ("dl1.24xlarge", "DL"), ("x2idn.16xlarge", "X"), ("f1.2xlarge", "F"), ("m6i.large", "Standard"),
     ("c7gn.large", "Standard"), ("t3.medium", "Standard")],
)
def test_instance_types_map_to_their_vcpu_quota_class(instance: str, klass: str) -> None:
    assert preflight.quota_class(instance).name == klass


def test_vcpu_needs_add_up_node_groups_at_max_size_per_quota_and_purchase_option() -> None:
    needs = preflight.vcpu_needs(POOLS, preflight.instance_vcpus(p.machine for p in POOLS))
    assert [(n.code, n.vcpus) for n in needs] == [
        ("L-DB2E81BA", 2 * 4),     # G and VT on-demand: a10g 2 x g5.xlarge (4 vCPUs)
        ("L-3819A6DF", 4 * 4),     # G and VT spot: l4 4 x g6.xlarge (4 vCPUs)
        ("L-417A185B", 2 * 96),    # P on-demand: a100 2 x p4de.24xlarge (96 vCPUs)
        ("L-1216C47A", 4 * 2),     # Standard on-demand: system 4 x m6i.large (2 vCPUs)
    ]
    assert needs[2].parts == ("a100: 2 x p4de.24xlarge x 96 vCPUs",)


def test_vcpu_quotas_subtract_other_workloads_and_fall_back_to_the_default(
    stubbed: Callable[[str], tuple[Any, Stubber]],
) -> None:
    ec2, ec2_stub = stubbed("ec2")
    quotas, quotas_stub = stubbed("service-quotas")
    ec2_stub.add_response(
        "describe_instances",
        {"Reservations": [{"Instances": [
            # another team's on-demand g5.2xlarge: 8 vCPUs of the G and VT on-demand quota
            {"InstanceId": "i-1", "InstanceType": "g5.2xlarge", "CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 2}},
            # this cluster's own system node: not "in use by others"
            {"InstanceId": "i-2", "InstanceType": "m6i.large", "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
             "Tags": [{"Key": "eks:cluster-name", "Value": "fraud-prod"}]},
            # a spot g6.xlarge elsewhere: 4 vCPUs of the spot quota
            {"InstanceId": "i-3", "InstanceType": "g6.xlarge", "InstanceLifecycle": "spot",
             "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2}},
        ]}]},
        {"Filters": [{"Name": "instance-state-name", "Values": ["pending", "running"]}]},
    )
    quotas_stub.add_response("get_service_quota", quota("L-DB2E81BA", "Running On-Demand G and VT instances", 24.0),
                             {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"})
    quotas_stub.add_response("get_service_quota", quota("L-3819A6DF", "All G and VT Spot Instance Requests", 16.0),
                             {"ServiceCode": "ec2", "QuotaCode": "L-3819A6DF"})
    # Never raised: GetServiceQuota has no applied value, the default applies.
    quotas_stub.add_client_error("get_service_quota", "NoSuchResourceException", http_status_code=400,
                                 expected_params={"ServiceCode": "ec2", "QuotaCode": "L-417A185B"})
    quotas_stub.add_response("get_aws_default_service_quota", quota("L-417A185B", "Running On-Demand P instances", 0.0),
                             {"ServiceCode": "ec2", "QuotaCode": "L-417A185B"})
    quotas_stub.add_client_error("get_service_quota", "AccessDeniedException", http_status_code=403,
                                 expected_params={"ServiceCode": "ec2", "QuotaCode": "L-1216C47A"})

    found = Inventory("aws", "us-east-1", [Cluster("fraud-prod", "1.31")], POOLS)
    findings = preflight.check_vcpu_quotas(found, clients_of(ec2=ec2, service_quotas=quotas))

    assert [(f.subject, f.need, f.available, f.status) for f in findings] == [
        ("Running On-Demand G and VT instances (L-DB2E81BA)", "8 vCPUs",
         "16 vCPUs (applied quota 24, 8 in use)", "ok"),
        ("All G and VT Spot Instance Requests (L-3819A6DF)", "16 vCPUs",
         "12 vCPUs (applied quota 16, 4 in use)", "short"),
        ("Running On-Demand P instances (L-417A185B)", "192 vCPUs",
         "0 vCPUs (default quota 0, 0 in use)", "short"),
        ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A)", "8 vCPUs",
         "unknown", "unknown"),
    ]
    assert findings[3].detail.startswith("cannot read L-1216C47A: AccessDeniedException")


ENDPOINTS = [
    Endpoint("scorer", "fraud-prod-scorer", (Variant("main", "ml.g5.xlarge", 2, 4),
                                              Variant("challenger", "ml.g5.xlarge", 1, 4))),
    Endpoint("ranker", "fraud-prod-ranker", (Variant("main", "ml.m5.large", 1, 2),
                                              Variant("shadow", "ml.m5.large", 1, 2, shadow=True))),
    Endpoint("vision", "fraud-prod-vision", (Variant("main", "ml.g6.xlarge", 1, 1),)),
]


def sagemaker_quota(instance: str, value: float) -> Any:
    return quota(f"L-{abs(hash(instance)) % 10**8:08d}", f"{instance} for endpoint usage", value, "sagemaker")["Quota"]


def test_endpoint_needs_count_every_variant_at_max_twice_for_blue_green() -> None:
    found = Inventory("aws", "us-east-1", endpoints=ENDPOINTS)
    needs = preflight.endpoint_instance_needs(found)
    assert {k: v[0] for k, v in needs.items()} == {
        "ml.g5.xlarge": (4 + 4) * 2, "ml.m5.large": (2 + 2) * 2, "ml.g6.xlarge": 1 * 2}


def _endpoint_quota_stubs(stubbed: Callable[[str], tuple[Any, Stubber]], m5_default: float) -> preflight.ClientFactory:
    quotas, quotas_stub = stubbed("service-quotas")
    sagemaker, sagemaker_stub = stubbed("sagemaker")
    quotas_stub.add_response("list_aws_default_service_quotas", {"Quotas": [
        sagemaker_quota("ml.g5.xlarge", 4.0), sagemaker_quota("ml.m5.large", m5_default)]},
        {"ServiceCode": "sagemaker"})
    quotas_stub.add_response("list_service_quotas", {"Quotas": [sagemaker_quota("ml.g5.xlarge", 20.0)]},
                             {"ServiceCode": "sagemaker"})
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/"
    sagemaker_stub.add_response("list_endpoints", {"Endpoints": [
        {"EndpointName": "fraud-prod-scorer", "EndpointArn": arn + "fraud-prod-scorer", "CreationTime": NOW,
         "LastModifiedTime": NOW, "EndpointStatus": "InService"},
        {"EndpointName": "other-team", "EndpointArn": arn + "other-team", "CreationTime": NOW,
         "LastModifiedTime": NOW, "EndpointStatus": "InService"},
    ]}, {})
    sagemaker_stub.add_response("describe_endpoint", {
        "EndpointName": "other-team", "EndpointArn": arn + "other-team", "EndpointConfigName": "other-team-1",
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 3}],
        "EndpointStatus": "InService", "CreationTime": NOW, "LastModifiedTime": NOW,
    }, {"EndpointName": "other-team"})
    sagemaker_stub.add_response("describe_endpoint_config", {
        "EndpointConfigName": "other-team-1", "EndpointConfigArn": arn.replace("endpoint/", "endpoint-config/") + "o",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.g5.xlarge",
                                "InitialInstanceCount": 3}],
        "CreationTime": NOW,
    }, {"EndpointConfigName": "other-team-1"})
    return clients_of(service_quotas=quotas, sagemaker=sagemaker)


def test_endpoint_quotas_use_applied_values_over_defaults_and_subtract_other_endpoints(
    stubbed: Callable[[str], tuple[Any, Stubber]],
) -> None:
    found = Inventory("aws", "us-east-1", endpoints=ENDPOINTS)
    findings = preflight.check_endpoint_quotas(found, _endpoint_quota_stubs(stubbed, m5_default=8.0))
    assert [(f.subject, f.need, f.available, f.status) for f in findings] == [
        ("ml.g5.xlarge for endpoint usage", "16 instances", "17 instances (applied quota 20, 3 in use)", "ok"),
        ("ml.g6.xlarge for endpoint usage", "2 instances", "not offered", "missing"),
        ("ml.m5.large for endpoint usage", "8 instances", "8 instances (default quota 8, 0 in use)", "ok"),
    ]
    assert findings[1].detail == "SageMaker has no ml.g6.xlarge for endpoints in us-east-1"


def test_an_endpoint_quota_one_instance_short_fails(stubbed: Callable[[str], tuple[Any, Stubber]]) -> None:
    found = Inventory("aws", "us-east-1", endpoints=ENDPOINTS[:2])
    findings = preflight.check_endpoint_quotas(found, _endpoint_quota_stubs(stubbed, m5_default=7.0))
    assert [(f.subject, f.status) for f in findings] == [
        ("ml.g5.xlarge for endpoint usage", "ok"), ("ml.m5.large for endpoint usage", "short")]
    assert findings[1].line() == (
        "short: SageMaker endpoint quota: ml.m5.large for endpoint usage: need 8 instances, available 7 instances "
        "(default quota 7, 0 in use) (ranker/main: 2 x 2 fleets; ranker/shadow: 2 x 2 fleets)")


def test_an_instance_type_offered_in_fewer_zones_than_the_platform_spans_is_a_warning(
    stubbed: Callable[[str], tuple[Any, Stubber]],
) -> None:
    ec2, stub = stubbed("ec2")
    filters = [{"Name": "instance-type", "Values": ["g6.xlarge", "m6i.large"]}]
    stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
        {"InstanceType": "g6.xlarge", "LocationType": "region", "Location": "us-east-1"},
        {"InstanceType": "m6i.large", "LocationType": "region", "Location": "us-east-1"}]},
        {"LocationType": "region", "Filters": filters})
    stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
        {"InstanceType": "g6.xlarge", "LocationType": "availability-zone", "Location": "us-east-1a"},
        *({"InstanceType": "m6i.large", "LocationType": "availability-zone", "Location": f"us-east-1{z}"} for z in "abc")]},
        {"LocationType": "availability-zone", "Filters": filters})
    found = Inventory("aws", "us-east-1", pools=[POOLS[0], POOLS[2]])
    findings = preflight.check_offerings(found, clients_of(ec2=ec2), zones_wanted=3)
    assert [(f.subject, f.available, f.status) for f in findings] == [
        ("g6.xlarge (node group l4)", "1 zones", "warn"), ("m6i.large (node group system)", "3 zones", "ok")]


def test_unknown_quotas_fail_only_in_strict_mode() -> None:
    unknown = Finding("EC2 vCPU quota", "x", "8 vCPUs", "unknown", "unknown")
    report = PreflightReport("dev", "us-east-1", [unknown, Finding("offered", "y", "1", "1", "warn")])
    assert (report.exit_code(), report.exit_code(strict=True)) == (0, 1)
    report.findings.append(Finding("EC2 vCPU quota", "z", "8 vCPUs", "4 vCPUs", "short"))
    assert report.exit_code() == 1


# --- the CLI against moto_server ----------------------------------------------------------------------


def mlfabric(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlfabric", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_preflight_of_the_dev_stack_passes_and_says_which_quotas_it_could_not_read(
    moto_url: str, aws_env: dict[str, str],
) -> None:
    result = mlfabric(aws_env, "preflight", "-s", "dev", "--endpoint-url", moto_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    # moto answers the offerings (us-east-1 offers both node types) but has no EC2/SageMaker quotas.
    assert sorted(line.split(":")[2].strip() for line in lines if line.startswith("unknown: ")) == [
        "All G and VT Spot Instance Requests (L-3819A6DF)",
        "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A)",
        "ml.m5.large for endpoint usage",
    ]
    assert lines[-1] == "preflight: nothing short, but 3 quota(s) could not be read (not verified)"
    strict = mlfabric(aws_env, "preflight", "-s", "dev", "--endpoint-url", moto_url, "--strict")
    assert strict.returncode == 1


def test_preflight_fails_when_the_region_does_not_offer_a_gpu_instance_type(
    moto_url: str, aws_env: dict[str, str], tmp_path: Path,
) -> None:
    data = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    data["config"]["mlfabric:platform"]["region"] = "eu-west-1"   # no g6 (L4) in eu-west-1
    path = tmp_path / "Pulumi.dev-eu.yaml"
    path.write_text(yaml.safe_dump(data))
    result = mlfabric(aws_env, "preflight", "--file", str(path), "--endpoint-url", moto_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("missing: offered in eu-west-1: g6.xlarge (node group l4): need offered, available not offered "
            "(EC2 does not offer g6.xlarge in eu-west-1)") in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == (
        "preflight: 1 problem(s): the account cannot hold stack dev-eu at full scale")


def test_preflight_refuses_a_stack_that_is_not_on_aws(moto_url: str, aws_env: dict[str, str]) -> None:
    result = mlfabric(aws_env, "preflight", "-s", "gcp-dev", "--endpoint-url", moto_url)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["preflight checks AWS stacks only (stack gcp-dev is on gcp)"]


def test_a_refused_call_leaves_its_check_unverified_instead_of_crashing(
    stubbed: Callable[[str], tuple[Any, Stubber]],
) -> None:
    from tests.helpers import plan

    stack = plan("aws", "dev", training={"gpu_pools": [{"name": "t4", "accelerator": "t4", "max_nodes": 2}]})
    ec2, stub = stubbed("ec2")
    quotas, _ = stubbed("service-quotas")
    filters = [{"Name": "instance-type", "Values": ["g4dn.xlarge", "m6i.large"]}]
    for location in ("region", "availability-zone"):
        stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
            {"InstanceType": t, "LocationType": location, "Location": "us-east-1"} for t in ("g4dn.xlarge", "m6i.large")]},
            {"LocationType": location, "Filters": filters})
    stub.add_client_error("describe_instances", "UnauthorizedOperation", http_status_code=403)
    report = preflight.run(stack, clients_of(ec2=ec2, service_quotas=quotas))
    assert [(f.check, f.status) for f in report.findings] == [
        ("offered in us-east-1", "warn"), ("offered in us-east-1", "warn"), ("EC2 vCPU quota", "unknown")]
    assert report.findings[-1].detail == "AWS refused a call: UnauthorizedOperation"
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1
