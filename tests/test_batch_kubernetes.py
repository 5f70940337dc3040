"""Batch scoring on the training cluster (AWS and GCP): a CronJob per job in the team's namespace,
admitted by the team's Kueue queue, running as the team's identity, reading and writing only under
the team's prefix; what a spec gets wrong is refused by validate with one line per problem."""

from __future__ import annotations

import copy
import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlfabric import stackfile
from mlfabric.components.spec import SPEC_CONFIG_KEY
from mlfabric.plan import Plan, plan_stack
from mlfabric.testing import ResourceRecord
from tests.helpers import ROOT

CRON_JOB = "kubernetes:batch/v1:CronJob"
STACKS = ("prod", "gcp-prod")


@functools.cache
def stack_plan(stack: str) -> Plan:
    return plan_stack(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml"))


def cron_job(stack: str) -> ResourceRecord:
    [job] = [r for r in stack_plan(stack).resources if r.type == CRON_JOB]
    return job


@pytest.mark.parametrize("stack", STACKS)
def test_the_job_runs_in_its_team_namespace_queue_and_identity(stack: str) -> None:
    job = cron_job(stack)
    assert job.inputs["metadata"]["name"] == "nightly-scoring"
    assert job.inputs["metadata"]["namespace"] == "team-vision"
    template = job.inputs["spec"]["jobTemplate"]
    assert template["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "vision"
    pod = template["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "vision"
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    [container] = pod["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1"}


@pytest.mark.parametrize("stack", STACKS)
def test_all_instances_are_admitted_at_once_on_the_schedule(stack: str) -> None:
    spec = cron_job(stack).inputs["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["suspend"], spec["concurrencyPolicy"]) == (
        "0 2 * * *", "Etc/UTC", False, "Forbid")
    job = spec["jobTemplate"]["spec"]
    assert (job["parallelism"], job["completions"], job["completionMode"]) == (2, 2, "Indexed")


@pytest.mark.parametrize("stack", STACKS)
def test_input_and_output_stay_under_the_team_prefix(stack: str) -> None:
    env = {e["name"]: e["value"] for e in cron_job(stack).inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    assert env["INPUT_URI"].endswith("/teams/vision/scoring/") and "datasets" in env["INPUT_URI"]
    assert env["OUTPUT_URI"].endswith("/teams/vision/batch/nightly-scoring/") and "artifacts" in env["OUTPUT_URI"]
    assert env["MODEL"] in ("fraud-detector", "detector")


@pytest.mark.parametrize("stack", STACKS)
def test_the_stack_output_says_how_to_submit_and_where_results_go(stack: str) -> None:
    out = stack_plan(stack).outputs["batch_jobs"]["nightly-scoring"]
    assert "kubectl create job --from=cronjob/nightly-scoring" in out["submit"] and "-n team-vision" in out["submit"]
    assert out["output"].endswith("/teams/vision/batch/nightly-scoring/")


def test_a_job_without_a_schedule_is_suspended_and_runs_on_demand(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    data["config"][SPEC_CONFIG_KEY]["batch"]["jobs"][0].pop("schedule")
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = plan_stack(stackfile.load(path))
    [job] = [r for r in plan.resources if r.type == CRON_JOB]
    assert job.inputs["spec"]["suspend"] is True
    assert plan.outputs["batch_jobs"]["nightly-scoring"]["submit"].startswith("kubectl create job --from=cronjob/")


def _validate(tmp_path: Path, change: Any) -> subprocess.CompletedProcess[str]:
    data = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    change(data["config"][SPEC_CONFIG_KEY]["batch"]["jobs"][0])
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(copy.deepcopy(data)))
    return subprocess.run([sys.executable, "-m", "mlfabric", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("change", "line"), [
    (lambda job: job.pop("team"),
     "batch.jobs[0].team: required: a job runs in its team's namespace, queue and identity (declared teams: "
     "vision, fraud)"),
    (lambda job: job.update(input_prefix="scoring/"),
     "batch.jobs[0].input_prefix: must be under the team's prefix 'teams/vision/': its identity reads nothing "
     "else (got 'scoring/')"),
    (lambda job: job.update(image="ghost:1.0.0"),
     "batch.jobs[0].image: names no repository of registry.repositories and is not a full image URL (got "
     "'ghost:1.0.0')"),
])
def test_a_job_the_cluster_cannot_run_as_asked_is_refused(tmp_path: Path, change: Any, line: str) -> None:
    result = _validate(tmp_path, change)
    assert result.returncode == 2, result.stdout
    assert result.stderr.splitlines() == [line]
