"""Day-2 commands: ``cost`` (monthly estimate), ``preflight`` (can the AWS account hold the stack at
full scale?) and ``verify`` (is what is deployed still what the stack declares?).

Each takes the stack as ``-s STACK``, ``--file FILE`` or ``FILE`` (``mlfabric.cli_options``), and
``--format``: cost ``text|json|markdown``, preflight and verify ``text|json`` (the report's fields).

The CLI (``mlfabric.cli``) imports this module and calls :func:`register`. Heavy imports (the plan,
boto3) happen inside the commands so ``mlfabric --help`` stays fast.

Exit codes (``mlfabric.cli_options``): 0 fine; 1 short (preflight) or drifted (verify); 2 bad spec,
bad input or AWS not reachable, reported as one line per problem on stderr; 3 an internal error (one
line; the CLI's ``--debug`` shows the traceback).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlfabric.cli_options import (
    EXIT_FINDINGS,
    EXIT_OK,
    FileArgument,
    FileOption,
    StackOption,
    read_stack,
    usage_errors,
)

if TYPE_CHECKING:
    from mlfabric.plan import Plan

EndpointOption = Annotated[
    str | None,
    typer.Option("--endpoint-url", help="Send every AWS API call to this URL (an emulator such as moto_server).",
                 show_default=False),
]


class CostFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


ReportFormatOption = Annotated[
    ReportFormat, typer.Option("--format", help="text (a table and one plain line per finding) or json.")
]


def _plan(stack: str | None, file: Path | None, path: Path | None) -> Plan:
    """The stack's offline plan (UsageError for a bad stack file or spec)."""
    from mlfabric.plan import plan_stack

    return plan_stack(read_stack(stack, file, path))


def _print_json(kind: str, report: Any, **extra: Any) -> None:
    """A preflight or verify report as one JSON document on stdout (``mlfabric-<kind>/1``)."""
    document = {"format": f"mlfabric-{kind}/1", **dataclasses.asdict(report), **extra}
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


def cost_command(
    path: FileArgument = None,
    stack: StackOption = None,
    file: FileOption = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the estimate (or the comparison) as JSON to this file ('-' for "
                     "stdout only).", show_default=False),
    ] = None,
    output_format: Annotated[
        CostFormat, typer.Option("--format", help="text (fitted to the terminal or COLUMNS), json or markdown "
                                 "(a pull-request comment or job summary).")
    ] = CostFormat.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when an item has no list price (the totals are incomplete).")
    ] = False,
    compare_with: Annotated[
        Path | None,
        typer.Option("--compare", help="An older `mlfabric plan --json` or `mlfabric cost --format json` file: "
                     "print the monthly delta, idle and at full scale, item by item.", show_default=False),
    ] = None,
    policy_config: Annotated[
        Path | None,
        typer.Option("--policy-config", help="Write the environment's policy config with the mlf-cost-budget "
                     "entry (the spec's budget and this estimate) to this file.", show_default=False),
    ] = None,
) -> None:
    """Monthly cost of the stack idle and at full scale (a ceiling), itemised, with price sources (offline)."""
    from rich.console import Console

    from mlfabric import cost

    with usage_errors():
        code = cost.run(_plan(stack, file, path), output_format=output_format.value, json_out=json_out, strict=strict,
                        compare_with=compare_with, policy_config=policy_config, console=Console())
    raise typer.Exit(code)


def preflight_command(
    path: FileArgument = None,
    stack: StackOption = None,
    file: FileOption = None,
    endpoint_url: EndpointOption = None,
    output_format: ReportFormatOption = ReportFormat.text,
    strict: Annotated[
        bool, typer.Option("--strict", help="Also fail (exit 1) when a quota cannot be read.")
    ] = False,
) -> None:
    """Before `pulumi up`: can the AWS account hold the stack at full scale? Exit 0 fine, 1 short, 2 bad input.

    Checks GPU and system vCPU quotas (on-demand and spot), SageMaker endpoint instance quotas
    (blue/green updates need twice max_replicas) and that the region offers every instance type.
    """
    from rich.console import Console

    from mlfabric import preflight

    with usage_errors():
        plan = _plan(stack, file, path)
        report = preflight.run(plan, preflight.boto3_clients(plan.spec.region, endpoint_url))
    code = report.exit_code(strict=strict)
    if output_format is ReportFormat.json:
        _print_json("preflight", report, passed=code == EXIT_OK)
    else:
        preflight.render(Console(), report)
    raise typer.Exit(code)


def verify_command(
    outputs: Annotated[
        Path, typer.Option("--outputs", help="What `pulumi stack output --json` printed for this stack.",
                           show_default=False)
    ],
    path: FileArgument = None,
    stack: StackOption = None,
    file: FileOption = None,
    endpoint_url: EndpointOption = None,
    output_format: ReportFormatOption = ReportFormat.text,
) -> None:
    """After `pulumi up`: is what runs on AWS what the stack declares? Exit 0 matching, 1 drift, 2 bad input.

    Checks buckets, ECR repositories, the EKS cluster and node groups, SageMaker endpoints and model
    registries, the alert topic and alarms; each drift is printed on a `drift:` line.
    """
    from rich.console import Console

    from mlfabric import verify

    with usage_errors():
        plan = _plan(stack, file, path)
        report = verify.run(plan, verify.load_outputs(outputs, plan),
                            verify.boto3_clients(plan.spec.region, endpoint_url))
    if output_format is ReportFormat.json:
        _print_json("verify", report, passed=not report.drifted)
    else:
        verify.render(Console(), report)
    raise typer.Exit(EXIT_FINDINGS if report.drifted else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `cost`, `preflight` and `verify` to the mlfabric CLI."""
    app.command("cost")(cost_command)
    app.command("preflight")(preflight_command)
    app.command("verify")(verify_command)
