"""AzureServing under the mock runtime, built directly on a real AzureRegistry (the ML workspace) and
stand-in storage and monitoring handles (no MLPlatform).

What a mock test cannot prove: that Azure ML pulls the image with the endpoint's identity, that
the inference server in the image answers on the routes declared, that the rollout script runs in
the Azure CLI container, shifts traffic in its steps, bakes and rolls back on a fired alert, that
Pulumi deletes the previous deployment only after the script succeeded, that autoscale reacts to
these metrics, or that the metric names and dimensions the alerts use are the ones Azure ML
publishes. Those need a real subscription (README: limits). What the mocks do prove: which resources
a change of image, strategy or percent creates, replaces or updates (``tests/test_fidelity_azure.py``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlfabric.check import Source, check_source
from mlfabric.components.azure import rollout
from mlfabric.components.azure.network import AzureNetwork
from mlfabric.components.azure.registry import AzureRegistry
from mlfabric.components.azure.serving import AzureServing, endpoint_name, error_threshold_per_minute, traffic_split
from mlfabric.components.concerns import ServingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import EndpointSpec, MonitoringSpec, SpecError, parse_spec
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
SCRIPT = "azure-native:resources:AzureCliScript"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x"
ACCOUNT_ID = f"{GROUP_ID}/providers/Microsoft.Storage/storageAccounts/stx"
ACTION_GROUP = f"{GROUP_ID}/providers/Microsoft.Insights/actionGroups/ag-x"
REGISTRY: dict[str, Any] = {"repositories": ["scorer"], "models": ["fraud-detector"]}
ENDPOINT_SPEC: dict[str, Any] = {"name": "scorer", "model": "fraud-detector", "image": "scorer:1.4.2", "max_replicas": 3}
# Prod pins images by digest: ACR has no immutable tags, so Azure refuses registry.immutable_tags.
MAIN, CHALLENGER, SHADOW = (f"scorer@sha256:{c * 64}" for c in "abc")
PROD_REGISTRY: dict[str, Any] = {**REGISTRY, "immutable_tags": False, "scan_on_push": False}


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

    def version(self, typ: str, variant: str) -> ResourceRecord:
        """The ``typ`` resource of one version (named ``...-<variant>-<image hash>``)."""
        [record] = [r for r in of_type(self.records, typ) if r.name.rsplit("-", 2)[-2] == variant]
        return record

    def script_env(self) -> dict[str, str]:
        return {e["name"]: e["value"] for e in only(self.records, SCRIPT).inputs["environmentVariables"]}


def build(environment: str, *endpoints: dict[str, Any], **sections: Any) -> Built:
    spec = parse_spec(spec_data(
        "azure", environment, region="westeurope", registry=PROD_REGISTRY if environment == "prod" else REGISTRY,
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
        {**ENDPOINT_SPEC, "image": MAIN, "accelerator": "t4", "min_replicas": 2, "max_replicas": 6,
         "target_invocations_per_replica": 120,
         "traffic": {"challenger": {"image": CHALLENGER, "percent": 10}, "shadow": {"image": SHADOW, "percent": 20}}},
        monitoring={"latency_p99_ms": 250, "error_rate_percent": 2.0, "notify": ["oncall@example.com"]},
    )


# --- shape -------------------------------------------------------------------------------------------


def test_one_endpoint_with_one_version_creates_exact_child_types(dev: Built) -> None:
    assert dev.counts() == {ENDPOINT: 1, ENVIRONMENT: 1, DEPLOYMENT: 1, AUTOSCALE: 1, ALERT: 2,
                            SCRIPT: 1, IDENTITY: 1, ROLE: 2}


def test_each_more_version_adds_an_environment_a_deployment_and_an_autoscale_setting(dev: Built, prod: Built) -> None:
    assert prod.counts() - dev.counts() == {ENVIRONMENT: 2, DEPLOYMENT: 2, AUTOSCALE: 2}
    assert {d.inputs["deploymentName"] for d in of_type(prod.records, DEPLOYMENT)} == {
        rollout.deployment_name("main", MAIN), rollout.deployment_name("challenger", CHALLENGER),
        rollout.deployment_name("shadow", SHADOW),
    }


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
    main = dev.version(DEPLOYMENT, "main").inputs
    assert main["properties"]["instanceType"] == "Standard_DS3_v2"
    assert main["properties"]["endpointComputeType"] == "Managed"
    assert main["sku"] == {"name": "Default", "capacity": 1}
    gpu = prod.version(DEPLOYMENT, "main").inputs
    assert gpu["properties"]["instanceType"] == "Standard_NC4as_T4_v3"
    assert gpu["sku"]["capacity"] == 2
    scale = prod.version(AUTOSCALE, "main").inputs
    assert scale["targetResourceUri"] == prod.version(DEPLOYMENT, "main").id
    assert scale["profiles"][0]["capacity"] == {"minimum": "2", "maximum": "6", "default": "2"}
    out, scale_in = scale["profiles"][0]["rules"]
    assert (out["metricTrigger"]["threshold"], out["metricTrigger"]["dividePerInstance"]) == (120, True)
    main = rollout.deployment_name("main", MAIN)
    assert out["metricTrigger"]["dimensions"] == [{"dimensionName": "deployment", "operator": "Equals", "values": [main]}]
    assert scale_in["scaleAction"]["direction"] == "Decrease"


def test_an_instance_given_in_the_spec_is_used_as_is() -> None:
    built = build("dev", {**ENDPOINT_SPEC, "instance": "Standard_F4s_v2"})
    assert built.version(DEPLOYMENT, "main").inputs["properties"]["instanceType"] == "Standard_F4s_v2"


def test_each_version_runs_its_own_image_from_the_platform_registry(prod: Built) -> None:
    login = only(prod.records, "azure-native:containerregistry:Registry").inputs["registryName"] + ".azurecr.io"
    images = {e.name.rsplit("-", 2)[-2]: e.inputs["properties"]["image"] for e in of_type(prod.records, ENVIRONMENT)}
    assert images == {"main": f"{login}/{MAIN}", "challenger": f"{login}/{CHALLENGER}", "shadow": f"{login}/{SHADOW}"}
    main_env = prod.version(ENVIRONMENT, "main")
    assert prod.version(DEPLOYMENT, "main").inputs["properties"]["environmentId"] == main_env.id
    assert main_env.inputs["properties"]["inferenceConfig"]["scoringRoute"] == {"port": 5001, "path": "/score"}


def test_data_capture_collects_inputs_and_outputs_at_the_spec_rate(dev: Built, prod: Built) -> None:
    assert "dataCollector" not in dev.version(DEPLOYMENT, "main").inputs["properties"]
    collector = prod.version(DEPLOYMENT, "main").inputs["properties"]["dataCollector"]
    assert collector["collections"] == {
        name: {"dataCollectionMode": "Enabled", "samplingRate": 0.2} for name in ("model_inputs", "model_outputs")
    }


# --- traffic --------------------------------------------------------------------------------------------


def test_traffic_is_split_between_main_and_challenger_and_mirrored_to_the_shadow(prod: Built) -> None:
    env = prod.script_env()
    main, challenger, shadow = (rollout.deployment_name(v, i) for v, i in
                                (("main", MAIN), ("challenger", CHALLENGER), ("shadow", SHADOW)))
    assert json.loads(env["TARGET_TRAFFIC"]) == {main: 90, challenger: 10}
    assert json.loads(env["TARGET_MIRROR"]) == {shadow: 20}
    assert env["ENDPOINT_ID"] == only(prod.records, ENDPOINT).id
    assert env["ALERT_RULE_IDS"].split() == [prod.named(ALERT, "-latency-p99").id, prod.named(ALERT, "-errors-5xx").id]


def test_the_rollout_waits_for_every_deployment_alert_and_grant(prod: Built) -> None:
    script = only(prod.records, SCRIPT)
    for record in [*of_type(prod.records, DEPLOYMENT), *of_type(prod.records, ALERT),
                   *(r for r in of_type(prod.records, ROLE) if "-rollout-" in r.name)]:
        assert record.urn in script.dependencies, record.name


def test_the_default_rollout_is_a_canary_that_bakes_each_step(dev: Built) -> None:
    script = only(dev.records, SCRIPT).inputs
    env = dev.script_env()
    assert (env["STEPS"], env["BAKE_MINUTES"]) == ("10 100", "10")
    assert script["kind"] == "AzureCLI" and script["timeout"] == "PT80M"
    assert script["scriptContent"] == rollout.SCRIPT and script["cleanupPreference"] == "OnSuccess"
    assert json.loads(env["TARGET_TRAFFIC"]) == {rollout.deployment_name("main", "scorer:1.4.2"): 100}
    assert json.loads(env["TARGET_MIRROR"]) == {}


def test_the_rollout_identity_may_write_only_this_endpoint_and_read_its_alerts(dev: Built) -> None:
    endpoint = only(dev.records, ENDPOINT)
    roles = {r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]: r.inputs["scope"]
             for r in of_type(dev.records, ROLE) if "-rollout-" in r.name}
    assert roles == {"f6c7c914-8db3-469d-8ca1-694a8461e5f0": endpoint.id, "43d0d8ad-25c7-4714-9337-8ba259a9fe05": endpoint.id}
    [identity] = [r for r in of_type(dev.records, IDENTITY) if r.name.endswith("-rollout")]
    assert only(dev.records, SCRIPT).inputs["identity"]["userAssignedIdentities"] == [identity.id]


@pytest.mark.parametrize(("traffic", "steps"), [
    ({"strategy": "all-at-once"}, [100]),
    ({"strategy": "canary", "canary_percent": 25}, [25, 100]),
    ({"strategy": "linear", "canary_percent": 30}, [30, 60, 90, 100]),
])
def test_rollout_steps_follow_the_strategy(traffic: dict[str, Any], steps: list[int]) -> None:
    spec = EndpointSpec.model_validate({**ENDPOINT_SPEC, "traffic": traffic})
    assert rollout.steps(spec.traffic) == steps
    assert rollout.rollout_minutes(spec.traffic) == 10 * len(steps)


def test_traffic_split_is_blue_green_with_mirroring() -> None:
    spec = EndpointSpec.model_validate({**ENDPOINT_SPEC, "traffic": {"challenger": {"image": "s:2", "percent": 25}}})
    assert traffic_split(spec) == (
        {rollout.deployment_name("main", "scorer:1.4.2"): 75, rollout.deployment_name("challenger", "s:2"): 25}, {})


def test_a_shadow_above_what_azure_ml_mirrors_is_refused_by_the_spec() -> None:
    with pytest.raises(SpecError, match=r"serving.endpoints\[0\].traffic.shadow.percent: Azure ML mirrors at most 50%"):
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
    # The stand-in monitoring handle declares no action group (its receivers are the monitoring
    # component's); a whole plan is checked for that in test_plan_baseline.
    # The fixture's endpoint captures requests without drift monitoring, which the pack rightly reports
    # (mlf-drift-monitoring); the drift schedule is tested in test_lifecycle_azure.
    assert [f"{v.rule_id}: {v.message}" for v in report.violations
            if v.mandatory and v.rule_id not in ("mlf-alerts-reach-someone", "mlf-drift-monitoring")] == []
