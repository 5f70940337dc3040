"""What a CI log shows: every command's text output at 60, 80 and 200 columns with no terminal.

The commands run in-process with ``COLUMNS`` and ``TERM=dumb`` in the environment and output captured
(not a TTY), as on a CI runner; rich must size itself from ``COLUMNS``. Checked at every width: no
line of layout is wider than the width unless it is one unbreakable token (a URL, a long resource
name under its tree guides); rich never shortens a cell with "…"; every money figure of ``cost
--format json`` and every resource name of ``plan --format json`` appears whole in the text.

At 80 columns the output of ``prod`` is also compared with ``tests/output_snapshots/`` (timings and
the checkout's path normalised). After an intended change of layout or of the plan, regenerate them:
``python -m tests.test_output_width --update``.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.helpers import ROOT

SNAPSHOTS = ROOT / "tests" / "output_snapshots"
STACK = "prod"
WIDTHS = (60, 80, 200)
SNAPSHOT_WIDTH = 80
COMMANDS: dict[str, tuple[str, ...]] = {
    "validate": ("validate", "-s", STACK),
    "plan": ("plan", "-s", STACK),
    "check": ("check", "-s", STACK),
    "cost": ("cost", "-s", STACK),
}
# Tree guides and indentation lead a line; what follows them is what must not be cut.
_LEAD = re.compile(r"^[\s│├└─]*")
_TIMING = re.compile(r"plan \d+\.\d+s, policies \d+\.\d+s")
_ENV = {"TERM": "dumb", "NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}


@cache
def run(*args: str, width: int = SNAPSHOT_WIDTH) -> tuple[int, str]:
    """Exit code and stdout of ``mlfabric ARGS`` at ``width`` columns, not on a terminal."""
    from mlfabric.cli import app

    result = CliRunner().invoke(app, list(args), env={**_ENV, "COLUMNS": str(width)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, result.stdout


def text(command: str, width: int) -> str:
    return run(*COMMANDS[command], width=width)[1]


def normalised(output: str) -> str:
    """Output without what changes from run to run or checkout to checkout."""
    return _TIMING.sub("plan N.NNs, policies N.NNs", output).replace(str(ROOT), "<checkout>")


@cache
def cost_json() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(run("cost", "-s", STACK, "--format", "json", width=200)[1])
    return document


@cache
def plan_json() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(run("plan", "-s", STACK, "--format", "json", width=200)[1])
    return document


def usd(value: float) -> str:
    return f"${value:,.2f}"


def whole(token: str, output: str) -> bool:
    """``token`` appears in ``output`` with no letter, digit or joining character either side."""
    return re.search(rf"(?<![\w.,$-]){re.escape(token)}(?![\w,-]|\.\d)", output) is not None


# --- every width ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_no_line_is_wider_than_the_width_unless_it_is_one_unbreakable_token(command: str, width: int) -> None:
    for line in text(command, width).splitlines():
        if len(line) > width:
            body = _LEAD.sub("", line)
            assert len(body.split()) == 1, f"{command} at {width} columns: {len(line)}-column line: {line!r}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_rich_never_shortens_a_cell_with_an_ellipsis(command: str, width: int) -> None:
    assert "…" not in text(command, width)
    assert "..." not in text(command, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_money_figure_of_the_cost_json_appears_whole_in_the_text(width: int) -> None:
    output = text("cost", width)
    document = cost_json()
    figures = {usd(value) for value in document["totals"].values() if isinstance(value, float)}
    for item in document["items"]:
        for key in ("usd_per_unit_month", "idle_usd_per_month", "full_usd_per_month"):
            if item[key] is not None:
                figures.add(usd(item[key]))
    assert len(figures) > 10
    missing = sorted(figure for figure in figures if not whole(figure, output))
    assert missing == [], f"at {width} columns"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_resource_name_of_the_plan_appears_whole_in_the_plan_text(width: int) -> None:
    output = text("plan", width)
    names = {r["name"] for r in plan_json()["resources"] if r["type"] != "pulumi:pulumi:Stack"}
    assert len(names) > 50
    assert sorted(name for name in names if not whole(name, output)) == [], f"at {width} columns"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_price_source_url_is_on_one_line(width: int) -> None:
    output = text("cost", width)
    urls = {item["source"].split()[0] for item in cost_json()["items"] if item["source"].startswith("https://")}
    assert urls
    for url in urls:
        assert whole(url, output), f"{url} cut at {width} columns"


def test_the_check_table_becomes_one_block_per_violation_when_narrow() -> None:
    wide = text("check", 200)
    narrow = text("check", 80)
    violations = json.loads(run("check", "-s", STACK, "--format", "json", width=200)[1])["violations"]
    assert violations, "the prod stack has advisory findings to show"
    assert "┃ Rule" in wide and "┃ Rule" not in narrow
    for v in violations:
        assert f"{v['rule_id']} · advisory" in narrow or f"{v['rule_id']} · mandatory" in narrow
        assert f"{v['resource_name']} ({v['resource_type']})" in narrow


def test_plan_check_and_cost_count_resources_the_same_way() -> None:
    counts = plan_json()["summary"]
    described = (f"{counts['resources']} cloud resources (+{counts['components']} components, "
                 f"{counts['providers']} providers)")
    for command in ("plan", "check", "cost"):
        assert described in " ".join(text(command, 200).split()), command
    check = json.loads(run("check", "-s", STACK, "--format", "json", width=200)[1])["summary"]
    assert (check["resources"], check["components"], check["providers"]) == (
        counts["resources"], counts["components"], counts["providers"])


@pytest.mark.parametrize("width", WIDTHS)
def test_a_cost_comparison_keeps_every_figure_whole_at_any_width(width: int) -> None:
    from rich.console import Console

    from mlfabric.components.costing import LineItem
    from mlfabric.cost import Estimate, compare, render_comparison

    def estimate(max_nodes: int) -> Estimate:
        pool = LineItem("cluster", "GPU pool a100 (p4de.24xlarge on-demand)", "node", 0, max_nodes, 20_036.31)
        disks = LineItem("cluster", "GPU pool a100 boot disks (200 GiB per node)", "GiB", 0, 200 * max_nodes, 0.08)
        return Estimate("prod", "aws", "us-east-1", [pool, disks], [])

    console = Console(width=width, record=True, color_system=None)
    render_comparison(console, compare(estimate(4), estimate(8)))
    output = console.export_text()
    for figure in ("$80,145.24", "$160,290.48", "$64.00", "$128.00", "+$80,209.24"):
        assert whole(figure, output), f"{figure} at {width} columns"
    assert "…" not in output
    assert all(len(line) <= width for line in output.splitlines()), output


# --- the snapshots at 80 columns --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_output_at_80_columns_matches_its_snapshot(command: str) -> None:
    expected = SNAPSHOTS / f"{command}-{STACK}-{SNAPSHOT_WIDTH}.txt"
    assert expected.is_file(), "run `python -m tests.test_output_width --update`"
    assert normalised(text(command, SNAPSHOT_WIDTH)) == expected.read_text(), (
        f"{command} output changed: if intended, run `python -m tests.test_output_width --update`")


def update() -> None:
    SNAPSHOTS.mkdir(exist_ok=True)
    for command in COMMANDS:
        path = SNAPSHOTS / f"{command}-{STACK}-{SNAPSHOT_WIDTH}.txt"
        path.write_text(normalised(text(command, SNAPSHOT_WIDTH)))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_output_width --update")
    update()
