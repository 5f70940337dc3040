"""The `mlfabric` command line: validate, plan, schema (and the commands other modules register).

Exit codes (``mlfabric.cli_options``): 0 ok, 1 policy violations (check), 2 bad spec or usage. Bad
input is reported as one line per problem on stderr, never a traceback.
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
from pathlib import Path
from typing import Annotated

import pulumi
import typer
from rich.console import Console

from mlfabric import render
from mlfabric.cli_options import FileOption, StackOption, fail, load_stack, usage_errors
from mlfabric.components.spec import json_schema
from mlfabric.errors import UsageError

app = typer.Typer(
    name="mlfabric",
    help="A complete ML platform on AWS, GCP or Azure from one typed spec: validate, plan offline, check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def validate(
    path: Annotated[Path | None, typer.Argument(help="A stack file (instead of -s).", show_default=False)] = None,
    stack: StackOption = None,
    file: FileOption = None,
) -> None:
    """Check a stack's spec without planning anything."""
    from mlfabric.plan import validate_stack

    if path is not None and file is not None:
        fail(["give the stack file once: as an argument or with --file"])
    loaded = load_stack(stack, path or file)
    with usage_errors():
        spec = validate_stack(loaded)
    print(f"ok: {loaded.path} — {spec.base_name} on {spec.cloud} {spec.region}")


@app.command()
def plan(
    stack: StackOption = None,
    file: FileOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the plan as JSON to this file ('-' for stdout).")
    ] = None,
) -> None:
    """Run the program offline under Pulumi's mock runtime and show what it declares."""
    from mlfabric.plan import plan_stack

    loaded = load_stack(stack, file)
    try:
        result = plan_stack(loaded)
    except UsageError as error:
        fail(error.problems)
    except pulumi.RunError as error:
        # A component refusing its inputs: the program's own one-line-per-problem message.
        fail([line for line in str(error).splitlines() if line and line != "invalid spec:"])
    document = result.to_json()
    if json_out is not None and str(json_out) == "-":
        print(json.dumps(document, indent=2, sort_keys=False, default=str))
        return
    console = Console()
    render.print_plan(console, result)
    if json_out is not None:
        json_out.write_text(json.dumps(document, indent=2, default=str) + "\n")
        console.print(f"plan written to {json_out}")


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


# Modules that add their own commands through `register(app)`: policy check and diff, day-2 tools.
COMMAND_MODULES = ("mlfabric.check", "mlfabric.day2")


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
