"""Markdown views for pull requests and GitHub job summaries (``--format markdown``, ``mlfabric report``).

Each function returns one self-contained block (GitHub-flavoured markdown) that a command prints
alone or ``mlfabric report`` puts under its own heading:

- :func:`check_markdown`: the policy verdict and a table of violations, mandatory ones first;
- :func:`cost_markdown`: a cost estimate, idle and at full scale (a ceiling), unpriced items named,
  price sources as footnotes;
- :func:`comparison_markdown`: the monthly delta between two estimates, item by item;
- :func:`changes_markdown`: what a change does to the deployed resources, protected ones first;
- :func:`concerns_mermaid`: a Mermaid flowchart of the platform's concerns and what each needs.

Text that comes from a spec, a plan or a rule (names, messages) is escaped for table cells: a ``|``
would otherwise end the cell and a ``<...>`` would be taken for HTML and vanish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mlfabric.check.runner import CheckReport, Violation
    from mlfabric.cost import Comparison, Estimate
    from mlfabric.diff import PlanDiff, ResourceView
    from mlfabric.plan import Plan, ResourceRecord

# A list longer than this is folded into <details>: a summary stays readable for a new stack (every
# resource added) and GitHub's 1 MiB per-step summary limit is far away.
FOLD_AFTER: Final = 15
# Words Mermaid's flowchart grammar reserves: a node id equal to one breaks the whole diagram.
_MERMAID_KEYWORDS: Final = frozenset({
    "end", "graph", "flowchart", "subgraph", "direction", "style", "class", "classdef", "click", "linkstyle",
    "default",
})


def cell(text: object) -> str:
    """``text`` safe inside a markdown table cell: pipes escaped, HTML brackets as entities, one line."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(value.split())


def code(text: object) -> str:
    """``text`` as inline code inside a table cell (a backtick in it would end the code span)."""
    value = str(text).replace("`", "'").replace("|", "\\|")
    return f"`{' '.join(value.split())}`"


def usd(value: float) -> str:
    return f"${value:,.2f}"


def signed_usd(value: float) -> str:
    if round(value, 2) == 0:
        return "$0.00"
    return f"{'+' if value > 0 else '-'}${abs(value):,.2f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    """A markdown table; ``align`` has one letter per column (l or r), left when absent."""
    marks = [("---:" if align[i:i + 1] == "r" else "---") for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


def _folded(summary: str, lines: list[str]) -> list[str]:
    """``lines`` inside a <details> block (a blank line after <summary> so markdown renders inside)."""
    return [f"<details><summary>{summary}</summary>", "", *lines, "", "</details>"]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- policy verdicts -------------------------------------------------------------------------------------


def _resource_cell(violation: Violation) -> str:
    if violation.resource_name is None:
        return "(stack)"
    return f"{code(violation.resource_name)} ({cell(violation.resource_type or '?')})"


def _verdict_line(report: CheckReport) -> str:
    summary = report.summary()
    # The same count plan and check print: cloud resources, components and providers apart.
    counts = report.source.counts().describe()
    scope = (f"{summary['rules_evaluated']} of {summary['rules_applicable']} rules that apply to "
             f"{report.source.cloud or 'this'} stacks, on {counts}; config {code(report.config_path or 'pack defaults')}")
    if report.mandatory:
        counts = f"{len(report.mandatory)} mandatory, {len(report.advisory)} advisory"
        return f"**❌ failed: {counts} violations** ({scope})"
    if report.advisory:
        return f"**✅ passed: no mandatory violations**, {len(report.advisory)} advisory ({scope})"
    return f"**✅ passed: no violations** ({scope})"


def check_markdown(report: CheckReport) -> str:
    """Policy verdicts of one check as markdown (mandatory violations first)."""
    lines = [_verdict_line(report)]
    if report.violations:
        order = sorted(report.violations, key=lambda v: (not v.mandatory, v.rule_id, v.resource_name or ""))
        rows = [[code(v.rule_id), "**mandatory**" if v.mandatory else "advisory", _resource_cell(v), cell(v.message)]
                for v in order]
        lines += ["", *_table(["rule", "level", "resource", "message"], rows)]
    if report.not_applicable:
        lines += ["", f"{_plural(len(report.not_applicable), 'rule')} not applicable to this stack: "
                  + ", ".join(code(rule) for rule in sorted(report.not_applicable))]
    return "\n".join(lines) + "\n"


# --- cost ----------------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    """A footnote label part: GitHub footnote labels are letters, digits and hyphens."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "cost"


def _units(value: float) -> str:
    return f"{value:g}"


