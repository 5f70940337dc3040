"""AzureServing under the mock runtime, built directly on a real AzureRegistry (the ML workspace) and
stand-in storage and monitoring handles (no MLPlatform).

What a mock test cannot prove: that Azure ML pulls the image with the endpoint's identity, that
the inference server in the image answers on the routes declared, that the traffic template lands
after the deployments are ready, that autoscale reacts to these metrics, or that the metric names
and dimensions the alerts use are the ones Azure ML publishes. Those need a real subscription
(README: limits).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlfabric.check import Source, check_source
from mlfabric.components.azure.network import AzureNetwork
from mlfabric.components.azure.registry import AzureRegistry
from mlfabric.components.azure.serving import AzureServing, endpoint_name, error_threshold_per_minute, traffic_split
from mlfabric.components.concerns import ServingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import EndpointSpec, MonitoringSpec, parse_spec
from mlfabric.mocks import World
from mlfabric.plan import ResourceRecord, run_program
from tests.azure_support import prerequisites
from tests.helpers import of_type, only, spec_data

COMPONENT = "mlfabric:serving:AzureServing"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ENVIRONMENT = "azure-native:machinelearningservices:EnvironmentVersion"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
ALERT = "azure-native:monitor:MetricAlert"
TEMPLATE = "azure-native:resources:Deployment"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x"
ACCOUNT_ID = f"{GROUP_ID}/providers/Microsoft.Storage/storageAccounts/stx"
ACTION_GROUP = f"{GROUP_ID}/providers/Microsoft.Insights/actionGroups/ag-x"
REGISTRY: dict[str, Any] = {"repositories": ["scorer"], "models": ["fraud-detector"]}
ENDPOINT_SPEC: dict[str, Any] = {"name": "scorer", "model": "fraud-detector", "image": "scorer:1.4.2", "max_replicas": 3}


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    conforms: bool

    @property
    def children(self) -> list[ResourceRecord]:
        component = only(self.records, COMPONENT)
        return [r for r in self.records if r.custom and r.parent == component.urn]

    def counts(self) -> Counter[str]:
        return Counter(r.type for r in self.children)

    def named(self, typ: str, suffix: str) -> ResourceRecord:
        [record] = [r for r in of_type(self.records, typ) if r.name.endswith(suffix)]
        return record


def build(environment: str, *endpoints: dict[str, Any], **sections: Any) -> Built:
    spec = parse_spec(spec_data(
        "azure", environment, region="westeurope", registry=REGISTRY,
        serving={"endpoints": list(endpoints) or [ENDPOINT_SPEC]}, **sections,
    ))
    assert spec.serving is not None and spec.registry is not None
    serving_spec, registry_spec = spec.serving, spec.registry
    containers = {b: f"{ACCOUNT_ID}/blobServices/default/containers/{b}" for b in ("datasets", "artifacts", "models")}
    storage = SimpleNamespace(
        bucket_ids=pulumi.Output.from_input(containers),
        encryption_key_id=pulumi.Output.from_input("https://kvx.vault.azure.net/keys/storage-cmk"),
    )
    ctx = PlatformContext.from_spec(spec).with_handles(prerequisites=prerequisites(), storage=storage)
    conforms: list[bool] = []

    def program() -> None:
        network = AzureNetwork(spec.base_name, spec.network, ctx)
        registry = AzureRegistry(spec.base_name, registry_spec, ctx.with_handles(network=network))
        monitoring = SimpleNamespace(alert_topic=pulumi.Output.from_input(ACTION_GROUP))
        serving = AzureServing(
            spec.base_name, serving_spec, ctx.with_handles(network=network, registry=registry, monitoring=monitoring),
        )
        conforms.append(isinstance(serving, ServingOutputs))
        pulumi.export("endpoint_names", serving.endpoint_names)
        pulumi.export("endpoint_urls", serving.endpoint_urls)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack=f"azure-{environment}", config={}, secret_keys=[],
        world=World(project="mlfabric", stack=f"azure-{environment}", region="westeurope"),
    )
    return Built(records, outputs, all(conforms))


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev")


@pytest.fixture(scope="module")
def prod() -> Built:
    return build(
        "prod",
        {**ENDPOINT_SPEC, "accelerator": "t4", "min_replicas": 2, "max_replicas": 6,
         "target_invocations_per_replica": 120,
         "traffic": {"challenger": {"image": "scorer:1.5.0", "percent": 10}, "shadow": {"image": "scorer:2.0.0", "percent": 20}}},
        monitoring={"latency_p99_ms": 250, "error_rate_percent": 2.0, "notify": ["oncall@example.com"]},
    )


# --- shape -------------------------------------------------------------------------------------------


def test_one_endpoint_with_one_version_creates_exact_child_types(dev: Built) -> None:
    assert dev.counts() == {ENDPOINT: 1, ENVIRONMENT: 1, DEPLOYMENT: 1, AUTOSCALE: 1, TEMPLATE: 1, ALERT: 2}


def test_each_more_version_adds_an_environment_a_deployment_and_an_autoscale_setting(dev: Built, prod: Built) -> None:
    assert prod.counts() - dev.counts() == {ENVIRONMENT: 2, DEPLOYMENT: 2, AUTOSCALE: 2}
    assert {d.inputs["deploymentName"] for d in of_type(prod.records, DEPLOYMENT)} == {"main", "challenger", "shadow"}


def test_outputs_name_the_endpoint_and_its_scoring_url(dev: Built) -> None:
    assert dev.conforms
    assert dev.outputs["endpoint_names"] == {"scorer": "fraud-dev-scorer"}
    assert dev.outputs["endpoint_urls"] == {"scorer": "https://fraud-dev-scorer.westeurope.inference.ml.azure.com/score"}


# --- auth and network ---------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_endpoints_require_entra_tokens_never_anonymous(environment: str, dev: Built, prod: Built) -> None:
    endpoint = only((dev if environment == "dev" else prod).records, ENDPOINT).inputs
    assert endpoint["properties"]["authMode"] == "AADToken"
    assert endpoint["identity"] == {"type": "SystemAssigned"}
    assert endpoint["workspaceName"] == f"mlw-fraud-{environment}"


def test_prod_endpoints_are_private_and_have_no_public_egress(dev: Built, prod: Built) -> None:
    assert only(dev.records, ENDPOINT).inputs["properties"]["publicNetworkAccess"] == "Enabled"
    assert only(prod.records, ENDPOINT).inputs["properties"]["publicNetworkAccess"] == "Disabled"
    for deployment in of_type(prod.records, DEPLOYMENT):
        assert deployment.inputs["properties"]["egressPublicNetworkAccess"] == "Disabled"


# --- deployments --------------------------------------------------------------------------------------


def test_instance_type_and_scale_come_from_the_spec(dev: Built, prod: Built) -> None:
    main = dev.named(DEPLOYMENT, "-main").inputs
    assert main["properties"]["instanceType"] == "Standard_DS3_v2"
    assert main["properties"]["endpointComputeType"] == "Managed"
    assert main["sku"] == {"name": "Default", "capacity": 1}
    gpu = prod.named(DEPLOYMENT, "-main").inputs
    assert gpu["properties"]["instanceType"] == "Standard_NC4as_T4_v3"
    assert gpu["sku"]["capacity"] == 2
    scale = prod.named(AUTOSCALE, "-main").inputs
    assert scale["targetResourceUri"] == prod.named(DEPLOYMENT, "-main").id
    assert scale["profiles"][0]["capacity"] == {"minimum": "2", "maximum": "6", "default": "2"}
    out, scale_in = scale["profiles"][0]["rules"]
    assert (out["metricTrigger"]["threshold"], out["metricTrigger"]["dividePerInstance"]) == (120, True)
    assert out["metricTrigger"]["dimensions"] == [{"dimensionName": "deployment", "operator": "Equals", "values": ["main"]}]
    assert scale_in["scaleAction"]["direction"] == "Decrease"


def test_an_instance_given_in_the_spec_is_used_as_is() -> None:
    built = build("dev", {**ENDPOINT_SPEC, "instance": "Standard_F4s_v2"})
    assert built.named(DEPLOYMENT, "-main").inputs["properties"]["instanceType"] == "Standard_F4s_v2"


def test_each_version_runs_its_own_image_from_the_platform_registry(prod: Built) -> None:
    login = only(prod.records, "azure-native:containerregistry:Registry").inputs["registryName"] + ".azurecr.io"
    images = {e.name.rsplit("-", 1)[-1]: e.inputs["properties"]["image"] for e in of_type(prod.records, ENVIRONMENT)}
    assert images == {"main": f"{login}/scorer:1.4.2", "challenger": f"{login}/scorer:1.5.0", "shadow": f"{login}/scorer:2.0.0"}
    main_env = prod.named(ENVIRONMENT, "-main")
    assert prod.named(DEPLOYMENT, "-main").inputs["properties"]["environmentId"] == main_env.id
    assert main_env.inputs["properties"]["inferenceConfig"]["scoringRoute"] == {"port": 5001, "path": "/score"}


def test_data_capture_collects_inputs_and_outputs_at_the_spec_rate(dev: Built, prod: Built) -> None:
    assert "dataCollector" not in dev.named(DEPLOYMENT, "-main").inputs["properties"]
    collector = prod.named(DEPLOYMENT, "-main").inputs["properties"]["dataCollector"]
    assert collector["collections"] == {
        name: {"dataCollectionMode": "Enabled", "samplingRate": 0.2} for name in ("model_inputs", "model_outputs")
    }


# --- traffic --------------------------------------------------------------------------------------------


def test_traffic_is_split_between_main_and_challenger_and_mirrored_to_the_shadow(prod: Built) -> None:
    template = only(prod.records, TEMPLATE)
    [endpoint] = template.inputs["properties"]["template"]["resources"]
    assert endpoint["type"] == "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    assert endpoint["name"] == "mlw-fraud-prod/fraud-prod-scorer"
    assert endpoint["properties"]["traffic"] == {"main": 90, "challenger": 10}
    assert endpoint["properties"]["mirrorTraffic"] == {"shadow": 20}
    # The template rewrites the endpoint as declared: auth and network access stay the same.
    declared = only(prod.records, ENDPOINT).inputs["properties"]
    for key in ("authMode", "publicNetworkAccess", "description"):
        assert endpoint["properties"][key] == declared[key]
    assert template.inputs["properties"]["mode"] == "Incremental"


def test_the_traffic_split_waits_for_every_deployment(prod: Built) -> None:
    template = only(prod.records, TEMPLATE)
    for deployment in of_type(prod.records, DEPLOYMENT):
        assert deployment.urn in template.dependencies


def test_a_single_version_gets_all_traffic(dev: Built) -> None:
    [endpoint] = only(dev.records, TEMPLATE).inputs["properties"]["template"]["resources"]
    assert endpoint["properties"]["traffic"] == {"main": 100}
    assert endpoint["properties"]["mirrorTraffic"] == {}


def test_traffic_split_is_blue_green_with_mirroring() -> None:
    spec = EndpointSpec.model_validate({**ENDPOINT_SPEC, "traffic": {"challenger": {"image": "s:2", "percent": 25}}})
    assert traffic_split(spec) == ({"main": 75, "challenger": 25}, {})


def test_a_shadow_above_what_azure_ml_mirrors_is_refused() -> None:
    with pytest.raises(pulumi.RunError, match=r"serving.endpoints\[0\].traffic.shadow.percent: Azure ML mirrors at most 50%"):
        build("dev", {**ENDPOINT_SPEC, "traffic": {"shadow": {"image": "scorer:2", "percent": 60}}})


def test_serving_is_refused_without_the_registry_ml_workspace_endpoints_live_in() -> None:
    spec = parse_spec(spec_data(
        "azure", "dev", region="westeurope", registry=REGISTRY, serving={"endpoints": [ENDPOINT_SPEC]},
    ))
    assert spec.serving is not None
    # A registry handle with image addresses but no Azure ML workspace (as another cloud's would be).
    ctx = PlatformContext.from_spec(spec).with_handles(registry=SimpleNamespace(registry_urls={}))
    with pytest.raises(pulumi.RunError, match="serving: Azure ML endpoints live in the platform's ML workspace"):
        AzureServing(spec.base_name, spec.serving, ctx)


# --- alerts ---------------------------------------------------------------------------------------------


def test_latency_and_error_alerts_watch_the_endpoint_and_notify_the_action_group(prod: Built) -> None:
    endpoint = only(prod.records, ENDPOINT)
    latency, errors = prod.named(ALERT, "-latency-p99").inputs, prod.named(ALERT, "-errors-5xx").inputs
    for alert in (latency, errors):
        assert alert["scopes"] == [endpoint.id]
        assert alert["actions"] == [{"actionGroupId": ACTION_GROUP}]
        assert alert["enabled"] is True
    [criterion] = latency["criteria"]["allOf"]
    assert (criterion["metricName"], criterion["operator"], criterion["threshold"]) == ("RequestLatency_P99", "GreaterThan", 250)
    [criterion] = errors["criteria"]["allOf"]
    assert criterion["metricName"] == "RequestsPerMinute"
    assert criterion["dimensions"] == [{"name": "statusCodeClass", "operator": "Include", "values": ["5xx"]}]
    assert criterion["threshold"] == 4.8  # 2% of 2 replicas x 120 requests per minute


def test_error_threshold_is_the_error_rate_of_the_nominal_load_and_at_least_one() -> None:
    endpoint = EndpointSpec.model_validate({**ENDPOINT_SPEC, "min_replicas": 1, "target_invocations_per_replica": 10})
    assert error_threshold_per_minute(endpoint, MonitoringSpec(error_rate_percent=1.0)) == 1.0
    busy = EndpointSpec.model_validate(
        {**ENDPOINT_SPEC, "min_replicas": 4, "max_replicas": 8, "target_invocations_per_replica": 1000}
    )
    assert error_threshold_per_minute(busy, MonitoringSpec(error_rate_percent=0.5)) == 20.0


def test_endpoint_names_fit_azure_ml_limits() -> None:
    assert endpoint_name("fraud-prod", "scorer") == "fraud-prod-scorer"
    long = endpoint_name("fraud-detection-x-staging", "realtime-scoring-service")
    assert len(long) <= 32 and long == endpoint_name("fraud-detection-x-staging", "realtime-scoring-service")
    assert long[0].isalpha() and long[-1].isalnum()


# --- policies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_policy_pack_finds_nothing_mandatory(environment: str, dev: Built, prod: Built) -> None:
    built = dev if environment == "dev" else prod
    report = check_source(Source("test", "mlfabric", environment, "azure", "", built.records))
    assert [f"{v.rule_id}: {v.message}" for v in report.violations if v.mandatory] == []
