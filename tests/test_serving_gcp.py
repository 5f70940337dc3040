"""GcpServing under the mock runtime.

What a mock test cannot prove: that Cloud Run grants the project L4 quota in the region (zonal
redundancy needs its own quota), that the image really serves on port 8080 within the startup
probe, that the Cloud Run agent holds the storage key before the revision is created, or that these alert
filters match the metrics Cloud Run reports. Those need a real project (README: limits).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from mlfabric.components.concerns import ServingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import services_of
from mlfabric.components.gcp.serving import GcpServing, concurrency, service_name
from mlfabric.components.spec import EndpointSpec, MonitoringSpec, SpecError, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:serving:GcpServing"
RUN = "gcp:cloudrunv2/service:Service"
ACCOUNT = "gcp:serviceaccount/account:Account"
POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
KEY_USER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
SERVICE = "gcp:projects/service:Service"
PROJECT = "ml-platform-test"
NUMBER = "123456789012"
REGISTRY = f"us-central1-docker.pkg.dev/{PROJECT}"
KEY_ID = f"projects/{PROJECT}/locations/us-central1/keyRings/fraud-prod-storage-1/cryptoKeys/fraud-prod-storage-2"
CHANNELS = [f"projects/{PROJECT}/notificationChannels/1", f"projects/{PROJECT}/notificationChannels/2"]
NETWORK_ID = f"projects/{PROJECT}/global/networks/fraud-prod-1"
SUBNET_ID = f"projects/{PROJECT}/regions/us-central1/subnetworks/fraud-prod-1"
REGISTRY_SECTION = {"repositories": ["scorer"], "models": ["fraud-detector"]}
MONITORING = {"latency_p99_ms": 250, "error_rate_percent": 1.5}

GPU_ENDPOINT: dict[str, Any] = {
    "name": "scorer", "model": "fraud-detector", "image": "scorer:1.4.2", "accelerator": "l4",
    "min_replicas": 2, "max_replicas": 8, "target_invocations_per_replica": 600,
    "traffic": {"strategy": "all-at-once"}, "data_capture_percent": 0,
}
RANKER_DIGEST = "sha256:" + "0" * 64
CPU_ENDPOINT: dict[str, Any] = {
    "name": "ranker", "model": "fraud-detector", "image": f"ghcr.io/acme/ranker@{RANKER_DIGEST}",
    "instance": "n2-standard-8", "min_replicas": 2, "max_replicas": 4,
    "traffic": {"strategy": "all-at-once"}, "data_capture_percent": 0,
}


@dataclass(frozen=True)
class FakeNetwork:
    network_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]


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
class FakeMonitoring:
    alert_topic: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    notification_channels: pulumi.Output[list[str]]


@dataclass(frozen=True)
class TopicOnlyMonitoring:
    alert_topic: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    service_names: dict[str, str]
    log: list[str]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.records if r.custom)

    def service(self, endpoint: str) -> dict[str, Any]:
        return only(self.records, RUN, f"fraud-{self.env}-{endpoint}").inputs

    @property
    def env(self) -> str:
        return str(of_type(self.records, RUN)[0].inputs["name"]).split("-")[1]


def build(*endpoints: dict[str, Any], environment: str = "prod", monitoring: dict[str, Any] | None = None,
          network: bool = True, channels: bool = True) -> Built:
    spec = parse_spec(spec_data("gcp", environment, registry=REGISTRY_SECTION,
                                serving={"endpoints": list(endpoints)}, monitoring=monitoring or {}))
    assert spec.serving is not None
    serving = spec.serving
    static: dict[str, str] = {}

    def program() -> None:
        o = pulumi.Output.from_input
        monitor = (FakeMonitoring(o(CHANNELS[0]), o("https://console"), o(CHANNELS)) if channels
                   else TopicOnlyMonitoring(o(CHANNELS[0]), o("https://console")))
        handles: dict[str, object] = {
            "storage": FakeStorage(o({}), o({}), o({}), o(KEY_ID), o("")),
            "registry": FakeRegistry(o({"scorer": f"{REGISTRY}/fraud-{environment}-scorer/scorer"}), o({})),
            "monitoring": monitor,
        }
        if network:
            handles["network"] = FakeNetwork(o(NETWORK_ID), o([SUBNET_ID]), o([]))
        ctx = PlatformContext.from_spec(spec, account=PROJECT).with_handles(**handles)
        component = GcpServing(spec.base_name, serving, ctx)
        assert isinstance(component, ServingOutputs)
        static.update(services_of(component))
        pulumi.export("endpoint_names", component.endpoint_names)
        pulumi.export("endpoint_urls", component.endpoint_urls)

    records, outputs, log = run_program(
        program, project="mlfabric", stack="test", config={}, secret_keys=[],
        world=World(project="mlfabric", stack="test", region="us-central1"),
    )
    return Built(records, outputs, static, log)


@pytest.fixture(scope="module")
def prod() -> Built:
    return build(GPU_ENDPOINT, CPU_ENDPOINT, monitoring=MONITORING)


def test_creates_exact_children_for_a_gpu_and_a_cpu_endpoint(prod: Built) -> None:
    assert prod.counts() == {
        SERVICE: 1,       # Cloud Run API
        KEY_USER: 1,      # the Cloud Run agent may use the storage key
        ACCOUNT: 2,       # one runtime identity per endpoint
        RUN: 2,
        POLICY: 4,        # p99 latency + error rate per endpoint
    }
    component = only(prod.records, COMPONENT)
    assert all(r.parent == component.urn for r in prod.records if r.custom)


def test_endpoints_have_stable_names_and_https_urls(prod: Built) -> None:
    assert prod.outputs["endpoint_names"] == {"scorer": "fraud-prod-scorer", "ranker": "fraud-prod-ranker"}
    assert prod.service_names == prod.outputs["endpoint_names"]
    assert all(url.startswith("https://fraud-prod-") and url.endswith(".run.app")
               for url in prod.outputs["endpoint_urls"].values())


def test_l4_endpoint_gets_one_gpu_with_always_allocated_cpu(prod: Built) -> None:
    template = prod.service("scorer")["template"]
    (container,) = template["containers"]
    assert template["nodeSelector"] == {"accelerator": "nvidia-l4"}
    assert container["resources"] == {"limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
                                      "cpuIdle": False, "startupCpuBoost": True}
    assert template["gpuZonalRedundancyDisabled"] is False
    dev = build(GPU_ENDPOINT, environment="dev")
    assert dev.service("scorer")["template"]["gpuZonalRedundancyDisabled"] is True


def test_cpu_endpoint_is_sized_from_the_catalogue_machine(prod: Built) -> None:
    template = prod.service("ranker")["template"]
    (container,) = template["containers"]
    assert "nodeSelector" not in template and "gpuZonalRedundancyDisabled" not in template
    assert container["resources"]["limits"] == {"cpu": "8", "memory": "32Gi"}
    assert container["resources"]["cpuIdle"] is True
    assert container["image"] == f"ghcr.io/acme/ranker@{RANKER_DIGEST}"


def test_replicas_bound_the_service_scaling(prod: Built) -> None:
    assert prod.service("scorer")["scaling"] == {"minInstanceCount": 2, "maxInstanceCount": 8}
    assert prod.service("ranker")["scaling"] == {"minInstanceCount": 2, "maxInstanceCount": 4}


def test_concurrency_follows_target_rate_and_latency(prod: Built) -> None:
    # 600 invocations/minute at up to 250 ms each: 2.5 requests in flight per instance.
    assert prod.service("scorer")["template"]["maxInstanceRequestConcurrency"] == 3
    endpoint = EndpointSpec(name="abc", model="abc", image="x:1")
    assert concurrency(endpoint, MonitoringSpec()) == 2  # 100/min at 1000 ms
    assert concurrency(endpoint, MonitoringSpec(latency_p99_ms=1)) == 1


def _traffic_names_only_declared_revisions(records: list[ResourceRecord]) -> None:
    # Endpoints only: the tracking server's service takes Cloud Run's default (its latest revision).
    for service in [r for r in of_type(records, RUN) if "mlfabric-endpoint" in r.inputs.get("labels", {})]:
        declared = service.inputs["template"]["revision"]
        targets = service.inputs["traffics"]
        assert [t.get("revision") for t in targets] == [declared], service.name
        assert sum(t["percent"] for t in targets) == 100


def test_traffic_names_only_the_revision_the_template_declares_so_a_service_deploys_from_nothing(
    prod: Built,
) -> None:
    """Cloud Run's first deploy: every traffic target names a revision this program declares."""
    _traffic_names_only_declared_revisions(prod.records)
    service = prod.service("scorer")
    assert service["traffics"] == [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
                                    "revision": service["template"]["revision"], "percent": 100, "tag": "main"}]
    assert service["template"]["revision"].startswith("fraud-prod-scorer-")
    assert service["template"]["containers"][0]["image"] == f"{REGISTRY}/fraud-prod-scorer/scorer:1.4.2"


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-prod"])
def test_the_example_stacks_traffic_names_only_declared_revisions(stack: str) -> None:
    from mlfabric import stackfile
    from mlfabric.components.spec import SPEC_CONFIG_KEY
    from mlfabric.plan import plan_spec
    from tests.helpers import ROOT

    data = stackfile.read_yaml_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")["config"][SPEC_CONFIG_KEY]
    _traffic_names_only_declared_revisions(plan_spec(data, stack=stack).resources)