def cost_markdown(result: Estimate) -> str:
    """A cost estimate as a markdown table (idle and full-scale ceiling, unpriced items named)."""
    from mlfabric.components.prices import HOURS_PER_MONTH

    # Footnote labels carry the stack: several reports appended to one job summary are one document.
    prefix = _slug(result.stack)
    sources: dict[tuple[str, str], str] = {}
    rows: list[list[str]] = []
    for item in result.items:
        ref = ""
        if item.source:
            label = sources.setdefault((item.source, item.as_of), f"{prefix}-price-{len(sources) + 1}")
            ref = f"[^{label}]"
        price = (usd(item.usd_per_unit_month) + ("\\*" if not item.verified else "") + ref
                 if item.usd_per_unit_month is not None else "**unpriced**")
        units = f"{_units(item.idle_units)} → {_units(item.full_units)} {cell(item.unit)}"
        rows.append([cell(item.component), cell(item.item), units, price,
                     usd(item.idle_usd) if item.priced else "n/a", usd(item.full_usd) if item.priced else "n/a"])
    status = "complete" if result.complete else f"**{result.completeness()}**"
    lines = [f"**{usd(result.idle_usd)}/month idle, {usd(result.full_usd)}/month at full scale** (ceiling) — "
             f"{result.cloud} list prices, {cell(result.region)}, {HOURS_PER_MONTH} h/month, price file as of "
             f"{result.price_file_as_of or '?'}; {status}"]
    if result.unpriced:
        lines += ["", "Not in the totals (no list price): " + ", ".join(cell(i.item) for i in result.unpriced)]
    if rows:
        rows.append(["**total**", "", "", "", f"**{usd(result.idle_usd)}**", f"**{usd(result.full_usd)}**"])
        rows.append(["", "of which GPU", "", "", usd(result.idle_gpu_usd), usd(result.full_gpu_usd)])
        lines += ["", *_table(["component", "item", "units idle → full", "$/unit-month", "idle $/month",
                               "full $/month"], rows, "lllrrr")]
    else:
        lines += ["", "Nothing in this plan has a fixed hourly or monthly price."]
    lines += ["", "Full scale is a ceiling: every pool at max_nodes and every endpoint at max_replicas all month."]
    if result.unverified:
        lines += ["", "\\* a figure the price file marks `verified: false`: check it before you budget."]
    if result.notes:
        lines += ["", *_folded("Notes", [f"- {cell(note)}" for note in result.notes])]
    if sources:
        lines += ["", *(f"[^{label}]: {cell(url)}, {cell(as_of)}" for (url, as_of), label in sources.items())]
    return "\n".join(lines) + "\n"


def _money(value: float | None) -> str:
    return "unpriced" if value is None else usd(value)


def _delta(before: float | None, after: float | None) -> str:
    return "n/a" if before is None or after is None else signed_usd(after - before)


def comparison_markdown(comparison: Comparison) -> str:
    """The monthly delta of a change, item by item, as markdown."""
    old, new = comparison.old, comparison.new
    lines = [f"**Δ {signed_usd(comparison.idle_delta)}/month idle, {signed_usd(comparison.full_delta)}/month at "
             f"full scale** (ceiling): {usd(old.idle_usd)} → {usd(new.idle_usd)} idle, "
             f"{usd(old.full_usd)} → {usd(new.full_usd)} at full scale"]
    if comparison.rows:
        rows = [[cell(component), cell(item), _money(oi), _money(ni), _delta(oi, ni), _money(of), _money(nf),
                 _delta(of, nf)]
                for component, item, oi, ni, of, nf in comparison.rows]
        rows.append(["**total**", "", usd(old.idle_usd), usd(new.idle_usd), f"**{signed_usd(comparison.idle_delta)}**",
                     usd(old.full_usd), usd(new.full_usd), f"**{signed_usd(comparison.full_delta)}**"])
        lines += ["", *_table(["component", "item", "idle before", "idle after", "Δ idle", "full before",
                               "full after", "Δ full"], rows, "llrrrrrr")]
    else:
        lines += ["", "No item changed in cost."]
    for estimate, when in ((old, "before"), (new, "after")):
        if not estimate.complete:
            unpriced = ", ".join(cell(i.item) for i in estimate.unpriced)
            lines += ["", f"**{when}: {estimate.completeness()}**: {unpriced} (not in the totals)"]
    return "\n".join(lines) + "\n"


# --- what changes --------------------------------------------------------------------------------------------


def _label(urn: str, type_: str) -> str:
    return f"{code(urn.rsplit('::', 1)[-1])} ({cell(type_)})"


def _bullets(lines: list[str], summary: str) -> list[str]:
    return _folded(summary, lines) if len(lines) > FOLD_AFTER else lines


