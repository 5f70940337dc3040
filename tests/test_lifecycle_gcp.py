"""Experiment tracking and notebooks on GCP, planned offline; drift monitoring refused
(batch scoring: tests/test_batch_kubernetes.py).

Plans the gcp-prod example (``tracking: medium``, notebooks for the two teams) and asserts the inputs
that decide who reaches what and how it is protected: the MLflow service's internal ingress and
IAM-only invocation, who may invoke it, the Cloud SQL instance's private IP, key, protection, backups
and IAM login (no password anywhere), the server's identity and its grants, each notebook's identity,
public IP, idle shutdown, key, Shielded VM and subnet, and who may open it. Refusals go through
``mlfabric validate``.

What a mock test cannot prove: that the pinned MLflow and Cloud SQL Auth Proxy images start and
connect (the MLflow ``-full`` tag is not confirmed by a source), that Cloud SQL honours the IAM
conditions naming the instance, that MLflow migrates its schema as an IAM user with
cloudsqlsuperuser, that Workbench stops an instance after ``idle-timeout-seconds``, or that JupyterLab
opens for principals holding only serviceAccountUser. Those need a real project.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlfabric import stackfile
from mlfabric.components.gcp import tracking
from mlfabric.components.spec import SPEC_CONFIG_KEY
from mlfabric.plan import Plan, ResourceRecord, plan_spec
from tests.helpers import ROOT, only

RUN = "gcp:cloudrunv2/service:Service"
RUN_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
SQL_USER = "gcp:sql/user:User"
WORKBENCH = "gcp:workbench/instance:Instance"
ACCOUNT = "gcp:serviceaccount/account:Account"
SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
KEY_USER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
BUCKET = "gcp:storage/bucket:Bucket"
KEY = "gcp:kms/cryptoKey:CryptoKey"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
PROJECT = "vision-ml-prod"
MLFLOW_EMAIL = f"vision-prod-mlflow@{PROJECT}.iam.gserviceaccount.com"
TEAM_EMAILS = {team: f"vision-prod-{team}@{PROJECT}.iam.gserviceaccount.com" for team in ("vision", "speech")}


def _stack(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = stackfile.read_yaml_file(ROOT / "stacks" / f"Pulumi.{name}.yaml")["config"][SPEC_CONFIG_KEY]
    return spec


def _prod_with(**sections: Any) -> dict[str, Any]:
    data = copy.deepcopy(_stack("gcp-prod"))
    data.update(copy.deepcopy(sections))
    return data


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_spec(_stack("gcp-prod"), stack="gcp-prod")


def _key_id(plan: Plan) -> str:
    # The key every storage-encrypted resource names: the buckets' default KMS key.
    bucket = next(r for r in plan.of_type(BUCKET) if r.inputs.get("labels", {}).get("mlfabric-bucket") == "artifacts")
    return str(bucket.inputs["encryption"]["defaultKmsKeyName"])


def _tracking_key(plan: Plan) -> str:
    key = only(plan.resources, KEY, "vision-prod-tracking")
    assert key.protect is True and key.inputs["rotationPeriod"] == f"{90 * 86400}s"
    assert key.id is not None
    return key.id


def _service(plan: Plan) -> ResourceRecord:
    return only(plan.resources, RUN, "vision-prod-tracking")


# --- tracking --------------------------------------------------------------------------------------------


def test_the_tracking_server_is_internal_and_iam_only(prod: Plan) -> None:
    service = _service(prod)
    assert service.inputs["name"] == "vision-prod-mlflow"
    assert service.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert service.inputs["invokerIamDisabled"] is False
    assert service.inputs["deletionProtection"] is True
    assert service.inputs["template"]["serviceAccount"] == MLFLOW_EMAIL
    assert service.inputs["template"]["encryptionKey"] == _tracking_key(prod)
    assert service.inputs["scaling"]["minInstanceCount"] == 2
    assert service.inputs["template"]["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    subnet = only(prod.resources, SUBNET, "vision-prod")
    assert service.inputs["template"]["vpcAccess"]["networkInterfaces"][0]["subnetwork"].startswith(
        f"projects/{PROJECT}/regions/us-central1/subnetworks/")
    assert subnet.inputs["privateIpGoogleAccess"] is True
    members = [r for r in prod.of_type(RUN_MEMBER) if r.inputs["name"] == "vision-prod-mlflow"]
    assert members and all(r.inputs["member"] not in ("allUsers", "allAuthenticatedUsers") for r in members)
    assert prod.outputs["tracking_uri"].startswith("https://vision-prod-mlflow-")


def test_the_tracking_server_runs_mlflow_on_the_artifacts_bucket_through_the_proxy(prod: Plan) -> None:
    mlflow, proxy = _service(prod).inputs["template"]["containers"]
    args = mlflow["args"]
    assert args[args.index("--artifacts-destination") + 1] == f"gs://{prod.outputs['bucket_names']['artifacts']}/mlflow"
    assert "--serve-artifacts" in args
    # The IAM database user through the proxy on localhost: no password in the URI.
    assert args[args.index("--backend-store-uri") + 1] == (
        f"postgresql://vision-prod-mlflow%40{PROJECT}.iam@127.0.0.1:5432/mlflow")
    assert mlflow["dependsOns"] == ["cloud-sql-proxy"]
    assert proxy["image"] == tracking.PROXY_IMAGE
    assert proxy["args"][:2] == ["--private-ip", "--auto-iam-authn"]
    assert proxy["args"][-1] == f"{PROJECT}:us-central1:vision-prod-mlflow"
    # medium: 3 + 1 vCPUs, a count Cloud Run offers
    assert (mlflow["resources"]["limits"]["cpu"], proxy["resources"]["limits"]["cpu"]) == ("3", "1")


def test_the_tracking_database_is_private_encrypted_protected_and_backed_up(prod: Plan) -> None:
    instance = only(prod.resources, SQL, "vision-prod-tracking")
    settings = instance.inputs["settings"]
    network = only(prod.resources, NETWORK, "vision-prod")
    assert settings["ipConfiguration"]["ipv4Enabled"] is False
    assert settings["ipConfiguration"]["privateNetwork"].startswith(f"projects/{PROJECT}/global/networks/")
    assert network.inputs["autoCreateSubnetworks"] is False
    assert settings["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"
    assert instance.inputs["encryptionKeyName"] == _tracking_key(prod)
    assert instance.inputs["deletionProtection"] is True and settings["deletionProtectionEnabled"] is True
    assert instance.protect is True
    assert settings["backupConfiguration"]["enabled"] is True
    assert settings["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert settings["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"] == 30
    assert settings["availabilityType"] == "REGIONAL"
    assert settings["tier"] == "db-custom-2-7680" and settings["edition"] == "ENTERPRISE"
    assert {"name": "cloudsql.iam_authentication", "value": "on"} in settings["databaseFlags"]


def test_cloud_sql_and_cloud_run_may_use_the_tracking_key_and_sql_peers_into_the_platform_network(prod: Plan) -> None:
    grants = {r.inputs["member"].split("@")[1]: r.inputs["cryptoKeyId"] for r in prod.of_type(KEY_USER)
              if r.name.startswith("vision-prod-tracking-")}
    assert grants == {"gcp-sa-cloud-sql.iam.gserviceaccount.com": _tracking_key(prod),
                      "serverless-robot-prod.iam.gserviceaccount.com": _tracking_key(prod)}
    peering = only(prod.resources, "gcp:servicenetworking/connection:Connection", "vision-prod-tracking-sql-peering")
    assert peering.inputs["service"] == "servicenetworking.googleapis.com"
    address = only(prod.resources, "gcp:compute/globalAddress:GlobalAddress", "vision-prod-tracking-sql-range")
    assert (address.inputs["purpose"], address.inputs["addressType"]) == ("VPC_PEERING", "INTERNAL")


def test_the_tracking_server_alarms_on_latency_and_errors_to_every_channel(prod: Plan) -> None:
    channels = len(prod.of_type(CHANNEL))
    policies = [r for r in prod.of_type(ALERT) if r.name.startswith("vision-prod-tracking-")]
    assert sorted(r.name for r in policies) == ["vision-prod-tracking-error-rate", "vision-prod-tracking-p99-latency"]
    for policy in policies:
        assert len(policy.inputs["notificationChannels"]) == channels >= 2
        assert 'resource.labels.service_name="vision-prod-mlflow"' in policy.inputs["conditions"][0][
            "conditionThreshold"]["filter"]
    error = next(p for p in policies if p.name.endswith("error-rate"))
    assert error.inputs["conditions"][0]["conditionThreshold"]["thresholdValue"] == 0.01


def test_no_database_password_exists(prod: Plan) -> None:
    user = only(prod.resources, SQL_USER, "vision-prod-tracking")
    assert user.inputs["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert user.inputs["name"] == f"vision-prod-mlflow@{PROJECT}.iam"
    assert "password" not in user.inputs and "passwordWo" not in user.inputs
    assert prod.of_type("gcp:secretmanager/secretVersion:SecretVersion") == []


def test_the_tracking_identity_reaches_its_database_and_the_artifacts_bucket_only(prod: Plan) -> None:
    member = f"serviceAccount:{MLFLOW_EMAIL}"
    (bucket_grant,) = [r for r in prod.of_type(BUCKET_MEMBER) if r.inputs["member"] == member]
    assert bucket_grant.inputs["bucket"] == prod.outputs["bucket_names"]["artifacts"]
    assert bucket_grant.inputs["role"] == "roles/storage.objectUser"
    project_grants = [r for r in prod.of_type(PROJECT_MEMBER) if r.inputs["member"] == member]
    assert sorted(r.inputs["role"] for r in project_grants) == ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]
    for grant in project_grants:
        assert grant.inputs["condition"]["expression"] == (
            f'resource.name == "projects/{PROJECT}/instances/vision-prod-mlflow"')


def test_personas_and_teams_get_the_tracking_server_by_their_template(prod: Plan) -> None:
    granted = {(r.inputs["member"], r.inputs["role"]) for r in prod.of_type(RUN_MEMBER)
               if r.inputs["name"] == "vision-prod-mlflow"}
    assert granted == {
        ("group:vision-data-science@example.com", "roles/run.invoker"),
        ("group:vision-ml-engineering@example.com", "roles/run.invoker"),
        (f"serviceAccount:ci-deployer@{PROJECT}.iam.gserviceaccount.com", "roles/run.invoker"),
        ("group:ml-platform@example.com", "roles/run.admin"),
        *((f"serviceAccount:{email}", "roles/run.invoker") for email in TEAM_EMAILS.values()),
    }


# --- notebooks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("team", sorted(TEAM_EMAILS))
def test_each_team_gets_a_private_encrypted_notebook_that_stops_when_idle(prod: Plan, team: str) -> None:
    notebook = only(prod.resources, WORKBENCH, f"vision-prod-notebook-{team}")
    setup = notebook.inputs["gceSetup"]
    assert notebook.inputs["instanceId"] == f"vision-prod-{team}"
    assert setup["disablePublicIp"] is True
    assert setup["metadata"] == {"idle-timeout-seconds": "3600"}
    assert setup["serviceAccounts"] == [{"email": TEAM_EMAILS[team]}]
    assert setup["machineType"] == "n2-standard-4"
    for disk in ("bootDisk", "dataDisks"):
        assert setup[disk] == {"diskEncryption": "CMEK", "kmsKey": _key_id(prod)}
    assert setup["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableVtpm": True,
                                               "enableIntegrityMonitoring": True}
    (interface,) = setup["networkInterfaces"]
    assert interface["subnet"].startswith(f"projects/{PROJECT}/regions/us-central1/subnetworks/")
    assert notebook.inputs["enableDeletionProtection"] is True
    assert notebook.inputs["disableProxyAccess"] is False
    assert prod.outputs["notebooks"][team].startswith("https://")


def test_the_compute_agent_may_encrypt_notebook_disks_with_the_platform_key(prod: Plan) -> None:
    grant = only(prod.resources, KEY_USER, "vision-prod-notebooks-compute-agent")
    assert grant.inputs["cryptoKeyId"] == _key_id(prod)
    assert grant.inputs["member"].endswith("@compute-system.iam.gserviceaccount.com")


def test_only_non_reader_team_members_may_open_their_teams_notebook(prod: Plan) -> None:
    grants = {(r.inputs["member"], r.inputs["serviceAccountId"]) for r in prod.of_type(SA_MEMBER)
              if r.inputs["role"] == "roles/iam.serviceAccountUser"}
    assert grants == {
        ("group:vision-data-science@example.com", f"projects/{PROJECT}/serviceAccounts/{TEAM_EMAILS['vision']}"),
        ("group:speech-ml@example.com", f"projects/{PROJECT}/serviceAccounts/{TEAM_EMAILS['speech']}"),
    }


def test_idle_minutes_and_teams_reach_the_instances() -> None:
    plan = plan_spec(_prod_with(notebooks={"idle_minutes": 15, "teams": ["speech"]}), stack="gcp-prod")
    (notebook,) = plan.of_type(WORKBENCH)
    assert notebook.name == "vision-prod-notebook-speech"
    assert notebook.inputs["gceSetup"]["metadata"] == {"idle-timeout-seconds": "900"}
    assert notebook.inputs["gceSetup"]["machineType"] == "e2-standard-4"


# --- what the lifecycle sections leave alone ----------------------------------------------------------------


def test_adding_tracking_and_notebooks_changes_no_existing_resource(prod: Plan) -> None:
    without = {k: v for k, v in _stack("gcp-prod").items() if k not in ("tracking", "notebooks")}
    before = {r.urn: r.inputs for r in plan_spec(without, stack="gcp-prod").resources}
    after = {r.urn: r.inputs for r in prod.resources}
    assert before.keys() <= after.keys()
    assert [urn for urn, inputs in before.items() if after[urn] != inputs] == []
    added = {after_urn.split("::")[-2].split("$")[-1] for after_urn in after.keys() - before.keys()}
    assert {"mlfabric:tracking:GcpTracking", "mlfabric:notebooks:GcpNotebooks", SQL, WORKBENCH} <= added


def test_the_dev_example_declares_no_lifecycle_resources() -> None:
    dev = plan_spec(_stack("gcp-dev"), stack="gcp-dev")
    assert dev.of_type(SQL) == [] and dev.of_type(WORKBENCH) == []
    assert "tracking_uri" not in dev.outputs and "notebooks" not in dev.outputs


# --- refusals -------------------------------------------------------------------------------------------------


def _validate(tmp_path: Path, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Pulumi.gcp-test.yaml"
    path.write_text(yaml.safe_dump({"config": {SPEC_CONFIG_KEY: data}}, sort_keys=False))
    return subprocess.run([sys.executable, "-m", "mlfabric", "validate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, check=False)


def _drift(data: dict[str, Any]) -> None:
    data["serving"]["endpoints"][0]["monitoring"] = {"drift": {"baseline_prefix": "baselines/detector/"}}


def _no_artifacts(data: dict[str, Any]) -> None:
    data["storage"]["buckets"] = [b for b in data["storage"]["buckets"] if b["name"] != "artifacts"]


REFUSALS = {
    "drift": (_drift, "serving.endpoints[0].monitoring.drift.baseline_prefix: not supported on gcp: Cloud Run has "
              "no model monitoring"),
    "tracking_without_artifacts": (_no_artifacts, "tracking: needs an 'artifacts' bucket in storage.buckets"),
    "mlflow_endpoint": (lambda d: d["serving"]["endpoints"][0].update(name="mlflow"),
                        "serving.endpoints[0].name: is the tracking server's Cloud Run service name on gcp"),
    "gpu_notebook": (lambda d: d["notebooks"].update(machine="g2-standard-4"),
                     "notebooks.machine: a GPU machine needs accelerator settings the spec does not have"),
    "unknown_notebook_machine": (lambda d: d["notebooks"].update(machine="n9-huge-4"), "notebooks.machine: "),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_validate_refuses_what_gcp_cannot_build_naming_the_field(tmp_path: Path, case: str) -> None:
    change, expected = REFUSALS[case]
    data = copy.deepcopy(_stack("gcp-prod"))
    change(data)
    result = _validate(tmp_path, data)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(line.startswith(expected) for line in lines), lines
    assert "Traceback" not in result.stderr


def test_notebooks_without_teams_need_a_workload_identity(tmp_path: Path) -> None:
    data = {k: v for k, v in _stack("gcp-prod").items() if k not in ("teams", "training", "tracking")}
    result = _validate(tmp_path, data)
    assert result.returncode == 2
    assert any(line.startswith("notebooks: with no teams, notebooks run as the platform's workload identity")
               for line in result.stderr.splitlines()), result.stderr
