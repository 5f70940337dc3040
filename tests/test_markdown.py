"""Markdown views for pull requests (``mlfabric.markdown``): verdicts, cost, cost deltas, changes, concerns.

Most tests build the inputs by hand (a CheckReport, an Estimate, a PlanDiff) so the exact cells can be
asserted; the Mermaid tests plan real stacks. What these cannot prove: how GitHub renders the result
(tables, footnotes, <details> and Mermaid are GitHub-flavoured markdown features checked here only
for their syntax).
"""

from __future__ import annotations

import re

import pytest

from mlfabric import stackfile
from mlfabric.check.runner import CheckReport, Violation
from mlfabric.check.sources import Source
from mlfabric.components.costing import LineItem
from mlfabric.cost import Estimate, compare
from mlfabric.diff import PlanDiff, ResourceView
from mlfabric.markdown import (
    cell,
    changes_markdown,
    check_markdown,
    comparison_markdown,
    concerns_mermaid,
    cost_markdown,
)
from mlfabric.plan import Plan, plan_stack
from tests.helpers import ROOT, plan


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row (pipes escaped as ``\\|`` stay inside their cell)."""
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            for line in text.splitlines() if line.startswith("|")]


def violation(rule_id: str, enforcement: str, message: str, name: str | None = "fraud-prod-datasets") -> Violation:
    return Violation(rule_id=rule_id, title=rule_id, severity="high", enforcement=enforcement, message=message,
                     remediation="", urn=None, resource_type="aws:s3/bucket:Bucket" if name else None,
                     resource_name=name, section="storage")


def report(*violations: Violation) -> CheckReport:
    source = Source("prod", "mlfabric", "prod", "aws", "stacks/Pulumi.prod.yaml", [])
    levels = {v.rule_id: v.enforcement for v in violations} | {"mlf-other": "mandatory"}
    return CheckReport(source, "policies/config/prod.json", levels, list(violations), {}, 0.1)


# --- policy verdicts ----------------------------------------------------------------------------------------


def test_check_lists_mandatory_violations_before_advisory_ones_in_a_four_column_table() -> None:
    text = check_markdown(report(
        violation("mlf-aaa-advisory", "advisory", "one region holds the only copy"),
        violation("mlf-zzz-mandatory", "mandatory", "bucket is public", name=None),
    ))
    assert text.splitlines()[0].startswith("**❌ failed: 1 mandatory, 1 advisory violations** (3 of 3 rules")
    rows = table_rows(text)
    assert rows[0] == ["rule", "level", "resource", "message"]
    assert rows[2] == ["`mlf-zzz-mandatory`", "**mandatory**", "(stack)", "bucket is public"]
    assert rows[3] == ["`mlf-aaa-advisory`", "advisory", "`fraud-prod-datasets` (aws:s3/bucket:Bucket)",
                       "one region holds the only copy"]


def test_check_escapes_pipes_html_and_newlines_in_messages() -> None:
    text = check_markdown(report(violation("mlf-x", "mandatory", "allowed: a | b\nnot <none>")))
    rows = table_rows(text)
    assert len(rows[2]) == 4
    assert rows[2][3] == "allowed: a \\| b not &lt;none&gt;"
    assert cell("x|y") == "x\\|y"


def test_a_clean_check_says_so_without_a_table() -> None:
    text = check_markdown(report())
    assert text.startswith("**✅ passed: no violations** (1 of 1 rules that apply to aws stacks, on 0 cloud "
                           "resources (+0 components, 0 providers); config `policies/config/prod.json`)")
    assert "|" not in text


def test_advisory_findings_alone_pass() -> None:
    text = check_markdown(report(violation("mlf-a", "advisory", "m")))
    assert text.startswith("**✅ passed: no mandatory violations**, 1 advisory")


# --- cost ------------------------------------------------------------------------------------------------------

SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/ (us-east-1)"


def item(name: str, idle: float, full: float, price: float | None, *, gpu: bool = False) -> LineItem:
    return LineItem("cluster", name, "node", idle, full, price, SOURCE if price is not None else "",
                    "2024-12" if price is not None else "", gpu)


def estimate(*items: LineItem, stack: str = "prod") -> Estimate:
    return Estimate(stack, "aws", "us-east-1", list(items), ["a note | with a pipe"], "2026-12-01")


def test_cost_shows_idle_and_ceiling_totals_and_names_unpriced_items() -> None:
    text = cost_markdown(estimate(item("system nodes", 2, 4, 70.0),
                                  item("GPU pool a|b (p5.48xlarge)", 0, 2, 1000.0, gpu=True),
                                  item("GPU pool x (unknown.large)", 0, 3, None, gpu=True)))
    first = text.splitlines()[0]
    assert first.startswith("**$140.00/month idle, $2,280.00/month at full scale** (ceiling)")
    assert first.endswith("**incomplete (1 item unpriced)**")
    assert "Not in the totals (no list price): GPU pool x (unknown.large)" in text
    rows = {r[1]: r for r in table_rows(text)}
    assert rows["GPU pool a\\|b (p5.48xlarge)"] == [
        "cluster", "GPU pool a\\|b (p5.48xlarge)", "0 → 2 node", "$1,000.00[^prod-price-1]", "$0.00", "$2,000.00"]
    assert rows["GPU pool x (unknown.large)"][3:] == ["**unpriced**", "n/a", "n/a"]
    assert rows[""] == ["**total**", "", "", "", "**$140.00**", "**$2,280.00**"]
    assert rows["of which GPU"][4:] == ["$0.00", "$2,000.00"]


def test_cost_sources_are_footnotes_labelled_with_the_stack() -> None:
    text = cost_markdown(estimate(item("system nodes", 2, 4, 70.0), item("more nodes", 1, 1, 70.0), stack="gcp-prod"))
    assert text.count("[^gcp-prod-price-1]") == 3  # two references, one definition
    assert f"[^gcp-prod-price-1]: {SOURCE}, 2024-12" in text.splitlines()
    assert "complete" in text.splitlines()[0] and "incomplete" not in text


def test_cost_delta_lists_only_changed_items_with_signed_deltas() -> None:
    old = estimate(item("system nodes", 2, 4, 70.0), item("GPU pool a100", 0, 2, 1000.0))
    new = estimate(item("system nodes", 2, 4, 70.0), item("GPU pool a100", 0, 4, 1000.0),
                   item("GPU pool l4", 1, 8, 100.0))
    text = comparison_markdown(compare(old, new))
    assert text.splitlines()[0].startswith("**Δ +$100.00/month idle, +$2,800.00/month at full scale** (ceiling)")
    rows = {r[1]: r for r in table_rows(text)}
    assert "system nodes" not in rows
    assert rows["GPU pool a100"][2:] == ["$0.00", "$0.00", "$0.00", "$2,000.00", "$4,000.00", "+$2,000.00"]
    assert rows["GPU pool l4"][2:] == ["$0.00", "$100.00", "+$100.00", "$0.00", "$800.00", "+$800.00"]
    assert rows[""][0] == "**total**" and rows[""][4] == "**+$100.00**" and rows[""][7] == "**+$2,800.00**"


def test_cost_delta_of_an_unpriced_item_is_not_a_number() -> None:
    text = comparison_markdown(compare(estimate(), estimate(item("GPU pool x", 0, 3, None))))
    rows = {r[1]: r for r in table_rows(text)}
    assert rows["GPU pool x"][2:] == ["$0.00", "unpriced", "n/a", "$0.00", "unpriced", "n/a"]
    assert "**after: incomplete (1 item unpriced)**: GPU pool x (not in the totals)" in text


# --- what changes ----------------------------------------------------------------------------------------------

PREFIX = "urn:pulumi:prod::mlfabric::mlfabric:storage:AwsStorage$"


def view(type_: str, name: str) -> ResourceView:
    return ResourceView(f"{PREFIX}{type_}::{name}", type_, {"bucket": name})


def test_protected_deletions_and_replacements_come_first_then_replacements_deletions_adds() -> None:
    kept = view("aws:s3/bucket:Bucket", "fraud-prod-models")
    gone = view("aws:s3/bucket:Bucket", "fraud-prod-features")
    gone_policy = view("aws:s3/bucketPolicy:BucketPolicy", "fraud-prod-features")
    new = view("aws:s3/bucket:Bucket", "fraud-prod-new")
    diff = PlanDiff(added=[new], removed=[gone_policy, gone], replaced={kept.urn: ["bucket"]})
    before = {v.urn: v for v in (kept, gone, gone_policy)}
    text = changes_markdown(diff, before, {gone.urn: "`protect`", kept.urn: "`retain_on_delete`"})
    lines = text.splitlines()
    assert lines[0].startswith("> ⚠️ **2 protected resources would be deleted or replaced.**")
    assert lines[2] == "> - deleted: `fraud-prod-features` (aws:s3/bucket:Bucket) — `protect`"
    assert lines[3] == ("> - replaced (`bucket` changed): `fraud-prod-models` (aws:s3/bucket:Bucket) — "
                        "`retain_on_delete`")
    assert "**1 to add, 1 to replace, 2 to delete**" in text
    order = [text.index(s) for s in ("**Replaced", "**Deleted", "**Added**")]
    assert order == sorted(order)
    assert "- `fraud-prod-features` (aws:s3/bucketPolicy:BucketPolicy)" in lines


def test_no_warning_when_nothing_protected_goes_away() -> None:
    text = changes_markdown(PlanDiff(added=[view("aws:s3/bucket:Bucket", "b")]), {}, {})
    assert text.splitlines()[0] == ("**1 to add, 0 to replace, 0 to delete**, 0 with changed inputs, "
                                    "0 renamed with an alias")
    assert "⚠️" not in text


def test_long_lists_fold_into_details() -> None:
    added = [view("aws:s3/bucket:Bucket", f"b{i}") for i in range(40)]
    text = changes_markdown(PlanDiff(added=added), {}, {})
    assert "<details><summary>40 resources</summary>" in text and text.count("\n- `b") == 40


# --- concerns --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_stack(stackfile.load(ROOT / "stacks" / "Pulumi.prod.yaml"))


def mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    lines = text.splitlines()
    assert lines[:2] == ["```mermaid", "flowchart LR"] and lines[-1] == "```"
    nodes: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    for line in lines[2:-1]:
        node = re.fullmatch(r'  ([A-Za-z0-9]+)\["([^"]*)"\]', line)
        edge = re.fullmatch(r"  ([A-Za-z0-9]+) --> ([A-Za-z0-9]+)", line)
        assert node or edge, f"not a node or an edge: {line!r}"
        if node:
            nodes[node.group(1)] = node.group(2)
        elif edge:
            edges.add((edge.group(1), edge.group(2)))
    return nodes, edges


def test_prod_concerns_are_one_node_each_with_the_needs_as_edges(prod: Plan) -> None:
    nodes, edges = mermaid(concerns_mermaid(prod))
    assert set(nodes) == {"network", "storage", "registry", "cluster", "teams", "monitoring", "serving", "rbac",
                          "tracking", "notebooks", "batch"}
    assert edges == {
        ("network", "cluster"), ("storage", "cluster"),
        ("cluster", "teams"), ("storage", "teams"), ("registry", "teams"),
        ("cluster", "monitoring"),
        ("network", "serving"), ("storage", "serving"), ("registry", "serving"), ("monitoring", "serving"),
        ("storage", "rbac"), ("registry", "rbac"), ("cluster", "rbac"), ("serving", "rbac"), ("tracking", "rbac"),
        ("storage", "tracking"), ("teams", "tracking"),
        ("network", "notebooks"), ("storage", "notebooks"), ("teams", "notebooks"), ("tracking", "notebooks"),
        ("cluster", "batch"), ("teams", "batch"), ("storage", "batch"), ("registry", "batch"),
    }
    assert nodes["cluster"].startswith("cluster<br/>AwsTrainingCluster · ")


def test_node_labels_count_every_cloud_resource_below_the_component(prod: Plan) -> None:
    nodes, _ = mermaid(concerns_mermaid(prod))
    counts = {concern: int(re.search(r"· (\d+) resources?$", label).group(1))  # type: ignore[union-attr]
              for concern, label in nodes.items()}
    platform = next(r.urn for r in prod.components if r.type == "mlfabric:platform:MLPlatform")
    outside = [r for r in prod.custom_resources if r.parent == platform]  # the provider, under the platform
    assert sum(counts.values()) == len(prod.custom_resources) - len(outside)
    assert all(count > 0 for count in counts.values())


def test_needs_of_absent_concerns_draw_no_edge() -> None:
    nodes, edges = mermaid(concerns_mermaid(plan("aws", "dev", storage={"buckets": [{"name": "data"}]})))
    assert "network" not in nodes and "serving" not in nodes
    assert edges == {("storage", "rbac")}


def test_a_gcp_cluster_needs_the_registry_as_its_kit_declares() -> None:
    nodes, edges = mermaid(concerns_mermaid(plan_stack(stackfile.load(ROOT / "stacks" / "Pulumi.gcp-prod.yaml"))))
    assert nodes["cluster"].startswith("cluster<br/>GcpTrainingCluster · ")
    assert {("network", "cluster"), ("registry", "cluster")} <= edges
