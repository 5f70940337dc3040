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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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

    records, outputs, log = _run_program(
        body, project=project, stack=stack, config=dict(config or {}), secret_keys=list(secret_keys or []),
        world=world,
    )
    return Run(records, outputs, log)


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
