"""Experiment tracking, notebooks and drift monitoring on Azure (and batch's refusal), in the offline
plan of the azure-prod example and patches of it.

What a mock test cannot prove: that the workspace's MLflow endpoint answers at the URI (through its
private endpoint), that Azure assigns each compute instance to its user and stops it when idle, that
the monitor's Spark job reads the captured requests and the baseline with its identity's roles, or
that its e-mails arrive. Those need a real subscription. Proven here: which resources exist and their
security-relevant inputs (private access, the platform key, idle stop, no public IP, identities and
their scopes, alert recipients), and that what Azure cannot do is refused by ``validate``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlfabric.components.azure.drift import collected_inputs
from mlfabric.components.azure.notebooks import compute_name
from mlfabric.components.azure.rbac import BLOB_CONTRIBUTOR, BLOB_READER, ML_DATA_SCIENTIST, READER
from mlfabric.components.azure.rollout import deployment_name
from mlfabric.components.azure.tracking import tracking_uri
from mlfabric.testing import Plan, plan_spec
from tests.capability_support import deep_merge, stack_spec
from tests.helpers import ROOT

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
SCHEDULE = "azure-native:machinelearningservices:Schedule"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
ACCOUNT = "azure-native:storage:StorageAccount"
ASR_SCIENTIST = "0b0f8f6e-1d2c-4c4b-9a57-3e5d2b7a9c11"
ASR_ENGINEER = "7a1d3c5e-9b2f-4e68-a0c4-1f3e5d7b9a46"
TTS_SCIENTIST = "3d9a6c1e-5f2b-4a8d-9c7e-1b4f6a2d8e05"
TTS_READER = "9f2e4b6d-8a1c-4d3e-b5f7-2c6a8e0d4b19"


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_spec(stack_spec("azure-prod"), stack="azure-prod")


def _prod_with(patch: dict[str, Any]) -> Plan:
    return plan_spec(deep_merge(stack_spec("azure-prod"), patch), stack="azure-prod")


def _one(plan: Plan, typ: str, name: str) -> Any:
    found = [r for r in plan.of_type(typ) if r.name == name]
    assert len(found) == 1, (typ, name, [r.name for r in plan.of_type(typ)])
    return found[0]


def _role_guid(record: Any) -> str:
    return str(record.inputs["roleDefinitionId"]).rsplit("/", 1)[-1]


def _workspace_id(plan: Plan) -> str:
    workspace = _one(plan, WORKSPACE, "speech-prod-ml")
    return str(workspace.id)


def _account_id(plan: Plan) -> str:
    return str(_one(plan, ACCOUNT, "speech-prod-storage").id)


def _endpoint(**changes: Any) -> dict[str, Any]:
    """azure-prod's endpoint list with ``changes`` made to its one endpoint (a patch replaces lists)."""
    endpoint = {**stack_spec("azure-prod")["serving"]["endpoints"][0], **changes}
    return {"serving": {"endpoints": [endpoint]}}


# --- tracking -------------------------------------------------------------------------------------------


def test_the_tracking_uri_is_the_workspaces_mlflow_endpoint(prod: Plan) -> None:
    workspace = _workspace_id(prod)
    assert prod.outputs["tracking_uri"] == tracking_uri("westeurope", workspace)
    assert prod.outputs["tracking_uri"] == (
        "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/00000000-0000-0000-0000-000000000000"
        "/resourceGroups/rg-speech-prod/providers/Microsoft.MachineLearningServices/workspaces/mlw-speech-prod")


def test_the_tracking_server_is_private_and_encrypted_with_the_platform_key(prod: Plan) -> None:
    workspace = _one(prod, WORKSPACE, "speech-prod-ml")
    assert workspace.inputs["publicNetworkAccess"] == "Disabled"
    encryption = workspace.inputs["encryption"]
    assert encryption["status"] == "Enabled"
    assert encryption["keyVaultProperties"]["keyIdentifier"] == prod.outputs["storage_key_id"]
    assert workspace.inputs["enableServiceSideCMKEncryption"] is True


def test_data_scientists_log_runs_and_readers_only_read_them(prod: Plan) -> None:
    workspace = _workspace_id(prod)
    scientist = [r for r in prod.of_type(ROLE)
                 if r.inputs["principalId"] == ASR_SCIENTIST and r.inputs["scope"] == workspace]
    assert [_role_guid(r) for r in scientist] == [ML_DATA_SCIENTIST.guid]
    reader = _prod_with({"rbac": {"custom_personas": {"auditors": {"access": "read"}},
                                  "personas": {"auditors": [TTS_READER]}}})
    grants = [r for r in reader.of_type(ROLE)
              if r.inputs["principalId"] == TTS_READER and r.inputs["scope"] == _workspace_id(reader)]
    assert [_role_guid(r) for r in grants] == [READER.guid]


# --- notebooks ------------------------------------------------------------------------------------------


