"""On Azure the spec means what it says: changing a field changes the plan the way it should.

Blue/green under mocks: a new image is a new Azure ML deployment (a new URN) beside the previous one,
whose URN leaves the plan (Pulumi deletes it at the end of a successful update, after the rollout
script moved traffic off it); strategy, canary percent and bake time change the rollout script's
steps (and so rerun it) without touching the deployments. Renames: a bucket, a model, a GPU pool and
an endpoint renamed with ``renamed_from`` keep their physical names and every resource of the old
plan is reached through an alias (``mlfabric diff`` shows a rename, not a delete).

What a mock test cannot prove: that the script runs in Azure's container, bakes for real, rolls back
on a fired alert, or that the engine moves the state through the aliases. Those need a real
subscription (README: limits).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from mlfabric.components.azure import rollout
from mlfabric.diff import PlanDiff, diff_views, engine_views
from mlfabric.testing import Plan, ResourceRecord, plan_spec
from tests.helpers import spec_data

SCRIPT = "azure-native:resources:AzureCliScript"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
CONTAINER = "azure-native:storage:BlobContainer"
MODEL = "azure-native:machinelearningservices:RegistryModelContainer"
POOL = "azure-native:containerservice:AgentPool"
REGISTRY = {"repositories": ["scorer"], "models": ["fraud"]}


def endpoint(**changes: Any) -> dict[str, Any]:
    return {"name": "scorer", "model": "fraud", "image": "scorer:1.0.0", "instance": "Standard_DS3_v2", **changes}


def azure_plan(*endpoints: dict[str, Any], **sections: Any) -> Plan:
    sections = {"registry": REGISTRY, "serving": {"endpoints": list(endpoints) or [endpoint()]}, **sections}
    return plan_spec(spec_data("azure", "dev", **sections), stack="azure-dev")


def script_env(plan: Plan) -> dict[str, str]:
    [script] = [r for r in plan.resources if r.type == SCRIPT]
    return {e["name"]: e["value"] for e in script.inputs["environmentVariables"]}


def only(plan: Plan, typ: str) -> ResourceRecord:
    [record] = [r for r in plan.resources if r.type == typ]
    return record


def diff(before: Plan, after: Plan) -> PlanDiff:
    return diff_views(engine_views(asdict(r) for r in before.resources),
                      engine_views(asdict(r) for r in after.resources))


def changed_types(result: PlanDiff) -> set[str]:
    return {urn.split("::")[-2].rsplit("$", 1)[-1] for urn in result.changed}


BASE = azure_plan()


# --- blue/green and the rollout ------------------------------------------------------------------------


def test_switching_canary_to_all_at_once_changes_the_rollout_steps_and_nothing_else() -> None:
    after = azure_plan(endpoint(traffic={"strategy": "all-at-once"}))
    assert (script_env(BASE)["STEPS"], script_env(after)["STEPS"]) == ("10 100", "100")
    result = diff(BASE, after)
    assert not result.added and not result.removed
    assert changed_types(result) == {SCRIPT}
    assert only(BASE, SCRIPT).inputs["forceUpdateTag"] != only(after, SCRIPT).inputs["forceUpdateTag"]


def test_a_larger_canary_changes_the_first_step() -> None:
    after = azure_plan(endpoint(traffic={"canary_percent": 50}))
    assert script_env(after)["STEPS"] == "50 100"
    assert changed_types(diff(BASE, after)) == {SCRIPT}


def test_bake_minutes_set_the_wait_after_each_step_and_the_script_timeout() -> None:
    after = azure_plan(endpoint(traffic={"bake_minutes": 30}))
    assert script_env(after)["BAKE_MINUTES"] == "30"
    assert only(after, SCRIPT).inputs["timeout"] == "PT120M"  # 2 steps x 30 minutes + an hour
    assert changed_types(diff(BASE, after)) == {SCRIPT}


def test_an_image_bump_creates_a_new_deployment_beside_the_serving_one_and_shifts_to_it() -> None:
    after = azure_plan(endpoint(image="scorer:1.1.0"))
    old, new = only(BASE, DEPLOYMENT), only(after, DEPLOYMENT)
    assert old.inputs["deploymentName"] == rollout.deployment_name("main", "scorer:1.0.0")
    assert new.inputs["deploymentName"] == rollout.deployment_name("main", "scorer:1.1.0")
    result = diff(BASE, after)
    # the previous deployment leaves the plan (deleted after the update), the new one is added
    assert old.urn.split("::")[-1] in {v.urn.split("::")[-1] for v in result.removed}
    assert new.urn.split("::")[-1] in {v.urn.split("::")[-1] for v in result.added}
    # never an in-place update of the serving deployment, and the endpoint itself is untouched
    assert DEPLOYMENT not in changed_types(result) and ENDPOINT not in changed_types(result)
    assert json.loads(script_env(after)["TARGET_TRAFFIC"]) == {new.inputs["deploymentName"]: 100}
    assert new.urn in only(after, SCRIPT).dependencies


def test_a_challenger_deploys_from_nothing_with_consistent_names() -> None:
    plan = azure_plan(endpoint(traffic={"challenger": {"image": "scorer:2.0.0", "percent": 20}}))
    names = {r.inputs["deploymentName"] for r in plan.resources if r.type == DEPLOYMENT}
    traffic = json.loads(script_env(plan)["TARGET_TRAFFIC"])
    assert set(traffic) == names
    assert traffic == {rollout.deployment_name("main", "scorer:1.0.0"): 80,
                       rollout.deployment_name("challenger", "scorer:2.0.0"): 20}


def rollout_program() -> dict[str, Any]:
    """The rollout program's functions (exec'd under another __name__, so main does not run)."""
    namespace: dict[str, Any] = {"__name__": "rollout_under_test"}
    exec(rollout.PROGRAM, namespace)
    return namespace


def test_the_script_mixes_the_previous_split_into_each_step() -> None:
    mix = rollout_program()["mix"]
    assert mix(10, {"main-new": 100}, {"main-old": 100}) == {"main-old": 90, "main-new": 10}
    assert mix(100, {"main-new": 90, "challenger-x": 10}, {"main-old": 90, "challenger-x": 10}) == {
        "main-new": 90, "challenger-x": 10}
    assert sum(mix(33, {"a-1": 70, "b-2": 30}, {"a-0": 100}).values()) == 100


class FakeArm:
    """The endpoint and alerts the rollout program reads and writes through ``az rest``."""

    def __init__(self, traffic: dict[str, int], alert_at_step: int | None = None) -> None:
        self.traffic, self.alert_at_step, self.puts, self.steps = traffic, alert_at_step, [], 0

    def __call__(self, *args: str) -> dict[str, Any]:
        method, url = args[1], args[3]
        if "alerts" in url:
            self.steps += 1
            fire = self.alert_at_step == self.steps
            return {"value": [{"properties": {"essentials": {"alertRule": "/rules/latency",
                                                              "startDateTime": "9999-01-01T00:00:00"}}}] if fire else []}
        if method == "put":
            body = json.loads(args[5])["properties"]
            self.traffic = body["traffic"]
            self.puts.append(body["traffic"])
            return {}
        return {"location": "westeurope", "identity": {"type": "SystemAssigned"},
                "properties": {"traffic": self.traffic, "mirrorTraffic": {}, "authMode": "AADToken",
                               "provisioningState": "Succeeded"}}


ENV = {"ENDPOINT_ID": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e",
       "ENDPOINT_API_VERSION": "2024-10-01", "ALERTS_API_VERSION": "2019-05-05-preview",
       "TARGET_TRAFFIC": json.dumps({"main-new": 100}), "TARGET_MIRROR": "{}", "STEPS": "10 100",
       "BAKE_MINUTES": "0", "ALERT_RULE_IDS": "/rules/latency /rules/errors"}


def test_the_script_sets_the_split_at_once_on_the_first_deploy() -> None:
    program, arm = rollout_program(), FakeArm({})
    program["az"] = arm
    program["main"](ENV)
    assert arm.puts == [{"main-new": 100}]


def test_the_script_shifts_in_steps_and_bakes_each() -> None:
    program, arm = rollout_program(), FakeArm({"main-old": 100})
    program["az"] = arm
    program["main"](ENV)
    assert arm.puts == [{"main-old": 90, "main-new": 10}, {"main-new": 100}]
    assert arm.steps == 2


def test_the_script_rolls_back_and_fails_when_an_alert_fires_while_baking() -> None:
    program, arm = rollout_program(), FakeArm({"main-old": 100}, alert_at_step=1)
    program["az"] = arm
    try:
        program["main"](ENV)
    except SystemExit as stop:
        assert "rolled back at 10%" in str(stop.code)
    else:
        raise AssertionError("the script did not fail")
    assert arm.puts == [{"main-old": 90, "main-new": 10}, {"main-old": 100}]


# --- renames -------------------------------------------------------------------------------------------


def test_a_renamed_bucket_keeps_its_container_and_every_resource_is_aliased() -> None:
    before = plan_spec(spec_data("azure", "dev", storage={"buckets": [{"name": "raw"}, {"name": "models"}]}),
                       stack="azure-dev")
    after = plan_spec(spec_data("azure", "dev", storage={"buckets": [{"name": "landing", "renamed_from": "raw"},
                                                                     {"name": "models"}]}), stack="azure-dev")
    names = {r.inputs["containerName"] for r in after.resources if r.type == CONTAINER}
    assert names == {"raw", "models"}
    result = diff(before, after)
    assert result.removed == [] and not result.replaced, [v.urn for v in result.removed]
    assert [old.split("::")[-1] for old, _ in result.aliased] == ["fraud-dev-raw"]


def test_a_renamed_endpoint_keeps_its_physical_names_and_every_resource_is_aliased() -> None:
    after = azure_plan(endpoint(name="ranker", renamed_from="scorer"))
    assert only(after, ENDPOINT).inputs["endpointName"] == only(BASE, ENDPOINT).inputs["endpointName"]
    result = diff(BASE, after)
    assert result.removed == [] and not result.replaced, [v.urn for v in result.removed]
    assert result.added == []
    endpoint_resources = [r for r in BASE.resources if r.custom and r.name.startswith("fraud-dev-scorer")]
    assert {old.split("::")[-1] for old, _ in result.aliased} == {r.name for r in endpoint_resources}
    # endpoint, environment, deployment, autoscale, 2 alerts, script, identity, 2 grants: every one aliased
    assert len(result.aliased) == len(endpoint_resources) == 10


def test_a_renamed_model_keeps_its_container() -> None:
    before = azure_plan()
    after = azure_plan(endpoint(model="detector"),
                       registry={**REGISTRY, "models": ["detector"], "renamed_from": {"detector": "fraud"}})
    assert only(after, MODEL).inputs["modelName"] == "fraud"
    result = diff(before, after)
    assert [old.split("::")[-1] for old, _ in result.aliased] == ["fraud-dev-model-fraud"]
    assert result.removed == []


def test_a_renamed_gpu_pool_keeps_its_agent_pool() -> None:
    def pools(pool: dict[str, Any]) -> Plan:
        return plan_spec(spec_data("azure", "dev", training={"gpu_pools": [pool]}), stack="azure-dev")

    before = pools({"name": "t4", "accelerator": "t4"})
    after = pools({"name": "small", "renamed_from": "t4", "accelerator": "t4"})
    assert only(after, POOL).inputs["agentPoolName"] == "t4"
    result = diff(before, after)
    # The pool's Kueue ResourceFlavor is named after the pool's current name (the label its nodes carry),
    # so it is replaced: a stateless object (components/kubernetes/queueing.py), nothing else is.
    assert [view.urn.split("::")[-1] for view in result.removed] == ["fraud-dev-flavor-t4"]
    assert [old.split("::")[-1] for old, _ in result.aliased] == ["fraud-dev-gpu-t4"]
