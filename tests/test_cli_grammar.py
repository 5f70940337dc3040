"""One CLI grammar: every command that reads a stack takes it the same three ways, and a command line
typer/click refuses is one line on stderr with exit 2 (never a boxed panel a CI log cuts apart)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.helpers import ROOT

PROD = str(ROOT / "stacks" / "Pulumi.prod.yaml")
# (command, arguments it needs besides the stack)
STACK_COMMANDS = [("validate", ()), ("plan", ()), ("check", ()), ("cost", ()), ("preflight", ()),
                  ("verify", ("--outputs", "out.json"))]
IDS = [command for command, _ in STACK_COMMANDS]
BOX = ("╭", "╰", "│", "─")


def invoke(*args: str) -> Result:
    from mlfabric.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80", "TERM": "dumb"})


def assert_one_usage_line(result: Result, start: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(start), line
    assert not any(mark in result.stderr for mark in BOX), result.stderr
    return line


@pytest.mark.parametrize(("command", "extra"), STACK_COMMANDS, ids=IDS)
def test_every_stack_command_takes_a_positional_file_like_validate(command: str, extra: tuple[str, ...]) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "[FILE]" in result.stdout and "--file" in result.stdout and "--stack" in result.stdout
    # The positional file reaches the same loader as --file: a missing one is the same one line.
    missing = str(ROOT / "stacks" / "Pulumi.nope.yaml")
    by_argument, by_option = invoke(command, missing, *extra), invoke(command, "--file", missing, *extra)
    assert (by_argument.exit_code, by_argument.stderr) == (by_option.exit_code, by_option.stderr) == (
        2, f"{missing}: no such file\n")


@pytest.mark.parametrize(("command", "extra"), STACK_COMMANDS, ids=IDS)
def test_naming_the_stack_twice_is_one_usage_line(command: str, extra: tuple[str, ...]) -> None:
    start = "give exactly one of -s STACK, --file FILE, FILE" if command == "check" else "give the stack once: "
    for args in (("-s", "prod", PROD), ("--file", PROD, PROD), ("-s", "prod", "--file", PROD)):
        line = assert_one_usage_line(invoke(command, *args, *extra), start)
        assert " and " in line, line  # it names the two it got


def test_plan_takes_the_stack_file_as_an_argument_and_prints_json_with_format() -> None:
    result = invoke("plan", PROD, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["stack"], document["cloud"]) == ("prod", "aws")
    assert document["summary"]["resources"] == sum(
        1 for r in document["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:"))


@pytest.mark.parametrize(("args", "start"), [
    (("plan", "--foo"), "mlfabric plan: no such option: --foo"),
    (("plan", "-s", "prod", "extra", "more"), "mlfabric plan: got unexpected extra argument"),
    (("verify", "-s", "prod"), "mlfabric verify: missing option '--outputs'"),
    (("check", "--format", "xml", "-s", "prod"), "mlfabric check: invalid value for '--format'"),
    (("cost", "--format", "sarif", "-s", "prod"), "mlfabric cost: invalid value for '--format'"),
    (("nope",), "mlfabric: no such command 'nope'"),
    (("--nope", "plan"), "mlfabric: no such option: --nope"),
], ids=["unknown option", "extra argument", "missing option", "bad check format", "bad cost format",
        "unknown command", "unknown global option"])
def test_a_refused_command_line_is_one_line_with_exit_2(args: tuple[str, ...], start: str) -> None:
    line = assert_one_usage_line(invoke(*args), start)
    assert line.endswith("--help)"), line  # and says where the usage is


def test_usage_errors_are_one_line_from_the_console_script_too() -> None:
    """The real entry point (standalone click), not only the test runner."""
    script = Path(sys.executable).parent / "mlfabric"
    if not script.is_file():
        pytest.skip("the mlfabric console script is not installed next to this interpreter")
    result = subprocess.run([str(script), "plan", "--foo"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin", "COLUMNS": "80"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["mlfabric plan: no such option: --foo (Possible options: --format) "
                                          "(see mlfabric plan --help)"]


def test_mlfabric_alone_still_prints_the_help() -> None:
    result = invoke()
    assert "Usage: mlfabric" in result.stdout and "validate" in result.stdout


@pytest.mark.parametrize("command", ["preflight", "verify"])
def test_commands_that_print_tables_take_format_json(command: str) -> None:
    result = invoke(command, "--help")
    assert "--format" in result.stdout and "json" in result.stdout