def test_each_data_scientist_and_ml_engineer_of_a_team_gets_one_personal_instance(prod: Plan) -> None:
    instances = prod.of_type(COMPUTE)
    users = {r.inputs["properties"]["properties"]["personalComputeInstanceSettings"]["assignedUser"]["objectId"]
             for r in instances}
    # the tts reader gets none
    assert users == {ASR_SCIENTIST, ASR_ENGINEER, TTS_SCIENTIST}
    assert len(instances) == 3
    assert set(prod.outputs["notebooks"]) == {f"asr/{ASR_SCIENTIST}", f"asr/{ASR_ENGINEER}", f"tts/{TTS_SCIENTIST}"}
    for instance in instances:
        settings = instance.inputs["properties"]["properties"]
        assert settings["applicationSharingPolicy"] == "Personal"
        assert settings["personalComputeInstanceSettings"]["assignedUser"]["tenantId"] == \
            "11111111-1111-1111-1111-111111111111"


def test_a_notebook_stops_when_idle_and_has_no_public_ip_or_ssh(prod: Plan) -> None:
    for instance in prod.of_type(COMPUTE):
        assert instance.inputs["properties"]["computeType"] == "ComputeInstance"
        assert instance.inputs["properties"]["disableLocalAuth"] is True
        settings = instance.inputs["properties"]["properties"]
        assert settings["idleTimeBeforeShutdown"] == "PT60M"
        assert settings["enableNodePublicIp"] is False
        assert settings["sshSettings"] == {"sshPublicAccess": "Disabled"}
        assert settings["vmSize"] == "Standard_DS3_v2"
        # in the workspace's managed network, never a subnet of the platform's VNet
        assert "subnet" not in settings


def test_a_notebook_runs_as_its_teams_identity(prod: Plan) -> None:
    for team, principal in (("asr", ASR_SCIENTIST), ("tts", TTS_SCIENTIST)):
        identity = _one(prod, IDENTITY, f"speech-prod-{team}")
        [instance] = [r for r in prod.of_type(COMPUTE) if r.inputs["computeName"] ==
                      compute_name("speech-prod", team, principal)]
        assert instance.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
        assert instance.inputs["tags"]["mlfabric-notebook"] == team
        assert prod.outputs["notebooks"][f"{team}/{principal}"] == instance.id


def test_idle_minutes_and_teams_choose_the_shutdown_and_who_gets_notebooks() -> None:
    plan = _prod_with({"notebooks": {"idle_minutes": 30, "teams": ["tts"]}})
    [instance] = plan.of_type(COMPUTE)
    assert instance.inputs["properties"]["properties"]["idleTimeBeforeShutdown"] == "PT30M"
    assert instance.inputs["tags"]["mlfabric-notebook"] == "tts"


def test_without_teams_notebooks_run_as_a_platform_identity_scoped_to_two_containers() -> None:
    spec = stack_spec("azure-prod")
    spec.pop("teams")
    spec["rbac"]["custom_personas"] = {"auditors": {"access": "read"}}
    spec["rbac"]["personas"]["auditors"] = [TTS_READER]
    plan = plan_spec(spec, stack="azure-prod")
    identity = _one(plan, IDENTITY, "speech-prod-platform")
    assert identity.inputs["resourceName"] == "id-speech-prod-notebooks"
    users = {r.inputs["properties"]["properties"]["personalComputeInstanceSettings"]["assignedUser"]["objectId"]
             for r in plan.of_type(COMPUTE)}
    assert users == {ASR_SCIENTIST, ASR_ENGINEER}  # the data-scientist and ml-engineer personas
    assert set(plan.outputs["notebooks"]) == {f"platform/{ASR_SCIENTIST}", f"platform/{ASR_ENGINEER}"}
    grants = {(_role_guid(r), r.inputs["scope"].rsplit("/", 1)[-1]) for r in plan.of_type(ROLE)
              if "mlfabric:notebooks:AzureNotebooks" in str(r.parent)}
    assert grants == {(BLOB_READER.guid, "datasets"), (BLOB_CONTRIBUTOR.guid, "artifacts")}


# --- drift ----------------------------------------------------------------------------------------------


def _monitor(plan: Plan) -> dict[str, Any]:
    schedule = _one(plan, SCHEDULE, "speech-prod-asr-drift")
    action: dict[str, Any] = schedule.inputs["properties"]["action"]
    assert action["actionType"] == "CreateMonitor"
    definition: dict[str, Any] = action["monitorDefinition"]
    return definition


