"""`mlfabric report`: one markdown job summary per stack (what changes, verdicts, cost, concerns).

The base plan is a real offline plan of a modified prod stack file (one bucket more, the l4 GPU pool
missing, the a100 pool one node lower at full scale), so the change reported is "delete a protected
bucket, add a GPU pool, raise a pool's ceiling". What these tests cannot prove: that GitHub renders the
document (see tests/test_markdown.py for the syntax), or what `pulumi up` would really do against a
deployed stack (the diff compares two offline plans).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlfabric import stackfile
from mlfabric.check.runner import CheckReport, check_plan
from mlfabric.cost import estimate
from mlfabric.plan import Plan, plan_stack
from mlfabric.report import build_report, load_base, new_stack_base
from tests.helpers import ROOT, spec_data

PROD = ROOT / "stacks" / "Pulumi.prod.yaml"


def section(text: str, title: str) -> str:
    """The body of one ``### title`` section of a report."""
    start = text.index(f"\n### {title}")
    end = text.find("\n### ", start + 1)
    return text[start:end if end != -1 else len(text)]


def write_stack(directory: Path, name: str, document: dict[str, Any]) -> Path:
    (directory / "stacks").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")  # same project name: same URNs
    path = directory / "stacks" / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def prod() -> tuple[Plan, CheckReport]:
    plan = plan_stack(stackfile.load(PROD))
    return plan, check_plan(plan)


@pytest.fixture(scope="module")
def base_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mlfabric plan --json` of prod before the change: a features bucket more, no l4 pool (nor team
    quotas on it), one a100 node less at full scale."""
    document = yaml.safe_load(PROD.read_text())
    spec = document["config"]["mlfabric:platform"]
    spec["storage"]["buckets"].append({"name": "features"})
    spec["training"]["gpu_pools"] = [p for p in spec["training"]["gpu_pools"] if p["name"] != "l4"]
    spec["training"]["gpu_pools"][0]["max_nodes"] -= 1
    for team in spec.get("teams") or []:
        team["gpu_quota"] = [q for q in team.get("gpu_quota") or [] if q["pool"] != "l4"]
    directory = tmp_path_factory.mktemp("base")
    base = plan_stack(stackfile.load(write_stack(directory, "prod", document)))
    out = directory / "base-prod.json"
    out.write_text(json.dumps(base.to_json(), default=str))
    return out


@pytest.fixture(scope="module")
def report(prod: tuple[Plan, CheckReport], base_json: Path) -> str:
    plan, check = prod
    return build_report(plan, check, load_base(base_json, "prod"))


def test_the_report_has_a_header_and_its_four_sections_in_order(report: str) -> None:
    assert report.splitlines()[0] == "## mlfabric — stack prod (aws us-east-1, prod)"
    order = [report.index(f"\n### {t}") for t in ("What changes", "Policy verdicts", "Monthly cost", "Concerns")]
    assert order == sorted(order)
    assert report.endswith("```\n\n")


def test_a_deleted_protected_resource_is_the_first_thing_in_what_changes(report: str) -> None:
    changes = section(report, "What changes").splitlines()
    first = next(line for line in changes if line and not line.startswith("### "))
    assert first.startswith("> ⚠️ **1 protected resource would be deleted or replaced.**")
    warning = [line for line in changes if line.startswith("> - ")]
    assert warning == ["> - deleted: `fraud-prod-features` (aws:s3/bucket:Bucket) — `protect` and `retain_on_delete`"]
    text = "\n".join(changes)
    assert text.index("> - deleted") < text.index("**Deleted") < text.index("**Added**")


def test_what_changes_counts_the_adds_and_deletes_of_the_change(report: str, prod: tuple[Plan, CheckReport],
                                                                 base_json: Path) -> None:
    plan, _ = prod
    before = {(r["type"], r["name"]) for r in json.loads(base_json.read_text())["resources"]}
    after = {(r.type, r.name) for r in plan.resources}
    assert len(after) == len(plan.resources)  # (type, name) identifies a resource of this plan
    adds, deletes = after - before, before - after
    assert ("aws:eks/nodeGroup:NodeGroup", "fraud-prod-gpu-l4") in adds
    assert ("aws:s3/bucket:Bucket", "fraud-prod-features") in deletes
    changes = section(report, "What changes")
    assert f"**{len(adds)} to add, 0 to replace, {len(deletes)} to delete**" in changes
    assert "- `fraud-prod-gpu-l4` (aws:eks/nodeGroup:NodeGroup)" in changes
    assert "- `fraud-prod-gpu-a100` (aws:eks/nodeGroup:NodeGroup): `scalingConfig.maxSize`" in changes


def test_the_cost_section_is_the_monthly_delta_item_by_item(report: str, prod: tuple[Plan, CheckReport]) -> None:
    plan, _ = prod
    items = {i.item: i for i in estimate(plan).items}
    l4 = items["GPU pool l4 (g6.xlarge spot)"]
    a100 = items["GPU pool a100 (p4de.24xlarge on-demand)"]
    assert l4.full_usd > 0
    cost = section(report, "Monthly cost")
    assert cost.startswith("\n### Monthly cost (delta against `base-prod.json`)")
    rows = {r.split(" | ")[1]: r for r in cost.splitlines() if r.startswith("| cluster |")}
    assert rows["GPU pool l4 (g6.xlarge spot)"].endswith(f"| ${l4.full_usd:,.2f} | +${l4.full_usd:,.2f} |")
    node = a100.usd_per_unit_month or 0.0
    assert node > 0
    assert rows["GPU pool a100 (p4de.24xlarge on-demand)"].endswith(
        f"| ${a100.full_usd - node:,.2f} | ${a100.full_usd:,.2f} | +${node:,.2f} |")
    assert "system nodes (m6i.large on-demand)" not in rows  # unchanged items are left out


