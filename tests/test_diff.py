"""``mlfabric diff`` output: whole values in a CI log at any width, unified diffs for long values,
short labels for deleted resources, and refusal to compare different stacks or clouds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlfabric.diff import ResourceView, diff_views, render

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "urn:pulumi:prod::mlfabric::mlfabric:platform:MLPlatform$mlfabric:rbac:AwsRbac"
ROLE = f"{PREFIX}$aws:iam/role:Role::fraud-prod-data-scientist-role-with-a-rather-long-logical-name"
GONE = f"{PREFIX}$aws:iam/rolePolicyAttachment:RolePolicyAttachment::fraud-prod-data-scientist-read-only-attachment"
POLICY_BEFORE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::fraud-prod-datasets",
                                                                               "arn:aws:s3:::fraud-prod-datasets/*"]},
    {"Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"], "Resource": "*"}]}
POLICY_AFTER = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::fraud-prod-datasets",
                                                                               "arn:aws:s3:::fraud-prod-datasets/*"]},
    {"Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"],
     "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod-scorer-with-a-long-name"}]}
LONG_DESCRIPTION_BEFORE = "Data scientists of the fraud team: read datasets, invoke endpoints, nothing else at all."
LONG_DESCRIPTION_AFTER = "Data scientists of the fraud team: read datasets, invoke endpoints, list models too."


def _plan(resources: list[dict[str, Any]], stack: str = "prod", cloud: str = "aws") -> dict[str, Any]:
    return {"format": "mlfabric-plan/1", "project": "mlfabric", "stack": stack, "cloud": cloud, "resources": resources}


def _row(urn: str, type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
    parent = RBAC if urn.startswith(PREFIX) else ""
    return {"urn": urn, "type": type_, "name": urn.rsplit("::", 1)[1], "parent": parent, "inputs": inputs}


PLATFORM = "urn:pulumi:prod::mlfabric::mlfabric:platform:MLPlatform::fraud-prod"
RBAC = "urn:pulumi:prod::mlfabric::mlfabric:platform:MLPlatform$mlfabric:rbac:AwsRbac::fraud-prod-rbac"


def _parents() -> list[dict[str, Any]]:
    return [_row(PLATFORM, "mlfabric:platform:MLPlatform", {}),
            {**_row(RBAC, "mlfabric:rbac:AwsRbac", {}), "parent": PLATFORM}]


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    before = _plan([*_parents(),
        _row(ROLE, "aws:iam/role:Role", {"name": "fraud-prod-ds", "assumeRolePolicy": json.dumps(POLICY_BEFORE),
                                         "description": LONG_DESCRIPTION_BEFORE, "maxSessionDuration": 3600}),
        _row(GONE, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "fraud-prod-ds"}),
    ])
    after = _plan([*_parents(),
        _row(ROLE, "aws:iam/role:Role", {"name": "fraud-prod-ds", "assumeRolePolicy": json.dumps(POLICY_AFTER),
                                         "description": LONG_DESCRIPTION_AFTER, "maxSessionDuration": 7200}),
    ])
    paths = tmp_path / "before.json", tmp_path / "after.json"
    paths[0].write_text(json.dumps(before))
    paths[1].write_text(json.dumps(after))
    return paths


def _run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "mlfabric", "diff", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_text_output_shows_every_differing_value_whole_at_any_width(tmp_path: Path, columns: int) -> None:
    before, after = _pair(tmp_path)
    result = _run(str(before), str(after), columns=columns)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Long strings and JSON documents: a unified diff whose lines carry each differing value whole.
    assert f"-{json.dumps(LONG_DESCRIPTION_BEFORE)}" in out and f"+{json.dumps(LONG_DESCRIPTION_AFTER)}" in out
    assert '-      "Resource": "*"' in out
    assert '+      "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod-scorer-with-a-long-name"' in out
    assert "..." not in out and "…" not in out
    # Short scalars stay one line; numbers are never cut.
    assert "maxSessionDuration: 3600 -> 7200" in out
    # The deleted resource: a short label, its URN on lines of its own, nothing of it on the label line.
    label_line = next(line for line in out.splitlines() if "fraud-prod-data-scientist-read-only-attachment" in line
                      and "urn:" not in line)
    label_at = lines.index(label_line) if (lines := out.splitlines()) else -1
    label = " ".join(line.strip() for line in lines[label_at:label_at + 2] if not line.strip().startswith("urn:"))
    assert label == "- fraud-prod-data-scientist-read-only-attachment (iam/rolePolicyAttachment:RolePolicyAttachment)"
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("urn:"))
    urn_lines = [lines[start]] + [line for line in lines[start + 1:] if line.startswith(" " * 11)]
    urn_text = "".join(line.strip().removeprefix("urn: ") for line in urn_lines)
    assert GONE in urn_text
    assert " ".join(out.split()).startswith("mlfabric diff: resources (custom resources and components, by URN): "
                                            "0 to add, 1 to delete, 0 to replace, ")


def test_text_lines_other_than_whole_values_fit_80_columns(tmp_path: Path) -> None:
    before, after = _pair(tmp_path)
    out = _run(str(before), str(after), columns=80).stdout
    long_lines = [line for line in out.splitlines() if len(line) > 80]
    # Only lines that carry one whole value (a JSON line of a unified diff) may be longer.
    assert long_lines and all(line.startswith("      ") and line[6] in "+- " for line in long_lines), long_lines


def test_json_and_markdown_carry_the_full_urn_and_the_whole_values(tmp_path: Path) -> None:
    before, after = _pair(tmp_path)
    as_json = json.loads(_run(str(before), str(after), "--format", "json").stdout)
    assert as_json["removed"] == [GONE]
    changed = {c["path"]: c for c in as_json["changed"][ROLE]}
    assert changed["description"]["after"] == LONG_DESCRIPTION_AFTER
    assert as_json["counts"]["removed"] == 1 and as_json["counts"]["counted"] == "resources by URN"
    markdown = _run(str(before), str(after), "--format", "markdown").stdout
    assert f"`{GONE}`" in markdown and "```diff" in markdown


def test_plans_of_different_stacks_are_refused_unless_forced(tmp_path: Path) -> None:
    before, after = tmp_path / "a.json", tmp_path / "b.json"
    before.write_text(json.dumps(_plan([_row(ROLE, "aws:iam/role:Role", {})], stack="prod")))
    after.write_text(json.dumps(_plan([_row(ROLE.replace(":prod::", ":prod-v2::"), "aws:iam/role:Role", {})],
                                      stack="prod-v2")))
    refused = _run(str(before), str(after))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "diff: plans are of different stacks (prod vs prod-v2); give --force to compare anyway"]
    forced = _run(str(before), str(after), "--force")
    assert forced.returncode == 0 and "1 to add, 1 to delete," in " ".join(forced.stdout.split())


def test_plans_of_different_clouds_are_refused(tmp_path: Path) -> None:
    before, after = tmp_path / "a.json", tmp_path / "b.json"
    before.write_text(json.dumps(_plan([], cloud="aws")))
    after.write_text(json.dumps(_plan([], cloud="gcp")))
    refused = _run(str(before), str(after))
    assert refused.returncode == 2 and "different clouds (aws vs gcp)" in refused.stderr


def test_a_stack_export_names_its_stack_through_its_urns(tmp_path: Path) -> None:
    export = {"deployment": {"resources": [{"urn": ROLE.replace(":prod::", ":staging::"), "type": "aws:iam/role:Role"}]}}
    before, after = tmp_path / "a.json", tmp_path / "b.json"
    before.write_text(json.dumps(export))
    after.write_text(json.dumps(_plan([_row(ROLE, "aws:iam/role:Role", {})])))
    assert "(staging vs prod)" in _run(str(before), str(after)).stderr


def test_a_json_string_holding_json_is_diffed_as_json() -> None:
    before = {ROLE: ResourceView(ROLE, "aws:iam/role:Role", {"assumeRolePolicy": json.dumps(POLICY_BEFORE)})}
    after = {ROLE: ResourceView(ROLE, "aws:iam/role:Role", {"assumeRolePolicy": json.dumps(POLICY_AFTER)})}
    text = render(diff_views(before, after), width=80)
    assert "--- before" in text and "+++ after" in text
    assert '-      "Resource": "*"' in text and '"Version": "2012-10-17"' not in text.split("@@", 1)[0]
