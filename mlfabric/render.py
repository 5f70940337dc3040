"""Human-readable views of a plan: a tree of components and resources, and a summary line.

The tree is drawn here rather than by ``rich.tree`` so a CI log at any width gets whole names and
types: a leaf is ``name type`` on one line when that fits the console's width, else the type goes on
a line of its own under the name. A name longer than the width keeps its line (the log is then wider
than the width there) instead of being folded in two.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from mlfabric.cli_options import say
from mlfabric.components.capabilities import DEV_ONLY_WARNING
from mlfabric.plan import Plan, ResourceRecord, is_cloud_resource

BRANCH, LAST, PIPE, SPACE = "├── ", "└── ", "│   ", "    "


def short_type(type_token: str) -> str:
    """`aws:s3/bucketPolicy:BucketPolicy` -> `aws:s3.BucketPolicy` (what a reader scans for)."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return type_token
    package, module, kind = parts
    module = module.split("/")[0]
    return f"{package}:{kind}" if module in ("index", "providers") else f"{package}:{module}.{kind}"


@dataclass(frozen=True)
class _Label:
    """A node's two parts: what comes first (its name, or a component's type) and what follows."""

    first: str
    first_style: str
    second: str
    second_style: str
    marks: str = ""


def _label(record: ResourceRecord) -> _Label:
    marks = " (protected)" if record.protect else ""
    if record.custom:
        return _Label(record.name, "", short_type(record.type), "cyan", marks)
    return _Label(record.type, "bold magenta", record.name, "bold", marks)


def _node_lines(label: _Label, guide: str, below: str, width: int) -> list[Text]:
    """The label's parts packed greedily into lines of at most ``width`` columns: ``name type
    (protected)`` on one line when it fits, else each part that does not fit starts a line of its
    own. ``guide`` leads the first line; ``below`` the others (the guides of the branches still open,
    and of this node's own children). A part is never cut, even when it alone is wider than ``width``."""
    parts = [(label.first, label.first_style), (label.second, label.second_style)]
    if label.marks:
        parts.append((label.marks.strip(), "yellow"))
    lines = [Text(guide)]
    lines[0].append(parts[0][0], style=parts[0][1])
    for part, style in parts[1:]:
        if lines[-1].cell_len + 1 + len(part) <= width:
            lines[-1].append(" ")
        else:
            lines.append(Text(below))
        lines[-1].append(part, style=style)
    return lines


def tree_lines(plan: Plan, width: int) -> list[Text]:
    """Components as branches, cloud resources as leaves, in a stable order, fitted to ``width``."""
    children: dict[str, list[ResourceRecord]] = defaultdict(list)
    roots: list[ResourceRecord] = []
    for record in plan.resources:
        (children[record.parent] if record.parent else roots).append(record)
    title = Text()
    title.append(f"{plan.project}/{plan.stack}", style="bold")
    title.append(f" — {plan.spec.cloud} {plan.spec.region} ({plan.spec.environment})")
    lines = [title]

    def add(record: ResourceRecord, prefix: str, last: bool) -> None:
        # Components first, then resources grouped by logical name: stable whatever the async order.
        kids = sorted(children.get(record.urn, []), key=lambda r: (r.custom, r.name, r.type))
        below = prefix + (SPACE if last else PIPE)
        # A continuation line keeps the guide down to this node's children, and indents the type by two.
        lines.extend(_node_lines(_label(record), prefix + (LAST if last else BRANCH),
                                 below + ("│ " if kids else "  "), width))
        for index, kid in enumerate(kids):
            add(kid, below, index == len(kids) - 1)

    top = [child for root in roots for child in children.get(root.urn, [])]
    for index, record in enumerate(top):
        add(record, "", index == len(top) - 1)
    return lines


def summary_line(plan: Plan) -> str:
    """What the plan holds, counted as ``mlfabric.plan.ResourceCounts`` defines (the same as check and cost)."""
    protected = sum(1 for r in plan.resources if is_cloud_resource(r) and r.protect)
    # Dev-only warnings: fields the cloud will not honour, accepted only because the stack is dev.
    warnings = sum(1 for note in plan.notes if note.endswith(DEV_ONLY_WARNING))
    unhonoured = f", {warnings} spec field(s) not honoured on {plan.spec.cloud} (dev only)" if warnings else ""
    return (f"{plan.counts().describe()}, {protected} protected{unhonoured} — stack {plan.stack}, "
            f"{plan.spec.cloud} {plan.spec.region}")


def print_plan(console: Console, plan: Plan) -> None:
    from mlfabric.cost import cost_summary_line

    for line in tree_lines(plan, console.width):
        console.print(line, soft_wrap=True, highlight=False)
    for note in plan.notes:
        say(console, note, lead="note: ", lead_style="yellow", hang="  ")
    say(console, cost_summary_line(plan), hang="  ")
    say(console, summary_line(plan), hang="  ")