def _protected_lines(diff: PlanDiff, before: Mapping[str, ResourceView], protected: Mapping[str, str]) -> list[str]:
    hits = [(f"deleted: {_label(v.urn, v.type)}", protected[v.urn]) for v in diff.removed if v.urn in protected]
    hits += [(f"replaced ({', '.join(code(k) for k in keys)} changed): {_label(urn, before[urn].type)}", protected[urn])
             for urn, keys in diff.replaced.items() if urn in protected and urn in before]
    if not hits:
        return []
    return [f"> ⚠️ **{_plural(len(hits), 'protected resource')} would be deleted or replaced.** Pulumi refuses "
            "to delete a resource marked `protect` (the update fails until it is unprotected); one marked "
            "`retain_on_delete` leaves the cloud resource and its data behind, outside the stack.",
            ">", *(f"> - {what} — {why}" for what, why in hits)]


def changes_markdown(diff: PlanDiff, before: Mapping[str, ResourceView], protected: Mapping[str, str]) -> str:
    """What a change does to the deployed stack: protected resources deleted or replaced first (a
    warning), then replacements, deletions and adds, with counts. ``before`` is the base plan's
    views by URN; ``protected`` maps a base URN to why it is protected (``protect``, ``retain_on_delete``)."""
    lines = _protected_lines(diff, before, protected)
    counts = (f"**{len(diff.added)} to add, {len(diff.replaced)} to replace, {len(diff.removed)} to delete**, "
              f"{len(diff.changed)} with changed inputs, {len(diff.aliased)} renamed with an alias")
    lines += ["", counts] if lines else [counts]
    sections: list[tuple[str, list[str]]] = [
        ("Replaced (an identity-bearing input changed: the provider creates a new one and deletes the old)",
         [f"- {_label(urn, before[urn].type if urn in before else '?')}: {', '.join(code(k) for k in keys)}"
          for urn, keys in diff.replaced.items()]),
        ("Deleted (URN gone, no alias)", [f"- {_label(v.urn, v.type)}" for v in diff.removed]),
        ("Added", [f"- {_label(v.urn, v.type)}" for v in diff.added]),
        ("Changed inputs", [f"- {_label(urn, before[urn].type if urn in before else '?')}: "
                            + ", ".join(code(path) for path, _, _ in changes[:8])
                            + (f" and {len(changes) - 8} more" if len(changes) > 8 else "")
                            for urn, changes in diff.changed.items()]),
    ]
    for title, bullets in sections:
        if bullets:
            lines += ["", f"**{title}**", "", *_bullets(bullets, _plural(len(bullets), "resource"))]
    return "\n".join(lines) + "\n"


# --- concerns ------------------------------------------------------------------------------------------------


def _node_id(concern: str) -> str:
    node = re.sub(r"[^A-Za-z0-9]", "", concern) or "concern"
    return f"{node}Concern" if node.lower() in _MERMAID_KEYWORDS else node


def _resource_counts(plan: Plan, components: Sequence[ResourceRecord]) -> dict[str, int]:
    """Cloud resources below each component (any depth), by the component's URN."""
    parent_of = {r.urn: r.parent for r in plan.resources}
    counts = dict.fromkeys((c.urn for c in components), 0)
    for record in plan.custom_resources:
        urn = record.parent
        # Bounded by the number of resources: a malformed plan with a parent cycle cannot loop forever.
        for _ in range(len(parent_of) + 1):
            if not urn or urn in counts:
                break
            urn = parent_of.get(urn, "")
        if urn in counts:
            counts[urn] += 1
    return counts


def _needs_by_type(cloud: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """type token -> (concern, needs) of the cloud's component classes."""
    from mlfabric.components.kit import kit_for

    return {c.type_token: (c.concern, tuple(c.needs)) for c in kit_for(cloud).components()}


def concerns_mermaid(plan: Plan) -> str:
    """A Mermaid flowchart of the platform's concerns and what each needs (a fenced ```mermaid block).

    One node per concern component in the plan, labelled with its class and the number of cloud
    resources below it; an arrow from each concern to every present concern that needs it (the order
    MLPlatform builds them in)."""
    known = _needs_by_type(plan.spec.cloud)
    components = [c for c in plan.components if c.type.startswith("mlfabric:") and c.type.split(":")[1] != "platform"]
    counts = _resource_counts(plan, components)
    nodes: dict[str, str] = {}  # concern -> node line
    needs: dict[str, tuple[str, ...]] = {}
    for component in components:
        concern, wanted = known.get(component.type, (component.type.split(":")[1], ()))
        thing = component.type.rsplit(":", 1)[-1]
        label = f"{concern}<br/>{thing} · {_plural(counts[component.urn], 'resource')}".replace('"', "#quot;")
        nodes[concern] = f'  {_node_id(concern)}["{label}"]'
        needs[concern] = wanted
    edges = [f"  {_node_id(need)} --> {_node_id(concern)}"
             for concern, wanted in needs.items() for need in wanted if need in nodes]
    return "\n".join(["```mermaid", "flowchart LR", *nodes.values(), *edges, "```"]) + "\n"
