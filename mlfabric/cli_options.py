"""What every ``mlfabric`` command shares: the stack options, reading the stack they name, exit codes.

``-s/--stack STACK`` names ``stacks/Pulumi.<STACK>.yaml`` of the project in the working directory;
``-f/--file FILE`` or a positional ``FILE`` names a stack file anywhere on disk; exactly one of the
three is given (:func:`stack_path`), the same way for every command that reads a stack.

Output read in CI logs: :func:`say` prints prose wrapped at word boundaries to the console's width
(``COLUMNS`` when not a terminal) and never breaks a word, so a URL, a resource name or a figure
stays whole on one line even when that line is longer than the width.

Exit codes, the same for every command: 0 ok; 1 findings — mandatory policy violations (check), a
short quota (preflight), drift (verify); 2 bad spec, bad input or bad usage, reported as one line per
problem on stderr, never a traceback; 3 an internal error (a bug in mlfabric or a component), one
line plus a hint to rerun with the global ``--debug`` option, which shows the traceback.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, NoReturn

import typer

from mlfabric import stackfile
from mlfabric.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

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
FileArgument = Annotated[
    Path | None,
    typer.Argument(metavar="[FILE]", help="A stack file anywhere on disk (the same as --file FILE).",
                   show_default=False),
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


STACK_CHOICES: Final = "-s STACK, --file FILE or FILE"


def stack_path(stack: str | None, file: Path | None, path: Path | None = None) -> Path:
    """The stack file named by exactly one of ``-s STACK``, ``--file FILE`` and a positional ``FILE``."""
    given = [f"{name} {value}" for name, value in (("-s", stack), ("--file", file), ("FILE", path))
             if value is not None]
    if len(given) != 1:
        got = f" (got {' and '.join(given)})" if given else ""
        raise UsageError([f"give the stack once: {STACK_CHOICES}{got}"])
    return stackfile.resolve(stack, file or path)


def read_stack(stack: str | None, file: Path | None, path: Path | None = None) -> stackfile.StackFile:
    """The stack file named on the command line (UsageError when it is not one)."""
    return stackfile.load(stack_path(stack, file, path))


def load_stack(stack: str | None, file: Path | None, path: Path | None = None) -> stackfile.StackFile:
    """The stack file named on the command line (exits 2 with one line per problem)."""
    with usage_errors():
        return read_stack(stack, file, path)


# --- output for logs -----------------------------------------------------------------------------------


# Joins words a line must not break between (a label and its figure); printed as a plain space.
GLUE: Final = "\u00a0"


def wrap(text: str, width: int, indent: str = "", hang: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken only between words: a word longer than
    the width (a URL, a URN) keeps a line of its own rather than being cut. Words joined by
    :data:`GLUE` stay on one line."""
    lines = textwrap.wrap(text, width=max(width, 20), initial_indent=indent,
                          subsequent_indent=indent if hang is None else hang,
                          break_long_words=False, break_on_hyphens=False)
    return [line.replace(GLUE, " ") for line in lines] or [indent.rstrip()]


def say(console: Console, text: str, *, style: str = "", lead: str = "", lead_style: str = "",
        indent: str = "", hang: str | None = None) -> None:
    """Print ``lead`` + ``text`` wrapped at word boundaries; rich never re-wraps or crops the lines."""
    from rich.text import Text

    for number, line in enumerate(wrap(lead + text, console.width, indent, hang)):
        out = Text()
        body = line
        if number == 0 and lead and line.startswith(indent + lead):
            out.append(indent)
            out.append(lead, style=lead_style)
            body = line[len(indent) + len(lead):]
        out.append(body, style=style)
        console.print(out, soft_wrap=True, highlight=False)

