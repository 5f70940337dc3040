"""The `mlfabric` command line: validate, plan, schema (and the commands other modules register).

Exit codes (``mlfabric.cli_options``): 0 ok, 1 findings (check, preflight, verify), 2 bad spec or
usage, 3 internal error. Bad input is reported as one line per problem on stderr; no command prints a
traceback unless the global ``--debug`` option is given. A usage error of the command line itself
(unknown option, extra or missing argument) is one line too — ``mlfabric plan: no such option: --foo
(see mlfabric plan --help)`` — not typer's boxed panel, which a CI log cuts into fragments.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pulumi
import typer
import typer.core
from rich.console import Console
from typer._click.exceptions import ClickException  # typer vendors click; its usage errors derive from this

from mlfabric import render
from mlfabric.cli_options import (
    EXIT_INTERNAL,
    EXIT_USAGE,
    FileArgument,
    FileOption,
    StackOption,
    bounded,
    fail,
    load_stack,
    print_problems,
    say,
    usage_errors,
)
from mlfabric.components.spec import json_schema, spec_notes
from mlfabric.errors import UsageError

DEBUG_HINT = "run with --debug for the traceback (mlfabric --debug COMMAND ...)"


def run_error_lines(error: pulumi.RunError) -> list[str]:
    """A component refusing its inputs: the program's own one-line-per-problem message."""
    return [line for line in str(error).splitlines() if line and line != "invalid spec:"] or ["the program failed"]


def _is_control_flow(error: Exception) -> bool:
    """Exit, Abort and usage errors of typer/click, and a closed pipe: theirs to handle, not a crash."""
    if isinstance(error, (typer.Exit, typer.Abort, BrokenPipeError)):
        return True
    return type(error).__module__.split(".")[0] in ("typer", "click")


def _usage_line(error: ClickException) -> str:
    """A click usage error as one line: ``mlfabric plan: no such option: --foo (see mlfabric plan --help)``."""
    ctx = getattr(error, "ctx", None)
    where = ctx.command_path if ctx is not None else "mlfabric"
    message = " ".join(error.format_message().split()).rstrip(".") or "bad usage"
    message = message[0].lower() + message[1:]
    return bounded(f"{where}: {message} (see {where} --help)")


def _one_line(error: ClickException) -> typer.Exit:
    """Print ``error`` as one line on stderr; the Exit (2) that replaces it."""
    print(_usage_line(error), file=sys.stderr)
    return typer.Exit(EXIT_USAGE)


def _is_help(error: Exception) -> bool:
    # `mlfabric` alone prints the help (no_args_is_help): click signals it with this UsageError.
    return type(error).__name__ == "NoArgsIsHelpError"


class _Group(typer.core.TyperGroup):
    """Every command's last line of defence: exit 2 for bad input, 3 (one line) for a crash."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # The group's own options are parsed here (`mlfabric --nope plan`), before invoke.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except ClickException as error:
            if _is_help(error):
                raise
            raise _one_line(error) from None

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except Exception as error:
            if isinstance(error, ClickException) and not _is_help(error):
                raise _one_line(error) from None
            if _is_control_flow(error):
                raise
            if isinstance(error, UsageError):
                print_problems(error.problems)
                raise typer.Exit(EXIT_USAGE) from None
            if isinstance(error, pulumi.RunError):
                print_problems(run_error_lines(error))
                raise typer.Exit(EXIT_USAGE) from None
            if ctx.params.get("debug") or os.environ.get("MLFABRIC_DEBUG", "") not in ("", "0"):
                raise
            message = " ".join(str(error).split()) or "no message"
            print(bounded(f"internal error: {type(error).__name__}: {message[:300]}"), file=sys.stderr)
            print(DEBUG_HINT, file=sys.stderr)
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    name="mlfabric",
    cls=_Group,
    help="A complete ML platform on AWS, GCP or Azure from one typed spec: validate, plan offline, check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error (exit 3) instead of one line.")
    ] = False,
) -> None:
    """Options every command shares (``mlfabric --debug COMMAND``)."""


@app.command()
def validate(
    path: FileArgument = None,
    stack: StackOption = None,
    file: FileOption = None,
) -> None:
    """Check a stack's spec without planning anything."""
    from mlfabric.plan import validate_offline

    loaded = load_stack(stack, file, path)
    with usage_errors():
        offline = validate_offline(loaded)
    spec = offline.spec
    console = Console()
    say(console, f"ok: {loaded.path} — {spec.base_name} on {spec.cloud} {spec.region}", hang="  ")
    for note in [*offline.skipped, *spec_notes(spec)]:
        say(console, note, lead="note: ", hang="  ")


class PlanFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def plan(
    path: FileArgument = None,
    stack: StackOption = None,
    file: FileOption = None,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", help="text (a tree fitted to the terminal or COLUMNS) or json "
                                 "(the document --json writes) on stdout.")
    ] = PlanFormat.text,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the plan as JSON to this file ('-' for stdout).")
    ] = None,
) -> None:
    """Run the program offline under Pulumi's mock runtime and show what it declares."""
    from mlfabric.plan import plan_stack

    loaded = load_stack(stack, file, path)
    try:
        result = plan_stack(loaded)
    except UsageError as error:
        fail(error.problems)
    except pulumi.RunError as error:
        fail(run_error_lines(error))
    document = result.to_json()
    to_stdout = json_out is not None and str(json_out) == "-"
    if output_format is PlanFormat.json or to_stdout:
        print(json.dumps(document, indent=2, sort_keys=False, default=str))
    else:
        render.print_plan(Console(), result)
    if json_out is not None and not to_stdout:
        json_out.write_text(json.dumps(document, indent=2, default=str) + "\n")
        # On stderr when stdout carries JSON, so stdout stays one parseable document.
        print(f"plan written to {json_out}", file=sys.stderr if output_format is PlanFormat.json else sys.stdout)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the spec's JSON Schema (editors use it to complete and check stack files)."""
    text = json.dumps(json_schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)


# Modules that add their own commands through `register(app)`: policy check, diff, day-2 tools, the pull-request report.
COMMAND_MODULES = ("mlfabric.check", "mlfabric.diff", "mlfabric.day2", "mlfabric.report")


def _register_optional_commands() -> None:
    """Commands that live in their own modules; a module that is not there yet adds nothing."""
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_optional_commands()


def main() -> None:
    """Console-script entry point."""
    # A one-shot process: objects alive at start-up (the SDK modules) never need scanning again.
    gc.collect()
    gc.freeze()
    app()