def test_invocation_needs_iam_and_the_service_runs_as_its_own_account(prod: Built) -> None:
    service = prod.service("scorer")
    assert service["ingress"] == "INGRESS_TRAFFIC_ALL" and service["invokerIamDisabled"] is False
    accounts = {r.inputs["accountId"] for r in of_type(prod.records, ACCOUNT)}
    assert service["template"]["serviceAccount"].split("@")[0] in accounts
    # Invokers are granted per principal by RBAC; nothing here opens the service to anyone.
    assert not [r for r in prod.records if r.type != KEY_USER and ("IamMember" in r.type or "IAMMember" in r.type)]
    assert "allUsers" not in str([r.inputs for r in prod.records])


def test_revisions_are_encrypted_with_the_storage_key_the_run_agent_holds(prod: Built) -> None:
    grant = only(prod.records, KEY_USER)
    assert grant.inputs == {"cryptoKeyId": KEY_ID, "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                            "member": f"serviceAccount:service-{NUMBER}@serverless-robot-prod.iam.gserviceaccount.com"}
    for record in of_type(prod.records, RUN):
        assert record.inputs["template"]["encryptionKey"] == KEY_ID
        assert grant.urn in record.dependencies


def test_egress_to_private_ranges_goes_through_the_platform_subnet(prod: Built) -> None:
    assert prod.service("scorer")["template"]["vpcAccess"] == {
        "networkInterfaces": [{"network": NETWORK_ID, "subnetwork": SUBNET_ID}], "egress": "PRIVATE_RANGES_ONLY"}
    assert "vpcAccess" not in build(CPU_ENDPOINT, network=False).service("ranker")["template"]


def test_prod_services_are_deletion_protected_and_labelled(prod: Built) -> None:
    service = prod.service("scorer")
    assert service["deletionProtection"] is True
    assert service["labels"]["mlfabric-endpoint"] == "scorer" and service["labels"]["managed-by"] == "mlfabric"
    assert build(CPU_ENDPOINT, environment="dev").service("ranker")["deletionProtection"] is False


def test_alert_thresholds_come_from_the_monitoring_spec(prod: Built) -> None:
    policies = {r.name: r.inputs for r in of_type(prod.records, POLICY)}
    latency = policies["fraud-prod-scorer-p99-latency"]["conditions"][0]["conditionThreshold"]
    assert latency["thresholdValue"] == 250 and latency["comparison"] == "COMPARISON_GT"
    assert 'metric.type="run.googleapis.com/request_latencies"' in latency["filter"]
    assert 'resource.labels.service_name="fraud-prod-scorer"' in latency["filter"]
    assert latency["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_99"
    assert latency["aggregations"][0]["groupByFields"] == ["resource.label.revision_name"]
    errors = policies["fraud-prod-scorer-error-rate"]["conditions"]
    assert [c["conditionThreshold"]["thresholdValue"] for c in errors] == [0.015, 0.015]
    assert ['response_code_class="5xx"' in errors[0]["conditionThreshold"]["filter"],
            'response_code_class="4xx"' in errors[1]["conditionThreshold"]["filter"]] == [True, True]
    assert all("response_code_class" not in c["conditionThreshold"]["denominatorFilter"] for c in errors)


def test_alerts_notify_every_monitoring_channel_or_the_alert_topic(prod: Built) -> None:
    assert {tuple(r.inputs["notificationChannels"]) for r in of_type(prod.records, POLICY)} == {tuple(CHANNELS)}
    topic_only = build(CPU_ENDPOINT, channels=False)
    assert {tuple(r.inputs["notificationChannels"]) for r in of_type(topic_only.records, POLICY)} == {(CHANNELS[0],)}


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ({**CPU_ENDPOINT, "instance": None, "accelerator": "a100-80gb"},
         r"serving\.endpoints\[0\]\.accelerator: not supported on gcp: Cloud Run serves on NVIDIA L4 GPUs only: "
         r"use accelerator: l4, or a CPU instance such as n2-standard-8 \(got 'a100-80gb'\)"),
        ({**CPU_ENDPOINT, "instance": None, "accelerator": "t4"},
         r"serving\.endpoints\[0\]\.accelerator: not supported on gcp: .* \(got 't4'\)"),
        ({**CPU_ENDPOINT, "instance": "ml.g5.xlarge"},
         r"serving\.endpoints\[0\]\.instance: not a GCP machine type mlfabric knows: .* \(got 'ml\.g5\.xlarge'\)"),
        ({**CPU_ENDPOINT, "instance": "e2-highmem-4"},
         r"serving\.endpoints\[0\]\.instance: does not fit a Cloud Run instance .*\(got 'e2-highmem-4': 4 vCPUs, 32 GiB\)"),
        ({**CPU_ENDPOINT, "instance": "a2-highgpu-1g"},
         r"serving\.endpoints\[0\]\.instance: a GPU machine cannot be a Cloud Run instance: give accelerator: l4"),
        ({**CPU_ENDPOINT, "traffic": {"strategy": "all-at-once", "shadow": {"image": "scorer:2", "percent": 5}}},
         r"serving\.endpoints\[0\]\.traffic\.shadow\.image: not supported on gcp: Cloud Run cannot mirror requests"),
        ({**CPU_ENDPOINT, "traffic": {"strategy": "all-at-once", "challenger": {"image": "scorer:2", "percent": 5}}},
         r"serving\.endpoints\[0\]\.traffic\.challenger\.image: not supported on gcp: a Cloud Run service "
         r"declares one revision"),
        ({**CPU_ENDPOINT, "data_capture_percent": 20},
         r"serving\.endpoints\[0\]\.data_capture_percent: not supported on gcp: Cloud Run's request logs carry no"),
    ],
)
def test_what_cloud_run_cannot_serve_is_refused_by_the_spec(endpoint: dict[str, Any], message: str) -> None:
    """validate == plan: the spec refuses it, so the program never raises for it."""
    with pytest.raises(SpecError, match=message):
        build(endpoint)


def test_prod_payload_capture_is_refused_not_warned() -> None:
    """The prod default (20%) is refused on GCP: a plan can no longer print a warning and pass."""
    endpoint = {k: v for k, v in CPU_ENDPOINT.items() if k != "data_capture_percent"}
    with pytest.raises(SpecError, match=r"data_capture_percent: not supported on gcp: .* \(got 20\)"):
        build(endpoint)
    assert not build(CPU_ENDPOINT).log


def test_long_service_names_fit_cloud_run_limit() -> None:
    name = service_name("a-very-long-platform-staging", "an-even-longer-endpoint1")
    assert len(name) <= 49 and name.startswith("a-very-long-platform-staging-an-")
    assert service_name("fraud-prod", "scorer") == "fraud-prod-scorer"


def test_rbac_refuses_a_serving_handle_without_static_service_names() -> None:
    @dataclass(frozen=True)
    class Foreign:
        endpoint_names: Any = None
        endpoint_urls: Any = None

    assert services_of(None) == {}
    with pytest.raises(TypeError, match="service_names"):
        services_of(Foreign())  # type: ignore[arg-type]
