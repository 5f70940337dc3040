"""AzureMonitoring under the mock runtime on stand-in handles (with the Azure prerequisites that
hold the platform's telemetry), and the example Azure stacks planned end to end.

What a mock test cannot prove: that Container Insights publishes the GPU metrics the idle-GPU query
reads, that AKS publishes ``kube_node_status_condition`` with these dimensions, that the e-mail and
webhook receivers get alerts, or that every diagnostic category exists on the real resource. Those
need a real subscription (README: limits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlfabric import stackfile
from mlfabric.check import Source, check_plan, check_source
from mlfabric.components.azure.common import storage_account_id
from mlfabric.components.azure.monitoring import GPU_DUTY_CYCLE_QUERY, AzureMonitoring, action_group_short_name
from mlfabric.components.azure.prerequisites import MONITORING_COMPONENT, child_urn, create_prerequisites
from mlfabric.components.concerns import MonitoringOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import parse_spec
from mlfabric.mocks import World
from mlfabric.plan import Plan, ResourceRecord, plan_stack, run_program
from tests.helpers import ROOT, of_type, only, spec_data

COMPONENT = "mlfabric:monitoring:AzureMonitoring"
WORKSPACE = "azure-native:operationalinsights:Workspace"
INSIGHTS = "azure-native:applicationinsights:Component"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
QUERY_ALERT = "azure-native:monitor:ScheduledQueryRule"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-x"
ACCOUNT_ID = f"{GROUP_ID}/providers/Microsoft.Storage/storageAccounts/stx"
ACR_ID = f"{GROUP_ID}/providers/Microsoft.ContainerRegistry/registries/crx"
ML_ID = f"{GROUP_ID}/providers/Microsoft.MachineLearningServices/workspaces/mlw-x"
CLUSTER_ID = f"{GROUP_ID}/providers/Microsoft.ContainerService/managedClusters/aks-x"
NOTIFY = ["oncall@example.com", "https://hooks.example.com/alerts"]


@dataclass
class Built:
    records: list[ResourceRecord]
    outputs: dict[str, Any]
    conforms: bool

    def counts(self) -> Counter[str]:
        component = only(self.records, COMPONENT)
        return Counter(r.type for r in self.records if r.custom and r.parent == component.urn)


def build(environment: str, *, with_platform: bool = True, **monitoring: Any) -> Built:
    spec = parse_spec(spec_data("azure", environment, region="westeurope", monitoring=monitoring))
    containers = {b: f"{ACCOUNT_ID}/blobServices/default/containers/{b}" for b in ("datasets", "models")}
    conforms: list[bool] = []

    def program() -> None:
        handles: dict[str, object] = {}
        if with_platform:
            handles["storage"] = SimpleNamespace(bucket_ids=pulumi.Output.from_input(containers))
            handles["registry"] = SimpleNamespace(
                container_registry_id=pulumi.Output.from_input(ACR_ID),
                ml_workspace_id=pulumi.Output.from_input(ML_ID),
            )
            handles["cluster"] = SimpleNamespace(cluster_id=pulumi.Output.from_input(CLUSTER_ID))
        ctx = create_prerequisites(spec.base_name, spec, PlatformContext.from_spec(spec), pulumi.ResourceOptions())
        component = AzureMonitoring(spec.base_name, spec.monitoring, ctx.with_handles(**handles))
        conforms.append(isinstance(component, MonitoringOutputs))
        pulumi.export("alert_topic", component.alert_topic)
        pulumi.export("dashboard_url", component.dashboard_url)

    records, outputs, _ = run_program(
        program, project="mlfabric", stack=f"azure-{environment}", config={}, secret_keys=[],
        world=World(project="mlfabric", stack=f"azure-{environment}", region="westeurope"),
    )
    return Built(records, outputs, all(conforms))


@pytest.fixture(scope="module")
def dev() -> Built:
    return build("dev", notify=NOTIFY, gpu_utilization_low_percent=15)


def test_monitoring_creates_exact_child_types_with_a_cluster_a_registry_and_storage(dev: Built) -> None:
    assert dev.counts() == {ACTION_GROUP: 1, METRIC_ALERT: 1, QUERY_ALERT: 1, DIAGNOSTICS: 3}


def test_alone_monitoring_is_an_action_group() -> None:
    assert build("dev", with_platform=False).counts() == {ACTION_GROUP: 1}


def test_the_workspace_and_insights_are_prerequisites_not_children_of_monitoring(dev: Built) -> None:
    component = only(dev.records, COMPONENT)
    assert only(dev.records, WORKSPACE).parent != component.urn
    assert only(dev.records, INSIGHTS).parent != component.urn


def test_example_stacks_keep_the_workspace_urn_through_an_alias() -> None:
    plan = plan_stack(stackfile.load(ROOT / "stacks" / "Pulumi.azure-dev.yaml"))
    former_parent = "urn:pulumi:azure-dev::mlfabric::mlfabric:platform:MLPlatform$mlfabric:monitoring:AzureMonitoring::speech-dev"
    for kind in (WORKSPACE, INSIGHTS):
        assert {"spec": {"parentUrn": former_parent}} in only(plan.resources, kind).aliases, kind


def test_a_platform_built_at_the_root_aliases_its_telemetry_to_a_root_monitoring_component(dev: Built) -> None:
    former_parent = "urn:pulumi:azure-dev::mlfabric::mlfabric:monitoring:AzureMonitoring::fraud-dev"
    for kind in (WORKSPACE, INSIGHTS):
        assert {"spec": {"parentUrn": former_parent}} in only(dev.records, kind).aliases, kind


@pytest.mark.parametrize(
    ("platform_urn", "monitoring_urn"),
    [
        # the engine's URN of a platform at the root of its stack
        ("urn:pulumi:s::p::mlfabric:platform:MLPlatform::x",
         "urn:pulumi:s::p::mlfabric:platform:MLPlatform$mlfabric:monitoring:AzureMonitoring::x"),
        # the mock runtime's URN of the same platform: the root stack is no parent in the engine
        ("urn:pulumi:s::p::pulumi:pulumi:Stack$mlfabric:platform:MLPlatform::x",
         "urn:pulumi:s::p::mlfabric:platform:MLPlatform$mlfabric:monitoring:AzureMonitoring::x"),
        # a platform inside a program's own component keeps that component in the chain
        ("urn:pulumi:s::p::acme:infra:Landing$mlfabric:platform:MLPlatform::x",
         "urn:pulumi:s::p::acme:infra:Landing$mlfabric:platform:MLPlatform$mlfabric:monitoring:AzureMonitoring::x"),
    ],
)
def test_the_former_monitoring_urn_is_the_platforms_child_as_the_engine_names_it(
    platform_urn: str, monitoring_urn: str
) -> None:
    assert child_urn(platform_urn, MONITORING_COMPONENT, "x") == monitoring_urn


def test_workspace_keeps_logs_for_the_spec_retention_and_accepts_only_entra_auth() -> None:
    workspace = only(build("prod", log_retention_days=180).records, WORKSPACE)
    assert workspace.inputs["retentionInDays"] == 180
    assert workspace.inputs["features"] == {"disableLocalAuth": True, "enableLogAccessUsingOnlyResourcePermissions": True}
    assert workspace.inputs["workspaceName"] == "log-fraud-prod"
    assert workspace.protect and workspace.retain_on_delete


def test_application_insights_is_workspace_based(dev: Built) -> None:
    insights = only(dev.records, INSIGHTS).inputs
    assert insights["workspaceResourceId"] == only(dev.records, WORKSPACE).id
    assert insights["ingestionMode"] == "LogAnalytics"


def test_action_group_has_one_receiver_per_notify_target_and_is_the_alert_topic(dev: Built) -> None:
    group = only(dev.records, ACTION_GROUP)
    [email] = group.inputs["emailReceivers"]
    [hook] = group.inputs["webhookReceivers"]
    assert (email["emailAddress"], email["useCommonAlertSchema"]) == ("oncall@example.com", True)
    assert (hook["serviceUri"], hook["useCommonAlertSchema"]) == ("https://hooks.example.com/alerts", True)
    assert group.inputs["groupShortName"] == "fraud-dev"
    assert dev.outputs["alert_topic"] == group.id
    assert dev.conforms


def test_action_group_short_names_fit_twelve_characters() -> None:
    assert action_group_short_name("fraud-dev") == "fraud-dev"
    long = action_group_short_name("speech-recognition-staging")
    assert len(long) == 12 and long == action_group_short_name("speech-recognition-staging")


def test_cluster_alerts_watch_node_readiness_and_idle_gpus_and_notify(dev: Built) -> None:
    group = only(dev.records, ACTION_GROUP).id
    nodes = only(dev.records, METRIC_ALERT).inputs
    assert nodes["scopes"] == [CLUSTER_ID]
    [criterion] = nodes["criteria"]["allOf"]
    assert criterion["metricName"] == "kube_node_status_condition"
    assert {d["name"]: d["values"] for d in criterion["dimensions"]} == {"condition": ["Ready"], "status": ["false", "unknown"]}
    assert nodes["actions"] == [{"actionGroupId": group}]
    gpus = only(dev.records, QUERY_ALERT).inputs
    assert gpus["scopes"] == [CLUSTER_ID]
    [condition] = gpus["criteria"]["allOf"]
    assert (condition["query"], condition["operator"], condition["threshold"]) == (GPU_DUTY_CYCLE_QUERY, "LessThan", 15)
    assert gpus["actions"] == {"actionGroups": [group]}
    assert gpus["windowSize"] == "PT1H"


def test_diagnostic_settings_send_registry_workspace_and_blob_logs_to_the_workspace(dev: Built) -> None:
    workspace = only(dev.records, WORKSPACE).id
    settings = {r.inputs["resourceUri"]: r.inputs for r in of_type(dev.records, DIAGNOSTICS)}
    assert set(settings) == {ACR_ID, ML_ID, f"{ACCOUNT_ID}/blobServices/default"}
    assert all(s["workspaceId"] == workspace for s in settings.values())
    assert settings[ACR_ID]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert [log["category"] for log in settings[f"{ACCOUNT_ID}/blobServices/default"]["logs"]] == [
        "StorageRead", "StorageWrite", "StorageDelete",
    ]


def test_storage_account_is_found_from_any_container_id() -> None:
    assert storage_account_id({"a": f"{ACCOUNT_ID}/blobServices/default/containers/a"}) == ACCOUNT_ID
    with pytest.raises(pulumi.RunError):
        storage_account_id({})


def test_dashboard_opens_the_workspace_workbooks(dev: Built) -> None:
    assert dev.outputs["dashboard_url"] == f"https://portal.azure.com/#resource{only(dev.records, WORKSPACE).id}/workbooks"


def test_the_policy_pack_finds_nothing_mandatory(dev: Built) -> None:
    report = check_source(Source("test", "mlfabric", "dev", "azure", "", dev.records))
    assert [f"{v.rule_id}: {v.message}" for v in report.violations if v.mandatory] == []


# --- the example stacks, with every Azure concern ---------------------------------------------------------

AZURE_CLASSES = {
    "network": "AzureNetwork", "storage": "AzureStorage", "registry": "AzureRegistry",
    "cluster": "AzureTrainingCluster", "monitoring": "AzureMonitoring", "serving": "AzureServing", "rbac": "AzureRbac",
}


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, Plan]]:
    """Both example stacks planned end to end."""
    yield {s: plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{s}.yaml")) for s in ("azure-dev", "azure-prod")}


@pytest.mark.parametrize("stack", ["azure-dev", "azure-prod"])
def test_example_stacks_build_every_concern_and_pass_the_policy_pack(stack: str, stacks: dict[str, Plan]) -> None:
    plan = stacks[stack]
    components = {r.type for r in plan.components}
    assert {f"mlfabric:{concern}:{cls}" for concern, cls in AZURE_CLASSES.items()} <= components
    report = check_plan(plan)
    assert [f"{v.rule_id} {v.resource_name}: {v.message}" for v in report.mandatory] == []


def test_example_stacks_stay_lean(stacks: dict[str, Plan]) -> None:
    # dev: +3 (the rollout script, its identity and 2 grants replace the traffic template)
    # +1 each: the NetworkPolicy around the device plugin (issue 15, components/kubernetes)
    # +3 each: Kueue's and JobSet's namespaces and a ResourceFlavor per GPU pool (issue 16)
    assert len(stacks["azure-dev"].custom_resources) == 79
    # prod: +3 rollout, +3 flow log (log, identity, grant); the stack keeps its NAT gateway (nat_gateways: single)
    # issue 16: +43 (the h100 pool, two teams, Managed Lustre with its subnet, key and CSI driver, Kueue)
    # issue 17: +7 (three notebook compute instances; the drift schedule, its identity and 2 grants)
    assert len(stacks["azure-prod"].custom_resources) == 171


@pytest.mark.parametrize("stack", ["azure-dev", "azure-prod"])
def test_example_stacks_export_the_same_outputs_as_aws(stack: str, stacks: dict[str, Plan]) -> None:
    # the AWS stack of the same environment declares the same concerns (prod has teams)
    aws = plan_stack(stackfile.load(ROOT / "stacks" / ("Pulumi.prod.yaml" if stack == "azure-prod" else "Pulumi.dev.yaml")))
    # batch_jobs: batch scoring is refused on Azure (capability table), so azure-prod declares none
    assert set(stacks[stack].outputs) == set(aws.outputs) - {"batch_jobs"}
    outputs = stacks[stack].outputs
    assert outputs["kubeconfig"] == "[secret]"
    assert outputs["endpoint_urls"]["asr"] == "https://speech-{}-asr.westeurope.inference.ml.azure.com/score".format(
        stack.removeprefix("azure-")
    )
    assert outputs["workload_identity"]


def test_prod_stack_file_points_at_the_schema() -> None:
    first = Path(ROOT / "stacks" / "Pulumi.azure-prod.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./schema.json"
