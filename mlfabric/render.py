"""Human-readable views of a plan: a tree of components and resources, and a summary line."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.tree import Tree

from mlfabric.components.capabilities import DEV_ONLY_WARNING
from mlfabric.plan import Plan, ResourceRecord


def short_type(type_token: str) -> str:
    """`aws:s3/bucketPolicy:BucketPolicy` -> `aws:s3.BucketPolicy` (what a reader scans for)."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return type_token
    package, module, kind = parts
    module = module.split("/")[0]
    return f"{package}:{kind}" if module in ("index", "providers") else f"{package}:{module}.{kind}"


def _label(record: ResourceRecord) -> str:
    marks = " [yellow](protected)[/]" if record.protect else ""
    if record.custom:
        return f"{record.name} [cyan]{short_type(record.type)}[/]{marks}"
    return f"[bold magenta]{record.type}[/] [bold]{record.name}[/]"


def plan_tree(plan: Plan) -> Tree:
    """Components as branches, cloud resources as leaves, in registration order."""
    children: dict[str, list[ResourceRecord]] = defaultdict(list)
    roots: list[ResourceRecord] = []
    for record in plan.resources:
        (children[record.parent] if record.parent else roots).append(record)
    title = f"[bold]{plan.project}/{plan.stack}[/] — {plan.spec.cloud} {plan.spec.region} ({plan.spec.environment})"
    tree = Tree(title)

    def add(node: Tree, record: ResourceRecord) -> None:
        branch = node.add(_label(record))
        # Components first, then resources grouped by logical name: stable whatever the async order.
        for child in sorted(children.get(record.urn, []), key=lambda r: (r.custom, r.name, r.type)):
            add(branch, child)

    for root in roots:
        for child in children.get(root.urn, []):
            add(tree, child)
    return tree


def summary_line(plan: Plan) -> str:
    summary = plan.summary()
    protected = sum(1 for r in plan.custom_resources if r.protect)
    # Dev-only warnings: fields the cloud will not honour, accepted only because the stack is dev.
    warnings = sum(1 for note in plan.notes if note.endswith(DEV_ONLY_WARNING))
    unhonoured = f", {warnings} spec field(s) not honoured on {plan.spec.cloud} (dev only)" if warnings else ""
    return (
        f"{summary['resources']} resources in {summary['components']} components "
        f"({protected} protected{unhonoured}) — stack {plan.stack}, {plan.spec.cloud} {plan.spec.region}"
    )


def print_plan(console: Console, plan: Plan) -> None:
    from mlfabric.cost import cost_summary_line

    console.print(plan_tree(plan))
    for note in plan.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(cost_summary_line(plan), markup=False)
    console.print(summary_line(plan))
