"""The ``check`` command of the mlfabric CLI (``mlfabric.cli`` calls :func:`register`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlfabric.check.formats import OutputFormat, render
from mlfabric.check.runner import check_source
from mlfabric.check.sources import Source, source_from_plan_json, source_from_stack, source_from_state
from mlfabric.cli_options import FileArgument, FileOption, StackOption, read_stack, usage_errors
from mlfabric.errors import UsageError

PlanOption = Annotated[
    Path | None, typer.Option("--plan", help="Check what `mlfabric plan --json` wrote.", show_default=False)
]
StateOption = Annotated[
    Path | None, typer.Option("--state", help="Check a `pulumi stack export` (deployed inputs).", show_default=False)
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Policy config (default: policies/config/<environment>.json).",
                 show_default=False),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", help="text (fitted to the terminal or COLUMNS), json, sarif, junit or markdown "
                 "(a pull-request comment or job summary)."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to this file.", show_default=False)
]


def _source(stack: str | None, file: Path | None, path: Path | None, plan_json: Path | None,
            state: Path | None) -> Source:
    """The resources to check, from exactly one of the inputs (UsageError otherwise)."""
    given = [name for name, value in (("-s/--stack", stack), ("--file", file), ("FILE", path), ("--plan", plan_json),
                                      ("--state", state)) if value is not None]
    if len(given) != 1:
        raise UsageError(["give exactly one of -s STACK, --file FILE, FILE, --plan PLAN.json or --state EXPORT.json"
                          + (f" (got {' and '.join(given)})" if given else "")])
    if plan_json is not None:
        return source_from_plan_json(plan_json)
    if state is not None:
        return source_from_state(state)
    return source_from_stack(read_stack(stack, file, path))


def check_command(
    path: FileArgument = None,
    stack: StackOption = None,
    file: FileOption = None,
    plan_json: PlanOption = None,
    state: StateOption = None,
    config: ConfigOption = None,
    output_format: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Evaluate the CrossGuard policy pack offline: exit 0 clean, 1 mandatory violations, 2 bad input, 3 crash."""
    with usage_errors():
        report = check_source(_source(stack, file, path, plan_json, state), config)
    render(report, output_format, output)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    """Add `check` to the mlfabric CLI."""
    app.command("check")(check_command)
