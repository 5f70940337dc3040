"""Run components offline in tests, through the same mocks ``mlfabric plan`` uses.

A component test builds its components inside a function and hands it to ``run_program`` (the
records) or ``run`` (records, stack outputs and the log); ``plan_spec`` plans a whole spec the way
the CLI does. The records are the engine's view of each registration: type, logical name, parent,
camelCase inputs, protection, dependencies. ``only`` and ``of_type`` find them::

    from mlfabric.testing import only, run_program

    def test_buckets_are_versioned() -> None:
        records = run_program(lambda: AwsStorage("t", spec.storage, ctx))
        assert only(records, "aws:s3/bucketVersioning:BucketVersioning", "t-models").inputs[...] == ...

What a mock test cannot prove: how the real provider or cloud treats the inputs; every computed
output comes from ``mlfabric.mocks`` (formatted like the real one, never the real one).
"""

from __future__ import annotations

import contextvars
import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlfabric.compat import SETTINGS
from mlfabric.components.derived_outputs import UnknownOutputError
from mlfabric.components.fakes import World
from mlfabric.mocks import UnknownInvokeError
from mlfabric.plan import Plan, ResourceRecord, plan_spec
from mlfabric.plan import run_program as _run_program

__all__ = [
    "Plan",
    "ResourceRecord",
    "Run",
    "UnknownInvokeError",
    "UnknownOutputError",
    "World",
    "collect_failed_runs",
    "of_type",
    "only",
    "plan_spec",
    "run",
    "run_program",
]


@dataclass(frozen=True)
class Run:
    """What one offline run of a program declared."""

    records: list[ResourceRecord]
    # the stack outputs the program exported (``pulumi.export``), secrets as "[secret]"
    outputs: dict[str, Any]
    # warnings and errors the program logged
    log: list[str]

    def only(self, type_token: str, name: str | None = None) -> ResourceRecord:
        return only(self.records, type_token, name)

    def of_type(self, type_token: str) -> list[ResourceRecord]:
        return of_type(self.records, type_token)


def run(
    program: Callable[[], object],
    *,
    region: str = "us-east-1",
    stack: str = "test",
    project: str = "mlfabric",
    world: World | None = None,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
) -> Run:
    """Run ``program`` under the offline plan's mocks in a fresh runtime context.

    ``world`` defaults to the fake identity in ``region``; ``config`` is the stack config the program
    reads (``pulumi.Config``), keys as ``project:key``.
    """
    world = world or World(project=project, stack=stack, region=region)

    def body() -> None:
        program()

    try:
        records, outputs, log = _run_program(
            body, project=project, stack=stack, config=dict(config or {}), secret_keys=list(secret_keys or []),
            world=world,
        )
    except BaseException:
        _failed_runs.append(stack)
        raise
    return Run(records, outputs, log)


# Stacks of runs that failed since the last ``collect_failed_runs``.
_failed_runs: list[str] = []


def collect_failed_runs() -> None:
    """Collect what failed runs left behind, if any run failed since the last call.

    A failed run leaves futures whose exception nobody retrieved, held by the SDK's pending work
    (until the next run clears it, as ``mlfabric.plan.run_program`` does first) and in reference
    cycles; asyncio logs each one, with a formatted traceback, whenever the garbage collector gets to
    it. Call this once the failure is handled (``tests/conftest.py`` does after every test) so that
    happens then — not at a random later moment: on Python 3.11, that logging inside another
    module's ``ast.parse`` breaks the parse (``SystemError: AST constructor recursion depth mismatch``).
    """
    if _failed_runs:
        _failed_runs.clear()
        # Runs use a fresh context, so the SDK's defaults hold their pending work: clear it in one.
        contextvars.Context().run(_clear_pending_work)
        gc.collect()


def _clear_pending_work() -> None:
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()


def run_program(program: Callable[[], object], *, region: str = "us-east-1", stack: str = "test",
                world: World | None = None) -> list[ResourceRecord]:
    """The records of every registration ``program`` makes under the offline plan's mocks."""
    return run(program, region=region, stack=stack, world=world).records


def only(records: list[ResourceRecord], type_token: str, name: str | None = None) -> ResourceRecord:
    """The single record of a type (and logical name); fails loudly when there are 0 or 2+."""
    found = of_type(records, type_token) if name is None else [r for r in of_type(records, type_token) if r.name == name]
    if len(found) != 1:
        raise AssertionError(f"expected one {type_token} {name or ''}, found {len(found)}")
    return found[0]


def of_type(records: list[ResourceRecord], type_token: str) -> list[ResourceRecord]:
    """Every record of a type, in registration order."""
    return [r for r in records if r.type == type_token]