def test_a_prod_endpoint_with_capture_has_a_daily_drift_monitor_of_its_main_deployment(prod: Plan) -> None:
    schedule = _one(prod, SCHEDULE, "speech-prod-asr-drift")
    assert schedule.inputs["name"] == "speech-prod-asr-drift"
    assert schedule.inputs["workspaceName"] == "mlw-speech-prod"
    assert schedule.inputs["properties"]["isEnabled"] is True
    assert schedule.inputs["properties"]["trigger"]["frequency"] == "Day"
    signal = _monitor(prod)["signals"]["data-drift"]
    assert signal["signalType"] == "DataDrift"
    main = deployment_name("main", stack_spec("azure-prod")["serving"]["endpoints"][0]["image"])
    assert signal["productionData"]["uri"] == collected_inputs("speech-prod-asr", main)
    assert signal["productionData"]["windowSize"] == "P1D"
    assert signal["referenceData"]["uri"] == f"{prod.outputs['bucket_urls']['datasets']}/baselines/asr/"


def test_drift_alerts_go_to_the_action_groups_email_recipients(prod: Plan) -> None:
    group = _one(prod, ACTION_GROUP, "speech-prod-alerts")
    addresses = [receiver["emailAddress"] for receiver in group.inputs["emailReceivers"]]
    monitor = _monitor(prod)
    assert monitor["alertNotificationSettings"]["emailNotificationSettings"]["emails"] == addresses
    assert addresses == ["speech-oncall@example.com"]
    assert monitor["signals"]["data-drift"]["notificationTypes"] == ["AmlNotification"]


def test_the_drift_monitor_runs_as_its_own_identity_with_read_only_data_access(prod: Plan) -> None:
    identity = _one(prod, IDENTITY, "speech-prod-asr-drift")
    assert identity.inputs["resourceName"] == "id-speech-prod-asr-drift"
    compute = _monitor(prod)["computeConfiguration"]
    assert compute["computeType"] == "ServerlessSpark"
    assert compute["computeIdentity"] == {"computeIdentityType": "ManagedIdentity", "identity": {
        "type": "UserAssigned", "userAssignedIdentities": [identity.id]}}
    grants = {(_role_guid(r), r.inputs["scope"]) for r in prod.of_type(ROLE) if r.name.startswith("speech-prod-asr-drift-")}
    assert grants == {(BLOB_READER.guid, _account_id(prod)), (ML_DATA_SCIENTIST.guid, _workspace_id(prod))}


def test_an_hourly_drift_schedule_reads_an_hour_of_requests() -> None:
    plan = _prod_with(_endpoint(monitoring={"drift": {"baseline_prefix": "baselines/asr/", "schedule": "hourly"}}))
    assert _one(plan, SCHEDULE, "speech-prod-asr-drift").inputs["properties"]["trigger"]["frequency"] == "Hour"
    assert _monitor(plan)["signals"]["data-drift"]["productionData"]["windowSize"] == "PT1H"


def test_an_endpoint_without_drift_gets_no_monitor() -> None:
    plan = _prod_with(_endpoint(monitoring={}))
    assert plan.of_type(SCHEDULE) == []
    assert [r for r in plan.of_type(IDENTITY) if r.name.endswith("-drift")] == []


# --- refusals through `mlfabric validate` -------------------------------------------------------------


def _validate(tmp_path: Path, patch: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    data = deep_merge(stack_spec("azure-prod"), patch)
    path = tmp_path / "Pulumi.azure-prod.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlfabric:platform": data}}, sort_keys=False))
    return subprocess.run([sys.executable, "-m", "mlfabric", "validate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)


_JOB: dict[str, Any] = {"name": "nightly", "model": "speech-recognizer", "input_prefix": "incoming/",
                        "image": "scorer@sha256:4a7d1ed414474e4033ac29ccb8653d9b4a7d1ed414474e4033ac29ccb8653d9b"}


@pytest.mark.parametrize(("patch", "line"), [
    ({"tracking": {"size": "large"}},
     "tracking.size: not supported on azure: the Azure ML workspace's MLflow endpoint is a managed service"),
    ({"batch": {"jobs": [_JOB]}},
     "batch.jobs[0].name: not supported on azure: Azure ML batch deployments run a scoring script"),
    ({"notebooks": {"machine": "Standard_Nope_v9"}}, "notebooks.machine: not an Azure VM size"),
    ({"notebooks": {"teams": ["tts"]}, "teams": [{"name": "tts", "members": {"reader": [TTS_READER]}},
                                                 {"name": "asr"}]},
     "notebooks: an Azure ML compute instance belongs to one user: give environment 'tts'"),
    (_endpoint(data_capture_percent=0),
     "serving.endpoints[0].monitoring.drift: needs captured requests: set data_capture_percent above 0"),
])
def test_what_azure_cannot_do_is_refused_by_validate_in_one_line(tmp_path: Path, patch: dict[str, Any], line: str) -> None:
    result = _validate(tmp_path, patch)
    assert result.returncode == 2, result.stdout + result.stderr
    problems = [text for text in result.stderr.splitlines() if text.startswith(line)]
    assert len(problems) == 1, result.stderr
    assert "Traceback" not in result.stderr
