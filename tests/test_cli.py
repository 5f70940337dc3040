"""The CLI through subprocesses, as a user runs it: exit codes, output shapes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from tests.helpers import ROOT


def mlfabric(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlfabric", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def write_stack(tmp_path: Path, spec: object, name: str = "Pulumi.bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"config": {"mlfabric:platform": spec}}))
    return path


def assert_clean_failure(result: subprocess.CompletedProcess[str], *lines: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.splitlines() == list(lines)


def test_validate_accepts_every_example_stack() -> None:
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        result = mlfabric("validate", str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok: ")


def test_validate_by_stack_name() -> None:
    result = mlfabric("validate", "-s", "prod")
    assert result.returncode == 0
    assert "fraud-prod on aws us-east-1" in result.stdout


def test_unknown_stack_is_one_line_naming_the_known_stacks() -> None:
    result = mlfabric("plan", "-s", "qa")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("stack 'qa': no stack file ") and "known stacks: " in line and "dev" in line


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    assert_clean_failure(mlfabric("plan", "--file", str(tmp_path / "nope.yaml")), f"{tmp_path / 'nope.yaml'}: no such file")


def test_unreadable_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text("config:\n  mlfabric:platform: {name: [unclosed\n")
    result = mlfabric("validate", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{path}:3:") and "not valid YAML" in line


def test_stack_file_without_spec_says_where_the_spec_goes(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.empty.yaml"
    path.write_text("config:\n  aws:region: us-east-1\n")
    assert_clean_failure(mlfabric("plan", "--file", str(path)),
                         f"{path}: config.mlfabric:platform: missing (the spec lives under this key)")


def test_bad_spec_prints_one_line_per_problem_and_declares_nothing(tmp_path: Path) -> None:
    spec = {"name": "fraud", "environment": "dev", "cloud": "aws", "region": "us-east-1", "colour": "red",
            "training": {"gpu_pools": [{"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 3}]}}
    path = write_stack(tmp_path, spec)
    out = tmp_path / "plan.json"
    result = mlfabric("plan", "--file", str(path), "--json", str(out))
    assert_clean_failure(
        result,
        "colour: unknown key (allowed: spec_version, name, environment, cloud, region, tags, deletion_protection, "
        "aws, gcp, azure, network, storage, training, registry, serving, monitoring, rbac, teams, tracking, notebooks, batch, budget)",
    )
    assert not out.exists()


def test_impossible_gpu_request_fails_with_the_sizes_on_offer(tmp_path: Path) -> None:
    spec = {"name": "fraud", "environment": "dev", "cloud": "aws", "region": "us-east-1",
            "training": {"gpu_pools": [{"name": "a100", "accelerator": "a100-80gb", "gpus_per_node": 3}]}}
    assert_clean_failure(mlfabric("validate", str(write_stack(tmp_path, spec))),
                         "training.gpu_pools[0].gpus_per_node: a100-80gb on aws comes in nodes of 8 GPUs (got 3)")


def test_gcp_without_a_project_anywhere_is_one_line(tmp_path: Path) -> None:
    spec = {"name": "vision", "environment": "dev", "cloud": "gcp", "region": "us-central1"}
    assert_clean_failure(mlfabric("plan", "--file", str(write_stack(tmp_path, spec))),
                         "gcp.project: required on gcp when the stack has no gcp:project config (got nothing)")


def test_gcp_project_may_come_from_the_provider_config(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.vision.yaml"
    path.write_text(yaml.safe_dump({"config": {
        "gcp:project": "vision-ml-dev",
        "mlfabric:platform": {"name": "vision", "environment": "dev", "cloud": "gcp", "region": "us-central1"}}}))
    result = mlfabric("plan", "--file", str(path), "--json", "-")
    assert result.returncode == 0, result.stderr
    buckets = [r for r in json.loads(result.stdout)["resources"] if r["type"] == "gcp:storage/bucket:Bucket"]
    assert buckets and {b["inputs"]["project"] for b in buckets} == {"vision-ml-dev"}


def test_stack_and_file_together_is_a_usage_error(tmp_path: Path) -> None:
    assert_clean_failure(mlfabric("plan", "-s", "dev", "--file", str(tmp_path / "x.yaml")),
                         f"give the stack once: -s STACK, --file FILE or FILE (got -s dev and --file {tmp_path / 'x.yaml'})")


STACK_COMMANDS = [("validate",), ("plan",), ("check",), ("cost",), ("preflight",), ("verify", "--outputs", "x.json")]


def invoke(*args: str) -> Result:
    """The CLI in-process (typer's runner): for what does not need a fresh interpreter."""
    from mlfabric.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize("command", STACK_COMMANDS, ids=[c[0] for c in STACK_COMMANDS])
def test_every_stack_command_takes_the_same_stack_options(command: tuple[str, ...]) -> None:
    result = invoke(command[0], "--help")
    assert result.exit_code == 0, result.output
    for option in ("--stack", "-s", "--file", "-f", "stacks/Pulumi.<STACK>.yaml", "A stack file anywhere on disk."):
        assert option in result.stdout, f"{command[0]} --help lacks {option}"


@pytest.mark.parametrize("command", STACK_COMMANDS, ids=[c[0] for c in STACK_COMMANDS])
def test_every_stack_command_reports_an_unknown_stack_in_one_line_with_exit_2(command: tuple[str, ...]) -> None:
    result = invoke(*command, "-s", "qa")
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = result.stderr.splitlines()
    assert line.startswith("stack 'qa': no stack file ")


def test_plan_prints_a_tree_and_a_summary_line() -> None:
    result = mlfabric("plan", "-s", "dev")
    assert result.returncode == 0, result.stderr
    assert "mlfabric:storage:AwsStorage fraud-dev" in result.stdout
    # The summary comes last, wrapped at word boundaries to the width (80 columns without a terminal).
    [summary] = [line for line in result.stdout.splitlines() if line.split()[1:3] == ["cloud", "resources"]]
    assert int(summary.split()[0]) > 10 and "components, " in summary and " provider" in summary


def test_plan_json_has_every_registration_with_camel_case_inputs(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = mlfabric("plan", "-s", "prod", "--json", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["format"] == "mlfabric-plan/1"
    assert (document["stack"], document["cloud"], document["environment"]) == ("prod", "aws", "prod")
    resources = document["resources"]
    # Cloud resources: custom resources except providers, the count plan, check and cost print.
    assert document["summary"]["resources"] == sum(
        1 for r in resources if r["custom"] and not r["type"].startswith("pulumi:providers:"))
    assert document["summary"]["providers"] == sum(1 for r in resources if r["type"].startswith("pulumi:providers:"))
    assert {"urn", "type", "name", "parent", "inputs", "protect", "retain_on_delete"} <= set(resources[0])
    buckets = [r for r in resources if r["type"] == "aws:s3/bucket:Bucket"]
    assert buckets and all("forceDestroy" in b["inputs"] and b["protect"] for b in buckets)
    assert set(document["outputs"]["bucket_names"]) == {"datasets", "artifacts", "models"}


def test_plan_json_to_stdout_is_pure_json() -> None:
    result = mlfabric("plan", "-s", "dev", "--json", "-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == "dev"


def test_plan_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert mlfabric("plan", "-s", "dev", "--json", str(first)).returncode == 0
    assert mlfabric("plan", "-s", "dev", "--json", str(second)).returncode == 0
    by_urn = [sorted(json.loads(p.read_text())["resources"], key=lambda r: r["urn"]) for p in (first, second)]
    assert by_urn[0] == by_urn[1]


def test_encrypted_config_values_become_placeholders_and_the_plan_says_so(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    data["config"]["mlfabric:webhookToken"] = {"secure": "v1:AAAABBBB"}
    path = tmp_path / "Pulumi.secret.yaml"
    path.write_text(yaml.safe_dump(data))
    result = mlfabric("plan", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert "mlfabric:webhookToken: encrypted value replaced by a placeholder secret" in result.stdout


def test_schema_command_prints_the_committed_schema() -> None:
    result = mlfabric("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads((ROOT / "stacks" / "schema.json").read_text())


def test_stack_files_point_editors_at_the_schema() -> None:
    for path in (ROOT / "stacks").glob("Pulumi.*.yaml"):
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=./schema.json", path


def test_console_script_is_declared() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["mlfabric"] == "mlfabric.cli:main"
    assert {"aws", "gcp", "azure", "all", "dev"} <= set(project["optional-dependencies"])


@pytest.mark.parametrize(
    ("stack", "forbidden"),
    [("dev", ("pulumi_gcp", "pulumi_azure_native")),
     ("gcp-dev", ("pulumi_aws", "pulumi_azure_native")),
     ("azure-dev", ("pulumi_aws", "pulumi_gcp"))],
)
def test_a_single_cloud_plan_never_imports_another_clouds_sdk(stack: str, forbidden: tuple[str, ...]) -> None:
    if not (ROOT / "stacks" / f"Pulumi.{stack}.yaml").exists():
        pytest.skip(f"no {stack} stack yet")
    code = (
        "import sys\n"
        "from mlfabric import stackfile\n"
        "from mlfabric.plan import plan_stack\n"
        f"plan = plan_stack(stackfile.load(stackfile.resolve({stack!r}, None)))\n"
        "assert plan.custom_resources\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules if m.startswith('pulumi_')})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert loaded and not loaded & set(forbidden), loaded


def test_generated_docs_and_schema_have_not_drifted() -> None:
    from mlfabric import reference

    assert reference.main(["--check"]) == 0, "run `make docs`"