def test_policy_verdicts_and_concerns_are_in_the_report(report: str) -> None:
    assert section(report, "Policy verdicts").split("\n\n")[1].startswith("**✅ passed: no mandatory violations**")
    assert "  network --> cluster\n" in section(report, "Concerns")


def test_an_unchanged_stack_reports_no_change_and_no_warning(prod: tuple[Plan, CheckReport], tmp_path: Path) -> None:
    plan, check = prod
    same = tmp_path / "same.json"
    same.write_text(json.dumps(plan.to_json(), default=str))
    text = build_report(plan, check, load_base(same, "prod"))
    changes = section(text, "What changes")
    assert "**0 to add, 0 to replace, 0 to delete**, 0 with changed inputs" in changes and "⚠️" not in changes
    assert "No item changed in cost." in section(text, "Monthly cost")


def test_a_new_stack_adds_everything_and_its_whole_cost_is_the_delta(prod: tuple[Plan, CheckReport]) -> None:
    plan, check = prod
    text = build_report(plan, check, new_stack_base("prod"))
    assert f"**{len(plan.resources)} to add, 0 to replace, 0 to delete**" in section(text, "What changes")
    idle = estimate(plan).idle_usd
    assert f"**Δ +${idle:,.2f}/month idle" in section(text, "Monthly cost (new stack)")


def test_without_a_base_the_report_shows_the_estimate_and_no_changes(prod: tuple[Plan, CheckReport]) -> None:
    plan, check = prod
    text = build_report(plan, check)
    assert "### What changes" not in text
    assert section(text, "Monthly cost").split("\n\n")[1].startswith(f"**${estimate(plan).idle_usd:,.2f}/month idle")


# --- the command -------------------------------------------------------------------------------------------------


def mlfabric(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlfabric", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def test_cli_appends_to_the_step_summary_and_exits_0(base_json: Path, tmp_path: Path,
                                                     prod: tuple[Plan, CheckReport]) -> None:
    advisory = len(prod[1].advisory)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step's summary\n")
    result = mlfabric("report", "-s", "prod", "--base", str(base_json), "--output", str(summary))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"mlfabric report: stack prod passed (0 mandatory, {advisory} advisory violations); "
                                     f"appended to {summary}")
    text = summary.read_text()
    assert text.startswith("earlier step's summary\n\n## mlfabric — stack prod (aws us-east-1, prod)\n")
    assert "> - deleted: `fraud-prod-features`" in text


def test_cli_exits_1_on_a_mandatory_violation_and_still_prints_the_report(tmp_path: Path) -> None:
    pool = {"name": "big", "accelerator": "h100-80gb", "gpus_per_node": 8, "min_nodes": 0, "max_nodes": 20}
    data = spec_data("aws", "prod", training={"gpu_pools": [pool]})
    path = write_stack(tmp_path, "violating", {"config": {"mlfabric:platform": copy.deepcopy(data)}})
    result = mlfabric("report", str(path))
    assert result.returncode == 1, result.stderr
    verdicts = section(result.stdout, "Policy verdicts")
    assert "**❌ failed: " in verdicts
    levels = [line.split(" | ")[1] for line in verdicts.splitlines() if line.startswith("| `mlf-")]
    assert levels == sorted(levels, key=lambda level: level != "**mandatory**")  # mandatory rows first
    assert re.search(r"^\| `mlf-gpu-pool-max-nodes` \| \*\*mandatory\*\* \|", verdicts, re.MULTILINE)


@pytest.mark.parametrize(("args", "line"), [
    (("-s", "prod", "--base", "/nonexistent/base.json"),
     "--base /nonexistent/base.json: cannot read the base plan (No such file or directory)"),
    (("-s", "dev", "--base", "BASE"), "--base BASE: a plan of stack 'prod', not of 'dev' (its URNs would all differ)"),
    (("-s", "prod", "--base", "BASE", "--new-stack"), "give at most one of --base and --new-stack"),
    (("-s", "prod", "--output", "/nonexistent/dir/summary.md"), "--output: /nonexistent/dir does not exist"),
    (("-s", "no-such-stack",), "stack 'no-such-stack': no stack file"),
    (("-s", "prod", "-f", str(PROD)), "give the stack once: -s STACK, --file FILE or FILE (got -s prod and --file "),
])
def test_cli_bad_input_exits_2_with_one_line_per_problem(args: tuple[str, ...], line: str, base_json: Path) -> None:
    result = mlfabric("report", *(str(base_json) if a == "BASE" else a for a in args))
    assert result.returncode == 2, result.stdout
    assert result.stderr.splitlines()[0].replace(str(base_json), "BASE").startswith(line)
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_refuses_a_file_that_is_not_a_plan(tmp_path: Path) -> None:
    cost = tmp_path / "cost.json"
    cost.write_text('{"format": "mlfabric-cost/1"}')
    result = mlfabric("report", "-s", "prod", "--base", str(cost))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"--base {cost}: not what `mlfabric plan --json` writes (got format 'mlfabric-cost/1')"]
