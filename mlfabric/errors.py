"""Errors the CLI turns into one line per problem and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input (file, stack, spec): ``problems`` holds one line each; exit code 2."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
