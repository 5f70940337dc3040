"""``mlfabric report``: one markdown document per stack for a pull request's job summary.

The stack is planned once; the plan is checked with the policy pack and priced, and the document
has four sections under ``## mlfabric — stack <name> (<cloud> <region>, <env>)``:

- **What changes** (only with ``--base``, a ``mlfabric plan --json`` of the same stack before the
  change, or ``--new-stack``): protected resources deleted or replaced first, as a warning; then
  replacements, deletions, adds and inputs changed, resource by resource (:mod:`mlfabric.diff`);
- **Policy verdicts**: mandatory violations first (:func:`mlfabric.markdown.check_markdown`);
- **Monthly cost**: with ``--base`` (or ``--new-stack``) the delta idle and at full scale, item by
  item; else the estimate (:mod:`mlfabric.cost`);
- **Concerns**: a Mermaid diagram of the platform's concerns and what each needs.

``--output PATH`` appends (GitHub's ``$GITHUB_STEP_SUMMARY`` is one file per step that every
command appends to), so a workflow reports every stack it touched into one summary. The exit code
is the check's: 0 clean, 1 mandatory violations (the workflow publishes the report and fails), 2 bad
input (one line per problem on stderr).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlfabric.check.command import ConfigOption
from mlfabric.cli_options import FileArgument, FileOption, StackOption, fail, load_stack, usage_errors
from mlfabric.errors import UsageError

if TYPE_CHECKING:
    from mlfabric.check.runner import CheckReport
    from mlfabric.cost import Estimate
    from mlfabric.diff import ResourceView
    from mlfabric.plan import Plan

BaseOption = Annotated[
    Path | None,
    typer.Option("--base", help="`mlfabric plan --json` of this stack before the change: adds a What changes "
                 "section and prices the change as a monthly delta.", show_default=False),
]
NewStackOption = Annotated[
    bool,
    typer.Option("--new-stack", help="The stack does not exist before this change (no base plan): every resource "
                 "is an add and the whole cost is the delta."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Append the report to this file (e.g. \"$GITHUB_STEP_SUMMARY\") instead "
                 "of printing it.", show_default=False),
]


@dataclass(frozen=True)
class Base:
    """The plan a change is compared with: its resources as the diff sees them, and which are protected."""

    path: Path | None  # None: the stack is new (nothing deployed before the change)
    stack: str
    views: dict[str, ResourceView]
    # base URN (as the diff keys it) -> why it is protected: "protect", "retain_on_delete" or both
    protected: dict[str, str]


def _protection(row: Any) -> str:
    flags = [flag for flag in ("protect", "retain_on_delete") if isinstance(row, dict) and row.get(flag)]
    return " and ".join(f"`{flag}`" for flag in flags)


def _protected(rows: list[Any], views: dict[str, ResourceView]) -> dict[str, str]:
    """Protection flags of the base plan's rows, keyed like the diff's views.

    The diff re-keys a plan's rows by the URNs the engine would give them, one view per row in row
    order; when that pairing does not hold, rows are matched by type and name instead."""
    if len(rows) == len(views) and all(isinstance(r, dict) and r.get("type") == v.type
                                       for r, v in zip(rows, views.values(), strict=True)):
        pairs = zip(views, rows, strict=True)
        return {urn: why for urn, row in pairs if (why := _protection(row))}
    by_name = {(str(r.get("type")), str(r.get("name") or str(r.get("urn")).rsplit("::", 1)[-1])): _protection(r)
               for r in rows if isinstance(r, dict)}
    return {urn: why for urn, view in views.items() if (why := by_name.get((view.type, urn.rsplit("::", 1)[-1]), ""))}


def load_base(path: Path, stack: str) -> Base:
    """The base plan at ``path`` (UsageError, one line per problem, when it is not a plan of ``stack``)."""
    from mlfabric.diff import views_from_document

    where = f"--base {path}"
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise UsageError([f"{where}: cannot read the base plan ({error.strerror})"]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError([f"{where}: not valid JSON ({error})"]) from None
    kind = document.get("format") if isinstance(document, dict) else type(document).__name__
    if not str(kind).startswith("mlfabric-plan/"):
        raise UsageError([f"{where}: not what `mlfabric plan --json` writes (got format {kind!r})"])
    if document.get("stack") != stack:
        raise UsageError([f"{where}: a plan of stack {document.get('stack')!r}, not of {stack!r} (its URNs would "
                          "all differ)"])
    views = views_from_document(document, where)
    return Base(path, stack, views, _protected(list(document["resources"]), views))


def _check_output(output: Path) -> None:
    """Refuse an --output the report could not be appended to, before minutes of planning."""
    if output.is_dir():
        raise UsageError([f"--output: {output} is a directory (got a directory, need a file to append to)"])
    if not output.parent.is_dir():
        raise UsageError([f"--output: {output.parent} does not exist (got {output})"])


# --- the document ------------------------------------------------------------------------------------------


def _header(plan: Plan) -> list[str]:
    from mlfabric.check.runner import relative_to_cwd

    spec = plan.spec
    components = [c for c in plan.components if c.type != "mlfabric:platform:MLPlatform"]
    lines = [f"## mlfabric — stack {plan.stack} ({spec.cloud} {spec.region}, {spec.environment})", "",
             f"`{spec.base_name}` from `{relative_to_cwd(plan.source)}`: {len(plan.custom_resources)} cloud resources in "
             f"{len(components)} components"]
    if plan.notes:
        from mlfabric.markdown import cell

        lines += ["", *(f"> note: {cell(note)}" for note in plan.notes)]
    return lines


def new_stack_base(stack: str) -> Base:
    """The "before" of a stack a change creates: nothing."""
    return Base(None, stack, {}, {})


def _changes(plan: Plan, base: Base) -> str:
    from mlfabric.diff import diff_views, views_from_document
    from mlfabric.markdown import changes_markdown

    after = views_from_document(plan.to_json(), "plan")
    text = changes_markdown(diff_views(base.views, after), base.views, base.protected)
    return text if base.path is not None else f"New stack: nothing is deployed yet.\n\n{text}"


def _old_estimate(plan: Plan, base: Base) -> Estimate:
    from mlfabric import cost

    if base.path is not None:
        return cost.load_estimate(base.path)
    return cost.Estimate(plan.stack, plan.spec.cloud, plan.spec.region, [], [])


def _cost(plan: Plan, base: Base | None) -> str:
    from mlfabric import cost
    from mlfabric.markdown import comparison_markdown, cost_markdown

    # The verdicts must reach the pull request even when pricing cannot be worked out (as `plan` does).
    try:
        estimate = cost.estimate(plan)
        if base is None:
            return cost_markdown(estimate)
        return comparison_markdown(cost.compare(_old_estimate(plan, base), estimate))
    except Exception as error:
        return f"Not estimated: {type(error).__name__}: {' '.join(str(error).split())[:300]}\n"


def _cost_title(base: Base | None) -> str:
    if base is None:
        return "Monthly cost"
    return f"Monthly cost (delta against `{base.path.name}`)" if base.path is not None else "Monthly cost (new stack)"


def build_report(plan: Plan, check: CheckReport, base: Base | None = None) -> str:
    """The markdown document for one stack (ends with a blank line, so appended documents stay apart)."""
    from mlfabric.markdown import check_markdown, concerns_mermaid

    sections = [("What changes", _changes(plan, base) if base is not None else None),
                ("Policy verdicts", check_markdown(check)),
                (_cost_title(base), _cost(plan, base)),
                ("Concerns", "Arrows point from a concern to those that need it (the order they are built in).\n\n"
                 + concerns_mermaid(plan))]
    lines = _header(plan)
    for title, body in sections:
        if body is not None:
            lines += ["", f"### {title}", "", body.rstrip("\n")]
    return "\n".join(lines) + "\n\n"


def _append(output: Path, document: str) -> None:
    try:
        with output.open("a", encoding="utf-8") as handle:
            # A report appended after another command's output starts on a fresh paragraph.
            if handle.tell() > 0:
                handle.write("\n")
            handle.write(document)
    except OSError as error:
        raise UsageError([f"--output {output}: cannot append ({error.strerror})"]) from None


# --- the command ------------------------------------------------------------------------------------------


def report_command(
    path: FileArgument = None,
    stack: StackOption = None,
    file: FileOption = None,
    base: BaseOption = None,
    new_stack: NewStackOption = False,
    output: OutputOption = None,
    config: ConfigOption = None,
) -> None:
    """A pull request's job summary for one stack, in markdown: what changes, policy verdicts, monthly cost,
    concerns. Exit 0 clean, 1 mandatory violations, 2 bad input."""
    from mlfabric.check.runner import check_plan
    from mlfabric.plan import plan_stack

    if base is not None and new_stack:
        fail([f"give at most one of --base and --new-stack (got --base {base} and --new-stack)"])
    loaded = load_stack(stack, file, path)
    with usage_errors():
        if output is not None:
            _check_output(output)
        base_plan = load_base(base, loaded.stack) if base is not None else None
        if new_stack:
            base_plan = new_stack_base(loaded.stack)
        started = time.perf_counter()
        # A component refusing its inputs raises pulumi.RunError: the CLI's group reports it (exit 2).
        plan = plan_stack(loaded)
        check = check_plan(plan, config, time.perf_counter() - started)
        document = build_report(plan, check, base_plan)
        if output is None:
            typer.echo(document, nl=False)
        else:
            _append(output, document)
            verdict = "failed" if check.mandatory else "passed"
            typer.echo(f"mlfabric report: stack {plan.stack} {verdict} ({len(check.mandatory)} mandatory, "
                       f"{len(check.advisory)} advisory violations); appended to {os.fspath(output)}")
    raise typer.Exit(check.exit_code)


def register(app: typer.Typer) -> None:
    """Add `report` to the mlfabric CLI."""
    app.command("report")(report_command)
