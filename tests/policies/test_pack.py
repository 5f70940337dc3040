"""The pack as a whole: metadata every rule must carry, config files that validate, a package that
imports nothing of ours, and ``policies/__main__.py`` serving the analyzer protocol.

``test_pack_serves_the_analyzer_protocol_with_the_same_verdicts`` starts the pack exactly as the
Pulumi CLI's policy host does (a process that prints its gRPC port and serves), then plays the
engine's side of the analyzer protocol with the generated gRPC stubs: GetAnalyzerInfo, Configure
(the prod policy config), Analyze per resource and AnalyzeStack. What it cannot prove: what the
real engine sends (outputs vs inputs in stack validation, unknowns during preview); that needs a
`pulumi preview --policy-pack policies` run with credentials (the CI job does it when they exist).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import PolicyConfigSchema, ResourceValidationPolicy, StackValidationPolicy

from mlfabric.check import PackConfig, load_pack_config, parse_pack_config, run_pack, source_from_plan
from mlfabric.policies.rules import POLICIES, RULES, MlfPolicy, config_schema, rules_per_cloud
from tests.helpers import plan

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"
PYTHON = sys.executable


def test_the_pack_has_at_least_35_rules_covering_every_cloud() -> None:
    assert len(POLICIES) >= 35
    counts = rules_per_cloud()
    assert all(counts[cloud] >= 15 for cloud in ("aws", "gcp", "azure")), counts


@pytest.mark.parametrize("policy", POLICIES, ids=[p.name for p in POLICIES])
def test_every_rule_carries_id_description_remediation_severity_enforcement_and_types(policy: MlfPolicy) -> None:
    assert isinstance(policy, ResourceValidationPolicy | StackValidationPolicy)
    assert re.fullmatch(r"mlf-[a-z0-9]+(-[a-z0-9]+)+", policy.name)
    assert policy.description and policy.remediation_steps and policy.display_name
    assert policy.severity is not None and policy.enforcement_level is not None
    info = policy.info
    assert info.resource_types and info.clouds and set(info.clouds) <= {"aws", "gcp", "azure"}
    assert isinstance(policy, StackValidationPolicy) == (info.kind == "stack")
    if info.config:
        assert isinstance(policy.config_schema, PolicyConfigSchema)
        assert "enforcementLevel" not in info.config
        assert all("default" in schema and "type" in schema for schema in info.config.values())


def test_the_log_bucket_exemption_is_explained_in_the_kms_rule() -> None:
    description = RULES["mlf-s3-kms-encryption"].description
    assert "mlfabric-bucket=access-logs" in description and "SSE-KMS" in description


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_environment_configs_name_real_rules_with_valid_properties(environment: str) -> None:
    config = load_pack_config(PACK / "config" / f"{environment}.json")
    assert config.rules


def test_config_validation_reports_one_line_per_problem() -> None:
    from mlfabric.errors import UsageError

    bad = {"mlf-nope": "mandatory", "mlf-gpu-budget": {"maxTotalGpus": "many", "color": 1},
           "mlf-s3-versioning": "sometimes"}
    with pytest.raises(UsageError) as error:
        parse_pack_config(bad, "cfg.json", config_schema())
    assert error.value.problems == [
        "cfg.json: mlf-nope: no such rule in the mlfabric pack",
        "cfg.json: mlf-gpu-budget.maxTotalGpus: must be integer (got 'many')",
        "cfg.json: mlf-gpu-budget.color: unknown property (known: maxTotalGpus, includeServing, gpusPerInstanceType)",
        "cfg.json: mlf-s3-versioning: must be one of advisory, mandatory, remediate, disabled (got 'sometimes')",
    ]


def test_environment_strictness_grows_from_dev_to_prod() -> None:
    levels = {e: load_pack_config(PACK / "config" / f"{e}.json") for e in ("dev", "staging", "prod")}
    for rule in ("mlf-s3-versioning", "mlf-bucket-no-force-destroy", "mlf-registry-immutable-tags",
                 "mlf-serving-data-capture", "mlf-serving-min-replicas", "mlf-prod-stateful-protected"):
        assert levels["dev"].enforcement(next(p for p in POLICIES if p.name == rule)) == "disabled"
        assert levels["prod"].enforcement(next(p for p in POLICIES if p.name == rule)) == "mandatory"
    budgets = [levels[e].properties("mlf-gpu-budget")["maxTotalGpus"] for e in ("dev", "staging", "prod")]
    assert budgets == sorted(budgets)


def test_policies_import_only_the_stdlib_and_pulumi_policy() -> None:
    allowed = set(sys.stdlib_module_names) | {"pulumi_policy", "rules", "__future__"}
    for path in PACK.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [] if node.level else [str(node.module).split(".")[0]]
            else:
                continue
            assert set(roots) <= allowed, f"{path.relative_to(ROOT)} imports {roots}"


def test_the_rules_package_loads_alone_from_the_pack_directory(tmp_path: Path) -> None:
    """As `pulumi preview --policy-pack policies` loads it: pack dir on sys.path, repository not."""
    code = (
        f"import sys; sys.path.insert(0, {str(PACK)!r}); import rules; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'mlfabric', 'components', 'policies', 'pulumi_aws', 'pulumi_gcp', 'pulumi_azure_native'}); "
        "assert not bad, bad; print(len(rules.POLICIES))"
    )
    result = subprocess.run([PYTHON, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(POLICIES)


def test_policy_pack_yaml_and_requirements_describe_a_python_pack() -> None:
    import yaml

    manifest = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python" and manifest["description"] and manifest["version"]
    requirements = (PACK / "requirements.txt").read_text()
    assert "pulumi-policy" in requirements and "mlfabric" not in requirements.replace("# ", "").split("(")[0]
    assert "PolicyPack(" in (PACK / "__main__.py").read_text()
    constructors = [p for p in ROOT.glob("**/*.py") if ".venv" not in p.parts and "PolicyPack(" in p.read_text()
                    and p.name != "test_pack.py"]
    assert constructors == [PACK / "__main__.py"]


# --- the analyzer protocol ---------------------------------------------------------------------------


def _struct(value: dict[str, Any]) -> Any:
    from google.protobuf import struct_pb2  # type: ignore[import-untyped]

    message = struct_pb2.Struct()
    message.update(json.loads(json.dumps(value, default=str)))
    return message


@pytest.fixture(scope="module")
def analyzer() -> Any:
    import grpc  # type: ignore[import-untyped]
    from pulumi.runtime.proto import analyzer_pb2_grpc

    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    process = subprocess.Popen([PYTHON, "-u", str(PACK / "__main__.py")], cwd=PACK, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=30)


def _bad_prod_plan() -> Any:
    p = plan("aws", "prod")
    for record in p.resources:
        if record.type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock" and record.name.endswith("datasets"):
            record.inputs["restrictPublicBuckets"] = False
        if record.type == "aws:s3/bucket:Bucket" and record.name.endswith("models"):
            record.protect = False
            record.inputs["forceDestroy"] = True
    return p


def test_pack_serves_the_analyzer_protocol_with_the_same_verdicts(analyzer: Any) -> None:
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "mlfabric"
    assert {p.name for p in info.policies} == set(RULES)

    config = load_pack_config(PACK / "config" / "prod.json")
    levels = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
              "disabled": analyzer_pb2.DISABLED, "remediate": analyzer_pb2.REMEDIATE}
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        policy.name: analyzer_pb2.PolicyConfig(enforcementLevel=levels[config.enforcement(policy)],
                                               properties=_struct(config.properties(policy.name)))
        for policy in POLICIES
    }))

    p = _bad_prod_plan()
    engine: set[tuple[str, str]] = set()
    for record in p.resources:
        options = analyzer_pb2.AnalyzerResourceOptions(protect=record.protect, parent=record.parent)
        response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
            type=record.type, properties=_struct(record.inputs), urn=record.urn, name=record.name, options=options))
        engine |= {(d.policyName, d.urn or record.urn) for d in response.diagnostics}
    stack = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, parent=r.parent,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent),
            dependencies=r.dependencies,
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in r.property_dependencies.items()})
        for r in p.resources
    ]))
    engine |= {(d.policyName, d.urn) for d in stack.diagnostics}

    offline = run_pack(source_from_plan(p), config)
    assert engine == {(v.rule_id, v.urn) for v in offline.violations}
    # mlf-aws-s3-replication is advisory in prod: the example prod stack does not opt in to replication.
    assert {rule for rule, _ in engine} == {"mlf-s3-public-access-block", "mlf-bucket-no-force-destroy",
                                            "mlf-prod-stateful-protected", "mlf-aws-s3-replication"}


def test_a_clean_plan_is_clean_through_the_protocol_too(analyzer: Any) -> None:
    from pulumi.runtime.proto import analyzer_pb2

    p = plan("aws", "prod")
    bucket = next(r for r in p.resources if r.type == "aws:s3/bucket:Bucket")
    response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(type=bucket.type, properties=_struct(bucket.inputs),
                                                            urn=bucket.urn, name=bucket.name))
    assert list(response.diagnostics) == []
    assert run_pack(source_from_plan(p), PackConfig()).mandatory == []
