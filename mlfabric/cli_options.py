"""What every ``mlfabric`` command shares: the stack options, reading the stack they name, exit codes.

``-s/--stack STACK`` names ``stacks/Pulumi.<STACK>.yaml`` of the project in the working directory;
``-f/--file FILE`` names a stack file anywhere on disk; exactly one of them is given.

Exit codes, the same for every command: 0 ok; 1 findings — mandatory policy violations (check), a
short quota (preflight), drift (verify); 2 bad spec, bad input or bad usage, reported as one line per
problem on stderr, never a traceback; 3 an internal error (a bug in mlfabric or a component), one
line plus a hint to rerun with the global ``--debug`` option, which shows the traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final, NoReturn

import typer

from mlfabric import stackfile
from mlfabric.errors import UsageError

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3

# A problem line is never longer than this: values in it are quoted at most ~120 characters, and this
# catches whatever still echoes a huge value.
MAX_LINE: Final = 1000

StackOption = Annotated[
    str | None, typer.Option("--stack", "-s", help="Stack name: stacks/Pulumi.<STACK>.yaml.", show_default=False)
]
FileOption = Annotated[
    Path | None, typer.Option("--file", "-f", help="A stack file anywhere on disk.", show_default=False)
]


def bounded(line: str) -> str:
    """One printable line of at most MAX_LINE characters."""
    line = line.replace("\r", "\\r").replace("\n", "\\n")
    return line if len(line) <= MAX_LINE else f"{line[:MAX_LINE - 40]}... ({len(line)} characters)"


def print_problems(problems: list[str]) -> None:
    """One line per problem on stderr."""
    for line in problems:
        print(bounded(line), file=sys.stderr)


def fail(problems: list[str]) -> NoReturn:
    """Print one line per problem to stderr and exit 2."""
    print_problems(problems)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Turn a UsageError raised inside the block into one line per problem and exit 2."""
    try:
        yield
    except UsageError as error:
        fail(error.problems)


def read_stack(stack: str | None, file: Path | None) -> stackfile.StackFile:
    """The stack file named by ``-s STACK`` or ``--file FILE`` (UsageError when it is not one)."""
    return stackfile.load(stackfile.resolve(stack, file))


def load_stack(stack: str | None, file: Path | None) -> stackfile.StackFile:
    """The stack file named on the command line (exits 2 with one line per problem)."""
    with usage_errors():
        return read_stack(stack, file)
