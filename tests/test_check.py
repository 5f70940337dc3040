"""`mlfabric check` end to end: whole stacks planned offline, mutated, and checked with the pack.

Mutation tests turn one security default off — in the spec where it can express it, otherwise in
the recorded plan inputs (a reviewer editing `plan --json`, or a component regression) — and the
check must fail with that rule's id. Mutations of concerns a cloud does not build yet skip with the
reason, and start running as soon as the component declares the resources.

What these tests cannot prove: that the real engine hands the pack the same props (see
tests/policies/test_pack.py for the analyzer protocol, and the CI job for a real preview).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from mlfabric.check import (
    CheckReport,
    check_plan,
    check_source,
    rules_markdown,
    source_from_plan_json,
    source_from_state,
    to_json,
    to_junit,
    to_sarif,
)
from mlfabric.plan import Plan, ResourceRecord
from mlfabric.policies.rules import RULES
from mlfabric.policies.rules.base import TypeMatcher
from tests.helpers import plan

# Advisory in prod and opt-in (storage.replication_region): the example prod plans do not replicate,
# so it reports every bucket; the tests below are about other rules.
REPLICATION = "mlf-aws-s3-replication"

ROOT = Path(__file__).resolve().parents[1]
STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
PYTHON = sys.executable


def mandatory_rules(report: CheckReport) -> set[str]:
    return {v.rule_id for v in report.mandatory}


def declares(p: Plan, rule_id: str) -> bool:
    match = TypeMatcher(RULES[rule_id].resource_types)
    return any(match(r.type) for r in p.resources if not r.type.startswith("pulumi:"))


# --- every example stack is clean ----------------------------------------------------------------------


@pytest.mark.parametrize("path", STACK_FILES, ids=[p.name for p in STACK_FILES])
def test_every_example_stack_is_clean_under_its_environments_config(path: Path) -> None:
    from mlfabric import stackfile
    from mlfabric.plan import plan_stack

    loaded = stackfile.load(path)
    environment = loaded.spec_data["environment"]
    report = check_plan(plan_stack(loaded), ROOT / "policies" / "config" / f"{environment}.json")
    assert report.mandatory == [], "\n".join(f"{v.rule_id}: {v.resource_name}: {v.message}" for v in report.mandatory)


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_default_specs_pass_their_environments_config(cloud: str, environment: str) -> None:
    report = check_plan(plan(cloud, environment))
    assert mandatory_rules(report) == set(), [v.message for v in report.mandatory]


# --- mutations expressed in the spec --------------------------------------------------------------------

GPU_POOL = {"name": "big", "accelerator": "h100-80gb", "gpus_per_node": 8, "min_nodes": 0, "max_nodes": 20}
SERVED = {"registry": {"repositories": ["scorer"], "models": ["fraud"]}}


def endpoint(**overrides: Any) -> dict[str, Any]:
    return {"serving": {"endpoints": [{"name": "scorer", "model": "fraud", "image": "scorer:1.0",
                                       "instance": "ml.m5.large", **overrides}]}, **SERVED}


SPEC_MUTATIONS: list[tuple[str, str, dict[str, Any], str]] = [
    ("aws", "prod", {"deletion_protection": False}, "mlf-prod-stateful-protected"),
    ("gcp", "prod", {"deletion_protection": False}, "mlf-prod-stateful-protected"),
    ("azure", "prod", {"deletion_protection": False}, "mlf-prod-stateful-protected"),
    ("aws", "prod", {"storage": {"versioning": False}}, "mlf-s3-versioning"),
    ("gcp", "prod", {"storage": {"versioning": False}}, "mlf-gcs-versioning"),
    ("azure", "prod", {"storage": {"versioning": False}}, "mlf-azure-blob-versioning"),
    ("aws", "prod", {"training": {"cluster": {"endpoint_public_cidrs": ["0.0.0.0/0"]}}}, "mlf-cluster-private-endpoint"),
    ("gcp", "prod", {"training": {"cluster": {"endpoint_public_cidrs": ["0.0.0.0/0"]}}}, "mlf-cluster-private-endpoint"),
    ("azure", "prod", {"training": {"cluster": {"endpoint_public_cidrs": ["0.0.0.0/0"]}}}, "mlf-cluster-private-endpoint"),
    ("aws", "prod", {"training": {"gpu_pools": [GPU_POOL]}}, "mlf-gpu-pool-max-nodes"),
    ("aws", "prod", {"training": {"gpu_pools": [GPU_POOL]}}, "mlf-gpu-budget"),
    ("gcp", "prod", {"training": {"gpu_pools": [{**GPU_POOL, "max_nodes": 4}, {**GPU_POOL, "name": "big2", "max_nodes": 6}]}},
     "mlf-gpu-budget"),
    ("aws", "dev", {"training": {"gpu_pools": [{**GPU_POOL, "max_nodes": 1}]}}, "mlf-gpu-allowed-types"),
    ("azure", "dev", {"training": {"gpu_pools": [{**GPU_POOL, "max_nodes": 1}]}}, "mlf-gpu-allowed-types"),
    ("aws", "prod", {"training": {"cluster": {"audit_logging": False}}}, "mlf-cluster-audit-logging"),
    ("aws", "prod", {"registry": {"repositories": ["scorer"], "immutable_tags": False}}, "mlf-registry-immutable-tags"),
    ("aws", "prod", {"registry": {"repositories": ["scorer"], "scan_on_push": False}}, "mlf-registry-scan-on-push"),
    ("gcp", "prod", {"registry": {"repositories": ["scorer"], "immutable_tags": False}}, "mlf-registry-immutable-tags"),
    ("aws", "prod", endpoint(data_capture_percent=0), "mlf-serving-data-capture"),
    ("aws", "prod", endpoint(min_replicas=1), "mlf-serving-min-replicas"),
    ("azure", "prod", endpoint(instance="Standard_DS3_v2", data_capture_percent=0), "mlf-serving-data-capture"),
    ("azure", "prod", endpoint(instance="Standard_DS3_v2", min_replicas=1), "mlf-serving-min-replicas"),
]


@pytest.mark.parametrize(("cloud", "environment", "sections", "rule_id"), SPEC_MUTATIONS,
                         ids=[f"{c}-{e}-{r}-{'-'.join(s)}" for c, e, s, r in SPEC_MUTATIONS])
def test_turning_a_default_off_in_the_spec_fails_with_that_rule(
    cloud: str, environment: str, sections: dict[str, Any], rule_id: str
) -> None:
    from mlfabric.errors import UsageError

    try:
        p = plan(cloud, environment, **sections)
    except UsageError as error:  # the spec itself refuses the setting: also a pass, say which line
        pytest.skip(f"the spec refuses it before any policy runs: {error.problems[0]}")
    if not declares(p, rule_id):
        pytest.skip(f"{cloud} does not declare {rule_id}'s resources yet ({', '.join(RULES[rule_id].resource_types[:3])})")
    assert rule_id in mandatory_rules(check_plan(p))


# --- mutations of recorded inputs (what the spec cannot express) -------------------------------------------


def _mutate(p: Plan, type_token: str, change: Callable[[ResourceRecord], None], name_suffix: str = "") -> Plan:
    records = [r for r in p.resources if TypeMatcher([type_token])(r.type) and r.name.endswith(name_suffix)]
    assert records, f"the plan declares no {type_token}{' ' + name_suffix if name_suffix else ''}"
    change(records[0])
    return p


def _set(path: str, value: Any) -> Callable[[ResourceRecord], None]:
    def change(record: ResourceRecord) -> None:
        *parents, last = path.split(".")
        target: Any = record.inputs
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value

    return change


def _drop_tls_version_statement(record: ResourceRecord) -> None:
    policy = json.loads(record.inputs["policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "DenyOutdatedTls"]
    record.inputs["policy"] = json.dumps(policy)


def _unprotect(record: ResourceRecord) -> None:
    record.protect = False


INPUT_MUTATIONS: list[tuple[str, str, str, Callable[[ResourceRecord], None], str]] = [
    ("aws", "aws:s3/bucket:Bucket", "datasets", _set("forceDestroy", True), "mlf-bucket-no-force-destroy"),
    ("aws", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models", _set("blockPublicPolicy", False),
     "mlf-s3-public-access-block"),
    ("aws", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "artifacts",
     _set("rules.0.applyServerSideEncryptionByDefault", {"sseAlgorithm": "AES256"}), "mlf-s3-kms-encryption"),
    ("aws", "aws:s3/bucketPolicy:BucketPolicy", "datasets", _drop_tls_version_statement, "mlf-s3-tls-only"),
    ("aws", "aws:s3/bucketVersioning:BucketVersioning", "models", _set("versioningConfiguration.status", "Suspended"),
     "mlf-s3-versioning"),
    ("aws", "aws:s3/bucket:Bucket", "models", _set("tags", {"team": "risk-ml"}), "mlf-required-tags"),
    ("aws", "aws:kms/key:Key", "", _unprotect, "mlf-prod-stateful-protected"),
    ("gcp", "gcp:storage/bucket:Bucket", "datasets", _set("publicAccessPrevention", "inherited"),
     "mlf-gcs-public-access-prevention"),
    ("gcp", "gcp:storage/bucket:Bucket", "models", _set("uniformBucketLevelAccess", False), "mlf-gcs-uniform-access"),
    ("gcp", "gcp:storage/bucket:Bucket", "models", _set("encryption", None), "mlf-gcs-cmek-encryption"),
    ("gcp", "gcp:storage/bucket:Bucket", "datasets", _set("forceDestroy", True), "mlf-bucket-no-force-destroy"),
    ("azure", "azure-native:storage:StorageAccount", "storage", _set("allowBlobPublicAccess", True),
     "mlf-azure-storage-no-public-blob"),
    ("azure", "azure-native:storage:StorageAccount", "storage", _set("minimumTlsVersion", "TLS1_0"), "mlf-azure-storage-tls"),
    ("azure", "azure-native:storage:StorageAccount", "storage", _set("encryption.keySource", "Microsoft.Storage"),
     "mlf-azure-storage-cmk"),
    ("azure", "azure-native:storage:BlobContainer", "models", _set("publicAccess", "Container"),
     "mlf-azure-storage-no-public-blob"),
    ("azure", "azure-native:keyvault:Vault", "", _set("properties.enablePurgeProtection", False),
     "mlf-azure-keyvault-purge-protection"),
]


@pytest.mark.parametrize(("cloud", "type_token", "suffix", "change", "rule_id"), INPUT_MUTATIONS,
                         ids=[f"{c}-{r}-{t.rsplit(':', 1)[-1]}" for c, t, _, _, r in INPUT_MUTATIONS])
def test_a_plan_edited_to_be_insecure_fails_with_that_rule(
    cloud: str, type_token: str, suffix: str, change: Callable[[ResourceRecord], None], rule_id: str
) -> None:
    p = plan(cloud, "prod")
    assert rule_id not in mandatory_rules(check_plan(p))
    assert rule_id in mandatory_rules(check_plan(_mutate(p, type_token, change, suffix)))


def test_a_disabled_key_rotation_is_reported_as_advisory() -> None:
    p = _mutate(plan("aws", "prod"), "aws:kms/key:Key", _set("enableKeyRotation", False))
    report = check_plan(p)
    assert [v.rule_id for v in report.advisory if v.rule_id != REPLICATION] == ["mlf-kms-key-rotation"]
    assert report.exit_code == 0


# --- plan JSON, stack exports, formats ----------------------------------------------------------------------


def _plan_json(p: Plan, tmp_path: Path, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(p.to_json(), default=str))
    return path


def _stack_export(p: Plan, tmp_path: Path) -> Path:
    resources = []
    for r in p.resources:
        entry: dict[str, Any] = {
            "urn": r.urn, "custom": r.custom, "type": r.type, "inputs": copy.deepcopy(r.inputs), "outputs": {},
            "protect": r.protect, "retainOnDelete": r.retain_on_delete, "dependencies": r.dependencies,
            "propertyDependencies": r.property_dependencies,
        }
        if r.id:
            entry["id"] = r.id
        if r.parent:
            entry["parent"] = r.parent
        if r.provider:
            entry["provider"] = r.provider
        if r.type == "pulumi:pulumi:Stack":
            entry["outputs"] = {"environment": p.spec.environment, "cloud": p.spec.cloud}
        resources.append(entry)
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc"}
    resources[-1]["inputs"]["someSecret"] = secret
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": resources}}))
    return path


def test_plan_json_and_stack_export_give_the_same_verdicts_as_the_plan(tmp_path: Path) -> None:
    p = _mutate(plan("aws", "prod"), "aws:s3/bucket:Bucket", _set("forceDestroy", True), "datasets")
    direct = {(v.rule_id, v.urn) for v in check_plan(p).violations}
    from_json = {(v.rule_id, v.urn) for v in check_source(source_from_plan_json(_plan_json(p, tmp_path))).violations}
    state = source_from_state(_stack_export(p, tmp_path))
    assert state.environment == "prod" and state.stack == "aws-prod"
    from_state = {(v.rule_id, v.urn) for v in check_source(state).violations}
    assert direct == from_json == from_state
    assert ("mlf-bucket-no-force-destroy", next(r.urn for r in p.resources if r.name == "fraud-prod-datasets"
                                                and r.type == "aws:s3/bucket:Bucket")) in direct


def test_sarif_lists_every_rule_even_on_a_clean_run() -> None:
    sarif = to_sarif(check_plan(plan("aws", "prod")))
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(RULES)
    assert [r for r in run["results"] if r["ruleId"] != REPLICATION] == []
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "none")


def test_sarif_results_point_at_the_stack_file_section_and_the_resource() -> None:
    from mlfabric import stackfile
    from mlfabric.check import source_from_plan
    from mlfabric.plan import plan_stack

    p = plan_stack(stackfile.load(ROOT / "stacks" / "Pulumi.prod.yaml"))
    _mutate(p, "aws:s3/bucket:Bucket", _set("forceDestroy", True), "models")
    sarif = to_sarif(check_source(source_from_plan(p)))
    # the one error (mandatory) result; prod's advisories (replication, the EFA plugin's privileges) are notes
    [result] = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert result["ruleId"] == "mlf-bucket-no-force-destroy" == rules[result["ruleIndex"]]["id"]
    assert result["level"] == "error"
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("stacks/Pulumi.prod.yaml")
    lines = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text().splitlines()
    assert lines[location["physicalLocation"]["region"]["startLine"] - 1].strip() == "storage:"
    assert location["logicalLocations"][0]["fullyQualifiedName"].endswith("aws:s3/bucket:Bucket::fraud-prod-models")


def test_junit_has_a_case_per_rule_and_fails_only_mandatory_ones() -> None:
    p = _mutate(plan("aws", "dev"), "aws:kms/key:Key", _set("enableKeyRotation", False))
    p = _mutate(p, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", _set("ignorePublicAcls", False), "models")
    suite = ElementTree.fromstring(to_junit(check_plan(p))).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == set(RULES)
    assert cases["mlf-s3-public-access-block"].find("failure") is not None
    assert cases["mlf-kms-key-rotation"].find("failure") is None
    assert cases["mlf-s3-versioning"].find("skipped") is not None  # disabled in dev
    assert suite.get("failures") == "1"


def test_json_report_summarises_the_run() -> None:
    document = to_json(check_plan(plan("aws", "prod")))
    assert document["format"] == "mlfabric-check/1" and document["passed"] is True
    assert document["summary"]["rules"] == len(RULES) and document["summary"]["resources"] > 10
    assert document["config"].endswith("policies/config/prod.json")


def test_rules_markdown_renders_every_rule_with_clouds_and_enforcement() -> None:
    table = rules_markdown()
    assert "| Rule | Clouds | What it checks | Enforcement (dev / staging / prod) |" in table
    for rule_id in RULES:
        assert f"| `{rule_id}` |" in table
    assert "| `mlf-s3-versioning` | AWS |" in table
    assert "disabled / mandatory / mandatory |" in table


def test_a_policy_that_crashes_fails_the_check_instead_of_passing_silently() -> None:
    from mlfabric.check import PackConfig, run_pack, source_from_plan
    from mlfabric.policies.rules.base import MlfResourcePolicy, RuleInfo

    def broken(resource_type: str, props: Any, config: Any) -> Any:
        raise KeyError("boom")

    info = RuleInfo(id="mlf-test-broken", title="t", description="d", remediation="r",
                    severity=RULES["mlf-gcs-versioning"].severity, enforcement=RULES["mlf-gcs-versioning"].enforcement,
                    clouds=("aws",), resource_types=("aws:s3/bucket:Bucket",), section="storage")
    report = run_pack(source_from_plan(plan("aws", "dev")), PackConfig(), [MlfResourcePolicy(info, broken)])
    assert report.exit_code == 1 and "failed to run: KeyError" in report.violations[0].message


# --- the CLI ---------------------------------------------------------------------------------------------------

needs_cli = pytest.mark.skipif(not (ROOT / "mlfabric" / "cli.py").is_file(), reason="mlfabric/cli.py not written yet")


def mlfabric(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "mlfabric", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


@needs_cli
def test_cli_check_exits_0_on_a_clean_stack_and_prints_the_verdict() -> None:
    result = mlfabric("check", "-s", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no violations" in result.stdout


@needs_cli
def test_cli_check_exits_1_with_the_rule_id_on_an_edited_plan(tmp_path: Path) -> None:
    p = _mutate(plan("aws", "prod"), "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                _set("restrictPublicBuckets", False), "datasets")
    result = mlfabric("check", "--plan", str(_plan_json(p, tmp_path)), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert {v["rule_id"] for v in report["violations"]} - {REPLICATION} == {"mlf-s3-public-access-block"}


@needs_cli
def test_cli_check_writes_sarif_and_junit_files(tmp_path: Path) -> None:
    sarif, junit = tmp_path / "check.sarif", tmp_path / "check.xml"
    assert mlfabric("check", "-s", "prod", "--format", "sarif", "--output", str(sarif)).returncode == 0
    assert len(json.loads(sarif.read_text())["runs"][0]["tool"]["driver"]["rules"]) == len(RULES)
    assert mlfabric("check", "-s", "prod", "--format", "junit", "-o", str(junit)).returncode == 0
    assert ElementTree.parse(junit).getroot().tag == "testsuites"


@needs_cli
def test_cli_check_accepts_a_state_export_and_an_explicit_config(tmp_path: Path) -> None:
    export = _stack_export(plan("aws", "prod"), tmp_path)
    config = tmp_path / "strict.json"
    config.write_text(json.dumps({"mlf-required-tags": {"requiredKeys": ["owner"]}}))
    assert mlfabric("check", "--state", str(export)).returncode == 0
    result = mlfabric("check", "--state", str(export), "--config", str(config), "--format", "json")
    assert result.returncode == 1
    assert {v["rule_id"] for v in json.loads(result.stdout)["violations"]} - {REPLICATION} == {"mlf-required-tags"}


@needs_cli
@pytest.mark.parametrize(("args", "first_line"), [
    ((), "give exactly one of -s STACK, --file FILE, FILE, --plan PLAN.json or --state EXPORT.json"),
    (("-s", "dev", "--plan", "x.json"), "give exactly one of"),
    (("--plan", "/nonexistent/plan.json"), "/nonexistent/plan.json: cannot read plan"),
    (("-s", "no-such-stack"), "stack 'no-such-stack': no stack file"),
])
def test_cli_check_usage_errors_exit_2_with_one_line_per_problem(args: tuple[str, ...], first_line: str) -> None:
    result = mlfabric("check", *args)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(first_line)
    assert "Traceback" not in result.stderr


@needs_cli
def test_cli_check_rejects_a_bad_spec_and_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(yaml.safe_dump({"config": {"mlfabric:platform": {"name": "x", "environment": "prod", "cloud": "aws",
                                                                      "region": "mars-1"}}}))
    result = mlfabric("check", "--file", str(stack))
    assert result.returncode == 2 and result.stderr.strip() and "Traceback" not in result.stderr
    config = tmp_path / "bad.json"
    config.write_text('{"mlf-gpu-budget": {"maxTotalGpus": -1}, "mlf-unknown": "mandatory"}')
    result = mlfabric("check", "-s", "dev", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{config}: mlf-gpu-budget.maxTotalGpus: must be >= 0 (got -1)",
        f"{config}: mlf-unknown: no such rule in the mlfabric pack",
    ]


@needs_cli
def test_cli_check_takes_the_policy_config_from_the_installed_pack_outside_the_project(tmp_path: Path) -> None:
    """Run from a directory with no Pulumi.yaml and no policies/ folder: the config is package data."""
    from mlfabric.check import pack_config_dir

    result = mlfabric("check", "--file", str(ROOT / "stacks" / "Pulumi.dev.yaml"), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Path(json.loads(result.stdout)["config"]) == pack_config_dir() / "dev.json"


def test_ci_workflow_tests_checks_every_stack_and_previews_only_with_credentials() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    check_script = "\n".join(step.get("run", "") for step in jobs["policy-check"]["steps"])
    assert "for file in stacks/Pulumi.*.yaml" in check_script and "mlfabric check -s" in check_script
    assert "--format sarif" in check_script
    preview = jobs["preview"]
    gate = next(step for step in preview["steps"] if step.get("id") == "creds")
    assert "PULUMI_ACCESS_TOKEN" in gate["run"]
    runs = [step for step in preview["steps"] if "pulumi preview" in step.get("run", "")]
    assert runs and all(step["if"].startswith("steps.creds.outputs.enabled == 'true'") for step in runs)
    assert "--policy-pack policies --policy-pack-config" in runs[0]["run"]


# --- reports speak of the stack's cloud ------------------------------------------------------------------------


def _gcp_only_rule_that_always_fires() -> Any:
    from mlfabric.policies.rules.base import MlfResourcePolicy, RuleInfo

    info = RuleInfo(id="mlf-test-gcp-only", title="t", description="d", remediation="r",
                    severity=RULES["mlf-gcs-versioning"].severity, enforcement=RULES["mlf-gcs-versioning"].enforcement,
                    clouds=("gcp",), resource_types=("aws:s3/bucket:Bucket",), section="storage")
    return MlfResourcePolicy(info, lambda *_: ["always"])


def test_junit_skips_the_rules_of_other_clouds_with_the_reason() -> None:
    report = check_plan(plan("aws", "prod"))
    suite = ElementTree.fromstring(to_junit(report)).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    gcs = cases["mlf-gcs-versioning"].find("skipped")
    assert gcs is not None and gcs.get("message") == "applies to gcp stacks only"
    assert cases["mlf-kms-key-rotation"].find("skipped") is None           # every cloud's rule: a real verdict
    other = [rid for rid, info in RULES.items() if "aws" not in info.clouds]
    assert len(other) > 20 and set(report.other_clouds) == set(other)
    disabled = [rid for rid in report.applicable if report.levels[rid] == "disabled"]
    assert suite.get("skipped") == str(len(other) + len(disabled))
    assert report.summary()["rules_applicable"] == len(RULES) - len(other)


def test_a_rule_of_another_cloud_never_runs_nor_reaches_sarif_results() -> None:
    from mlfabric.check import PackConfig, run_pack, source_from_plan

    report = run_pack(source_from_plan(plan("aws", "dev")), PackConfig(), [_gcp_only_rule_that_always_fires()])
    assert (report.violations, report.exit_code) == ([], 0)
    assert report.other_clouds == {"mlf-test-gcp-only": "applies to gcp stacks only"}
    sarif = to_sarif(report)["runs"][0]
    assert sarif["results"] == []
    [override] = sarif["invocations"][0]["ruleConfigurationOverrides"]
    assert override["descriptor"]["id"] == "mlf-test-gcp-only"
    assert override["configuration"] == {"enabled": False, "parameters": {"reason": "applies to gcp stacks only"}}
    # A source whose cloud is unknown (a stack export without it) runs every rule.
    unknown = dataclasses.replace(source_from_plan(plan("aws", "dev")), cloud=None)
    assert [v.message for v in run_pack(unknown, PackConfig(), [_gcp_only_rule_that_always_fires()]).violations]


def test_check_counts_resources_as_the_plan_does() -> None:
    p = plan("aws", "prod")
    summary = to_json(check_plan(p))["summary"]
    assert (summary["resources"], summary["components"], summary["providers"]) == (
        p.summary()["resources"], p.summary()["components"], p.summary()["providers"])
    assert summary["providers"] >= 1 and summary["resources"] == len(p.custom_resources) - summary["providers"]


def test_check_markdown_is_the_markdown_module_s_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mlfabric import markdown
    from mlfabric.cli import app

    seen: list[CheckReport] = []

    def fake(report: CheckReport) -> str:
        seen.append(report)
        return f"## check {report.source.stack}"

    monkeypatch.setattr(markdown, "check_markdown", fake)
    result = CliRunner().invoke(app, ["check", "-s", "prod", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "## check prod\n" and [r.source.stack for r in seen] == ["prod"]


# --- policy config: the checkout's, else the installed pack's ---------------------------------------------------


def _project_with_config(tmp_path: Path) -> Path:
    """A checkout of its own: Pulumi.yaml, the dev stack and a policies/config/dev.json that differs from the pack's."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    (tmp_path / "policies" / "config").mkdir(parents=True)
    config = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    (tmp_path / "policies" / "config" / "dev.json").write_text(json.dumps({**config, "mlf-kms-key-rotation": "disabled"}))
    return tmp_path


@needs_cli
def test_cli_check_takes_the_policy_config_of_the_checkout_first(tmp_path: Path) -> None:
    project = _project_with_config(tmp_path)
    result = mlfabric("check", "-s", "dev", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["config"] == "policies/config/dev.json"
    assert report["rules"]["mlf-kms-key-rotation"] == "disabled"      # the checkout's file, not the pack's
